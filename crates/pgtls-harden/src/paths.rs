//! The deployment's paths and defaults: the folders and container paths the recipe writes and
//! mounts, the files the writer and the lock keep, the default trusted networks. The bottom of
//! the crate: it imports nothing, and the modules above take their constants from here.

/// Host folder (relative) of the files mounted into the db and pooler containers.
pub const TLS_DIR: &str = "volumes/tls";
/// Host folder (relative) of the CA: never mounted into a container.
pub const CA_DIR: &str = "volumes/tls-ca";
/// Host folder (relative) of the `pg_hba.conf` `harden` creates when none is mounted: mounted
/// as a folder, so an edit (a rename over the file) reaches the running db.
pub const HBA_DIR: &str = "volumes/db/hba";
/// Host path (relative) of that `pg_hba.conf`.
pub const HBA_HOST: &str = "volumes/db/hba/pg_hba.conf";
/// Where an earlier pgtls put it (mounted as a single file): migrated by `harden`.
pub const LEGACY_HBA_HOST: &str = "volumes/db/pg_hba.conf";
/// Container folder of the TLS files in the db service.
pub const DB_TLS_TARGET: &str = "/etc/postgresql-tls";
/// Container path of the mounted `pg_hba.conf` in the db service.
pub const DB_HBA_TARGET: &str = "/etc/postgresql-hba/pg_hba.conf";
/// Container folder [`HBA_DIR`] is mounted at.
pub const DB_HBA_DIR_TARGET: &str = "/etc/postgresql-hba";
/// Container folder [`TLS_DIR`] is mounted at in the pooler (read-only). Not `/etc/ssl`: a
/// folder mounted there would hide the image's system CA store.
pub const POOLER_TLS_TARGET: &str = "/etc/pooler-tls";
/// Container path of the certificate in the pooler (`GLOBAL_DOWNSTREAM_CERT_PATH`).
pub const POOLER_CERT_TARGET: &str = "/etc/pooler-tls/server.crt";
/// Container path of the key in the pooler (`GLOBAL_DOWNSTREAM_KEY_PATH`).
pub const POOLER_KEY_TARGET: &str = "/etc/pooler-tls/server.key";
/// The Docker private ranges: the default trusted networks.
pub const DEFAULT_TRUSTED: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// Where a new CA key waits (relative to the destination) until the CA certificate is written.
pub const CA_KEY_PENDING: &str = "volumes/tls-ca/.ca.key.pgtls-pending";
/// The lock file `harden` holds while it plans and applies (in the destination folder).
pub const LOCK_FILE: &str = ".pgtls.lock";

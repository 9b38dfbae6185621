//! Private CA, server and client certificates for PostgreSQL TLS: creation, inspection, renewal
//! and safe key files.
//!
//! This crate replaces the usual five `openssl` commands and the `chmod`/`chown` steps that follow
//! them. It creates a small private CA (`CA:TRUE`, path length 0, optional name constraints),
//! issues server certificates that libpq's `sslmode=verify-full` and webpki-based verifiers accept
//! (`CA:FALSE`, EKU serverAuth, SANs for every name and address clients use) and client
//! certificates for `cert` authentication; it inspects, checks and renews certificates; and it
//! writes keys the way PostgreSQL wants them.
//!
//! # Example
//!
//! ```
//! use pgtls_certs::{Ca, CaParams, ServerParams, ClientParams, inspect, verify_chain, covers_host};
//!
//! # fn main() -> pgtls_certs::Result<()> {
//! let ca = Ca::create(&CaParams::default())?;                 // ECDSA P-256, 10 years
//! let server = ca.issue_server(&ServerParams::new(["db.example.com", "supabase-db", "127.0.0.1"]))?;
//! let client = ca.issue_client(&ClientParams::new("app_user"))?;
//!
//! verify_chain(&server.cert_pem, ca.cert_pem())?;
//! assert!(covers_host(&server.cert_pem, "supabase-db")?);
//! assert!(!covers_host(&server.cert_pem, "other-host")?);
//! let info = inspect(&client.cert_pem)?;
//! assert_eq!(info.subject, "CN=app_user");
//! assert_eq!(info.ext_key_usage, ["clientAuth"]);
//! # Ok(()) }
//! ```
//!
//! Writing goes through [`write_atomic`] / [`write_files`]:
//!
//! ```no_run
//! # fn main() -> pgtls_certs::Result<()> {
//! use pgtls_certs::{CaParams, CertKit, ServerParams, WriteFilesOptions, load_ca_dir, write_files};
//! let dir = std::path::Path::new("/srv/supabase/volumes/certs");
//! let kit = CertKit::generate(&CaParams::default(), &ServerParams::new(["db"]), load_ca_dir(dir)?)?;
//! let outcomes = write_files(dir, &kit.files(), &WriteFilesOptions { owner: Some("999:999".parse()?), ..Default::default() })?;
//! # Ok(()) }
//! ```
//!
//! # Design notes
//!
//! - **Pure by default.** Creating and issuing return PEM text in memory ([`CertAndKey`],
//!   [`CertKit::files`] as [`PlannedFile`]s), so a planner can show what would change and write
//!   later. Only the writer functions and the `*_at`/`postgres_key_file_check*` wrappers touch
//!   the disk.
//! - **One key-file rule, from the reader's side.** [`key_file_verdict`] is the only place that
//!   decides whether a server can load a key: PostgreSQL's own permission check, then whether the
//!   server user can open the file (a root-owned 0600 key passes the check and is unreadable).
//!   Its suggested [`KeyFileFix`] passes the same rule (tested over every mode).
//! - **Keys never exist with loose modes.** [`write_atomic`] creates the temporary file with its
//!   final mode at `open(2)` time (0600 for keys), sets the owner on the descriptor, fsyncs,
//!   renames over the target and fsyncs the directory. A replaced file is kept in one backup
//!   folder per run, `.pgtls-backups/<UTC timestamp>/` ([`Backups`]). An existing, different CA
//!   key is never replaced unless forced. This writer is the workspace's only one: `pgtls
//!   harden` applies its plans through [`write_atomic_with`].
//! - **Random serials.** rcgen's default serial is a hash of the public key, which would repeat
//!   when a key is reused on renewal; every certificate here gets 16 random bytes instead.
//! - **The verifier's semantics, not ours.** [`covers_host`] follows libpq's verify-full host
//!   check (PostgreSQL 14+, including its wildcard and common-name fallback rules) and
//!   [`key_file_verdict`] returns PostgreSQL's own messages; both are tested against the
//!   real programs.
//! - **Own types only.** rcgen, x509-parser and rustls-pki-types stay inside; errors are
//!   [`Error`] with plain-string payloads.
//!
//! # Limitations: what is not preserved / not supported
//!
//! - Encrypted private keys and PKCS#12 are not read; keys are written unencrypted (PostgreSQL
//!   would otherwise need `ssl_passphrase_command`).
//! - Chains are one level deep: [`verify_chain`] checks a leaf against a CA, not intermediates,
//!   revocation (CRLs) or name constraints. A full chain from a public CA is checked by
//!   [`check_adoptable`] / [`check_chain_order`] (each certificate issued by the next, all valid
//!   now, the key the leaf's), not against any trust store.
//! - Renewal keeps the subject, DNS and IP SANs and the serverAuth/clientAuth EKUs; other
//!   extensions of a foreign certificate (policies, e-mail SANs, CRL distribution points) are
//!   not carried over, and a subject with two attributes of the same type keeps only the last.
//! - [`key_file_verdict`] models ownership, mode and readability for the server user (its uid,
//!   primary and supplementary gids); ACLs, directory search permissions, security labels and
//!   whether the key parses are not checked. [`postgres_key_file_check`] takes the groups from
//!   this host's `/etc/passwd` and `/etc/group`.
//! - Ed25519: with libpq 15 (tested: 15.18), SCRAM authentication over TLS fails with
//!   `could not find digest for NID UNDEF` (channel binding cannot hash an Ed25519 certificate)
//!   unless the client sets `channel_binding=disable`; `cert` authentication and PgBouncer
//!   (which offers no channel binding) work.
//! - [`write_atomic`] replaces a symlink at the target path with a regular file (the rename
//!   replaces the link, not what it points to).
//! - Unix only (modes, owners).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod adopt;
mod ca;
mod error;
mod folder;
mod inspect;
mod key;
mod keyfile;
mod names;
mod renew;
mod writer;

pub use adopt::{Adoptable, check_adoptable, check_chain_order, normalize_chain_pem};
pub use ca::{
    CERT_MODE, Ca, CaParams, CertAndKey, CertKit, ClientParams, DEFAULT_CA_DAYS, DEFAULT_CA_NAME,
    DEFAULT_LEAF_DAYS, KEY_MODE, PlannedFile, ServerParams,
};
pub use error::{Error, Result};
pub use folder::{DEFAULT_SANS, kit_for_dir, server_key_verdict, write_client, write_kit};
pub use inspect::{
    CertInfo, Coverage, check_against, covers_host, inspect, inspect_at, inspect_chain,
    key_matches_cert, verify_chain, verify_chain_at,
};
pub use key::KeyType;
pub use keyfile::{
    GROUP_WORLD_DETAIL, KeyFileFacts, KeyFileFix, KeyFileProblem, KeyFileVerdict, KeyProgram,
    KeyReader, key_file_verdict, key_file_verdict_at, key_file_verdict_for,
    postgres_key_file_check, postgres_key_file_check_with_groups,
};
pub use names::{NameConstraint, San};
pub use renew::{RenewOptions, RenewalPolicy, needs_renewal, renewal_reason};
pub use writer::{
    BACKUP_DIR, Backups, FileMeta, Owner, RenewOutcome, WriteFilesOptions, WriteOptions,
    WriteOutcome, WriteStatus, file_meta, load_ca_dir, renew_files, renew_preview, write_atomic,
    write_atomic_with, write_files,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

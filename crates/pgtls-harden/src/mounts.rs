//! Mount truth: which files pgtls rewrites reach a running container, and how.
//!
//! A bind mount of one file pins that file's inode: the kernel resolves the host path once,
//! when the container starts. pgtls replaces files by rename (a temp file, fsync, rename: the
//! one writer, `certs renew`, `hba apply-policy`), which gives the host path a new inode; the
//! container keeps seeing the old file until it is recreated or restarted. A mounted folder is
//! looked up at each open, so the container sees the new file at once. `harden` therefore
//! mounts folders ([`crate::paths::TLS_DIR`] for the db and the pooler, the folder of
//! `pg_hba.conf`), migrates the single-file mounts an earlier pgtls wrote, and `check` flags
//! the ones that remain.

use std::path::PathBuf;

use crate::layout::{Layout, Mount, Service};

/// The bind mount of exactly `container` (one file mounted on its own), if there is one.
pub fn single_file_mount<'a>(svc: &'a Service, container: &str) -> Option<&'a Mount> {
    let container = container.trim_end_matches('/');
    svc.volumes
        .iter()
        .filter(|m| m.bind && m.content.is_none())
        .find(|m| m.target.trim_end_matches('/') == container)
}

/// A file pgtls rewrites that reaches a container through a single-file bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedFile {
    /// Compose service key.
    pub service: String,
    /// The path inside the container.
    pub container: String,
    /// The host path of the mount's source.
    pub host: String,
    /// What the file is (`server certificate`, `pg_hba.conf`, ...).
    pub what: &'static str,
}

impl PinnedFile {
    /// One line for reports: `service db: pg_hba.conf ./x -> /y is a single-file mount`.
    pub fn describe(&self) -> String {
        format!(
            "service `{}`: {} {} -> {} is a single-file bind mount (a renewal or edit replaces the host file; the running container keeps the old one)",
            self.service, self.what, self.host, self.container
        )
    }
}

/// Every file pgtls rewrites (the db's `ssl_cert_file`, `ssl_key_file`, `ssl_ca_file` and
/// `hba_file`; the pooler's `GLOBAL_DOWNSTREAM_*` paths) that is mounted on its own.
pub fn pinned_files(layout: &Layout) -> Vec<PinnedFile> {
    let mut out = Vec::new();
    let settings = layout.db.pg_settings();
    for (name, what) in [
        ("ssl_cert_file", "server certificate"),
        ("ssl_key_file", "server key"),
        ("ssl_ca_file", "CA certificate"),
        ("hba_file", "pg_hba.conf"),
    ] {
        if let Some(path) = settings.get(name)
            && let Some(m) = single_file_mount(&layout.db, path)
        {
            out.push(pinned(&layout.db, m, what));
        }
    }
    if !settings.contains_key("hba_file")
        && let Some(m) = layout
            .db
            .volumes
            .iter()
            .find(|m| m.bind && m.content.is_none() && m.target.ends_with("/pg_hba.conf"))
    {
        out.push(pinned(&layout.db, m, "pg_hba.conf"));
    }
    if let Some(p) = &layout.pooler {
        for (var, what) in [
            ("GLOBAL_DOWNSTREAM_CERT_PATH", "pooler certificate"),
            ("GLOBAL_DOWNSTREAM_KEY_PATH", "pooler key"),
            ("DOWNSTREAM_SERVER_ECDSA_CERT", "pooler ECDSA certificate"),
            ("DOWNSTREAM_SERVER_ECDSA_KEY", "pooler ECDSA key"),
        ] {
            if let Some(path) = p.environment.get(var)
                && let Some(m) = single_file_mount(p, path)
            {
                out.push(pinned(p, m, what));
            }
        }
    }
    out
}

fn pinned(svc: &Service, m: &Mount, what: &'static str) -> PinnedFile {
    PinnedFile {
        service: svc.key.clone(),
        container: m.target.clone(),
        host: m.source.clone(),
        what,
    }
}

/// Host paths (relative to the deployment) of the pooler's single-file binds of files in
/// `dir`: what an earlier pgtls mounted (`./volumes/tls/server.crt:/etc/ssl/server.crt`).
pub fn file_binds_from(svc: &Service, dir: &str) -> Vec<(PathBuf, String)> {
    svc.volumes
        .iter()
        .filter(|m| m.bind && m.content.is_none())
        .filter_map(|m| {
            let host = crate::layout::relative_host_path(&m.source)?;
            (host.parent() == Some(std::path::Path::new(dir))).then(|| (host, m.target.clone()))
        })
        .collect()
}

//! A certificate from a public CA as the deployment's server certificate (`pgtls certs adopt`),
//! and the way back to the private CA.
//!
//! Where the files come from (checked in the upstream sources, see the README's "publicly
//! trusted certificate" section):
//! - **certbot** runs each `--deploy-hook` command through the shell once per renewed lineage
//!   with `RENEWED_LINEAGE` (the `live/<name>` folder: `fullchain.pem`, `privkey.pem`, symlinks
//!   into `archive/`) and `RENEWED_DOMAINS` (space separated) in the environment
//!   (certbot/certbot `certbot/certbot/_internal/hooks.py`, `renew_hook`).
//! - **lego** (go-acme/lego v4.9 `cmd/cmd_renew.go`, `cmd/cmd_run.go`, `cmd/hook.go`) runs
//!   `--renew-hook` / `--run-hook` split on blanks (no shell) with `LEGO_CERT_DOMAIN`,
//!   `LEGO_CERT_PATH` (`<path>/certificates/<domain>.crt`, the bundle with the issuer unless
//!   `--no-bundle`) and `LEGO_CERT_KEY_PATH` (`<domain>.key`).
//! - **Traefik** keeps every ACME certificate in one JSON file (traefik/traefik
//!   `pkg/provider/acme/local_store.go`, `store.go`, `provider.go`; v2.11 and v3.x alike): an
//!   object keyed by resolver name, each `{"Account": {...}, "Certificates": [{"domain":
//!   {"main", "sans"}, "certificate": <base64 of the PEM bundle>, "key": <base64 of the PEM
//!   key>, "Store": "default"}]}` (Go's `[]byte` marshals as base64), written 0600 on every
//!   change.
//!
//! The adopted certificate is recorded beside the files ([`ADOPTED_NOTE`]), so `check` judges
//! its chain as a public one, `harden` keeps it instead of reissuing a private leaf, and
//! `certs renew` knows it is going back to the private CA.

use std::path::{Path, PathBuf};

use pgtls_certs::{Adoptable, Backups, CertInfo, Owner, WriteOptions, WriteStatus};

use crate::error::{Error, Result};

mod traefik;

pub use self::traefik::from_traefik_acme;

/// The note `certs adopt` leaves in the certificate folder.
pub const ADOPTED_NOTE: &str = ".pgtls-adopted";

/// One process that reads the server key: the key rule is judged for each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyReaderSpec {
    /// Who (`db (PostgreSQL)`, `pooler (Supavisor, root)`, ...).
    pub who: String,
    /// Its uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
    /// Whether PostgreSQL's own permission check applies (only PostgreSQL makes it).
    pub postgres_rule: bool,
    /// The key file it reads, relative to the deployment folder: the adopted
    /// `volumes/tls/server.key`, or its own copy (PgBouncer's `volumes/pgbouncer-tls/server.key`,
    /// which `adopt` rewrites too: mode 0600, owned by the reader).
    pub key: PathBuf,
}

impl KeyReaderSpec {
    /// Whether it reads its own copy of the key rather than the adopted file.
    pub fn own_copy(&self) -> bool {
        self.key != Path::new(crate::paths::TLS_DIR).join("server.key")
    }
}

/// The readers of `server.key` when the deployment is not known: the db's postgres user
/// (`owner`, PostgreSQL's rule) and Supavisor, which runs as root (its image has no USER
/// line). With the deployment, [`key_readers_in`] reads them from its services.
pub fn key_readers(owner: Owner) -> Vec<KeyReaderSpec> {
    let shared = Path::new(crate::paths::TLS_DIR).join("server.key");
    vec![
        KeyReaderSpec {
            who: "db (PostgreSQL)".into(),
            uid: owner.uid,
            gid: owner.gid,
            postgres_rule: true,
            key: shared.clone(),
        },
        KeyReaderSpec {
            who: "pooler (Supavisor runs as root)".into(),
            uid: 0,
            gid: 0,
            postgres_rule: false,
            key: shared,
        },
    ]
}

/// The readers of the key in the deployment `layout` (the one list,
/// [`crate::owner::key_readers`]): the db as `owner` with PostgreSQL's rule, Supavisor as root
/// when it runs, PgBouncer as uid 70 on its own copy when it runs.
pub fn key_readers_in(layout: &crate::Layout, owner: Owner) -> Vec<KeyReaderSpec> {
    crate::owner::key_readers(layout, None)
        .into_iter()
        .map(|r| {
            let db = r.service == layout.db.key;
            let (uid, gid) = if db {
                (owner.uid, owner.gid)
            } else {
                r.ids.unwrap_or((owner.uid, owner.gid))
            };
            KeyReaderSpec {
                who: format!("{} ({})", r.service, r.why),
                uid,
                gid,
                postgres_rule: db,
                key: r.key,
            }
        })
        .collect()
}

/// Whether `reader` can load a key with `mode` owned by `owner`: `Err` with the reason.
pub fn reader_verdict(reader: &KeyReaderSpec, mode: u32, owner: Owner) -> Result<(), String> {
    if reader.postgres_rule {
        let v = pgtls_certs::key_file_verdict(
            "server.key",
            pgtls_certs::KeyFileFacts {
                is_regular_file: true,
                uid: owner.uid,
                gid: owner.gid,
                mode,
            },
            pgtls_certs::KeyReader::new(reader.uid, reader.gid),
        );
        return match v.message() {
            None => Ok(()),
            Some(m) => Err(m.to_owned()),
        };
    }
    let readable = reader.uid == 0
        || (owner.uid == reader.uid && mode & 0o400 != 0)
        || (owner.gid == reader.gid && mode & 0o040 != 0)
        || mode & 0o004 != 0;
    if readable {
        Ok(())
    } else {
        Err(format!(
            "mode {mode:04o} owned by {}:{} is not readable by uid {}",
            owner.uid, owner.gid, reader.uid
        ))
    }
}

/// What `adopt` did or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdoptStatus {
    /// The files were written.
    Adopted,
    /// The same certificate and key are already in place: nothing written, nothing to reload.
    Unchanged,
    /// `--dry-run`: they would be written.
    WouldAdopt,
}

/// The outcome of [`adopt`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdoptReport {
    /// What happened.
    pub status: AdoptStatus,
    /// Where the full chain came from.
    pub source: String,
    /// The certificate folder.
    pub dir: PathBuf,
    /// The leaf.
    pub leaf: CertInfo,
    /// The rest of the chain.
    pub chain: Vec<CertInfo>,
    /// Files written and how.
    pub files: Vec<(PathBuf, &'static str)>,
    /// The run's backup folder, when a file was replaced.
    pub backup_dir: Option<PathBuf>,
    /// Mode and owner given to the key.
    pub key_mode: u32,
    /// Owner of the key.
    pub key_owner: (u32, u32),
    /// Each reader of the key and whether it loads it (`None`) or why not.
    pub readers: Vec<(KeyReaderSpec, Option<String>)>,
    /// Warnings from the checks.
    pub warnings: Vec<String>,
}

/// What [`adopt`] needs.
#[derive(Debug, Clone)]
pub struct AdoptRequest<'a> {
    /// The folder holding `server.crt` and `server.key` (a pgtls deployment's `volumes/tls`).
    pub dir: &'a Path,
    /// The full chain, PEM.
    pub fullchain: &'a str,
    /// The key, PEM.
    pub key: &'a str,
    /// Where they came from, for the report and the note.
    pub source: String,
    /// Names clients use (warned when not covered).
    pub names: &'a [String],
    /// Owner of the key when there is no `server.key` to take it from.
    pub owner: Option<Owner>,
    /// Unix time the validity is judged at.
    pub now: i64,
    /// Write nothing.
    pub dry_run: bool,
    /// The deployment folder `dir` belongs to and its layout, when known: its key readers are
    /// judged ([`key_readers_in`]) and PgBouncer's own copy is rewritten when PgBouncer runs.
    pub deployment: Option<(&'a Path, &'a crate::Layout)>,
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io {
            context: format!("reading \"{}\"", path.display()),
            source: e,
        }),
    }
}

/// The adopted-certificate note's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptedNote {
    /// SHA-256 fingerprint of the adopted leaf.
    pub sha256: String,
    /// Where it came from.
    pub source: String,
    /// The SANs of the private leaf it replaced (what `certs renew` issues again).
    pub private_sans: Vec<String>,
}

impl AdoptedNote {
    /// The note's text.
    pub fn text(&self) -> String {
        format!(
            "# written by pgtls certs adopt: server.crt was issued elsewhere. pgtls harden keeps it; pgtls certs renew replaces it with a leaf of the private CA again\nsha256={}\nsource={}\nprivate_sans={}\n",
            self.sha256,
            self.source.replace('\n', " "),
            self.private_sans.join(",")
        )
    }

    /// Reads a note; `None` when it names no certificate.
    pub fn parse(text: &str) -> Option<Self> {
        let mut note = AdoptedNote::default();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("sha256=") {
                v.trim().clone_into(&mut note.sha256);
            } else if let Some(v) = line.strip_prefix("source=") {
                v.trim().clone_into(&mut note.source);
            } else if let Some(v) = line.strip_prefix("private_sans=") {
                note.private_sans = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
        }
        (!note.sha256.is_empty()).then_some(note)
    }

    /// The note in `dir`, when there is one.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        Ok(read_opt(&dir.join(ADOPTED_NOTE))?.and_then(|t| Self::parse(&t)))
    }
}

/// Whether `cert_pem` is the certificate `note` records.
pub fn is_adopted(note: Option<&AdoptedNote>, cert_pem: &str) -> bool {
    note.is_some_and(|n| pgtls_certs::inspect(cert_pem).is_ok_and(|i| i.sha256 == n.sha256))
}

/// Installs a certificate issued elsewhere as `server.crt`/`server.key` in `req.dir`.
///
/// Refuses (nothing written, [`Error::Refused`]) whatever [`pgtls_certs::check_adoptable`]
/// refuses, and a key mode/owner some reader cannot load. The key keeps the mode and owner of
/// the `server.key` it replaces (as `certs renew` does), else gets `req.owner` with mode 0600.
/// The same certificate and key already in place is [`AdoptStatus::Unchanged`]: nothing is
/// written. Writes go through the one writer, key first, with one backup folder per run.
pub fn adopt(req: &AdoptRequest<'_>) -> Result<AdoptReport> {
    let checked: Adoptable =
        pgtls_certs::check_adoptable(req.fullchain, req.key, req.names, req.now).map_err(|e| {
            Error::Refused(format!(
                "refused, nothing changed: {e} (from {})",
                req.source
            ))
        })?;
    let crt = req.dir.join("server.crt");
    let key = req.dir.join("server.key");
    let old_crt = read_opt(&crt)?;
    let old_key = read_opt(&key)?;
    let meta = if old_key.is_some() {
        Some(pgtls_certs::file_meta(&key)?)
    } else {
        None
    };
    // the owner `harden` recorded beside the certificates, when there is no key to copy it from
    let noted = read_opt(&req.dir.join(".pgtls-owner"))?
        .and_then(|t| crate::owner::parse_note(&t))
        .map(|u| Owner {
            uid: u.uid,
            gid: u.gid,
        });
    let (mode, owner) = match (meta, req.owner.or(noted)) {
        (Some(m), _) => (m.mode, m.owner()),
        (None, Some(o)) => (0o600, o),
        (None, None) => {
            return Err(Error::Refused(format!(
                "refused, nothing changed: there is no \"{}\" to take the key's owner and mode from: pass --owner UID:GID (the db container's postgres user)",
                key.display()
            )));
        }
    };
    let specs = match req.deployment {
        Some((_, layout)) => key_readers_in(layout, owner),
        None => key_readers(owner),
    };
    // a reader of its own copy gets it 0600 and owned by its user (see `sync_pgbouncer_copy`)
    let readers: Vec<(KeyReaderSpec, Option<String>)> = specs
        .into_iter()
        .map(|r| {
            let v = if r.own_copy() {
                let own = Owner {
                    uid: r.uid,
                    gid: r.gid,
                };
                reader_verdict(&r, 0o600, own).err()
            } else {
                reader_verdict(&r, mode, owner).err()
            };
            (r, v)
        })
        .collect();
    if let Some((r, why)) = readers.iter().find_map(|(r, v)| v.as_ref().map(|v| (r, v))) {
        return Err(Error::Refused(format!(
            "refused, nothing changed: the key would be mode {mode:04o} owned by {}:{}, which {} cannot load: {why}",
            owner.uid, owner.gid, r.who
        )));
    }
    let unchanged = old_crt
        .as_deref()
        .and_then(|c| pgtls_certs::normalize_chain_pem(c).ok())
        .is_some_and(|c| c == checked.fullchain_pem)
        && old_key
            .as_deref()
            .is_some_and(|k| k.trim_end() == checked.key_pem.trim_end());
    let note_before = AdoptedNote::read(req.dir)?;
    let mut report = AdoptReport {
        status: AdoptStatus::Unchanged,
        source: req.source.clone(),
        dir: req.dir.to_path_buf(),
        leaf: checked.leaf.clone(),
        chain: checked.chain.clone(),
        files: Vec::new(),
        backup_dir: None,
        key_mode: mode,
        key_owner: (owner.uid, owner.gid),
        readers,
        warnings: checked.warnings.clone(),
    };
    let note_current = note_before
        .as_ref()
        .is_some_and(|n| n.sha256 == checked.leaf.sha256);
    let copy_dir = pgbouncer_copy_dir(req, &mut report.warnings);
    if unchanged && note_current {
        if let (false, Some(dep)) = (req.dry_run, copy_dir) {
            let synced = crate::pgbouncer::sync_copy(dep)?;
            if !synced.is_empty() {
                report.warnings.push(format!(
                    "PgBouncer's own copy in {} was out of date and is rewritten: reload PgBouncer (docker compose kill -s SIGHUP <its service>)",
                    crate::pgbouncer::PGBOUNCER_TLS_DIR
                ));
            }
            report.files.extend(
                synced
                    .into_iter()
                    .map(|f| (f, WriteStatus::Replaced.as_str())),
            );
        }
        return Ok(report);
    }
    if req.dry_run {
        report.status = AdoptStatus::WouldAdopt;
        report.files = vec![
            (key, "would write"),
            (crt, "would write"),
            (req.dir.join(ADOPTED_NOTE), "would write"),
        ];
        if let Some(dep) = copy_dir {
            let copy = dep.join(crate::pgbouncer::PGBOUNCER_TLS_DIR);
            report.files.extend([
                (copy.join("server.key"), "would write"),
                (copy.join("server.crt"), "would write"),
            ]);
        }
        return Ok(report);
    }
    // the private leaf's names, to issue again on the way back (kept from an earlier note)
    let private_sans = match (&note_before, old_crt.as_deref()) {
        (Some(n), Some(c)) if is_adopted(Some(n), c) => n.private_sans.clone(),
        (_, Some(c)) => pgtls_certs::inspect(c).map(|i| i.sans).unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut backups = Backups::new(req.dir);
    let cert_meta = old_crt
        .as_ref()
        .and_then(|_| pgtls_certs::file_meta(&crt).ok());
    let mut write = |path: &Path, bytes: &[u8], opts: WriteOptions| -> Result<()> {
        let o =
            pgtls_certs::write_atomic_with(path, bytes, &opts, Some(&mut backups), &|_| Ok(()))?;
        report.files.push((o.path, o.status.as_str()));
        Ok(())
    };
    write(
        &key,
        checked.key_pem.as_bytes(),
        WriteOptions {
            mode,
            owner: Some(owner),
            backup: true,
            protect_existing: false,
        },
    )?;
    write(
        &crt,
        checked.fullchain_pem.as_bytes(),
        WriteOptions {
            mode: cert_meta.map_or(pgtls_certs::CERT_MODE, |m| m.mode),
            owner: Some(cert_meta.map_or(owner, |m| m.owner())),
            backup: true,
            protect_existing: false,
        },
    )?;
    let note = AdoptedNote {
        sha256: checked.leaf.sha256.clone(),
        source: req.source.clone(),
        private_sans,
    };
    write(
        &req.dir.join(ADOPTED_NOTE),
        note.text().as_bytes(),
        WriteOptions::cert(),
    )?;
    report.backup_dir = backups.dir().map(Path::to_path_buf);
    if let Some(dep) = copy_dir {
        // PgBouncer reads its own copy (0600, its uid 70): rewritten through the one writer
        let synced = crate::pgbouncer::sync_copy(dep)?;
        report.files.extend(
            synced
                .into_iter()
                .map(|f| (f, WriteStatus::Replaced.as_str())),
        );
    }
    report.status = if report
        .files
        .iter()
        .take(2)
        .all(|(_, s)| *s == WriteStatus::Unchanged.as_str())
    {
        AdoptStatus::Unchanged
    } else {
        AdoptStatus::Adopted
    };
    Ok(report)
}

/// The deployment folder whose PgBouncer copy `adopt` rewrites: PgBouncer runs in the
/// deployment of `req` and `req.dir` is its `volumes/tls`. Without the copy folder (harden has
/// not run since PgBouncer was added) a warning says so.
fn pgbouncer_copy_dir<'a>(req: &AdoptRequest<'a>, warnings: &mut Vec<String>) -> Option<&'a Path> {
    let (dep, layout) = req.deployment?;
    let svc = layout.pgbouncer.as_ref()?;
    let same = |a: &Path, b: &Path| {
        std::path::absolute(a)
            .ok()
            .zip(std::path::absolute(b).ok())
            .is_some_and(|(a, b)| a == b)
    };
    if !same(req.dir, &dep.join(crate::paths::TLS_DIR)) {
        return None;
    }
    if !dep.join(crate::pgbouncer::PGBOUNCER_TLS_DIR).is_dir() {
        warnings.push(format!(
            "PgBouncer (service `{}`) runs but has no own copy in {}: it does not serve this certificate; run pgtls harden (it gives PgBouncer its copy and client TLS)",
            svc.key,
            crate::pgbouncer::PGBOUNCER_TLS_DIR
        ));
        return None;
    }
    Some(dep)
}

/// `certs renew` after an adoption: a new leaf from the private CA for the names the private
/// leaf had before (the adopted certificate's own names when none were recorded), the key's
/// mode and owner kept, the note removed (kept in the run's backup folder).
///
/// Returns the written files.
pub fn return_to_private(
    ca: &pgtls_certs::Ca,
    dir: &Path,
    note: &AdoptedNote,
    days: u32,
) -> Result<Vec<(PathBuf, &'static str)>> {
    let crt = dir.join("server.crt");
    let key = dir.join("server.key");
    let current = read_opt(&crt)?.unwrap_or_default();
    let sans = if note.private_sans.is_empty() {
        pgtls_certs::inspect(&current)
            .map(|i| i.sans)
            .unwrap_or_default()
    } else {
        note.private_sans.clone()
    };
    let key_type = pgtls_certs::inspect(&current)
        .ok()
        .and_then(|i| i.key_type())
        .unwrap_or_default();
    let issued = ca.issue_server(&pgtls_certs::ServerParams {
        sans,
        days,
        key_type,
        common_name: None,
    })?;
    let key_meta = pgtls_certs::file_meta(&key)?;
    let crt_meta = pgtls_certs::file_meta(&crt)?;
    let mut backups = Backups::new(dir);
    let mut out = Vec::new();
    for (path, bytes, m) in [
        (&key, issued.key_pem.as_bytes(), key_meta),
        (&crt, issued.cert_pem.as_bytes(), crt_meta),
    ] {
        let o = pgtls_certs::write_atomic_with(
            path,
            bytes,
            &WriteOptions {
                mode: m.mode,
                owner: Some(m.owner()),
                backup: true,
                protect_existing: false,
            },
            Some(&mut backups),
            &|_| Ok(()),
        )?;
        out.push((o.path, o.status.as_str()));
    }
    let note_path = dir.join(ADOPTED_NOTE);
    backups.keep(&note_path)?;
    std::fs::remove_file(&note_path).map_err(|e| Error::Io {
        context: format!("removing \"{}\"", note_path.display()),
        source: e,
    })?;
    out.push((note_path, "removed"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn note_round_trips() {
        let n = AdoptedNote {
            sha256: "AB:CD".into(),
            source: "certbot".into(),
            private_sans: vec!["db".into(), "127.0.0.1".into()],
        };
        assert_eq!(AdoptedNote::parse(&n.text()), Some(n));
        assert_eq!(AdoptedNote::parse("# nothing\n"), None);
    }

    #[test]
    fn readers_judge_the_key_rule() {
        let readers = key_readers(Owner { uid: 105, gid: 106 });
        let own = Owner { uid: 105, gid: 106 };
        assert!(
            readers
                .iter()
                .all(|r| reader_verdict(r, 0o600, own).is_ok())
        );
        let e = reader_verdict(&readers[0], 0o644, own).unwrap_err();
        assert!(e.contains("group or world access"), "{e}");
        let stranger = KeyReaderSpec {
            who: "pgbouncer".into(),
            uid: 70,
            gid: 70,
            postgres_rule: false,
            key: "volumes/tls/server.key".into(),
        };
        assert!(reader_verdict(&stranger, 0o600, own).is_err());
    }

    #[test]
    fn traefik_formats() {
        let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let json = format!(
            r#"{{"le": {{"Account": {{"Email": "a@b.test", "Registration": {{"body": {{"status": "valid"}}, "uri": "https://x/acct/1"}}, "PrivateKey": "MIIB", "KeyType": "4096"}},
                 "Certificates": [{{"domain": {{"main": "db.example.com", "sans": ["pg.example.com"]}}, "certificate": "{}", "key": "{}", "Store": "default"}}]}},
                "other": {{"Account": null, "Certificates": null}}}}"#,
            b("CERT"),
            b("KEY")
        );
        let (c, k, src) = from_traefik_acme(&json, "pg.example.com", None).unwrap();
        assert_eq!((c.as_str(), k.as_str()), ("CERT", "KEY"));
        assert!(
            src.contains("resolver `le`, domain `db.example.com`"),
            "{src}"
        );
        let e = from_traefik_acme(&json, "nope.example.com", None).unwrap_err();
        assert!(
            e.to_string()
                .contains("no certificate for `nope.example.com`"),
            "{e}"
        );
        let e = from_traefik_acme("{\"le\": ", "x", None).unwrap_err();
        assert!(e.to_string().contains("not JSON (line 1"), "{e}");
        let v1 = r#"{"Account": {"Email": "a@b.test"}, "DomainsCertificate": {}}"#;
        assert!(
            from_traefik_acme(v1, "x", None)
                .unwrap_err()
                .to_string()
                .contains("1.x")
        );
    }
}

//! The pre-deployment checklist, verified from the files (or from a staged plan).
//!
//! Every item follows the db and pooler services' own settings and mounts, so it checks any
//! deployment, not only one `harden` wrote. Item ids are stable (the `check --json` contract).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pgtls_certs::{KeyFileFacts, KeyFileVerdict, KeyReader, RenewalPolicy, key_file_verdict};
use pooler_exs::{FlagState, TenantLogic};

use crate::harden::{container_port, host_path_in};
use crate::layout::{Layout, PoolerExs, Service};
use crate::owner::{DbUser, PgData};
use crate::plan::Staging;

/// Verdict of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Fails the checklist.
    Fail,
    /// Worth knowing; does not fail.
    Warn,
}

impl Verdict {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
        }
    }
}

/// One checklist line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    /// Stable id.
    pub id: &'static str,
    /// Verdict.
    pub verdict: Verdict,
    /// Short reason.
    pub detail: String,
    /// How to fix it, when it does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The checklist.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checklist {
    /// `pass` or `fail`.
    pub verdict: &'static str,
    /// Items in order.
    pub items: Vec<Item>,
}

impl Checklist {
    /// Whether any item failed.
    pub fn failed(&self) -> bool {
        self.items.iter().any(|i| i.verdict == Verdict::Fail)
    }

    /// The items that failed, in order.
    pub fn failing(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.verdict == Verdict::Fail)
            .collect()
    }
}

/// What the checks need besides the files.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The db container's postgres user (the key's reader), when a fact tells it.
    pub db_user: Option<DbUser>,
    /// Names clients use (must be SANs).
    pub sans: Vec<String>,
    /// Warn when fewer days are left.
    pub expiry_warn_days: u32,
    /// The trusted networks and the addresses that must not get plaintext, as
    /// [`crate::trust::decide`] found them now (`None`: the `hba-trust` item is not run).
    pub trust: Option<crate::trust::TrustedNetworks>,
    /// The deployment's PostgreSQL major ([`crate::pgmajor`]); `None`: 15's rules, said so.
    pub pg_major: Option<crate::pgmajor::PgMajor>,
}

struct Ctx<'s, 'a> {
    staging: &'s Staging<'a>,
    items: Vec<Item>,
}

impl Ctx<'_, '_> {
    fn push(
        &mut self,
        id: &'static str,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.items.push(Item {
            id,
            verdict,
            detail: detail.into(),
            fix,
        });
    }
    fn pass(&mut self, id: &'static str, detail: impl Into<String>) {
        self.push(id, Verdict::Pass, detail, None);
    }
    fn fail(&mut self, id: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Fail, detail, Some(fix.into()));
    }
    fn warn(&mut self, id: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Warn, detail, Some(fix.into()));
    }
    fn text(&self, rel: &Path) -> Option<String> {
        self.staging.read_text(rel).ok().flatten()
    }
}

const HARDEN_FIX: &str = "run `pgtls harden <folder>`";

/// A file named by a db setting: container path and host path (when on a bind mount).
type FileRef = (String, Option<PathBuf>);

/// Resolves a db setting naming a file to `(container path, host path)`.
fn setting_file(
    db: &Service,
    settings: &BTreeMap<String, String>,
    name: &str,
) -> Option<(String, Option<PathBuf>)> {
    let value = settings.get(name)?;
    let container = if value.starts_with('/') {
        value.clone()
    } else {
        // relative settings are resolved against PGDATA
        format!("{}/{value}", crate::layout::PGDATA_TARGET)
    };
    let host = host_path_in(db, &container);
    Some((container, host))
}

/// Runs every check over the staged (or on-disk) state.
pub fn run(staging: &Staging<'_>, layout: &Layout, opts: &CheckOptions) -> Checklist {
    let mut cx = Ctx {
        staging,
        items: Vec::new(),
    };
    let db = &layout.db;
    let settings = db.pg_settings();
    check_db_settings(&mut cx, &settings, layout);
    check_pgdata(&mut cx, layout, opts.db_user.as_ref());
    let cert = setting_file(db, &settings, "ssl_cert_file");
    let key = setting_file(db, &settings, "ssl_key_file");
    let ca = setting_file(db, &settings, "ssl_ca_file");
    let hba = setting_file(db, &settings, "hba_file");
    check_mounts(&mut cx, db, [&cert, &key, &ca, &hba]);
    check_pinned(&mut cx, layout);
    check_certificates(&mut cx, cert.as_ref(), key.as_ref(), ca.as_ref(), opts);
    check_ca(&mut cx, cert.as_ref(), ca.as_ref());
    check_hba(
        &mut cx,
        hba.as_ref(),
        &settings,
        opts.trust.as_ref(),
        opts.pg_major.as_ref(),
    );
    match &layout.pooler {
        Some(pooler) => {
            check_pooler(&mut cx, pooler, layout);
            check_tenant(&mut cx, layout, pooler);
        }
        None if layout.pgbouncer.is_some() => {}
        None => cx.warn(
            "pooler-service",
            merged_note(layout, "no pooler service runs"),
            "nothing to check for Supavisor",
        ),
    }
    if let Some(svc) = &layout.pgbouncer {
        check_pgbouncer(&mut cx, layout, svc);
    }
    let verdict = if cx.items.iter().any(|i| i.verdict == Verdict::Fail) {
        "fail"
    } else {
        "pass"
    };
    Checklist {
        verdict,
        items: cx.items,
    }
}

/// `detail`, followed by the files Compose merges when there are several.
fn merged_note(layout: &Layout, detail: &str) -> String {
    if layout.files.len() > 1 {
        format!("{detail} (as Compose merges {})", layout.files_shown())
    } else {
        detail.to_owned()
    }
}

fn check_db_settings(cx: &mut Ctx<'_, '_>, settings: &BTreeMap<String, String>, layout: &Layout) {
    let missing: Vec<&str> = ["hba_file", "ssl_cert_file", "ssl_key_file", "ssl_ca_file"]
        .into_iter()
        .filter(|k| !settings.contains_key(*k))
        .collect();
    let ssl_on = settings
        .get("ssl")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    if ssl_on && missing.is_empty() {
        cx.pass(
            "db-command",
            "db command sets ssl=on, hba_file, ssl_cert_file, ssl_key_file, ssl_ca_file",
        );
    } else {
        let mut why = Vec::new();
        if !ssl_on {
            why.push("ssl is not on (the image ships ssl = off)".to_owned());
        }
        if !missing.is_empty() {
            why.push(format!("missing -c {}", missing.join(", -c ")));
        }
        let mut detail = why.join("; ");
        if let Some(origin) = layout.overridden_command(&layout.db.key) {
            detail = format!(
                "{detail}: the db command Compose runs is the one at {origin}, which replaces the command of {}",
                layout.compose.display()
            );
        }
        cx.fail("db-command", merged_note(layout, &detail), HARDEN_FIX);
    }
}

/// `pgdata`: the database's state. An initialized data directory tells the server's uid (it
/// runs as the folder's owner), so a different db user fails; a folder with no database yet is
/// a deployment that has never started (or a copy made by `harden --out`): a warning.
fn check_pgdata(cx: &mut Ctx<'_, '_>, layout: &Layout, user: Option<&DbUser>) {
    match crate::owner::pgdata(cx.staging.tree(), layout) {
        Err(e) => cx.fail("pgdata", e.to_string(), "fix the PGDATA volume of the db service"),
        Ok(state @ PgData::Initialized { uid, gid, .. }) => match user {
            Some(u) if u.uid != uid => cx.fail(
                "pgdata",
                format!(
                    "{}, but the db user is taken to be {} ({}): the server runs as the data directory's owner",
                    state.describe(),
                    u.ids(),
                    u.source.describe()
                ),
                format!("use --pg-owner {uid}:{gid}"),
            ),
            _ => cx.pass("pgdata", state.describe()),
        },
        Ok(state @ PgData::Uninitialized { .. }) => cx.warn(
            "pgdata",
            state.describe(),
            "if this is the live deployment, start the stack once and let its setup finish before deploying TLS; if it is a copy made by `pgtls harden --out`, copy its files over the live deployment",
        ),
        Ok(state) => cx.warn(
            "pgdata",
            state.describe(),
            "check on the Docker host that the database has been initialized (`docker compose ps`)",
        ),
    }
}

/// Files pgtls rewrites, mounted one by one: a renewal or an hba edit never reaches the
/// running container (see [`crate::mounts`]).
fn check_pinned(cx: &mut Ctx<'_, '_>, layout: &Layout) {
    let pinned = crate::mounts::pinned_files(layout);
    if pinned.is_empty() {
        cx.pass(
            "file-mounts",
            "the files pgtls rewrites (certificates, key, pg_hba.conf) reach the containers through folder mounts",
        );
    } else {
        let list: Vec<String> = pinned
            .iter()
            .map(crate::mounts::PinnedFile::describe)
            .collect();
        cx.fail(
            "file-mounts",
            list.join("; "),
            "rerun pgtls harden: it mounts the folders instead and shows the diff",
        );
    }
}

fn check_mounts(
    cx: &mut Ctx<'_, '_>,
    db: &Service,
    files: [&Option<(String, Option<PathBuf>)>; 4],
) {
    let mut problems = Vec::new();
    let mut writable = Vec::new();
    let mut count = 0;
    for (container, host) in files.into_iter().flatten() {
        count += 1;
        match host {
            None => problems.push(format!(
                "{container} is not on a bind mount of the db service"
            )),
            Some(host) => {
                if host.is_relative() && cx.staging.read(host).ok().flatten().is_none() {
                    problems.push(format!(
                        "{container} -> {} does not exist on the host",
                        host.display()
                    ));
                }
                let ro = db.volumes.iter().filter(|m| m.bind).any(|m| {
                    let t = m.target.trim_end_matches('/');
                    (container == t || container.starts_with(&format!("{t}/"))) && m.read_only
                });
                if !ro {
                    writable.push(container.clone());
                }
            }
        }
    }
    if count == 0 {
        cx.fail(
            "db-mounts",
            "no TLS or pg_hba.conf files configured",
            HARDEN_FIX,
        );
    } else if !problems.is_empty() {
        cx.fail(
            "db-mounts",
            problems.join("; "),
            "mount the files into the db service (pgtls harden does)",
        );
    } else if !writable.is_empty() {
        cx.warn(
            "db-mounts",
            format!("mounted read-write: {}", writable.join(", ")),
            "add :ro to the mounts",
        );
    } else {
        cx.pass(
            "db-mounts",
            format!("{count} files mounted read-only and present on the host"),
        );
    }
}

/// The CA kept on the host (`volumes/tls-ca/`, the `ca.crt` clients are given): its key
/// matches it and is private, the server certificate chains to it, and the db's `ssl_ca_file`
/// is the same CA.
fn check_ca(cx: &mut Ctx<'_, '_>, cert: Option<&FileRef>, db_ca: Option<&FileRef>) {
    let (crt_rel, key_rel) = (
        Path::new(crate::apply::CA_CRT),
        Path::new(crate::apply::CA_KEY),
    );
    let (Some(ca_pem), key_pem) = (cx.text(crt_rel), cx.text(key_rel)) else {
        cx.warn(
            "ca-key",
            format!(
                "no CA certificate at {}: cannot tell which CA clients are given",
                crt_rel.display()
            ),
            "keep the CA in volumes/tls-ca/ (pgtls harden does)",
        );
        return;
    };
    let mut problems = Vec::new();
    match &key_pem {
        None => problems.push(format!(
            "{} is missing: no certificate can be issued or renewed",
            key_rel.display()
        )),
        Some(key_pem) => {
            if let Err(e) = pgtls_certs::Ca::load(&ca_pem, key_pem) {
                problems.push(format!(
                    "{} does not belong to {} ({e})",
                    key_rel.display(),
                    crt_rel.display()
                ));
            }
            if let Some((mode, _)) = cx.staging.mode_owner(key_rel)
                && mode & 0o077 != 0
            {
                problems.push(format!(
                    "{} is mode {mode:04o}: the CA key was exposed to other users of this host; make a new CA",
                    key_rel.display()
                ));
            }
        }
    }
    let read = |f: Option<&FileRef>| f.and_then(|(_, h)| h.as_ref()).and_then(|h| cx.text(h));
    let adopted = adopted_note(cx, cert).is_some();
    if let Some(cert_pem) = read(cert)
        && !adopted
        && let Err(e) = pgtls_certs::verify_chain(&cert_pem, &ca_pem)
    {
        problems.push(format!(
            "the server certificate does not chain to {}, the CA clients are given ({e})",
            crt_rel.display()
        ));
    }
    if let Some(db_ca_pem) = read(db_ca)
        && db_ca_pem.trim() != ca_pem.trim()
    {
        problems.push(format!(
            "the db's ssl_ca_file is not the CA in {}",
            crt_rel.display()
        ));
    }
    if problems.is_empty() {
        cx.pass(
            "ca-key",
            format!(
                "{} matches {} (mode 0600 or stricter); {}",
                key_rel.display(),
                crt_rel.display(),
                if adopted {
                    "the server certificate is adopted from a public CA (clients use their system roots); this CA stays for client certificates and for `pgtls certs renew`"
                } else {
                    "the server certificate chains to it"
                }
            ),
        );
    } else {
        cx.fail(
            "ca-key",
            problems.join("; "),
            "restore the CA from .pgtls-backups/, or move volumes/tls-ca/ away and run `pgtls harden <folder>` to make a new CA (then give clients the new ca.crt)",
        );
    }
}

/// The adoption note beside the server certificate, when it names that certificate.
fn adopted_note(cx: &Ctx<'_, '_>, cert: Option<&FileRef>) -> Option<crate::adopt::AdoptedNote> {
    let host = cert.and_then(|(_, h)| h.as_ref())?;
    let cert_pem = cx.text(host)?;
    cx.text(&host.parent()?.join(crate::adopt::ADOPTED_NOTE))
        .and_then(|t| crate::adopt::AdoptedNote::parse(&t))
        .filter(|n| crate::adopt::is_adopted(Some(n), &cert_pem))
}

fn check_certificates(
    cx: &mut Ctx<'_, '_>,
    cert: Option<&FileRef>,
    key: Option<&FileRef>,
    ca: Option<&FileRef>,
    opts: &CheckOptions,
) {
    let read = |cx: &Ctx<'_, '_>, f: Option<&FileRef>| {
        f.and_then(|(_, h)| h.as_ref()).and_then(|h| cx.text(h))
    };
    let (cert_pem, key_pem, ca_pem) = (read(cx, cert), read(cx, key), read(cx, ca));
    let (Some(cert_pem), Some(key_pem)) = (cert_pem, key_pem) else {
        cx.fail(
            "certificates",
            "server certificate or key not found on the host",
            HARDEN_FIX,
        );
        return;
    };
    cx.pass("certificates", "server certificate and key present");
    let adopted = adopted_note(cx, cert);
    if let Some(note) = &adopted {
        check_adopted_chain(cx, &cert_pem, note);
    }
    match &ca_pem {
        _ if adopted.is_some() => {}
        None => cx.fail(
            "certificate-chain",
            "CA certificate (ssl_ca_file) not found",
            HARDEN_FIX,
        ),
        Some(ca_pem) => match pgtls_certs::verify_chain(&cert_pem, ca_pem) {
            Ok(()) => cx.pass("certificate-chain", "server certificate chains to the CA"),
            Err(e) => cx.fail(
                "certificate-chain",
                format!("server certificate does not chain to the CA: {e}"),
                "reissue it: pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca",
            ),
        },
    }
    match pgtls_certs::key_matches_cert(&key_pem, &cert_pem) {
        Ok(true) => cx.pass("key-matches", "server.key matches server.crt"),
        Ok(false) => cx.fail(
            "key-matches",
            "server.key does not belong to server.crt (PostgreSQL refuses to start)",
            HARDEN_FIX,
        ),
        Err(e) => cx.fail(
            "key-matches",
            format!("server.key cannot be read: {e}"),
            "write an unencrypted PEM key",
        ),
    }
    if let Some((container, Some(host))) = key {
        check_key_permissions(cx, container, host, opts.db_user.as_ref());
    }
    // a public certificate names public DNS names only: the compose network's names and the
    // loopback addresses cannot be in it (services there connect without TLS, FACTS §9)
    let public = |n: &&String| {
        adopted.is_none()
            || (n.contains('.')
                && n.parse::<std::net::IpAddr>().is_err()
                && !n.ends_with("localhost"))
    };
    let missing: Vec<&String> = opts
        .sans
        .iter()
        .filter(public)
        .filter(|n| !pgtls_certs::covers_host(&cert_pem, n).unwrap_or(false))
        .collect();
    if adopted.is_some() && missing.is_empty() {
        let public: Vec<&str> = opts
            .sans
            .iter()
            .filter(public)
            .map(String::as_str)
            .collect();
        cx.pass(
            "certificate-sans",
            if public.is_empty() {
                "adopted certificate: no public name given (pass --domain NAME to have it checked); the compose network's names are not in a public certificate and need not be".to_owned()
            } else {
                format!(
                    "adopted certificate covers {}; the compose network's names are not in a public certificate and need not be",
                    public.join(", ")
                )
            },
        );
    } else if missing.is_empty() {
        cx.pass(
            "certificate-sans",
            format!("SANs cover {}", opts.sans.join(", ")),
        );
    } else {
        cx.fail(
            "certificate-sans",
            format!(
                "not covered: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "reissue with the names clients use: pgtls harden <folder> --domain NAME",
        );
    }
    match pgtls_certs::inspect(&cert_pem) {
        Ok(info) => {
            let reason = pgtls_certs::renewal_reason(&info, &RenewalPolicy::default());
            if adopted.is_some() {
                // an ACME client renews it (certbot and Traefik at 30 days left): fewer than
                // that means its renewal or the hook that runs `certs adopt` is not working
                let fix = "renew it with its ACME client (certbot renew, lego renew; Traefik renews by itself) and let its hook run pgtls certs adopt --reload";
                if info.days_left < 0 {
                    cx.fail(
                        "certificate-expiry",
                        format!("adopted certificate expired on {}", info.not_after),
                        fix,
                    );
                } else if info.days_left < 30 || info.days_left < i64::from(opts.expiry_warn_days) {
                    cx.warn(
                        "certificate-expiry",
                        format!(
                            "adopted certificate: {} days left (until {}); its ACME client should have renewed it by now",
                            info.days_left, info.not_after
                        ),
                        fix,
                    );
                } else {
                    cx.pass(
                        "certificate-expiry",
                        format!(
                            "adopted certificate: {} days left (until {}); renewed by its ACME client",
                            info.days_left, info.not_after
                        ),
                    );
                }
                return;
            }
            if info.days_left < 0 {
                cx.fail(
                    "certificate-expiry",
                    format!("expired on {}", info.not_after),
                    "pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca",
                );
            } else if info.days_left < i64::from(opts.expiry_warn_days) || reason.is_some() {
                cx.warn(
                    "certificate-expiry",
                    format!("{} days left ({})", info.days_left, reason.unwrap_or_default()),
                    "pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca, then SELECT pg_reload_conf()",
                );
            } else {
                cx.pass(
                    "certificate-expiry",
                    format!("{} days left (until {})", info.days_left, info.not_after),
                );
            }
        }
        Err(e) => cx.fail(
            "certificate-expiry",
            format!("cannot read the certificate: {e}"),
            HARDEN_FIX,
        ),
    }
}

/// The bundle of CA certificates clients use as "the system roots" on Debian and Ubuntu
/// (ca-certificates; OpenSSL's default `SSL_CERT_FILE`).
pub const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `certificate-chain` for an adopted certificate: the full chain in order (each certificate
/// issued by the next), and whether the top of it is issued by a root in this host's store.
fn check_adopted_chain(cx: &mut Ctx<'_, '_>, cert_pem: &str, note: &crate::adopt::AdoptedNote) {
    if let Err(e) = pgtls_certs::check_chain_order(cert_pem) {
        cx.fail(
            "certificate-chain",
            format!("adopted certificate ({}): {e}", note.source),
            "adopt the full chain again: pgtls certs adopt <folder> --cert fullchain.pem --key privkey.pem",
        );
        return;
    }
    let chain = pgtls_certs::inspect_chain(cert_pem).unwrap_or_default();
    let Some(top) = chain.last() else { return };
    let roots = std::fs::read_to_string(SYSTEM_ROOTS).ok();
    let in_store = roots.as_deref().is_some_and(|r| {
        pgtls_certs::verify_chain(
            pgtls_certs::normalize_chain_pem(cert_pem)
                .ok()
                .and_then(|c| {
                    c.split_inclusive("-----END CERTIFICATE-----\n")
                        .last()
                        .map(str::to_owned)
                })
                .unwrap_or_default(),
            r,
        )
        .is_ok()
    });
    let path = if chain.len() > 1 {
        format!(
            "{} certificates in order, up to \"{}\"",
            chain.len(),
            top.issuer
        )
    } else {
        format!(
            "a lone certificate issued by \"{}\" (no intermediate)",
            top.issuer
        )
    };
    if in_store {
        cx.pass(
            "certificate-chain",
            format!(
                "adopted certificate ({}): {path}, a root in this host's store ({SYSTEM_ROOTS})",
                note.source
            ),
        );
    } else {
        cx.warn(
            "certificate-chain",
            format!(
                "adopted certificate ({}): {path}; that root is not in this host's store ({SYSTEM_ROOTS}), so whether clients trust it depends on theirs",
                note.source
            ),
            "clients verify it with their system roots: sslrootcert=system (libpq 16+), see pgtls connstr --ca system",
        );
    }
}

/// `key-permissions`: [`pgtls_certs::key_file_verdict`] on the key's owner and mode, for the
/// db user when known. When it is not, the most favourable reader the file allows (its owner,
/// or a member of its group for a root-owned key) is judged: if even that one cannot load it,
/// no server can (a root-owned 0600 key); otherwise the verdict is `warn`, never `pass`.
fn check_key_permissions(
    cx: &mut Ctx<'_, '_>,
    container: &str,
    host: &Path,
    user: Option<&DbUser>,
) {
    let Some((mode, Some((uid, gid)))) = cx.staging.mode_owner(host) else {
        cx.fail(
            "key-permissions",
            "server.key mode/owner unknown",
            HARDEN_FIX,
        );
        return;
    };
    let facts = KeyFileFacts {
        is_regular_file: cx.staging.tree().meta(host).is_none_or(|m| m.is_file),
        uid,
        gid,
        mode,
    };
    let shown_host = host.display().to_string();
    let what = format!("server.key mode {mode:04o} owner {uid}:{gid}");
    let fail = |cx: &mut Ctx<'_, '_>, verdict: &KeyFileVerdict, reader: Option<&DbUser>| {
        let detail = match verdict {
            KeyFileVerdict::Refused {
                message,
                detail: Some(d),
                ..
            } => format!("{what}: PostgreSQL refuses it: {message} ({d})"),
            KeyFileVerdict::PassesCheckButUnreadable {
                message, reason, ..
            } => {
                format!(
                    "{what}: passes PostgreSQL's permission check, then the server cannot read it ({reason}): {message}"
                )
            }
            other => format!(
                "{what}: PostgreSQL refuses it: {}",
                other.message().unwrap_or_default()
            ),
        };
        let fix = match (verdict.fix(), reader) {
            (Some(fix), Some(_)) => format!(
                "{} (pgtls harden --pg-owner does this)",
                fix.command(&shown_host)
            ),
            _ => "give the key to the db container's postgres user with mode 0600: pgtls harden --pg-owner UID:GID (find it with `docker compose exec db id postgres`)".to_owned(),
        };
        cx.fail("key-permissions", detail, fix);
    };
    if let Some(user) = user {
        let verdict = key_file_verdict(container, facts, user.reader());
        if verdict.loads() {
            cx.pass(
                "key-permissions",
                format!(
                    "{what}: the server, running as {} ({}), loads it",
                    user.ids(),
                    user.source.describe()
                ),
            );
        } else {
            fail(cx, &verdict, Some(user));
        }
    } else {
        // the reader the file is most likely to admit
        let best = if uid == 0 {
            KeyReader::new(u32::MAX - 1, gid)
        } else {
            KeyReader::new(uid, gid)
        };
        let verdict = key_file_verdict(container, facts, best);
        if verdict.loads() {
            let only_if = if uid == 0 {
                format!("only if the server user is in group {gid}")
            } else {
                format!("only if the db container's postgres uid is {uid}")
            };
            cx.warn(
                "key-permissions",
                format!("{what}: loads {only_if}; which uid the server runs as is unknown"),
                "pass --pg-owner UID:GID (find it with `docker compose exec db id postgres`)",
            );
        } else {
            fail(cx, &verdict, None);
        }
    }
}

fn check_hba(
    cx: &mut Ctx<'_, '_>,
    hba: Option<&FileRef>,
    settings: &BTreeMap<String, String>,
    trust: Option<&crate::trust::TrustedNetworks>,
    major: Option<&crate::pgmajor::PgMajor>,
) {
    let version = major.map_or(pg_hba::PgVersion::V15, crate::pgmajor::PgMajor::version);
    let judged = major.map_or_else(
        || "PostgreSQL 15 (assumed)".to_owned(),
        crate::pgmajor::PgMajor::describe,
    );
    let Some((container, host)) = hba else {
        cx.fail(
            "hba-valid",
            "hba_file is not set: the image's default pg_hba.conf accepts plaintext from 0.0.0.0/0 and ::0/0",
            HARDEN_FIX,
        );
        return;
    };
    let read = host.as_ref().map(|h| cx.staging.read_text(h));
    if let Some(Err(e)) = &read {
        cx.fail(
            "hba-valid",
            format!("{container} cannot be read: {e}"),
            "fix the file (it must be UTF-8 text)",
        );
        return;
    }
    let Some(text) = read.and_then(Result::ok).flatten() else {
        cx.fail(
            "hba-valid",
            format!("{container} is not readable from the host"),
            HARDEN_FIX,
        );
        return;
    };
    let name = host
        .as_ref()
        .map_or_else(|| container.clone(), |h| h.display().to_string());
    let doc = pg_hba::Document::parse(
        &text,
        pg_hba::ParseOptions {
            file_name: name,
            version,
        },
    );
    let errors = doc.validate();
    let disagreement = major.map(|m| m.notes.join("; ")).unwrap_or_default();
    if errors.is_empty() && !disagreement.is_empty() {
        cx.warn(
            "hba-valid",
            format!("pg_hba.conf is valid for {judged}, but {disagreement}"),
            "make the db image and the data directory agree, or pass --pg-version",
        );
    } else if errors.is_empty() {
        cx.pass("hba-valid", format!("pg_hba.conf is valid for {judged}"));
    } else {
        let list: Vec<String> = errors
            .iter()
            .map(|d| format!("{}:{}: {}", d.file, d.line, d.message))
            .collect();
        cx.fail(
            "hba-valid",
            format!("invalid for {judged}: {}", list.join("; ")),
            "fix the lines (pgtls hba check FILE)",
        );
        return;
    }
    let ssl = settings
        .get("ssl")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    let findings = pg_hba::lint(&doc, &pg_hba::LintOptions { ssl });
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == pg_hba::Severity::Error)
        .collect();
    let warnings: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == pg_hba::Severity::Warning)
        .collect();
    let fmt = |fs: &[&pg_hba::Finding]| {
        fs.iter()
            .map(|f| format!("line {} {}: {}", f.line, f.code, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !errors.is_empty() {
        cx.fail(
            "hba-lint",
            fmt(&errors),
            "pgtls hba lint FILE shows hints; pgtls hba apply-policy FILE fixes the policy",
        );
    } else if !warnings.is_empty() {
        cx.warn(
            "hba-lint",
            fmt(&warnings),
            "pgtls hba lint FILE shows hints",
        );
    } else {
        cx.pass(
            "hba-lint",
            "no security findings (trust, weak methods, public plaintext, missing rejects)",
        );
    }
    if let Some(t) = trust {
        check_trust(cx, &doc, t);
    }
}

/// `hba-trust`: every gateway and proxy address known now is refused plaintext by the file (a
/// proxy recreated with a new address since harden ran is not); unknown when nothing could be
/// looked up.
fn check_trust(cx: &mut Ctx<'_, '_>, doc: &pg_hba::Document, t: &crate::trust::TrustedNetworks) {
    let admitted: Vec<String> = t
        .excluded
        .iter()
        .filter_map(|e| {
            let conn = pg_hba::Connection::host(e.addr, "postgres", "postgres")
                .with_encryption(pg_hba::Encryption::None);
            let x = pg_hba::explain(doc, &conn);
            (x.outcome == pg_hba::Outcome::Allow).then(|| {
                format!(
                    "{} ({}) by line {}",
                    e.addr,
                    e.why.split(':').next().unwrap_or_default(),
                    x.line.unwrap_or_default()
                )
            })
        })
        .collect();
    if !admitted.is_empty() {
        cx.fail(
            "hba-trust",
            format!("plaintext admitted from {}", admitted.join("; ")),
            "run `pgtls harden <folder>` again (it refuses plaintext from each gateway and proxy the Docker engine reports now), then reload the db",
        );
    } else if let Some(w) = t.warnings.first() {
        cx.warn(
            "hba-trust",
            format!(
                "trusted networks {} ({}): {w}",
                t.cidrs.join(", "),
                t.source.describe()
            ),
            "run pgtls check where the Docker engine answers and the deployment runs",
        );
    } else {
        cx.pass(
            "hba-trust",
            format!(
                "plaintext refused from the {} gateway and proxy addresses of {}",
                t.excluded.len(),
                t.source.describe()
            ),
        );
    }
}

/// True when the service's command creates `path` itself with openssl (Coolify's Supavisor
/// command makes a self-signed certificate when none is mounted).
fn makes_own_cert(service: &Service, path: &str) -> bool {
    let command = service.command.join(" ");
    command.contains("openssl") && command.contains(path)
}

fn check_pooler(cx: &mut Ctx<'_, '_>, pooler: &Service, layout: &Layout) {
    let origin = |var: &str| {
        layout
            .merged(&pooler.key)
            .and_then(|m| m.env(var))
            .map(|v| format!(" (set at {})", v.origin))
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    for var in ["GLOBAL_DOWNSTREAM_CERT_PATH", "GLOBAL_DOWNSTREAM_KEY_PATH"] {
        match pooler.environment.get(var) {
            None => problems.push(format!("{var} not set (Supavisor answers SSLRequest with N)")),
            Some(path) => match host_path_in(pooler, path) {
                None if makes_own_cert(pooler, path) => problems.push(format!(
                    "{var}={path}{} is not on a bind mount: the pooler's command makes a self-signed certificate there, which clients cannot verify against your CA", origin(var)
                )),
                None => problems.push(format!("{var}={path}{} is not on a bind mount (the container crash-loops if it is missing)", origin(var))),
                Some(host) if host.is_relative() && cx.staging.read(&host).ok().flatten().is_none() => {
                    problems.push(format!("{var}={path} -> {} does not exist (the container crash-loops)", host.display()));
                }
                Some(_) => {}
            },
        }
    }
    if problems.is_empty() {
        cx.pass(
            "pooler-tls",
            "pooler certificate and key mounted, GLOBAL_DOWNSTREAM_CERT_PATH/_KEY_PATH set",
        );
    } else {
        cx.fail(
            "pooler-tls",
            merged_note(layout, &problems.join("; ")),
            HARDEN_FIX,
        );
    }
    let missing: Vec<&str> = ["5432", "6543"]
        .into_iter()
        .filter(|p| !pooler.ports.iter().any(|s| container_port(s) == Some(*p)))
        .collect();
    if missing.is_empty() {
        cx.pass(
            "pooler-ports",
            "ports 5432 (session) and 6543 (transaction) published",
        );
    } else {
        cx.warn(
            "pooler-ports",
            format!("not published: {}", missing.join(", ")),
            HARDEN_FIX,
        );
    }
}

/// The PgBouncer variant: client TLS required (in the environment the edoburu entrypoint turns
/// into pgbouncer.ini, or in a mounted pgbouncer.ini), certificate and key on a bind mount, the
/// key readable by PgBouncer's uid, its port published. Ids `pooler-tls`, `pooler-key`,
/// `pooler-ports`, as for Supavisor; the detail names the service.
fn check_pgbouncer(cx: &mut Ctx<'_, '_>, layout: &Layout, svc: &Service) {
    use crate::pgbouncer::{ConfigSource, PGBOUNCER_USER, env_name, refuses_plaintext};
    let name = format!("PgBouncer (`{}`)", svc.key);
    let settings = match crate::pgbouncer::settings(cx.staging, layout, svc) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let why = match crate::pgbouncer::config_source(cx.staging, svc) {
                ConfigSource::Unreachable { why, .. } => why,
                _ => String::new(),
            };
            cx.warn(
                "pooler-tls",
                format!("{name}: its pgbouncer.ini cannot be read from here: {why}"),
                "set client_tls_sslmode = require and the certificate and key in it",
            );
            return;
        }
        Err(e) => {
            cx.fail(
                "pooler-tls",
                format!("{name}: its settings cannot be read: {e}"),
                "fix the file",
            );
            return;
        }
    };
    let file = settings.file.display().to_string();
    let in_env = matches!(settings.source, ConfigSource::Env);
    // in the environment: the file and line whose value Compose runs (the merged model's
    // provenance), else the last file defining the service (where harden sets it)
    let merged = layout.merged(&svc.key);
    let shown = |setting: &str| {
        if !in_env {
            return format!("{setting} in {file}");
        }
        let var = env_name(setting);
        let at = match merged {
            Some(m) => match m.env(&var) {
                Some(v) => v.origin.to_string(),
                None => m
                    .last_definition()
                    .map_or_else(|| file.clone(), |o| o.file.clone()),
            },
            None => file.clone(),
        };
        format!("{var} in service `{}` of {at}", svc.key)
    };
    let port = crate::pgbouncer::listen_port(Some(&settings));
    let mode = settings.get("client_tls_sslmode");
    let mut problems = Vec::new();
    if !refuses_plaintext(mode) {
        problems.push(match mode {
            None => format!(
                "{} is not set (PgBouncer's default is disable): port {port} accepts plaintext clients",
                shown("client_tls_sslmode")
            ),
            Some(m) => format!(
                "{} is `{m}`: port {port} accepts plaintext clients",
                shown("client_tls_sslmode")
            ),
        });
    }
    let mut key_host = None;
    for setting in ["client_tls_cert_file", "client_tls_key_file"] {
        match settings.get(setting) {
            None | Some("") => problems.push(format!("{} is not set", shown(setting))),
            Some(path) => match host_path_in(svc, path) {
                None => problems.push(format!("{}={path} is not on a bind mount", shown(setting))),
                Some(host)
                    if host.is_relative() && cx.staging.read(&host).ok().flatten().is_none() =>
                {
                    problems.push(format!(
                        "{}={path} -> {} does not exist (PgBouncer does not start)",
                        shown(setting),
                        host.display()
                    ));
                }
                Some(host) => {
                    if setting == "client_tls_key_file" {
                        key_host = Some((path.to_owned(), host));
                    }
                }
            },
        }
    }
    if problems.is_empty() {
        cx.pass(
            "pooler-tls",
            format!(
                "{name}: client_tls_sslmode {} ({file}), certificate and key on a bind mount",
                mode.unwrap_or_default()
            ),
        );
    } else {
        cx.fail(
            "pooler-tls",
            format!("{name}: {}", problems.join("; ")),
            HARDEN_FIX,
        );
    }
    if let Some((container, host)) = key_host {
        let (u, g) = PGBOUNCER_USER;
        match cx.staging.mode_owner(&host) {
            Some((mode, Some((uid, gid)))) => {
                let facts = KeyFileFacts {
                    is_regular_file: cx.staging.tree().meta(&host).is_none_or(|m| m.is_file),
                    uid,
                    gid,
                    mode,
                };
                let verdict = pgtls_certs::key_file_verdict_for(
                    pgtls_certs::KeyProgram::PgBouncer,
                    &container,
                    facts,
                    KeyReader::new(u, g),
                );
                let what = format!("{}: mode {mode:04o} owner {uid}:{gid}", host.display());
                if !verdict.loads() {
                    let fix = verdict.fix().map_or_else(
                        || HARDEN_FIX.to_owned(),
                        |f| {
                            format!(
                                "{} (pgtls harden writes PgBouncer its own copy)",
                                f.command(&host.display().to_string())
                            )
                        },
                    );
                    cx.fail(
                        "pooler-key",
                        format!(
                            "{what}: PgBouncer runs as uid {u} (the edoburu image's USER postgres) and cannot read it: {}",
                            verdict.message().unwrap_or_default()
                        ),
                        fix,
                    );
                } else if mode & 0o077 != 0 {
                    cx.warn(
                        "pooler-key",
                        format!("{what}: PgBouncer reads it, and so can other users (group or other bits)"),
                        format!("chmod 0600 '{}'", host.display()),
                    );
                } else {
                    cx.pass(
                        "pooler-key",
                        format!("{what}: readable by PgBouncer (uid {u}) and by no one else"),
                    );
                }
            }
            _ => cx.warn(
                "pooler-key",
                format!("{}: mode/owner unknown", host.display()),
                HARDEN_FIX,
            ),
        }
    }
    let published = svc
        .ports
        .iter()
        .find(|p| container_port(p) == Some(port.to_string().as_str()));
    match published {
        Some(spec) => cx.pass(
            "pooler-ports",
            format!("{name}: port {port} published ({spec})"),
        ),
        None => cx.warn(
            "pooler-ports",
            format!("{name}: port {port} (listen_port) is not published"),
            "publish it (upstream: ${POOLER_PROXY_PORT_TRANSACTION}:6432)",
        ),
    }
}

fn check_tenant(cx: &mut Ctx<'_, '_>, layout: &Layout, pooler: &Service) {
    let text = match &layout.pooler_exs {
        PoolerExs::File(p) => match cx.staging.read_text(p) {
            Ok(text) => text,
            Err(e) => {
                cx.fail(
                    "pooler-enforce-ssl",
                    format!("pooler.exs cannot be read: {e}"),
                    "fix the file (it must be UTF-8 text)",
                );
                return;
            }
        },
        PoolerExs::Inline { target, .. } => {
            pooler.mount_for(target).and_then(|m| m.content.clone())
        }
        PoolerExs::Missing => None,
    };
    let Some(text) = text else {
        cx.warn(
            "pooler-enforce-ssl",
            "no pooler.exs found",
            "set enforce_ssl on the tenant through Supavisor's API",
        );
        return;
    };
    let inspection = pooler_exs::TenantFile::parse(&text).and_then(|f| f.script().inspect());
    match inspection {
        Err(e) => cx.fail(
            "pooler-enforce-ssl",
            format!("pooler.exs cannot be read: {e}"),
            "fix the script",
        ),
        Ok(i) => {
            if i.enforce_ssl == FlagState::True {
                cx.pass(
                    "pooler-enforce-ssl",
                    "\"enforce_ssl\" => true in the tenant parameters",
                );
            } else if i.enforce_ssl == FlagState::False && i.tenant_logic == TenantLogic::Upsert {
                cx.fail(
                    "pooler-enforce-ssl",
                    "the tenant script sets \"enforce_ssl\" => false and upserts the tenant at every pooler start: plaintext clients are accepted, and setting enforce_ssl through Supavisor's API alone would be reverted at the next start",
                    HARDEN_FIX,
                );
            } else {
                cx.fail(
                    "pooler-enforce-ssl",
                    "enforce_ssl is not true: plaintext clients are accepted by the pooler",
                    HARDEN_FIX,
                );
            }
            match i.tenant_logic {
                TenantLogic::Upsert => cx.pass("pooler-tenant-logic", "the script upserts: the setting reaches an existing tenant"),
                TenantLogic::CreateOnly => cx.warn(
                    "pooler-tenant-logic",
                    "create-only trap: the script only creates a missing tenant, so an existing tenant keeps enforce_ssl=false",
                    "pgtls harden <folder> --pooler-upsert, or PUT /api/tenants/<id> on the pooler",
                ),
                _ => cx.warn("pooler-tenant-logic", "tenant logic not recognised", "check that enforce_ssl reaches the existing tenant"),
            }
        }
    }
}

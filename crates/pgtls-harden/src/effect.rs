//! What makes a change take effect: given the layout and what changed, the exact action per
//! service; with an engine, doing it and confirming on the wire.
//!
//! Facts this relies on (checked upstream):
//! - **PostgreSQL** re-reads `pg_hba.conf` on SIGHUP (`pg_ctl reload`, `SELECT pg_reload_conf()`),
//!   and since PostgreSQL 10 also `ssl_cert_file`, `ssl_key_file` and `ssl_ca_file`
//!   (postgres/postgres commit de41869, "Allow SSL configuration to be updated at SIGHUP": a
//!   new SSL context from re-read files at every SIGHUP). The supabase/postgres
//!   image execs `postgres` as the container's main process, so `docker compose kill -s SIGHUP`
//!   reaches the postmaster; `pg_reload_conf()` needs a superuser (`supabase_admin` in that
//!   image; `postgres` is not one in recent images), which the image trusts on 127.0.0.1.
//! - **Supavisor** (supabase/supavisor v2.7.0..v2.9.10, `lib/supavisor/client_handler.ex`; 2.9+
//!   through `Helpers.downstream_certs_keys/0` in `lib/supavisor/helpers.ex`) passes the
//!   certificate and key as *paths* (`certfile:`/`keyfile:`, 2.9: `certs_keys: [%{certfile,
//!   keyfile}]`) to `:ssl.handshake/2` for every client. Erlang's ssl caches PEM files by path
//!   and checks them for changes only at its `ssl_pem_cache_clean` interval (OTP ssl docs:
//!   default 2 minutes), so a renewed file is served after up to that long; a restart serves it
//!   at once. With a single-file mount the container never sees the new file: restart.
//! - A single-file bind mount pins the inode (see [`crate::mounts`]): a reload re-reads the old
//!   file; a container restart re-binds the host path.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::ids::StepId;
use crate::layout::Layout;
use crate::mounts::PinnedFile;
use crate::owner::Engine;

/// What changed on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The server certificate and key (`certs renew`, `harden` reissuing them).
    Certificates,
    /// `pg_hba.conf` (`hba apply-policy`, `harden`).
    Hba,
}

/// What a harden plan changes that a running stack must pick up: the certificates step
/// ([`Change::Certificates`]) and the pg-hba step ([`Change::Hba`]).
pub fn changes_of(steps: &[crate::step::Step]) -> Vec<Change> {
    let changed = |id: StepId| {
        steps
            .iter()
            .any(|s| s.id == id && s.status == crate::step::StepStatus::Changed)
    };
    let mut out = Vec::new();
    if changed(StepId::Certificates) {
        out.push(Change::Certificates);
    }
    if changed(StepId::PgHba) {
        out.push(Change::Hba);
    }
    out
}

/// Whether a harden plan changed what only a recreate picks up: the compose file (db or pooler
/// service), the tenant script, or a copy (`--out`).
pub fn needs_recreate(steps: &[crate::step::Step]) -> bool {
    steps.iter().any(|s| {
        s.status == crate::step::StepStatus::Changed
            && matches!(
                s.id,
                StepId::Copy
                    | StepId::DbService
                    | StepId::PoolerService
                    | StepId::PoolerTenant
                    | StepId::PgbouncerService
            )
    })
}

/// The kind of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ActionKind {
    /// SIGHUP / `pg_reload_conf()`: no restart, connections stay.
    Reload,
    /// A container restart.
    Restart,
}

/// One service's action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Action {
    /// Compose service key.
    pub service: String,
    /// Reload or restart.
    pub kind: ActionKind,
    /// The exact command, run from the deployment folder.
    pub command: String,
    /// Another command that does the same, when there is one.
    pub alternative: Option<String>,
    /// Why this action (and not less).
    pub why: String,
}

impl Action {
    /// `db: docker compose kill -s SIGHUP db (why)`, one line.
    pub fn line(&self) -> String {
        let alt = self
            .alternative
            .as_ref()
            .map_or_else(String::new, |a| format!(", or: {a}"));
        format!("{}: {}{alt} ({})", self.service, self.command, self.why)
    }
}

/// The actions that make `changes` take effect in `layout`'s running containers.
pub fn actions(layout: &Layout, changes: &[Change]) -> Vec<Action> {
    let pinned = crate::mounts::pinned_files(layout);
    let pinned_in = |service: &str, hba: bool| -> Vec<&PinnedFile> {
        pinned
            .iter()
            .filter(|p| p.service == service && (p.what == "pg_hba.conf") == hba)
            .collect()
    };
    let certs = changes.contains(&Change::Certificates);
    let hba = changes.contains(&Change::Hba);
    let mut out = Vec::new();
    if certs || hba {
        let db = &layout.db.key;
        let mut stuck: Vec<&PinnedFile> = Vec::new();
        if certs {
            stuck.extend(pinned_in(db, false));
        }
        if hba {
            stuck.extend(pinned_in(db, true));
        }
        let what = match (certs, hba) {
            (true, true) => "pg_hba.conf and the certificate, key and CA",
            (true, false) => "the certificate, key and CA (PostgreSQL 10 and later)",
            _ => "pg_hba.conf",
        };
        out.push(if stuck.is_empty() {
            Action {
                service: db.clone(),
                kind: ActionKind::Reload,
                command: format!("docker compose kill -s SIGHUP {db}"),
                alternative: Some(format!(
                    "docker compose exec {db} psql -h 127.0.0.1 -U supabase_admin -d postgres -c 'select pg_reload_conf()'"
                )),
                why: format!("PostgreSQL re-reads {what} on SIGHUP; no restart, open connections stay"),
            }
        } else {
            Action {
                service: db.clone(),
                kind: ActionKind::Restart,
                command: format!("docker compose restart {db}"),
                alternative: None,
                why: format!(
                    "{} mounted as single files: a reload would re-read the old ones; rerun pgtls harden to mount the folders, then a reload is enough",
                    stuck.iter().map(|p| p.container.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }
        });
    }
    if certs && let Some(p) = &layout.pooler {
        let stuck = pinned_in(&p.key, false);
        out.push(Action {
            service: p.key.clone(),
            kind: ActionKind::Restart,
            command: format!("docker compose restart {}", p.key),
            alternative: None,
            why: if stuck.is_empty() {
                "restart the pooler: Supavisor hands the certificate and key paths to Erlang's ssl, whose PEM cache keeps serving the old certificate until its periodic check (ssl_pem_cache_clean, 2 min by default); a restart serves the new one at once".to_owned()
            } else {
                format!(
                    "restart the pooler: {} mounted as single files, so only a restart shows it the new certificate (rerun pgtls harden to mount the folder)",
                    stuck.iter().map(|p| p.container.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
        });
    }
    if certs && let Some(p) = &layout.pgbouncer {
        out.push(Action {
            service: p.key.clone(),
            kind: ActionKind::Reload,
            command: format!("docker compose kill -s SIGHUP {}", p.key),
            alternative: Some(format!(
                "RELOAD; on PgBouncer's admin console (docker compose exec {} psql -h 127.0.0.1 -p {} -U postgres pgbouncer -c RELOAD)",
                p.key,
                crate::pgbouncer::listen_port_of(p, None)
            )),
            why: "PgBouncer re-reads its configuration and loads the certificate and key files again on SIGHUP (or RELOAD); open connections stay; if the new files cannot be loaded it keeps serving the old certificate".to_owned(),
        });
    }
    out
}

/// Whether the served certificate is the one on the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Confirmation {
    /// A fresh handshake got the certificate on the host (`sha256` fingerprint).
    Confirmed {
        /// Where it was seen.
        at: String,
        /// Its fingerprint.
        sha256: String,
    },
    /// A fresh handshake still got another certificate.
    Stale {
        /// Where it was seen.
        at: String,
        /// The fingerprint served.
        served: String,
        /// The fingerprint on the host.
        want: String,
    },
    /// Not established (no engine, no address, no prober, or nothing to compare).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// What `--reload` did for one service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    /// The action.
    pub action: Action,
    /// The container it was done to (found by compose labels), if any.
    pub container: Option<String>,
    /// `Err` when the engine refused or nothing was found.
    pub result: Result<(), String>,
    /// The wire check after it.
    pub confirmation: Confirmation,
}

/// The ports a service's TLS listener is checked on.
fn ports_for(layout: &Layout, dir: &Path, service: &str) -> Vec<u16> {
    if layout.pooler.as_ref().is_some_and(|p| p.key == service) {
        vec![5432, 6543]
    } else if let Some(p) = layout.pgbouncer.as_ref().filter(|p| p.key == service) {
        vec![crate::pgbouncer::listen_port_of(p, Some(dir))]
    } else {
        vec![5432]
    }
}

/// Does `actions` through `engine` for the deployment in `dir` (containers found by the compose
/// labels `com.docker.compose.service` and `...project.working_dir`, never by name), then, when
/// `want_cert` (the PEM on the host) is given, confirms with a fresh handshake on each
/// container address that the new certificate is served (retrying up to `patience`, as a
/// restarted pooler takes a moment to listen).
pub fn perform(
    layout: &Layout,
    dir: &Path,
    actions: &[Action],
    engine: &dyn Engine,
    want_cert: Option<&str>,
    patience: Duration,
) -> Vec<Done> {
    let want = want_cert.and_then(|pem| pgtls_certs::inspect(pem).ok().map(|i| i.sha256));
    actions
        .iter()
        .map(|a| {
            let unknown = |reason: String| Confirmation::Unknown { reason };
            if !engine.available() {
                return Done {
                    action: a.clone(),
                    container: None,
                    result: Err("no Docker engine answers on this host".into()),
                    confirmation: unknown("not done".into()),
                };
            }
            let Some(id) = engine.db_container(dir, &a.service, None) else {
                return Done {
                    action: a.clone(),
                    container: None,
                    result: Err(format!(
                        "no running container of service `{}` of the compose project in {} (compose labels)",
                        a.service,
                        dir.display()
                    )),
                    confirmation: unknown("not done".into()),
                };
            };
            let result = match a.kind {
                ActionKind::Reload => engine.signal(&id, "HUP"),
                ActionKind::Restart => engine.restart(&id),
            };
            let confirmation = match (&result, &want) {
                (Err(_), _) => unknown("the action failed".into()),
                (Ok(()), None) if a.kind == ActionKind::Reload => unknown(
                    "PostgreSQL re-reads pg_hba.conf on SIGHUP; which rules it applies is not observable from here (select * from pg_hba_file_rules shows the file it reads)".into(),
                ),
                (Ok(()), None) => unknown("no certificate to compare with".into()),
                (Ok(()), Some(want)) => {
                    confirm(engine, &id, &ports_for(layout, dir, &a.service), want, patience)
                }
            };
            Done {
                action: a.clone(),
                container: Some(id),
                result,
                confirmation,
            }
        })
        .collect()
}

fn confirm(
    engine: &dyn Engine,
    id: &str,
    ports: &[u16],
    want: &str,
    patience: Duration,
) -> Confirmation {
    let addrs = engine.addresses(id);
    let Some(addr) = addrs.first() else {
        return Confirmation::Unknown {
            reason: format!("the engine names no address for container {id}"),
        };
    };
    let start = Instant::now();
    let mut last = Confirmation::Unknown {
        reason: "not probed".into(),
    };
    for &port in ports {
        let sock = std::net::SocketAddr::new(*addr, port);
        loop {
            last = match served_sha256(sock) {
                Ok(served) if served == want => Confirmation::Confirmed {
                    at: sock.to_string(),
                    sha256: served,
                },
                Ok(served) => Confirmation::Stale {
                    at: sock.to_string(),
                    served,
                    want: want.to_owned(),
                },
                Err(reason) => Confirmation::Unknown { reason },
            };
            if matches!(last, Confirmation::Confirmed { .. }) || start.elapsed() > patience {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if !matches!(last, Confirmation::Confirmed { .. }) {
            return last;
        }
    }
    last
}

/// What to say when the changed file belongs to no deployment found.
pub const NO_DEPLOYMENT: &str = "to make it take effect: reload PostgreSQL (SIGHUP, or SELECT pg_reload_conf() as a superuser; PostgreSQL 10+ re-reads the certificate, key and CA) and restart the pooler; pass --deployment DIR for the exact commands";

/// The deployment a changed host path belongs to: the nearest folder among `path`'s ancestors
/// (up to four levels up) whose compose file detects as a layout and whose db or pooler service
/// bind-mounts `path` or a folder holding it. `None` when no such folder is found.
pub fn find_deployment(path: &Path) -> Option<(std::path::PathBuf, Layout)> {
    let path = std::path::absolute(path).ok()?;
    for dir in path.ancestors().skip(1).take(4) {
        let Ok(layout) = Layout::detect(&crate::FsSource::new(dir), None) else {
            continue;
        };
        let Ok(rel) = path.strip_prefix(dir) else {
            continue;
        };
        let mounted = std::iter::once(&layout.db)
            .chain(layout.pooler.as_ref())
            .chain(layout.pgbouncer.as_ref())
            .flat_map(|s| &s.volumes)
            .filter(|m| m.bind)
            .filter_map(|m| crate::layout::relative_host_path(&m.source))
            .any(|host| rel.starts_with(&host) || host.starts_with(rel));
        if mounted {
            return Some((dir.to_path_buf(), layout));
        }
    }
    None
}

/// [`after_change`] for the deployment that `path` (the changed host file) belongs to: `deployment`
/// when given, else [`find_deployment`]. `reload` does the actions through `engine`.
///
/// # Errors
/// `deployment` has no detectable layout, or `reload` without a deployment.
pub fn take_effect(
    path: &Path,
    deployment: Option<&Path>,
    reload: bool,
    engine: &dyn Engine,
    changes: &[Change],
    cert: Option<&Path>,
) -> crate::Result<(Vec<String>, bool)> {
    let how = crate::ComposeInvocation::from_process(Vec::new());
    take_effect_with(path, deployment, &how, reload, engine, changes, cert)
}

/// [`take_effect`] with the deployment's compose files read as Compose invoked as `how` reads
/// them (`-f` files, environment).
///
/// # Errors
/// `deployment` has no detectable layout, or `reload` without a deployment.
pub fn take_effect_with(
    path: &Path,
    deployment: Option<&Path>,
    how: &crate::ComposeInvocation,
    reload: bool,
    engine: &dyn Engine,
    changes: &[Change],
    cert: Option<&Path>,
) -> crate::Result<(Vec<String>, bool)> {
    let found = match deployment {
        Some(d) => Some((
            d.to_path_buf(),
            crate::layout::detect_with(&crate::FsSource::new(d), None, how)?,
        )),
        None => find_deployment(path),
    };
    let Some((dir, layout)) = found else {
        if reload {
            return Err(crate::Error::Refused(format!(
                "--reload: no deployment folder among the parents of \"{}\" mounts it: pass --deployment DIR",
                path.display()
            )));
        }
        return Ok((vec![NO_DEPLOYMENT.to_owned()], true));
    };
    let want = cert.and_then(|p| std::fs::read_to_string(p).ok());
    let mut synced = Vec::new();
    if changes.contains(&Change::Certificates) && layout.pgbouncer.is_some() {
        // PgBouncer reads its own copy (owned by its uid): bring it up to date first
        let renewed_main = std::path::absolute(path)
            .ok()
            .zip(std::path::absolute(dir.join(crate::paths::TLS_DIR)).ok())
            .is_some_and(|(p, t)| p.starts_with(&t));
        if renewed_main {
            for f in crate::pgbouncer::sync_copy(&dir)? {
                synced.push(format!(
                    "copied for PgBouncer: {} (its own copy; the key 0600 owned by {}:{})",
                    f.display(),
                    crate::pgbouncer::PGBOUNCER_USER.0,
                    crate::pgbouncer::PGBOUNCER_USER.1
                ));
            }
        }
    }
    let engine = reload.then_some(engine);
    let (lines, ok) = after_change(&dir, &layout, changes, engine, want.as_deref());
    synced.extend(lines);
    Ok((synced, ok))
}

/// `harden --reload` after applying `steps`: the actions when only certificates or
/// `pg_hba.conf` changed; when the compose file changed (or `dir` is a copy), nothing is done
/// (containers must be recreated from the new compose: the redeploy step says how).
pub fn after_harden(
    dir: &Path,
    layout: &Layout,
    steps: &[crate::step::Step],
    engine: &dyn Engine,
) -> (Vec<String>, bool) {
    let recreate = needs_recreate(steps);
    let changes = changes_of(steps);
    if recreate || changes.is_empty() {
        let why = if recreate {
            "the compose file or the tenant script changed: the containers must be recreated (the redeploy step under Next steps); nothing reloaded"
        } else {
            "nothing changed that a running container must pick up; nothing reloaded"
        };
        return (vec![format!("--reload: {why}")], true);
    }
    let cert = std::fs::read_to_string(dir.join(crate::paths::TLS_DIR).join("server.crt")).ok();
    let cert = cert.filter(|_| changes.contains(&Change::Certificates));
    after_change(dir, layout, &changes, Some(engine), cert.as_deref())
}

/// The lines a command prints after `changes` in the deployment at `dir`: what to run per
/// service, or (with `engine`, `--reload`) what was done and whether a fresh handshake shows
/// the new certificate (`want_cert`, the PEM on the host).
pub fn after_change(
    dir: &Path,
    layout: &Layout,
    changes: &[Change],
    engine: Option<&dyn Engine>,
    want_cert: Option<&str>,
) -> (Vec<String>, bool) {
    let todo = actions(layout, changes);
    let Some(engine) = engine else {
        let mut lines = vec![format!("to make it take effect, from {}:", dir.display())];
        lines.extend(todo.iter().map(|a| format!("  {}", a.line())));
        return (lines, true);
    };
    let done = perform(
        layout,
        dir,
        &todo,
        engine,
        want_cert,
        Duration::from_secs(60),
    );
    let mut ok = true;
    let lines = done
        .iter()
        .map(|d| {
            let did = match &d.result {
                Ok(()) => format!(
                    "{} {} done ({})",
                    d.action.service,
                    if d.action.kind == ActionKind::Reload {
                        "reload (SIGHUP)"
                    } else {
                        "restart"
                    },
                    d.container
                        .as_deref()
                        .map_or("?", |c| c.get(..12).unwrap_or(c))
                ),
                Err(e) => {
                    ok = false;
                    format!(
                        "{}: not done: {e}; run it yourself: {}",
                        d.action.service, d.action.command
                    )
                }
            };
            let seen = match &d.confirmation {
                Confirmation::Confirmed { at, sha256 } => {
                    format!(
                        "the new certificate is served at {at} (sha256 {}…)",
                        sha256.get(..11).unwrap_or(sha256)
                    )
                }
                Confirmation::Stale { at, served, .. } => {
                    ok = false;
                    format!(
                        "STILL THE OLD CERTIFICATE at {at} (sha256 {}…)",
                        served.get(..11).unwrap_or(served)
                    )
                }
                Confirmation::Unknown { reason } => format!("unknown: {reason}"),
            };
            format!("{did}; {seen}")
        })
        .collect();
    (lines, ok)
}

#[cfg(feature = "probe")]
fn served_sha256(addr: std::net::SocketAddr) -> Result<String, String> {
    let pem = pgtls_probe::served_certificate(addr, Duration::from_secs(3))?;
    pgtls_certs::inspect(&pem)
        .map(|i| i.sha256)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "probe"))]
fn served_sha256(_: std::net::SocketAddr) -> Result<String, String> {
    Err("built without the prober (feature `probe`)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layout, MemSource};

    fn layout(db_volumes: &str, pooler_volumes: &str, pooler_env: &str) -> Layout {
        let compose = format!(
            "services:\n  db:\n    image: supabase/postgres:15.8.1.060\n    command: [\"postgres\", \"-c\", \"hba_file=/etc/postgresql-hba/pg_hba.conf\", \"-c\", \"ssl_cert_file=/etc/postgresql-tls/server.crt\"]\n    volumes:\n      - ./volumes/db/data:/var/lib/postgresql/data\n{db_volumes}  supavisor:\n    image: supabase/supavisor:2.7.2\n    volumes:\n      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro\n{pooler_volumes}    environment:\n{pooler_env}"
        );
        Layout::detect(
            &MemSource::new("/d").file("docker-compose.yml", compose),
            None,
        )
        .unwrap()
    }

    fn folders() -> Layout {
        layout(
            "      - ./volumes/tls:/etc/postgresql-tls:ro\n      - ./volumes/db/hba:/etc/postgresql-hba:ro\n",
            "      - ./volumes/tls:/etc/pooler-tls:ro\n",
            "      GLOBAL_DOWNSTREAM_CERT_PATH: /etc/pooler-tls/server.crt\n      GLOBAL_DOWNSTREAM_KEY_PATH: /etc/pooler-tls/server.key\n",
        )
    }

    fn pinned() -> Layout {
        layout(
            "      - ./volumes/tls:/etc/postgresql-tls:ro\n      - ./volumes/db/pg_hba.conf:/etc/postgresql-hba/pg_hba.conf:ro\n",
            "      - ./volumes/tls/server.crt:/etc/ssl/server.crt:ro\n      - ./volumes/tls/server.key:/etc/ssl/server.key:ro\n",
            "      GLOBAL_DOWNSTREAM_CERT_PATH: /etc/ssl/server.crt\n      GLOBAL_DOWNSTREAM_KEY_PATH: /etc/ssl/server.key\n",
        )
    }

    #[test]
    fn folder_mounts_renewal_reloads_the_db_and_restarts_the_pooler() {
        let a = actions(&folders(), &[Change::Certificates]);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].service, "db");
        assert_eq!(a[0].kind, ActionKind::Reload);
        assert_eq!(a[0].command, "docker compose kill -s SIGHUP db");
        assert_eq!(
            a[0].alternative.as_deref(),
            Some(
                "docker compose exec db psql -h 127.0.0.1 -U supabase_admin -d postgres -c 'select pg_reload_conf()'"
            )
        );
        assert!(a[0].why.contains("PostgreSQL 10"), "{}", a[0].why);
        assert_eq!(a[1].service, "supavisor");
        assert_eq!(a[1].kind, ActionKind::Restart);
        assert_eq!(a[1].command, "docker compose restart supavisor");
        assert!(a[1].why.starts_with("restart the pooler"), "{}", a[1].why);
        assert!(a[1].why.contains("ssl_pem_cache_clean"), "{}", a[1].why);
    }

    #[test]
    fn hba_edit_reloads_only_the_db() {
        let a = actions(&folders(), &[Change::Hba]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, ActionKind::Reload);
        assert!(
            a[0].why
                .starts_with("PostgreSQL re-reads pg_hba.conf on SIGHUP")
        );
        assert!(actions(&folders(), &[]).is_empty());
    }

    #[test]
    fn single_file_mounts_need_restarts_and_say_why() {
        let a = actions(&pinned(), &[Change::Hba]);
        assert_eq!(a[0].kind, ActionKind::Restart);
        assert_eq!(a[0].command, "docker compose restart db");
        assert!(
            a[0].why
                .contains("/etc/postgresql-hba/pg_hba.conf mounted as single files"),
            "{}",
            a[0].why
        );
        // the db's certificates are in a folder: a renewal alone reloads it
        let a = actions(&pinned(), &[Change::Certificates]);
        assert_eq!(a[0].kind, ActionKind::Reload);
        assert!(
            a[1].why
                .contains("/etc/ssl/server.crt, /etc/ssl/server.key mounted as single files"),
            "{}",
            a[1].why
        );
    }

    #[test]
    fn without_an_engine_nothing_is_done_and_nothing_confirmed() {
        let l = folders();
        let done = perform(
            &l,
            Path::new("/d"),
            &actions(&l, &[Change::Hba]),
            &crate::NoEngine,
            None,
            Duration::ZERO,
        );
        assert_eq!(done.len(), 1);
        assert!(
            done[0]
                .result
                .as_ref()
                .unwrap_err()
                .contains("no Docker engine")
        );
        assert!(matches!(done[0].confirmation, Confirmation::Unknown { .. }));
    }
}

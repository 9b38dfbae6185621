//! The PgBouncer pooler variant of self-hosted Supabase (upstream `docker-compose.pgbouncer.yml`:
//! service `pgbouncer`, container `supabase-pgbouncer`, image `edoburu/pgbouncer`, listening on
//! 6432 and published on `${POOLER_PROXY_PORT_TRANSACTION}`).
//!
//! Facts this relies on, read at their sources:
//! - **edoburu/docker-pgbouncer `entrypoint.sh`** (91a581b, 2026-06) writes
//!   `/etc/pgbouncer/pgbouncer.ini` from the environment **only when that file does not exist**
//!   (`if [ ! -f "${PG_CONFIG_FILE}" ]`): a mounted pgbouncer.ini makes the image ignore every
//!   variable. Each `CLIENT_TLS_*` / `SERVER_TLS_*` variable becomes the lowercase setting
//!   (`CLIENT_TLS_SSLMODE` -> `client_tls_sslmode`, also `_KEY_FILE`, `_CERT_FILE`, `_CA_FILE`,
//!   `_PROTOCOLS`, `_CIPHERS`); `LISTEN_PORT` defaults to 5432. It ends with `exec "$@"`, so
//!   PgBouncer is the container's main process and `docker kill -s HUP` reaches it.
//! - **Its `Dockerfile`** ends with `USER postgres`; the Alpine `postgres` user is uid 70 (the
//!   older Dockerfiles create it with `adduser -u 70`; the current one gets it from Alpine's
//!   postgresql packages): a key owned by the db's postgres uid with mode 0600 is unreadable by
//!   it. pgtls writes PgBouncer its own copy, owned by 70:70, mode 0600.
//! - **pgbouncer/pgbouncer**: `client_tls_sslmode` defaults to `disable`; with `require` a
//!   plaintext client gets `FATAL` `SSL required`, SQLSTATE `08P01` (`src/client.c`, through
//!   `send_pooler_error`'s default code; seen from PgBouncer 1.18 and 1.24).
//!   `client_tls_protocols = secure` is TLS 1.2 and 1.3. On SIGHUP (or `RELOAD`) PgBouncer
//!   re-reads its configuration and calls `sbuf_tls_setup()`, which loads the certificate and
//!   key files again (`src/main.c`, `handle_sighup`); when that fails it logs "TLS
//!   configuration could not be reloaded, keeping old configuration" and keeps serving the old
//!   certificate. `server_tls_sslmode` (its connections to the db) defaults to `prefer`.
//!
//! Toward the db pgtls sets `server_tls_sslmode = verify-full` with the pgtls CA when the host
//! PgBouncer dials (`DB_HOST`, or `${POSTGRES_HOST}` from `.env`) is a name in the server
//! certificate: the hop then is authenticated too, at no risk, as harden issues the certificate
//! for those names. Otherwise it leaves PgBouncer's default (`prefer`: TLS once the db speaks
//! it, unverified), because `verify-full` against a name the certificate lacks would take the
//! pooler down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Context as _, Result};
use crate::layout::{Layout, Service};
use crate::paths::TLS_DIR;
use crate::plan::Staging;

/// The uid:gid the edoburu/pgbouncer image runs as (`USER postgres`, Alpine's uid 70).
pub(crate) const PGBOUNCER_USER: (u32, u32) = (70, 70);
/// Host folder (relative) of PgBouncer's own copy of the certificate, key and CA.
pub(crate) const PGBOUNCER_TLS_DIR: &str = "volumes/pgbouncer-tls";
/// Container folder [`PGBOUNCER_TLS_DIR`] is mounted at (read-only, as a folder).
pub(crate) const PGBOUNCER_TLS_TARGET: &str = "/etc/pgbouncer-tls";
/// The pgbouncer.ini the image's entrypoint writes and its `CMD` reads.
pub(crate) const PGBOUNCER_INI_TARGET: &str = "/etc/pgbouncer/pgbouncer.ini";

/// Container path of the ini PgBouncer reads: the `.ini` argument of the service's `command`
/// (which replaces the image's `CMD`), else [`PGBOUNCER_INI_TARGET`].
pub(crate) fn ini_target(svc: &Service) -> String {
    svc.command
        .iter()
        .rev()
        .find(|a| {
            Path::new(a.as_str())
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ini"))
        })
        .cloned()
        .unwrap_or_else(|| PGBOUNCER_INI_TARGET.to_owned())
}

/// Where PgBouncer's settings come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    /// The service's environment, turned into pgbouncer.ini by the entrypoint.
    Env,
    /// A pgbouncer.ini on the host, bind-mounted (the image then ignores the environment).
    Ini {
        /// Host path (relative to the deployment when the bind source is `./...`).
        host: PathBuf,
        /// Container path.
        container: String,
    },
    /// A pgbouncer.ini PgBouncer reads that pgtls cannot reach (a named volume, or a path the
    /// entrypoint does not write and no bind mount provides).
    Unreachable {
        /// Container path.
        container: String,
        /// Why.
        why: String,
    },
}

/// Decides where `svc` takes its settings from, looking at the files in `staging`.
pub(crate) fn config_source(staging: &Staging<'_>, svc: &Service) -> ConfigSource {
    let container = ini_target(svc);
    if let Some(host) = crate::mapping::host_path_in(svc, &container) {
        let exists = staging.read(&host).ok().flatten().is_some();
        if exists {
            return ConfigSource::Ini { host, container };
        }
        if container == PGBOUNCER_INI_TARGET {
            // a bind of /etc/pgbouncer without the file: the entrypoint writes it there from
            // the environment at the first start (and keeps it afterwards)
            return ConfigSource::Env;
        }
        return ConfigSource::Unreachable {
            why: format!(
                "{container} is bind-mounted from {} which does not exist",
                host.display()
            ),
            container,
        };
    }
    let covered = svc.volumes.iter().any(|m| {
        let t = m.target.trim_end_matches('/');
        container == t || container.starts_with(&format!("{t}/"))
    });
    if covered {
        ConfigSource::Unreachable {
            why: format!("{container} is on a named volume pgtls cannot read"),
            container,
        }
    } else if container == PGBOUNCER_INI_TARGET {
        ConfigSource::Env
    } else {
        ConfigSource::Unreachable {
            why: format!("the command reads {container}, which the entrypoint does not write"),
            container,
        }
    }
}

/// The env variable the edoburu entrypoint turns into `setting`.
pub(crate) fn env_name(setting: &str) -> String {
    setting.to_ascii_uppercase()
}

/// Values of `NAME=value` lines in the deployment's `.env` (quotes removed, comments skipped).
pub(crate) fn dotenv(staging: &Staging<'_>) -> BTreeMap<String, String> {
    let text = staging
        .read_text(Path::new(".env"))
        .ok()
        .flatten()
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.strip_prefix("export ").unwrap_or(l).split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

/// A compose value with `${NAME}`, `${NAME:-default}` and `${NAME-default}` taken from `env`
/// (Compose's interpolation for a whole-value reference); `None` when it cannot be resolved.
pub(crate) fn resolve(value: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        return (!value.contains('$')).then(|| value.to_owned());
    };
    if let Some((name, default)) = inner.split_once(":-") {
        return Some(
            env.get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| default.to_owned()),
        );
    }
    if let Some((name, default)) = inner.split_once('-') {
        return Some(env.get(name).cloned().unwrap_or_else(|| default.to_owned()));
    }
    env.get(inner).cloned()
}

/// PgBouncer's effective settings as pgtls can read them, and the file they come from.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Lowercase setting name -> value (`client_tls_sslmode` -> `require`).
    pub values: BTreeMap<String, String>,
    /// The file that holds them: the compose file whose `CLIENT_TLS_SSLMODE` Compose runs (else
    /// the last one defining the service), or the mounted pgbouncer.ini.
    pub file: PathBuf,
    /// Where they come from.
    pub source: ConfigSource,
}

impl Settings {
    /// A setting's value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// The settings PgBouncer runs with, from the environment (resolved against `.env`) or the
/// mounted ini. `Ok(None)` when the ini is unreachable.
pub(crate) fn settings(
    staging: &Staging<'_>,
    layout: &Layout,
    svc: &Service,
) -> Result<Option<Settings>> {
    let source = config_source(staging, svc);
    match &source {
        ConfigSource::Env => {
            let env = dotenv(staging);
            let values = svc
                .environment
                .iter()
                .map(|(k, v)| {
                    let v = resolve(v, &env).unwrap_or_else(|| v.clone());
                    (k.to_ascii_lowercase(), v)
                })
                .collect();
            // the file whose CLIENT_TLS_SSLMODE Compose runs, else the last one defining the
            // service (where harden sets it)
            let file = layout
                .merged(&svc.key)
                .and_then(|m| {
                    m.env("CLIENT_TLS_SSLMODE")
                        .map(|v| &v.origin)
                        .or_else(|| m.last_definition())
                })
                .map_or_else(|| layout.compose.clone(), |o| PathBuf::from(&o.file));
            Ok(Some(Settings {
                values,
                file,
                source,
            }))
        }
        ConfigSource::Ini { host, .. } => {
            let text = staging
                .read_text(host)?
                .with_context(|| format!("\"{}\" disappeared", host.display()))?;
            let doc = pgbouncer_ini::Document::parse(&text)
                .with_context(|| format!("reading \"{}\"", host.display()))?;
            let values = doc
                .entries()
                .into_iter()
                .filter(|e| e.section == Some(pgbouncer_ini::PGBOUNCER))
                .map(|e| (e.key.to_owned(), e.value.to_owned()))
                .collect();
            Ok(Some(Settings {
                values,
                file: host.clone(),
                source,
            }))
        }
        ConfigSource::Unreachable { .. } => Ok(None),
    }
}

/// The container port PgBouncer listens on (`listen_port`, `LISTEN_PORT`; 5432 by default in the
/// edoburu entrypoint).
pub(crate) fn listen_port(settings: Option<&Settings>) -> u16 {
    settings
        .and_then(|s| s.get("listen_port"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(5432)
}

/// The port PgBouncer listens on in its container, from the compose service alone: a literal
/// `LISTEN_PORT`, else `listen_port` of a mounted pgbouncer.ini under `dir` (the deployment
/// folder), else the entrypoint's default 5432.
pub(crate) fn listen_port_of(svc: &Service, dir: Option<&Path>) -> u16 {
    if let Some(p) = svc
        .environment
        .get("LISTEN_PORT")
        .and_then(|p| p.trim().parse().ok())
    {
        return p;
    }
    let from_ini = dir.and_then(|d| {
        let host = crate::mapping::host_path_in(svc, &ini_target(svc))?;
        let text = std::fs::read_to_string(d.join(host)).ok()?;
        let doc = pgbouncer_ini::Document::parse(&text).ok()?;
        doc.get(pgbouncer_ini::PGBOUNCER, "listen_port")?
            .trim()
            .parse()
            .ok()
    });
    from_ini.unwrap_or(5432)
}

/// Whether a `client_tls_sslmode` value refuses plaintext clients (`require`, `verify-ca`,
/// `verify-full`; PgBouncer compares case-insensitively).
pub(crate) fn refuses_plaintext(mode: Option<&str>) -> bool {
    mode.is_some_and(|m| {
        ["require", "verify-ca", "verify-full"]
            .iter()
            .any(|w| m.trim().eq_ignore_ascii_case(w))
    })
}

/// The settings harden wants, in order: `(setting, value)`.
pub(crate) fn wanted(verify_db: bool) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("client_tls_sslmode", "require".to_owned()),
        (
            "client_tls_cert_file",
            format!("{PGBOUNCER_TLS_TARGET}/server.crt"),
        ),
        (
            "client_tls_key_file",
            format!("{PGBOUNCER_TLS_TARGET}/server.key"),
        ),
        ("client_tls_protocols", "secure".to_owned()),
    ];
    if verify_db {
        out.push(("server_tls_sslmode", "verify-full".to_owned()));
        out.push((
            "server_tls_ca_file",
            format!("{PGBOUNCER_TLS_TARGET}/ca.crt"),
        ));
    }
    out
}

/// After a renewal of the files in [`TLS_DIR`] of the deployment at `dir`: rewrites PgBouncer's
/// copy in [`PGBOUNCER_TLS_DIR`] (certificate, key 0600 owned by [`PGBOUNCER_USER`], CA) through
/// the one writer, so a SIGHUP then loads the renewed pair. Returns the files rewritten (none when
/// the copy already matches or the deployment has no PgBouncer copy).
pub(crate) fn sync_copy(dir: &Path) -> Result<Vec<PathBuf>> {
    let copy = dir.join(PGBOUNCER_TLS_DIR);
    if !copy.is_dir() {
        return Ok(Vec::new());
    }
    let (u, g) = PGBOUNCER_USER;
    let mut written = Vec::new();
    for (name, mode) in [
        ("ca.crt", 0o644),
        ("server.crt", 0o644),
        ("server.key", 0o600),
    ] {
        let from = dir.join(TLS_DIR).join(name);
        let to = copy.join(name);
        let bytes = std::fs::read(&from).map_err(|e| crate::Error::Io {
            context: format!("reading \"{}\"", from.display()),
            source: e,
        })?;
        if std::fs::read(&to).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        let opts = pgtls_certs::WriteOptions {
            mode,
            owner: Some(pgtls_certs::Owner { uid: u, gid: g }),
            backup: true,
            protect_existing: false,
        };
        pgtls_certs::write_atomic(&to, &bytes, &opts)
            .with_context(|| format!("writing \"{}\"", to.display()))?;
        written.push(to);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_values_resolve_like_compose() {
        let env: BTreeMap<String, String> = [
            ("POSTGRES_HOST".into(), "db".into()),
            ("E".into(), String::new()),
        ]
        .into_iter()
        .collect();
        assert_eq!(resolve("${POSTGRES_HOST}", &env).as_deref(), Some("db"));
        assert_eq!(resolve("${E:-x}", &env).as_deref(), Some("x"));
        assert_eq!(resolve("${E-x}", &env).as_deref(), Some(""));
        assert_eq!(resolve("${NOPE}", &env), None);
        assert_eq!(resolve("literal", &env).as_deref(), Some("literal"));
        assert_eq!(resolve("a${B}c", &env), None);
    }

    #[test]
    fn sslmodes_that_refuse_plaintext() {
        assert!(refuses_plaintext(Some("require")));
        assert!(refuses_plaintext(Some("Verify-Full")));
        for m in [
            None,
            Some("disable"),
            Some("allow"),
            Some("prefer"),
            Some(""),
        ] {
            assert!(!refuses_plaintext(m), "{m:?}");
        }
    }
}

//! The pooler items: Supavisor's service (TLS certificate and key, ports), PgBouncer's, and the
//! tenant script's `enforce_ssl`.

use pgtls_certs::{KeyFileFacts, KeyReader};
use pooler_exs::{FlagState, TenantLogic};

use super::items::{Ctx, HARDEN_FIX, merged_note};
use crate::ids::CheckId;
use crate::layout::{Layout, PoolerExs, Service};
use crate::mapping::{container_port, host_path_in};

/// True when the service's command creates `path` itself with openssl (Coolify's Supavisor
/// command makes a self-signed certificate when none is mounted).
fn makes_own_cert(service: &Service, path: &str) -> bool {
    let command = service.command.join(" ");
    command.contains("openssl") && command.contains(path)
}

pub(super) fn check_pooler(cx: &mut Ctx<'_, '_>, pooler: &Service, layout: &Layout) {
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
            CheckId::PoolerTls,
            "pooler certificate and key mounted, GLOBAL_DOWNSTREAM_CERT_PATH/_KEY_PATH set",
        );
    } else {
        cx.fail(
            CheckId::PoolerTls,
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
            CheckId::PoolerPorts,
            "ports 5432 (session) and 6543 (transaction) published",
        );
    } else {
        cx.warn(
            CheckId::PoolerPorts,
            format!("not published: {}", missing.join(", ")),
            HARDEN_FIX,
        );
    }
}

/// The PgBouncer variant: client TLS required (in the environment the edoburu entrypoint turns
/// into pgbouncer.ini, or in a mounted pgbouncer.ini), certificate and key on a bind mount, the
/// key readable by PgBouncer's uid, its port published. Ids `pooler-tls`, `pooler-key`,
/// `pooler-ports`, as for Supavisor; the detail names the service.
pub(super) fn check_pgbouncer(cx: &mut Ctx<'_, '_>, layout: &Layout, svc: &Service) {
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
                CheckId::PoolerTls,
                format!("{name}: its pgbouncer.ini cannot be read from here: {why}"),
                "set client_tls_sslmode = require and the certificate and key in it",
            );
            return;
        }
        Err(e) => {
            cx.fail(
                CheckId::PoolerTls,
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
            CheckId::PoolerTls,
            format!(
                "{name}: client_tls_sslmode {} ({file}), certificate and key on a bind mount",
                mode.unwrap_or_default()
            ),
        );
    } else {
        cx.fail(
            CheckId::PoolerTls,
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
                        CheckId::PoolerKey,
                        format!(
                            "{what}: PgBouncer runs as uid {u} (the edoburu image's USER postgres) and cannot read it: {}",
                            verdict.message().unwrap_or_default()
                        ),
                        fix,
                    );
                } else if mode & 0o077 != 0 {
                    cx.warn(
                        CheckId::PoolerKey,
                        format!("{what}: PgBouncer reads it, and so can other users (group or other bits)"),
                        format!("chmod 0600 '{}'", host.display()),
                    );
                } else {
                    cx.pass(
                        CheckId::PoolerKey,
                        format!("{what}: readable by PgBouncer (uid {u}) and by no one else"),
                    );
                }
            }
            _ => cx.warn(
                CheckId::PoolerKey,
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
            CheckId::PoolerPorts,
            format!("{name}: port {port} published ({spec})"),
        ),
        None => cx.warn(
            CheckId::PoolerPorts,
            format!("{name}: port {port} (listen_port) is not published"),
            "publish it (upstream: ${POOLER_PROXY_PORT_TRANSACTION}:6432)",
        ),
    }
}

pub(super) fn check_tenant(cx: &mut Ctx<'_, '_>, layout: &Layout, pooler: &Service) {
    let text = match &layout.pooler_exs {
        PoolerExs::File(p) => match cx.staging.read_text(p) {
            Ok(text) => text,
            Err(e) => {
                cx.fail(
                    CheckId::PoolerEnforceSsl,
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
            CheckId::PoolerEnforceSsl,
            "no pooler.exs found",
            "set enforce_ssl on the tenant through Supavisor's API",
        );
        return;
    };
    let inspection = pooler_exs::TenantFile::parse(&text).and_then(|f| f.script().inspect());
    match inspection {
        Err(e) => cx.fail(
            CheckId::PoolerEnforceSsl,
            format!("pooler.exs cannot be read: {e}"),
            "fix the script",
        ),
        Ok(i) => {
            if i.enforce_ssl == FlagState::True {
                cx.pass(
                    CheckId::PoolerEnforceSsl,
                    "\"enforce_ssl\" => true in the tenant parameters",
                );
            } else if i.enforce_ssl == FlagState::False && i.tenant_logic == TenantLogic::Upsert {
                cx.fail(
                    CheckId::PoolerEnforceSsl,
                    "the tenant script sets \"enforce_ssl\" => false and upserts the tenant at every pooler start: plaintext clients are accepted, and setting enforce_ssl through Supavisor's API alone would be reverted at the next start",
                    HARDEN_FIX,
                );
            } else {
                cx.fail(
                    CheckId::PoolerEnforceSsl,
                    "enforce_ssl is not true: plaintext clients are accepted by the pooler",
                    HARDEN_FIX,
                );
            }
            match i.tenant_logic {
                TenantLogic::Upsert => cx.pass(CheckId::PoolerTenantLogic, "the script upserts: the setting reaches an existing tenant"),
                TenantLogic::CreateOnly => cx.warn(
                    CheckId::PoolerTenantLogic,
                    "create-only trap: the script only creates a missing tenant, so an existing tenant keeps enforce_ssl=false",
                    "pgtls harden <folder> --pooler-upsert, or PUT /api/tenants/<id> on the pooler",
                ),
                _ => cx.warn(CheckId::PoolerTenantLogic, "tenant logic not recognised", "check that enforce_ssl reaches the existing tenant"),
            }
        }
    }
}

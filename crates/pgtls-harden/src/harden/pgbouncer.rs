//! The `pgbouncer-service` step: PgBouncer's own copy of the certificate and key (owned by its
//! uid) and its service's TLS settings; the facts it relies on are in [`crate::pgbouncer`].

use std::path::Path;

use compose_patch::VolumeMount;

use crate::apply::DirSpec;
use crate::compose_set::ComposeSet;
use crate::error::{Context as _, Result};
use crate::layout::{Layout, Service};
use crate::paths::TLS_DIR;
use crate::pgbouncer::{
    ConfigSource, PGBOUNCER_TLS_DIR, PGBOUNCER_TLS_TARGET, PGBOUNCER_USER, config_source, dotenv,
    env_name, resolve, wanted,
};
use crate::plan::{FileKind, Staging};
use crate::report::{Code, Warning};
use crate::step::Step;

/// Plans PgBouncer's own copy of the certificate, key (0600, owned by [`PGBOUNCER_USER`]) and
/// CA in [`PGBOUNCER_TLS_DIR`], from the files the certificates step staged in [`TLS_DIR`]; the
/// files are the certificates step's (`step`), so a reissue is a certificate change (a reload).
pub(crate) fn plan_copy(
    staging: &mut Staging<'_>,
    dirs: &mut Vec<DirSpec>,
    step: &mut Step,
) -> Result<()> {
    let dir = Path::new(PGBOUNCER_TLS_DIR);
    dirs.push(DirSpec {
        path: dir.into(),
        mode: 0o755,
        owner: None,
    });
    let (u, g) = PGBOUNCER_USER;
    for (name, mode, kind) in [
        ("ca.crt", 0o644, FileKind::Certificate),
        ("server.crt", 0o644, FileKind::Certificate),
        ("server.key", 0o600, FileKind::PrivateKey),
    ] {
        let from = Path::new(TLS_DIR).join(name);
        let bytes = staging
            .read(&from)?
            .with_context(|| format!("\"{}\" is not staged", from.display()))?;
        let to = dir.join(name);
        let summary = match kind {
            FileKind::PrivateKey => format!("copy of {} for PgBouncer (uid {u})", from.display()),
            _ => format!("copy of {}", from.display()),
        };
        let changed = staging.write_exact(&to, bytes, mode, Some((u, g)), kind, Some(summary))?;
        step.touch(&to, changed);
    }
    let verdict = pgtls_certs::key_file_verdict_for(
        pgtls_certs::KeyProgram::PgBouncer,
        &format!("{PGBOUNCER_TLS_TARGET}/server.key"),
        pgtls_certs::KeyFileFacts {
            is_regular_file: true,
            uid: u,
            gid: g,
            mode: 0o600,
        },
        pgtls_certs::KeyReader::new(u, g),
    );
    if let Some(m) = verdict.message() {
        return Err(crate::Error::Refused(format!(
            "PgBouncer's key copy would not load: {m}"
        )));
    }
    step.notes.push(format!(
        "PgBouncer's own copy in {PGBOUNCER_TLS_DIR}/: server.key mode 0600 owned by {u}:{g} (the edoburu image's USER postgres)"
    ));
    Ok(())
}

/// Plans the PgBouncer service: [`PGBOUNCER_TLS_DIR`] mounted read-only at
/// [`PGBOUNCER_TLS_TARGET`], and client TLS required, in the environment or, when a
/// pgbouncer.ini is mounted, in that file.
pub(crate) fn plan(
    staging: &mut Staging<'_>,
    compose: &mut ComposeSet,
    layout: &Layout,
    svc: &Service,
    step: &mut Step,
) -> Result<()> {
    let key = svc.key.as_str();
    step.notes.push(format!(
        "service `{key}` (PgBouncer): {PGBOUNCER_TLS_DIR} mounted read-only at {PGBOUNCER_TLS_TARGET}"
    ));
    let mut m =
        VolumeMount::new(format!("./{PGBOUNCER_TLS_DIR}"), PGBOUNCER_TLS_TARGET).read_only();
    m.selinux = super::services::selinux_for(layout);
    let mut changed = compose.ensure_volume(staging, key, m)?.changed();

    // toward the db: verify-full when the host it dials is a name in the certificate
    let env = dotenv(staging);
    let source = config_source(staging, svc);
    let db_host = match &source {
        ConfigSource::Ini { .. } => None,
        _ => svc
            .environment
            .get("DB_HOST")
            .and_then(|h| resolve(h, &env)),
    };
    let sans = super::certs::wanted_sans(layout, &[]);
    let verify_db = db_host
        .as_deref()
        .is_some_and(|h| sans.iter().any(|s| s.eq_ignore_ascii_case(h)));
    match &db_host {
        Some(h) if verify_db => step.notes.push(format!(
            "toward the db: server_tls_sslmode verify-full with the pgtls CA ({h} is in the server certificate)"
        )),
        Some(h) => step.notes.push(format!(
            "toward the db: server_tls_sslmode left at PgBouncer's default (prefer: TLS once the db speaks it, unverified): {h} is not a name in the server certificate, and verify-full would refuse it"
        )),
        None => step.notes.push(
            "toward the db: server_tls_sslmode left as configured (PgBouncer's default is prefer: TLS once the db speaks it, unverified)".to_owned(),
        ),
    }
    match source {
        ConfigSource::Env => {
            let explicit = svc.environment.contains_key("SERVER_TLS_SSLMODE");
            for (setting, value) in wanted(verify_db && !explicit) {
                changed |= compose
                    .ensure_env(staging, key, &env_name(setting), &value)?
                    .changed();
            }
            step.notes.push(format!(
                "CLIENT_TLS_SSLMODE=require, CLIENT_TLS_CERT_FILE/_KEY_FILE in {PGBOUNCER_TLS_TARGET}, CLIENT_TLS_PROTOCOLS=secure in the environment (the image's entrypoint writes them to pgbouncer.ini)"
            ));
            if svc.mount_for("/etc/pgbouncer").is_some_and(|m| m.bind) {
                step.warnings.push(Warning::new(
                Code::PgBouncerIniLater,
                format!(
                    "/etc/pgbouncer of `{key}` is a bind-mounted folder: the entrypoint writes pgbouncer.ini there at the first start and ignores the environment afterwards; once it exists, rerun pgtls harden (it then edits that file)"
                ),
            ));
            }
        }
        ConfigSource::Ini { host, container } => {
            let text = staging
                .read_text(&host)?
                .with_context(|| format!("\"{}\" disappeared", host.display()))?;
            let mut doc = pgbouncer_ini::Document::parse(&text)
                .with_context(|| format!("reading \"{}\"", host.display()))?;
            let explicit = doc
                .get(pgbouncer_ini::PGBOUNCER, "server_tls_sslmode")
                .is_some();
            for (setting, value) in wanted(false) {
                doc.set(pgbouncer_ini::PGBOUNCER, setting, &value)
                    .with_context(|| format!("editing \"{}\"", host.display()))?;
            }
            if !explicit {
                step.notes.push(format!(
                    "toward the db: {} sets no server_tls_sslmode, so PgBouncer's default prefer applies (TLS once the db speaks it, unverified)",
                    host.display()
                ));
            }
            let late: Vec<String> = doc
                .includes()
                .iter()
                .filter(|i| {
                    doc.get_entry(pgbouncer_ini::PGBOUNCER, "client_tls_sslmode")
                        .is_some_and(|e| i.line > e.line)
                })
                .map(|i| format!("line {}: %include {}", i.line, i.path))
                .collect();
            if !late.is_empty() {
                step.warnings.push(Warning::new(
                Code::PgBouncerIncludeAfter,
                format!(
                    "{} includes other files after the TLS settings ({}): a setting there overrides them; check them",
                    host.display(),
                    late.join(", ")
                ),
            ));
            }
            let after = doc.to_string();
            let written =
                staging.write(&host, after.into_bytes(), 0o644, None, FileKind::Text, None)?;
            step.touch(&host, written);
            step.notes.push(format!(
                "{} (mounted at {container}; the image ignores its environment when a pgbouncer.ini exists): client_tls_sslmode = require, client_tls_cert_file/_key_file in {PGBOUNCER_TLS_TARGET}, client_tls_protocols = secure",
                host.display()
            ));
        }
        ConfigSource::Unreachable { container, why } => {
            step.warnings.push(Warning::new(
                Code::PgBouncerConfigUnreachable,
                format!(
                "PgBouncer reads {container}, which pgtls cannot edit: {why}. Set client_tls_sslmode = require, client_tls_cert_file = {PGBOUNCER_TLS_TARGET}/server.crt and client_tls_key_file = {PGBOUNCER_TLS_TARGET}/server.key in it yourself"
            ),
            ));
        }
    }
    super::services::touch_compose(step, compose, changed);
    Ok(())
}

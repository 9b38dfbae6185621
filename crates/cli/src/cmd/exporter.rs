//! `pgtls exporter`: flags onto pgtls-exporter's settings, then its server.

use anyhow::Context as _;
use pgtls_exporter::{Flags, ModuleSpec, Settings, parse_duration};

use crate::cli::ExporterArgs;
use crate::error::Outcome;

pub fn run(a: &ExporterArgs) -> anyhow::Result<Outcome> {
    let duration = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let flags = Flags {
        listen: a.listen.clone(),
        config: a.config.clone(),
        allow_targets: a.allow_targets.clone(),
        default_module: ModuleSpec {
            ca_file: a.ca.clone(),
            server_name: a.server_name.clone(),
            user: a.user.clone(),
            database: a.database.clone(),
            tenant: a.tenant.clone(),
            deep: a.deep,
            timeout: duration("--timeout", &a.timeout)?,
            expiry_warn_days: a.expiry_warn_days,
            password_env: None,
        },
        max_concurrent: a.max_concurrent,
        timeout_offset: duration("--timeout-offset", &a.timeout_offset)?,
    };
    let settings = Settings::from_flags(&flags)?;
    let modules: Vec<String> = settings.modules.keys().cloned().collect();
    let (allow, max) = (settings.allow.entries().join(", "), settings.max_concurrent);
    pgtls_exporter::run(settings, |addr| {
        eprintln!(
            "pgtls exporter listening on http://{addr} (modules: {}; allowed: {allow}; at most {max} probes at once)",
            modules.join(", ")
        );
    })
    .context("pgtls exporter")?;
    Ok(Outcome::Ok)
}

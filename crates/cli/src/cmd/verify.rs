//! `pgtls verify`: probes targets concurrently with a progress line on a terminal.

use std::io::{IsTerminal, Write as _};

use anyhow::Context as _;
use pgtls_probe::{ProbeOptions, parse_targets};

use crate::cli::VerifyArgs;
use crate::cmd::edit::read_text;
use crate::error::{Error, Outcome};
use crate::output::Out;

pub fn run(a: &VerifyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let mut inputs = a.targets.clone();
    if let Some(file) = &a.targets_file {
        inputs.extend(pgtls_probe::target_lines(&read_text(file)?));
    }
    if inputs.is_empty() {
        anyhow::bail!(Error::BadValue {
            flag: "TARGET",
            value: String::new(),
            reason: "no targets: give HOST[:PORT] arguments or --targets-file".into(),
        });
    }
    let targets = parse_targets(&inputs).context("reading the targets")?;
    let mut opts = ProbeOptions::default()
        .with_user(a.user.clone())
        .with_database(a.database.clone())
        .with_tenant(a.tenant.clone())
        .with_server_name(a.host_name.clone())
        .with_timeout(a.timeout)
        .with_concurrency(usize::from(a.concurrency))
        .with_expiry_warn_days(a.expiry_warn_days)
        .with_deep(a.deep);
    if let Some(var) = &a.password_env {
        opts = opts.with_password(Some(std::env::var(var).map_err(|_| Error::BadValue {
            flag: "--password-env",
            value: var.clone(),
            reason: "the environment variable is not set".into(),
        })?));
    }
    if let Some(ca) = &a.ca {
        opts = opts.with_ca_file(ca).context("reading --ca")?;
    }
    if let (Some(cert), Some(key)) = (&a.client_cert, &a.client_key) {
        opts = opts
            .with_client_cert_files(cert, key)
            .context("reading --client-cert/--client-key")?;
    }
    let progress = !a.json && targets.len() > 1 && std::io::stderr().is_terminal();
    let total = targets.len();
    let mut finished = 0;
    let report = pgtls_probe::verify_blocking_with(&targets, &opts, |i, report| {
        finished += 1;
        if progress {
            let mut err = std::io::stderr().lock();
            let shown = targets.get(i).map(ToString::to_string).unwrap_or_default();
            let verdict = report.verdict.as_str();
            let _ = write!(
                err,
                "\r\x1b[2Kprobing: {finished}/{total} done (last: {shown} {verdict})"
            );
            let _ = err.flush();
        }
    })
    .context("starting the async runtime")?;
    if progress {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
    if a.json {
        out.line(&report.to_json())?;
    } else {
        out.raw(&report.render(out.color()))?;
    }
    Ok(Outcome::from_failed(
        report.verdict != pgtls_probe::OverallVerdict::Pass,
    ))
}

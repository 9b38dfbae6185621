//! `--format prometheus` of `check` and `certs inspect`: `node_exporter` textfile metrics (from
//! pgtls-exporter), printed or written atomically with `--output FILE`.

use crate::cli::{CertsInspectArgs, CheckArgs};
use pgtls_harden::checklist::Checklist;

/// `--output` is for the textfile format only: refuse it with another format rather than ignore it.
pub fn check_output(
    format: Option<crate::cli::ReportFormat>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    match (format, output) {
        (Some(crate::cli::ReportFormat::Prometheus), _) | (_, None) => Ok(()),
        (_, Some(p)) => Err(crate::error::Error::BadValue {
            flag: "--output",
            value: p.display().to_string(),
            reason: "writes --format prometheus metrics only; other formats print to stdout".into(),
        }
        .into()),
    }
}

#[cfg(feature = "verify")]
fn emit(text: &str, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    use std::io::Write as _;
    match output {
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())?;
            o.flush()?;
        }
        Some(path) => {
            // Mode 0644 (the collector runs as another user), no backup: the file is a snapshot.
            let opts = pgtls_certs::WriteOptions {
                backup: false,
                ..pgtls_certs::WriteOptions::cert()
            };
            pgtls_certs::write_atomic_with(path, text.as_bytes(), &opts, None, &|_| Ok(()))?;
        }
    }
    Ok(())
}

#[cfg(feature = "verify")]
pub fn checklist(a: &CheckArgs, checks: &Checklist) -> anyhow::Result<()> {
    let text = pgtls_harden::report::textfile::checklist(&a.deployment.dir, checks, now());
    emit(&text, a.output.as_deref())
}

#[cfg(feature = "verify")]
pub fn certificate(
    a: &CertsInspectArgs,
    info: &pgtls_certs::CertInfo,
    checked: &pgtls_certs::Coverage,
) -> anyhow::Result<()> {
    let text = pgtls_harden::report::textfile::certificate(&a.file, info, checked);
    emit(&text, a.output.as_deref())
}

/// `certs renew --textfile FILE`: the certificate in `dir` as it is after the run (when it can
/// be read) and the run's outcome, in one atomic write.
#[cfg(feature = "verify")]
pub fn renewal(
    dir: &std::path::Path,
    output: &std::path::Path,
    success: bool,
) -> anyhow::Result<()> {
    let text = pgtls_harden::report::textfile::renewal(dir, success, now());
    emit(&text, Some(output))
}

/// Now as a whole Unix second (the textfile's timestamp).
#[cfg(feature = "verify")]
fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64().floor())
}

#[cfg(not(feature = "verify"))]
pub fn renewal(_: &std::path::Path, _: &std::path::Path, _: bool) -> anyhow::Result<()> {
    Err(anyhow::anyhow!(NO_FEATURE))
}

#[cfg(not(feature = "verify"))]
const NO_FEATURE: &str = "--format prometheus needs the `verify` feature (pgtls-exporter); rebuild with default features";

#[cfg(not(feature = "verify"))]
pub fn checklist(_: &CheckArgs, _: &Checklist) -> anyhow::Result<()> {
    Err(anyhow::anyhow!(NO_FEATURE))
}

#[cfg(not(feature = "verify"))]
pub fn certificate(
    _: &CertsInspectArgs,
    _: &pgtls_certs::CertInfo,
    _: &pgtls_certs::Coverage,
) -> anyhow::Result<()> {
    Err(anyhow::anyhow!(NO_FEATURE))
}

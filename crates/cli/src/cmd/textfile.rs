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
use pgtls_harden::report::textfile::{emit, now};

#[cfg(feature = "verify")]
pub fn checklist(a: &CheckArgs, checks: &Checklist) -> anyhow::Result<()> {
    let text = pgtls_harden::report::textfile::checklist(&a.deployment.dir, checks, now());
    Ok(emit(&text, a.output.as_deref())?)
}

#[cfg(feature = "verify")]
pub fn certificate(
    a: &CertsInspectArgs,
    info: &pgtls_certs::CertInfo,
    checked: &pgtls_certs::Coverage,
) -> anyhow::Result<()> {
    let text = pgtls_harden::report::textfile::certificate(&a.file, info, checked);
    Ok(emit(&text, a.output.as_deref())?)
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
    Ok(emit(&text, Some(output))?)
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

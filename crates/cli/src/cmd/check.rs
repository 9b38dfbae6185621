//! `pgtls check`.

use crate::cli::CheckArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::output::Out;
use pgtls_harden::report;

pub fn run(args: &CheckArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    crate::cmd::textfile::check_output(args.format, args.output.as_deref())?;
    let dep = &args.deployment;
    let mut req = deployment::request(dep);
    req.expiry_warn_days = args.expiry_warn_days;
    let done = pgtls_harden::run::check(&req, &deployment::engine())?;
    if args.format == Some(crate::cli::ReportFormat::Prometheus) {
        crate::cmd::textfile::checklist(args, &done.checks)?;
    } else if dep.json || args.format == Some(crate::cli::ReportFormat::Json) {
        out.json(&done.to_json())?;
    } else {
        out.raw(&report::harden::check_text(
            &done,
            dep.verbose,
            out.painter(),
        ))?;
    }
    Ok(Outcome::from_failed(done.checks.failed()))
}

//! Subcommand implementations; each returns an [`Outcome`] or an error for the top level.

mod certs;
mod check;
mod connstr;
mod deployment;
mod edit;
mod explain;
#[cfg(feature = "verify")]
mod exporter;
mod harden;
mod hba;
mod pooler;
mod textfile;
#[cfg(feature = "verify")]
mod verify;

use crate::cli::Command;
use crate::error::Outcome;
use crate::output::Out;

/// Runs one subcommand.
pub fn dispatch(command: Command, out: &mut Out) -> anyhow::Result<Outcome> {
    match command {
        Command::Connstr(args) => connstr::run(&args, out),
        Command::Harden(args) => harden::run(&args, out),
        Command::Check(args) => check::run(&args, out),
        Command::Explain(args) => explain::run(&args, out),
        #[cfg(feature = "verify")]
        Command::Verify(args) => verify::run(&args, out),
        #[cfg(not(feature = "verify"))]
        Command::Verify(_) => Err(anyhow::anyhow!(
            "this pgtls was built without the `verify` feature (the prober links OpenSSL); rebuild with default features: cargo install pgtls, or cargo build -p pgtls"
        )),
        Command::Certs(cmd) => certs::run(&cmd, out),
        Command::Hba(cmd) => hba::run(&cmd, out),
        Command::Pooler(cmd) => pooler::run(&cmd, out),
        #[cfg(feature = "verify")]
        Command::Exporter(args) => exporter::run(&args),
        #[cfg(not(feature = "verify"))]
        Command::Exporter(_) => Err(anyhow::anyhow!(
            "this pgtls was built without the `verify` feature (the exporter probes with OpenSSL); rebuild with default features"
        )),
    }
}

/// Prints (or, with `--reload`, does) what makes a renewal (`cert`) or an hba edit of `path`
/// take effect in its deployment.
fn take_effect(
    out: &mut Out,
    path: &std::path::Path,
    a: &crate::cli::EffectArgs,
    cert: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    use pgtls_harden::effect::{self, Change};
    let change = [cert.map_or(Change::Hba, |_| Change::Certificates)];
    let (engine, dep) = (
        pgtls_harden::docker::DockerCli::from_env(),
        a.deployment.as_deref(),
    );
    let how = pgtls_harden::ComposeInvocation::from_process(a.compose_file.clone());
    let (lines, ok) = effect::take_effect_with(path, dep, &how, a.reload, &engine, &change, cert)?;
    lines.iter().try_for_each(|l| out.line(l))?;
    Ok(Outcome::from_failed(!ok))
}

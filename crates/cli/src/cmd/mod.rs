//! Subcommand implementations; each returns an [`Outcome`] or an error for the top level.

mod certs;
mod check;
mod connstr;
mod deployment;
mod edit;
mod effect;
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

//! Subcommand implementations; each returns an [`Outcome`] or an error for the top level.

mod certs;
mod check;
mod connstr;
mod deployment;
mod edit;
mod harden;
mod hba;
mod pooler;
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
        Command::Verify(args) => verify::run(&args, out),
        Command::Certs(cmd) => certs::run(&cmd, out),
        Command::Hba(cmd) => hba::run(&cmd, out),
        Command::Pooler(cmd) => pooler::run(&cmd, out),
    }
}

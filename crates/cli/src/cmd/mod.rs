//! Subcommand implementations; each returns an [`Outcome`] or an error for the top level.

mod check;
mod connstr;
mod deployment;
mod harden;

use crate::cli::Command;
use crate::error::Outcome;
use crate::output::Out;

/// Runs one subcommand.
pub fn dispatch(command: Command, out: &mut Out) -> anyhow::Result<Outcome> {
    match command {
        Command::Connstr(args) => connstr::run(&args, out),
        Command::Harden(args) => harden::run(&args, out),
        Command::Check(args) => check::run(&args, out),
        _ => anyhow::bail!("this command is not available in this build yet"),
    }
}

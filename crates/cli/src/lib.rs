//! `pgtls`: harden PostgreSQL TLS for a self-hosted Supabase in one safe, verifiable command.
//!
//! This crate is the command-line tool. [`run`] parses arguments and returns the process exit
//! code; `main.rs` is a few lines over it. The work is done by the library crates: pgtls-harden
//! (the Supabase recipe: layout, plan, apply, checklist, connection strings) over pgtls-certs
//! (CA and certificates), pg-hba (`pg_hba.conf`), compose-patch (docker-compose edits) and
//! pooler-exs (Supavisor's `pooler.exs`), and pgtls-probe (the wire prober); the reports, human
//! and JSON, are built by `pgtls_harden::report`. This crate keeps the command-line grammar, the
//! wiring (flags, a library call, print, exit code) and the terminal (colour).
//!
//! ```no_run
//! use std::process::ExitCode;
//! let code: ExitCode = pgtls::run(["pgtls", "connstr", "--host", "db.example.com"]);
//! ```
//!
//! # Design
//! - **Plan, show, apply.** `harden` asks pgtls-harden for the plan ([`pgtls_harden::plan()`]), shows a
//!   diff per text file (keys summarised, never printed), then applies it ([`pgtls_harden::apply::apply`]) unless
//!   `--dry-run`.
//! - **One plan, three outputs.** The same plan feeds the human report, `--json`, and `check`.
//! - **Exit codes** are a contract: 0 success, 1 checks failed / findings / refused for a reason
//!   the user can fix, 2 usage or unexpected runtime error. A broken pipe is success.
//! - anyhow is used only at the command level; the whole error chain is printed.
//! - Output is coloured only on a terminal and never when `NO_COLOR` is set.
//!
//! # Limitations: what is not supported
//! The recipe's limits are pgtls-harden's (two layouts, `--layout` to force one; files are
//! edited, containers are not restarted; a create-only pooler.exs needs `--pooler-upsert`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
mod cmd;
pub mod error;
pub mod output;
pub mod render;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

pub use crate::error::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Error, Outcome};

/// Runs the CLI with the given arguments (the first being the program name) and returns the
/// exit code: 0 success, 1 checks failed / findings / refused, 2 usage or runtime error.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print to stdout and exit 0; usage errors exit 2
            let code = err.exit_code();
            if err.print().is_err() {
                return ExitCode::SUCCESS;
            }
            return ExitCode::from(u8::try_from(code).unwrap_or(EXIT_ERROR));
        }
    };
    let mut out = output::Out::new(cli.color);
    let result = cmd::dispatch(cli.command, &mut out).and_then(|outcome| {
        out.flush()?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            let code = error::exit_code_for(&err);
            if code != EXIT_OK {
                let _ = out.flush();
                print_error(&err, out.color());
            }
            ExitCode::from(code)
        }
    }
}

fn print_error(err: &anyhow::Error, color: bool) {
    let mut stderr = std::io::stderr().lock();
    let label = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let _ = writeln!(stderr, "{label}: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! The `pgtls` command-line tool as a library: [`run`] parses arguments and returns the exit code.

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the CLI with the given arguments (the first being the program name).
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let _args: Vec<OsString> = args.into_iter().collect();
    println!("pgtls: not implemented yet");
    ExitCode::SUCCESS
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! Helpers to run the binary and build deployments in temp folders.
#![allow(dead_code, reason = "each test module uses a different subset")]

use std::process::{Command, Output};

/// The built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pgtls")
}

/// Runs `pgtls args...` with `NO_COLOR` set.
pub fn pgtls<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running pgtls")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code (panics when killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub use pgtest::deployment::{copy_dir, examples_dir};

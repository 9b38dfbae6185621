//! Integration tests for pgtls-certs: independent checkers (`openssl`), the file writer, and a
//! real PostgreSQL 15 through `pgtest`.
#![allow(missing_docs)]

mod fixtures;
mod library;
mod openssl;
mod server;
mod writer;

use std::path::Path;
use std::process::{Command, Output};

/// Run `openssl` with `args` in `dir`; the output, whatever the exit status.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs")
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

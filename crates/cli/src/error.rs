//! The CLI's own error type for conditions with a fixed exit code, and the exit-code mapping.

use std::process::ExitCode;

/// Errors the CLI raises itself (library errors are wrapped with context via anyhow at the top).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command refuses to proceed for a reason the user can fix (exit code 1).
    #[error("{0}")]
    Refused(String),
    /// A command-line value is malformed (exit code 2).
    #[error("invalid value \"{value}\" for {flag}: {reason}")]
    BadValue {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// Exit code: success / all checks passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: checks failed, findings, or refused to proceed.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error or unexpected runtime error.
pub const EXIT_ERROR: u8 = 2;

/// What a command reports back to [`crate::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Findings,
}

impl Outcome {
    /// `Findings` when `failed`, else `Ok`.
    pub fn from_failed(failed: bool) -> Self {
        if failed { Self::Findings } else { Self::Ok }
    }

    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Ok => ExitCode::from(EXIT_OK),
            Self::Findings => ExitCode::from(EXIT_FINDINGS),
        }
    }
}

/// Whether any error in the chain is a broken pipe (the reader went away: not a failure).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error that reached the top.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        EXIT_OK
    } else if err.chain().any(|c| {
        matches!(c.downcast_ref::<Error>(), Some(Error::Refused(_)))
            || c.downcast_ref::<pgtls_harden::Error>()
                .is_some_and(pgtls_harden::Error::is_refusal)
    }) {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    }
}

/// Parses the uid:gid of the user PostgreSQL runs as ([`pgtls_harden::owner::parse_db_owner`]:
/// never root, never the reserved id).
pub fn parse_db_owner(flag: &'static str, value: &str) -> Result<(u32, u32), pgtls_harden::Error> {
    pgtls_harden::owner::parse_db_owner(flag, value)
}

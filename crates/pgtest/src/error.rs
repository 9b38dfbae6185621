//! The harness's error type.

use std::io;

/// What went wrong while preparing or starting a server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HarnessError {
    /// A needed program was not found (the message says where we looked).
    NotFound(String),
    /// A file-system or process operation failed.
    Io(String),
    /// The server exited (or never became ready) during start; `log` is its output.
    StartFailed {
        /// Which server: `postgres` or `pgbouncer`.
        what: String,
        /// Everything the server wrote to its log.
        log: String,
    },
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::NotFound(m) => write!(f, "not found: {m}"),
            HarnessError::Io(m) => write!(f, "i/o error: {m}"),
            HarnessError::StartFailed { what, log } => {
                write!(f, "{what} failed to start; its log:\n{log}")
            }
        }
    }
}

impl std::error::Error for HarnessError {}

pub(crate) fn io_err(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> HarnessError {
    move |e| HarnessError::Io(format!("{context}: {e}"))
}

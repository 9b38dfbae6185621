//! The one error type of the exporter.

/// Everything that can go wrong before the exporter serves: configuration, allowlist, listen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read or holds a mistake (with its position).
    #[error("{file}:{line}:{column}: {message}")]
    Config {
        /// The configuration file as given.
        file: String,
        /// 1-based line of the mistake.
        line: usize,
        /// 1-based column of the mistake.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The configuration file could not be read.
    #[error("{file}: {message}")]
    ConfigFile {
        /// The configuration file as given.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An allowlist entry (`--allow-target` or `allow_targets:`) is not a CIDR, IP or host name.
    #[error("invalid allow-target \"{input}\": {reason}")]
    AllowTarget {
        /// The entry as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The settings contradict each other or leave the exporter useless (e.g. no allowlist).
    #[error("{0}")]
    Settings(String),
    /// The listen address could not be bound, or the runtime could not start.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// The system's reason.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

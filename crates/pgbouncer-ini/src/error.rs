//! The one error type of this crate.

/// Everything that can go wrong while reading or editing a pgbouncer.ini.
///
/// Lines are 1-based. Messages are lowercase, quote the offending text and carry no trailing
/// period, so a caller can prefix them with a file name (`pgbouncer.ini: line 3: ...`). The
/// parse error reuses PgBouncer's own words (`syntax error in configuration`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line PgBouncer refuses to load (`syntax error in configuration (file:line)`).
    #[error("line {line}: syntax error in configuration: {reason} in {text:?}")]
    Syntax {
        /// The line, 1-based.
        line: usize,
        /// What is wrong, for example `expected "=" after the key`.
        reason: &'static str,
        /// The line's text.
        text: String,
    },
    /// A line PgBouncer would accept but this editor cannot keep lossless while editing.
    #[error("line {line}: {reason} in {text:?} is not supported by this editor")]
    Unsupported {
        /// The line, 1-based.
        line: usize,
        /// What is not supported.
        reason: &'static str,
        /// The line's text.
        text: String,
    },
    /// A key that cannot be written (empty, or both unquotable and holding a `'`).
    #[error("invalid key {0:?}")]
    InvalidKey(String),
    /// A value PgBouncer cannot read back as written (a line break in it).
    #[error("invalid value {value:?} for {key:?}: a value is one line")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A section name that cannot be written (`]` or a line break in it, or empty).
    #[error("invalid section name {0:?}")]
    InvalidSection(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

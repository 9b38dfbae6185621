//! The crate's error type.

/// Errors from editing and policy operations. Parsing never fails: invalid lines are kept
/// and reported by [`crate::Document::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An edit named a line where no record starts.
    #[error("no record starts at line {line} of \"{file}\"")]
    NoRecordAtLine {
        /// The file name from the parse options.
        file: String,
        /// The line asked for.
        line: usize,
    },
    /// A CIDR argument did not parse.
    #[error("invalid CIDR \"{input}\": {reason}")]
    InvalidCidr {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record given as text is not one valid rule.
    #[error("invalid record \"{input}\": {reason}")]
    InvalidRecord {
        /// The text given.
        input: String,
        /// PostgreSQL's message for it.
        reason: String,
    },
    /// The policy was asked to edit a file PostgreSQL would not load.
    #[error(
        "\"{file}\" has invalid lines (first: line {line}: {message}); fix them before applying a policy"
    )]
    InvalidDocument {
        /// The file name.
        file: String,
        /// First invalid line.
        line: usize,
        /// PostgreSQL's message for it.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

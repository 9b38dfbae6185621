//! The crate's one error type.

/// Everything that can go wrong outside of a probe's verdicts.
///
/// A broken or hostile *server* never produces an `Error`: it produces a check verdict with
/// evidence. Errors are for bad *inputs*: a target string that does not parse, a CA file that
/// cannot be read, or bytes that the pure [`wire`](crate::wire) decoder rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `HOST[:PORT]` target that does not parse.
    #[error("invalid target \"{input}\": {reason}")]
    InvalidTarget {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CA file that cannot be read or holds no certificate.
    #[error("CA file \"{path}\": {reason}")]
    CaFile {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A backend message whose length field is below 4 or above the decoder's bound.
    #[error("message '{tag}' has length {len}, outside 4..={max}")]
    MessageLength {
        /// The message type byte, as a character (`?` when not printable ASCII).
        tag: char,
        /// The length field as sent.
        len: i64,
        /// The largest length the decoder accepts.
        max: usize,
    },
    /// A backend message whose body does not match its type.
    #[error("malformed message '{tag}': {reason}")]
    MalformedMessage {
        /// The message type byte, as a character.
        tag: char,
        /// What is wrong with the body.
        reason: String,
    },
    /// The tokio runtime for a blocking call could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    /// A frontend message that cannot be encoded (a parameter holds a NUL byte, or it is too long).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// Which message.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while creating, reading, checking or writing certificates.
///
/// Messages are lowercase, carry no trailing period and quote the offending input. Variants hold
/// plain strings (never dependency types) so the enum stays `Clone + PartialEq + Eq` and tests can
/// assert exact variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key type name that is not one of the supported spellings.
    #[error(
        "unknown key type \"{value}\": expected one of ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096, ed25519"
    )]
    UnknownKeyType {
        /// The text that was given.
        value: String,
    },
    /// A subject alternative name that is neither a valid DNS name nor an IP address.
    #[error("invalid subject alternative name \"{value}\": {reason}")]
    InvalidSan {
        /// The text that was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A certificate request without any subject alternative name.
    #[error("a server certificate needs at least one DNS name or IP address")]
    NoSans,
    /// A name constraint that is neither a DNS domain nor an IP address or CIDR range.
    #[error("invalid name constraint \"{value}\": {reason}")]
    InvalidNameConstraint {
        /// The text that was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A subject alternative name outside the CA's permitted name constraints.
    #[error(
        "subject alternative name \"{san}\" is outside the CA's name constraints ({permitted})"
    )]
    NameConstraintViolation {
        /// The name that is not permitted.
        san: String,
        /// The permitted subtrees of the CA, comma separated.
        permitted: String,
    },
    /// A role name that cannot be used as a client certificate common name.
    #[error("invalid database role \"{value}\": {reason}")]
    InvalidUser {
        /// The text that was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A common name that is empty or too long.
    #[error("invalid common name \"{value}\": {reason}")]
    InvalidCommonName {
        /// The text that was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A validity period of zero days or longer than 100 years.
    #[error("invalid validity of {days} days: expected 1 to 36500")]
    InvalidDays {
        /// The number of days that was given.
        days: u32,
    },
    /// No PEM block of the expected kind in the input.
    #[error("no {what} found in the PEM input")]
    NoPem {
        /// What was looked for: "certificate" or "private key".
        what: &'static str,
    },
    /// The PEM armour itself is broken.
    #[error("malformed PEM: {detail}")]
    Pem {
        /// The parser's explanation.
        detail: String,
    },
    /// A certificate that does not parse as X.509.
    #[error("cannot parse certificate: {detail}")]
    Certificate {
        /// The parser's explanation.
        detail: String,
    },
    /// A private key that does not parse or uses an unsupported algorithm.
    #[error("cannot use private key: {detail}")]
    Key {
        /// The explanation.
        detail: String,
    },
    /// The certificate given as a CA is not one.
    #[error("certificate \"{subject}\" is not a CA (basicConstraints CA:TRUE is missing)")]
    NotCa {
        /// Subject of the certificate.
        subject: String,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate \"{subject}\"")]
    KeyMismatch {
        /// Subject of the certificate.
        subject: String,
    },
    /// A certificate that was not issued by the given CA.
    #[error("certificate \"{subject}\" was not issued by CA \"{ca}\": {reason}")]
    NotIssuedBy {
        /// Subject of the leaf certificate.
        subject: String,
        /// Subject of the CA certificate.
        ca: String,
        /// What did not match.
        reason: String,
    },
    /// A certificate outside its validity period during chain verification.
    #[error("certificate \"{subject}\" is not valid now: {reason}")]
    NotValidNow {
        /// Subject of the certificate.
        subject: String,
        /// "expired on ..." or "not valid before ...".
        reason: String,
    },
    /// A key of a type or size the servers cannot use.
    #[error("cannot use a {key} key: {reason}")]
    UnusableKey {
        /// The key, as in `RSA 1024`.
        key: String,
        /// Who refuses it and why.
        reason: String,
    },
    /// A certificate that cannot serve as a server's certificate.
    #[error("certificate \"{subject}\" cannot be a server certificate: {reason}")]
    NotServerCert {
        /// Subject of the certificate.
        subject: String,
        /// Why.
        reason: String,
    },
    /// A full chain whose certificates are not each issued by the next.
    #[error("the chain is out of order: {detail}")]
    ChainOrder {
        /// Which certificate did not issue which.
        detail: String,
    },
    /// The crypto backend failed to create a key or a certificate.
    #[error("cannot generate {what}: {detail}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// The backend's explanation.
        detail: String,
    },
    /// An owner that is not `UID:GID` with numeric ids.
    #[error("invalid owner \"{value}\": expected UID:GID with numeric ids, as in 999:999")]
    InvalidOwner {
        /// The text that was given.
        value: String,
    },
    /// A file-system operation failed.
    #[error("cannot {op} \"{path}\": {message}", path = path.display())]
    Io {
        /// What was being done ("read", "write", "rename", ...).
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// Writing would replace a file the caller asked to protect (an existing CA key).
    #[error(
        "refusing to overwrite existing \"{path}\": it holds a CA private key; pass force to replace it",
        path = path.display()
    )]
    WouldOverwrite {
        /// The protected file.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, err: &std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

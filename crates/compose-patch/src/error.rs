//! The one error type of this crate.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or editing a compose file.
///
/// Line numbers are 1-based and point into the text given to
/// [`ComposeFile::parse`](crate::ComposeFile::parse) (or the current text of the
/// file after earlier successful edits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid YAML.
    #[error("invalid yaml at line {line}, column {column}: {message}")]
    InvalidYaml {
        /// 1-based line of the problem (0 when the parser gave no position).
        line: usize,
        /// 1-based column of the problem (0 when the parser gave no position).
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// A mapping holds the same key twice.
    #[error("duplicate key at line {line}: {message}")]
    DuplicateKey {
        /// 1-based line of the second occurrence (0 when unknown).
        line: usize,
        /// The parser's description, which names the key.
        message: String,
    },
    /// The document is valid YAML but not a compose file this crate can edit.
    #[error("not a compose file: {reason}")]
    NotCompose {
        /// What is missing or of the wrong shape.
        reason: String,
    },
    /// No service has this key or `container_name`.
    #[error("service \"{name}\" not found; services: {}", available.join(", "))]
    ServiceNotFound {
        /// The name that was asked for.
        name: String,
        /// The service keys in the file, in order.
        available: Vec<String>,
    },
    /// A key of a service does not have the shape the edit needs.
    #[error(
        "service \"{service}\", key \"{key}\" at line {line}: expected {expected}, found {found}"
    )]
    UnexpectedShape {
        /// Service key.
        service: String,
        /// Key inside the service (for example `command`).
        key: String,
        /// 1-based line of the value.
        line: usize,
        /// What the edit can work with.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// The edit would have to go through an anchor, an alias or a merge key, which
    /// would change other places of the file too (or not take effect).
    #[error(
        "service \"{service}\", key \"{key}\" at line {line}: {detail}; edit it by hand or remove the anchor/alias first"
    )]
    Alias {
        /// Service key.
        service: String,
        /// Key inside the service.
        key: String,
        /// 1-based line of the anchor, alias or merge key.
        line: usize,
        /// What was found.
        detail: String,
    },
    /// A service has no `command`, so PostgreSQL settings cannot be appended to it.
    #[error(
        "service \"{service}\" at line {line} has no command; add `command: [\"postgres\"]` first"
    )]
    NoCommand {
        /// Service key.
        service: String,
        /// 1-based line of the service key.
        line: usize,
    },
    /// An argument given to an edit is not usable.
    #[error("invalid {what} \"{value}\": {reason}")]
    InvalidArgument {
        /// Which argument (`setting`, `port mapping`, ...).
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The edit is valid but this crate does not support it in this position.
    #[error("service \"{service}\", key \"{key}\" at line {line}: {detail}")]
    Unsupported {
        /// Service key.
        service: String,
        /// Key inside the service.
        key: String,
        /// 1-based line.
        line: usize,
        /// What is not supported.
        detail: String,
    },
    /// The edited text did not re-parse to exactly the intended typed view. The
    /// original text is kept. This is a bug in this crate (or a YAML corner it does
    /// not handle); please report it with the input.
    #[error(
        "edit of service \"{service}\" ({edit}) failed verification: {detail}; the file was left unchanged"
    )]
    Verification {
        /// Service key.
        service: String,
        /// Short description of the edit.
        edit: String,
        /// What differed.
        detail: String,
    },
    /// A Compose project cannot be read or merged (a missing file named by `-f`,
    /// `COMPOSE_FILE` or `include:`, an unknown tag, an `include`/`extends` cycle, invalid
    /// YAML, a required variable without value).
    #[error("{}: {message}", place(file, *line))]
    Project {
        /// The file at fault (relative to the project folder; the one that names a missing
        /// file).
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where a project error points: `"file" line N` or `"file"`.
fn place(file: &str, line: usize) -> String {
    if line > 0 {
        format!("\"{file}\" line {line}")
    } else {
        format!("\"{file}\"")
    }
}

impl Error {
    /// The 1-based line the error points at, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::InvalidYaml { line, .. }
            | Error::DuplicateKey { line, .. }
            | Error::UnexpectedShape { line, .. }
            | Error::Alias { line, .. }
            | Error::NoCommand { line, .. }
            | Error::Unsupported { line, .. }
            | Error::Project { line, .. } => (*line > 0).then_some(*line),
            Error::NotCompose { .. }
            | Error::ServiceNotFound { .. }
            | Error::InvalidArgument { .. }
            | Error::Verification { .. } => None,
        }
    }
}

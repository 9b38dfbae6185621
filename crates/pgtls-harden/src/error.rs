//! The library's error type, and a small `context` extension so errors read as a chain
//! ("editing \"docker-compose.yml\"" caused by the compose-patch error) the way the CLI prints it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while detecting, planning or checking a deployment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No known deployment layout in the folder.
    #[error("no supported deployment layout found in \"{dir}\"; looked for: {looked_for}")]
    UnknownLayout {
        /// The folder inspected.
        dir: PathBuf,
        /// What was looked for, human-readable.
        looked_for: String,
    },
    /// The recipe refuses to proceed for a reason the user can fix (a half-present CA, ...).
    #[error("{0}")]
    Refused(String),
    /// Reading a file or folder failed.
    #[error("{context}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file that must be text is not UTF-8.
    #[error("\"{}\" is not UTF-8 text", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// A text file holds bytes no parser here accepts (invalid UTF-8, a NUL byte).
    #[error("\"{}\" line {line}, column {column}: {problem}", .path.display())]
    BadText {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong there.
        problem: String,
    },
    /// An input larger than this crate agrees to work on.
    #[error("\"{}\" is {size} bytes; pgtls reads compose files of at most {limit} bytes (a Supabase compose file is about 10 to 40 kB): is this the right file?", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A condition described in words (a missing file, a missing mapping).
    #[error("{0}")]
    Message(String),
    /// From compose-patch.
    #[error(transparent)]
    Compose(#[from] compose_patch::Error),
    /// From pgtls-certs.
    #[error(transparent)]
    Certs(#[from] pgtls_certs::Error),
    /// From pg-hba.
    #[error(transparent)]
    Hba(#[from] pg_hba::Error),
    /// From pooler-exs.
    #[error(transparent)]
    Pooler(#[from] pooler_exs::Error),
    /// From pgbouncer-ini.
    #[error(transparent)]
    PgBouncerIni(#[from] pgbouncer_ini::Error),
    /// The PGDATA bind source is not a folder (a file, a symlink) or cannot be read.
    #[error(transparent)]
    PgData(#[from] PgDataError),
    /// Coolify's API failed or refused (its own message included).
    #[error(transparent)]
    Coolify(#[from] ApiError),
    /// Applying a plan failed part-way (what was written and where the backups are is in it).
    #[error(transparent)]
    Apply(Box<ApplyError>),
    /// An error with what was being done when it happened.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
}

impl From<ApplyError> for Error {
    fn from(e: ApplyError) -> Self {
        Self::Apply(Box::new(e))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what was being done to an error (or turns a `None` into an error).
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Wraps the error with a lazily built context.
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.into(),
            source: Box::new(e.into()),
        })
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().into(),
            source: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::Message(context.into()))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| Error::Message(f().into()))
    }
}

impl Error {
    /// Whether this error, or one it wraps, is a [`Error::Refused`].
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Refused(_) => true,
            // an answer from Coolify is something the user can fix; no answer is a runtime error
            Self::Coolify(e) => e.status().is_some(),
            Self::Context { source, .. } => source.is_refusal(),
            _ => false,
        }
    }
}

/// The bad-input errors of PGDATA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgDataError {
    /// The PGDATA bind source is a regular file.
    #[error("PGDATA bind source \"{0}\" is a file, not a folder: fix the db service's volume")]
    NotAFolder(PathBuf),
    /// The PGDATA bind source is a symlink.
    #[error(
        "PGDATA bind source \"{0}\" is a symbolic link: pgtls reads owners and copies folders by path; point the volume at the real folder"
    )]
    Symlink(PathBuf),
    /// The folder cannot be read.
    #[error("cannot read PGDATA folder \"{path}\": {reason}")]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
}

/// What went wrong talking to Coolify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The URL is not `http://` or `https://`.
    #[error("--coolify-url {url:?} is not an http:// or https:// URL")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// No answer (connection refused, DNS, TLS, timeout).
    #[error("cannot reach Coolify at {url}: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// Coolify answered with an error status; `message` is the server's own.
    #[error("Coolify answered {status} to {method} {path}: {message}")]
    Status {
        /// `GET`, `PATCH`, `POST`.
        method: &'static str,
        /// The path asked for.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The server's `message` (with its validation errors), or the body's start.
        message: String,
    },
    /// A 2xx answer that is not what Coolify sends.
    #[error("unexpected answer from {path}: {reason}")]
    BadAnswer {
        /// The path asked for.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl ApiError {
    /// The HTTP status, for an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Applied {
    /// Files written, in order (absolute).
    pub written: Vec<PathBuf>,
    /// Folders created.
    pub created_dirs: Vec<PathBuf>,
    /// Where backups of replaced files are (absent when nothing was replaced).
    pub backup_dir: Option<PathBuf>,
}

/// A failed apply: the files before `failed` were written, the rest were not.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.failed, .applied))]
pub struct ApplyError {
    /// The file whose write failed.
    pub failed: PathBuf,
    /// What had been written before the failure.
    pub applied: Applied,
    /// The cause.
    #[source]
    pub source: Box<pgtls_certs::Error>,
}

fn describe(failed: &Path, applied: &Applied) -> String {
    let mut s = format!(
        "writing \"{}\" failed; the file is unchanged and nothing after it was written",
        failed.display()
    );
    if applied.written.is_empty() {
        s.push_str("; no file had been written yet");
    } else {
        s.push_str("; already written: ");
        let names: Vec<String> = applied
            .written
            .iter()
            .map(|p| format!("\"{}\"", p.display()))
            .collect();
        s.push_str(&names.join(", "));
    }
    if let Some(dir) = &applied.backup_dir {
        let _ = write!(
            s,
            "; backups of replaced files are in \"{}\"",
            dir.display()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_chain() {
        let err = Err::<(), _>(Error::Refused("no owner".into()))
            .context("planning")
            .unwrap_err();
        assert_eq!(err.to_string(), "planning");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("no owner"));
        assert!(err.is_refusal());
        let none: Option<u8> = None;
        assert_eq!(
            none.context("\"x\" disappeared").unwrap_err().to_string(),
            "\"x\" disappeared"
        );
    }
}

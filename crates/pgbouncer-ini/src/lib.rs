//! Lossless editor for PgBouncer's `pgbouncer.ini`.
//!
//! PgBouncer reads one ini file (plus the files it `%include`s). Hardening client TLS means
//! setting `client_tls_sslmode`, `client_tls_cert_file` and `client_tls_key_file` in its
//! `[pgbouncer]` section; when a deployment mounts its own pgbouncer.ini (the edoburu image
//! then ignores its environment), that file is the user's and must keep every comment and
//! blank. This crate reads the file into a [`Document`], edits it, and prints it back with
//! every untouched byte as it was.
//!
//! # Example
//!
//! ```
//! use pgbouncer_ini::Document;
//!
//! let mut ini = Document::parse("[pgbouncer]\nlisten_port=6432 ; ; and # stay in the value\n")?;
//! assert_eq!(ini.get("pgbouncer", "listen_port"), Some("6432 ; ; and # stay in the value"));
//! ini.set("pgbouncer", "listen_port", "6432")?;
//! ini.set("pgbouncer", "client_tls_sslmode", "require")?;
//! assert_eq!(ini.to_string(), "[pgbouncer]\nlisten_port=6432\nclient_tls_sslmode=require\n");
//! # Ok::<(), pgbouncer_ini::Error>(())
//! ```
//!
//! # Design
//!
//! - **Lines, as PgBouncer reads them.** The loader (`lib/usual/cfparser.c` in
//!   pgbouncer/pgbouncer) is line based: leading blanks skipped, `#`/`;` first on a line is a
//!   comment, `%include <file>` pulls in a file, `[name]` opens a section (which may repeat),
//!   `key = value` with the key bare (`[A-Za-z0-9_.*-]`) or in single quotes and the value the
//!   rest of the line, blanks trimmed. A [`Document`] is the list of lines, each with its exact
//!   text, its line ending (LF, CRLF or none for a last line) and the ranges of its key and
//!   value: printing concatenates the texts, so untouched lines print byte for byte.
//! - **Edits touch one line.** [`Document::set`] on a present key replaces the value's range of
//!   the last occurrence (the one PgBouncer keeps); a new key is a new line after the last entry
//!   of the section's last block, in that entry's style (indentation and the blanks around
//!   `=`), so the comment blocks between entries stay where they are; a new section is appended.
//!   Every edit is idempotent.
//! - **Errors** reuse PgBouncer's words (`syntax error in configuration`) and give the 1-based
//!   line and its text; a line PgBouncer accepts but that this editor cannot keep lossless
//!   (text after a section header, a quoted key running over lines) is [`Error::Unsupported`],
//!   never silently rewritten.
//!
//! # Limitations: what is not followed or not preserved
//!
//! - `%include` files are listed ([`Document::includes`]), not read: a setting an included file
//!   makes after the edited line overrides it, and a caller should say so.
//! - Values are not validated (`client_tls_sslmode = requir` parses; PgBouncer refuses it at
//!   load): this is a text editor, not PgBouncer's configuration model.
//! - [`Document::remove`] removes the key's lines, not the comments above them.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod document;
mod error;

pub use document::{Document, Entry, Include};
pub use error::{Error, Result};

/// The section PgBouncer's own settings live in.
pub const PGBOUNCER: &str = "pgbouncer";

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

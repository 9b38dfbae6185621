//! Read, check, explain, lint and edit `pg_hba.conf` the way PostgreSQL reads it, without
//! ever losing a byte the user wrote.
//!
//! # Purpose
//!
//! Hardening a PostgreSQL server for TLS means editing `pg_hba.conf`: first match wins, so
//! the order of rules is their meaning, and users keep notes in comments. This crate parses
//! the file into a typed tree that prints back byte for byte, validates every line with
//! PostgreSQL's own rules and messages, tells which rule a given connection meets and what
//! the client hears, lints for common security mistakes, and edits the file in place
//! (insert, replace, remove, the hardening [`Policy`]) touching only the lines it must.
//!
//! ```
//! use pg_hba::{Connection, Document, Encryption, Outcome, ParseOptions, Policy, explain};
//!
//! let text = "local all all peer\nhost all all 0.0.0.0/0 scram-sha-256 # anyone\n";
//! let doc = Document::parse(text, ParseOptions::default());
//! assert_eq!(doc.to_string(), text); // lossless
//! assert!(doc.validate().is_empty());
//!
//! let conn = Connection::host("203.0.113.7".parse().unwrap(), "postgres", "app");
//! assert_eq!(explain(&doc, &conn).outcome, Outcome::Allow);
//!
//! let (hardened, _warnings) = Policy::default().apply(&doc).unwrap();
//! let plain = explain(&hardened, &conn);
//! assert_eq!(plain.outcome, Outcome::Reject);
//! assert_eq!(
//!     plain.message.as_deref(),
//!     Some("pg_hba.conf rejects connection for host \"203.0.113.7\", user \"app\", database \"postgres\", no encryption")
//! );
//! let tls = explain(&hardened, &conn.with_encryption(Encryption::Ssl));
//! assert_eq!(tls.outcome, Outcome::Allow);
//! // Applying the policy again changes nothing.
//! assert_eq!(Policy::default().apply(&hardened).unwrap().0.to_string(), hardened.to_string());
//! ```
//!
//! # Design
//!
//! - **Two layers, like PostgreSQL.** `tokenize_auth_file()` first glues backslash
//!   continuations and strips CR/LF; `next_token()` then splits the logical line. The first
//!   layer is a small loop replaying PostgreSQL's buffer logic; the second is a private pest
//!   grammar (`grammar.pest`) for fields and tokens (`a, b` is one field, `a ,b` two; `""`
//!   inside quotes; an unterminated quote runs to the end of the line), followed by
//!   PostgreSQL's own loop for token values and the `initial_quote` flag that decides
//!   whether keywords count (PostgreSQL 15.18 has no token length limit any more). Every
//!   line takes a hand-written scanner (quotes, `""` escapes and commas inside quotes
//!   included) that property tests hold equal to the grammar; [`validate_text`] streams a
//!   file line by line for `hba check`, so a 100,000-record file is checked in a fraction of
//!   PostgreSQL's own parse time with memory near the file's size.
//! - **Lossless by construction.** Every logical line keeps its exact source ("repr" in
//!   `toml_edit`'s terms); records add a typed interpretation next to it. Printing concatenates
//!   the sources. Edits produce new source for the lines they touch, aligned to the nearest
//!   records' columns, check that the new line reads back as the rule asked for (or refuse),
//!   and re-read the result, so the tree never disagrees with the text. Records keep their
//!   typed meaning but not their token lists, which are recomputed when an edit needs them.
//! - **Validation is PostgreSQL's `parse_hba_line()`**, check by check and in the same
//!   order, with the messages `pg_hba_file_rules.error` shows. Parsing never fails; invalid
//!   lines are [`RecordKind::Invalid`] records and [`Document::validate`] lists them.
//!   [`Record::view`] computes the `pg_hba_file_rules` row (with the server's normalisation
//!   of addresses, masks and options); the test suite compares it with a real server.
//! - **Explain is `check_hba()`**: connection type against SSL/GSS state, address, database,
//!   then role; first match wins; `reject` and no match give PostgreSQL's FATAL texts.
//!
//! # Limitations: what is not preserved / not supported
//!
//! - `@file` items and `include*` records are typed but not expanded by [`Document::parse`]
//!   (parsing does no I/O): [`Document::validate`] does not read their targets and
//!   [`explain`] treats `@file` items as matching nothing. [`Document::resolve`] expands them
//!   through a caller-supplied [`FileSource`] ([`Disk`] for the real filesystem; PostgreSQL's relative-path rule, `include_dir`
//!   order and filter, `include_if_exists`, depth limit), and [`lint_resolved`] and
//!   [`explain_resolved`] work on the result with the included file and line; when a file
//!   cannot be read, [`explain_resolved`] gives [`Outcome::Unknown`], never a verdict.
//!   [`HbaFile`] bundles a document with its resolution for checking, linting and explaining.
//! - Validation models the Linux builds (Debian, `supabase/postgres`): `sspi` and `bsd` are
//!   "not supported by this build"; `gss`, `ldap`, `pam`, `radius` and `cert` are available.
//!   RADIUS server names and LDAP URLs are checked for syntax only (PostgreSQL resolves them
//!   with DNS and `OpenLDAP`); a `hostssl` line while `ssl = off` is a lint finding
//!   (`hostssl-ssl-off`), since PostgreSQL only logs it.
//! - The PostgreSQL 15 behaviour is checked line by line against a real 15.18 server, the
//!   16/17 behaviour (include records, `@file` lists, regular expressions) against a real
//!   17.12 through `pg_hba_file_rules` ([`Resolved::view`]). Regular expressions are
//!   validated by a replay of PostgreSQL's own regex parser (the private `are` module) but
//!   matched in [`explain`] with the `regex` crate, whose syntax is close to but not identical
//!   with PostgreSQL's ARE flavour; the compiler's size limits (`regular expression is too
//!   complex`) are not reproduced. [`Document::resolve`] also stops `@file` nesting at 10
//!   levels on 15, where PostgreSQL has no limit. A dangling symbolic link named `*.conf` in an
//!   `include_dir` folder fails the whole folder in PostgreSQL (`could not stat file`); here
//!   it is an unreadable file.
//! - A NUL byte ends a line's tokens, as in C; bytes after it on that line are kept in the
//!   text but ignored.
//! - `samehost`/`samenet` and host-name rules match in [`explain`] only with the interface
//!   list or verified host name supplied in [`Connection`].
//! - [`Document::align_columns`] re-aligns only valid single-line rules; lines with
//!   continuations, invalid lines and comments keep their layout.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod are;
mod document;
mod edit;
mod error;
mod explain;
mod file;
mod interpret;
mod lint;
mod model;
mod policy;
mod resolve;
mod token;

pub use document::{Diagnostic, Document, Record, Validation, ViewRow, validate_text};
pub use edit::Position;
pub use error::{Error, Result};
pub use explain::{
    Connection, Explanation, Origin, Outcome, explain, explain_resolved, explain_with,
};
pub use file::{Disk, HbaFile, validate_with_includes};
pub use lint::{Finding, LINT_CODES, LintOptions, Severity, lint, lint_resolved};
pub use model::{
    Address, AuthOption, ConnectionType, Encryption, Include, IncludeKind, Item, Method,
    ParseOptions, PgVersion, RecordKind, Rule, format_ip,
};
pub use policy::{
    Cidr, Policy, SUPABASE_DEFAULT_HBA, SUPABASE_DEFAULT_HBA_17, Warning,
    supabase_default_hardened, supabase_default_hba,
};
pub use resolve::{FileRuleRow, FileSource, Resolved, ResolvedRule};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! `@file` and include resolution through a caller-supplied reader (the crate does no I/O).
//!
//! PostgreSQL expands `@file` tokens while tokenizing (`tokenize_inc_file()`): every token of
//! every line of the named file joins the field, recursively, with paths relative to the
//! directory of the file that names them. From 16 on, `include`, `include_if_exists` and
//! `include_dir` records splice other files' records in place, up to 10 files deep.

use std::io;

use crate::document::{Diagnostic, Document, ViewRow};
use crate::interpret::interpret;
use crate::model::{Include, IncludeKind, ParseOptions, PgVersion, RecordKind, Rule};
use crate::token::{Field, LogicalLines, Token, tokenize};

/// PostgreSQL's `CONF_FILE_MAX_DEPTH`.
const MAX_DEPTH: usize = 10;

/// Reads the files a `pg_hba.conf` names. Paths given to it are already resolved the way
/// PostgreSQL resolves them (absolute, or joined to the including file's directory).
pub trait FileSource {
    /// The contents of a file.
    fn read(&self, path: &str) -> io::Result<String>;
    /// The names (not paths) of the entries of a directory that are not directories
    /// themselves (following symbolic links), for `include_dir`; PostgreSQL skips
    /// subdirectories.
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>>;
}

/// A rule after resolution, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRule {
    /// The file the record is in.
    pub file: String,
    /// The record's first physical line in that file.
    pub line: usize,
    /// The rule with `@file` items expanded.
    pub rule: Rule,
}

/// The effective rule list of a file and everything it includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Valid rules in the order PostgreSQL evaluates them.
    pub rules: Vec<ResolvedRule>,
    /// Errors PostgreSQL would report (invalid lines, unreadable files), in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics about files that could not be read (also in `diagnostics`): when
    /// not empty, the rule list is incomplete and no verdict can be drawn from it.
    pub unread: Vec<Diagnostic>,
    /// Rules and diagnostics interleaved in PostgreSQL's order (for [`Resolved::view`]).
    order: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Rule(usize),
    Diag(usize),
}

/// One row of PostgreSQL 16+'s `pg_hba_file_rules`: the rule's number among the valid rules
/// of every file, the file it is in, and the row's other columns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRuleRow {
    /// `rule_number`: the position among valid rules, `None` for an invalid line.
    pub rule_number: Option<usize>,
    /// `file_name`.
    pub file_name: String,
    /// `line_number`, the fields, `error`.
    pub row: ViewRow,
}

impl Resolved {
    /// Whether every file the document names was read (so `rules` is the whole list).
    pub fn is_complete(&self) -> bool {
        self.unread.is_empty()
    }

    /// The rows PostgreSQL 16+'s `pg_hba_file_rules` shows for the file and everything it
    /// includes, in its order.
    pub fn view(&self) -> Vec<FileRuleRow> {
        let mut number = 0;
        self.order
            .iter()
            .filter_map(|slot| match *slot {
                Slot::Rule(i) => self.rules.get(i).map(|r| {
                    number += 1;
                    FileRuleRow {
                        rule_number: Some(number),
                        file_name: r.file.clone(),
                        row: ViewRow::of_rule(r.line, &r.rule),
                    }
                }),
                Slot::Diag(i) => self.diagnostics.get(i).map(|d| FileRuleRow {
                    rule_number: None,
                    file_name: d.file.clone(),
                    row: ViewRow {
                        error: Some(d.message.clone()),
                        ..ViewRow::error_row(d.line)
                    },
                }),
            })
            .collect()
    }

    fn push_rule(&mut self, rule: ResolvedRule) {
        self.order.push(Slot::Rule(self.rules.len()));
        self.rules.push(rule);
    }

    fn push_diag(&mut self, d: Diagnostic, unread: bool) {
        if unread {
            self.unread.push(d.clone());
        }
        self.order.push(Slot::Diag(self.diagnostics.len()));
        self.diagnostics.push(d);
    }
}

/// `strerror`-like text for an I/O error, as PostgreSQL's `%m` prints it.
fn strerror(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Read a file the way PostgreSQL's `AllocateFile()` + `tokenize_auth_file()` see it: a
/// directory opens fine and then fails its first read, which ends the file without a line
/// and without an error, so it reads as empty.
fn read(source: &dyn FileSource, path: &str) -> io::Result<String> {
    match source.read(path) {
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(String::new()),
        other => other,
    }
}

/// Join `name` to the directory of `base` unless it is absolute (PostgreSQL's
/// `AbsoluteConfigLocation`), then tidy it like `canonicalize_path`: no `.` components,
/// `dir/..` pairs resolved, no doubled or trailing slashes.
pub(crate) fn relative_to(base: &str, name: &str) -> String {
    let joined = if name.starts_with('/') {
        name.to_owned()
    } else {
        match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => name.to_owned(),
        }
    };
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            // `x/..` cancels out; `..` cannot climb above the root
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            _ => parts.push(p),
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

impl Document {
    /// Expand `@file` items and (PostgreSQL 16+) include records with `source`, giving the
    /// rules PostgreSQL would evaluate and the errors it would report. Paths are resolved
    /// against [`ParseOptions::file_name`].
    pub fn resolve(&self, source: &dyn FileSource) -> Resolved {
        let mut out = Resolved::default();
        resolve_doc(self, source, 0, &mut out);
        out
    }
}

fn resolve_doc(doc: &Document, source: &dyn FileSource, depth: usize, out: &mut Resolved) {
    let file = doc.options.file_name.clone();
    let version = doc.options.version;
    let diag = |line: usize, message: String| Diagnostic {
        file: file.clone(),
        line,
        message,
    };
    for rec in doc.records() {
        // PostgreSQL expands an unquoted `@name` token in any field; a record without `@`
        // reads as it did when parsed.
        let kind = match (&rec.kind, &rec.error) {
            (_, Some(message)) if !rec.logical_text().contains('@') => Err(message.clone()),
            (RecordKind::Rule(_) | RecordKind::Include(_), None)
                if !rec.logical_text().contains('@') =>
            {
                Ok(rec.kind.clone())
            }
            _ => {
                let own = rec.token_fields();
                if own.is_empty() {
                    out.push_diag(diag(rec.line, rec.error.clone().unwrap_or_default()), false);
                    continue;
                }
                let mut unread = false;
                let kind = expand_fields(&own, &file, source, depth, version, &mut unread)
                    .and_then(|f| interpret(&f, version));
                if unread && let Err(message) = kind {
                    out.push_diag(diag(rec.line, message), true);
                    continue;
                }
                kind
            }
        };
        match kind {
            Err(message) => out.push_diag(diag(rec.line, message), false),
            Ok(RecordKind::Rule(rule)) => out.push_rule(ResolvedRule {
                file: file.clone(),
                line: rec.line,
                rule,
            }),
            Ok(RecordKind::Include(inc)) => {
                let errors = include(&inc, &file, source, depth, version, out);
                // PostgreSQL puts every error of one include line in one message, a line each.
                if !errors.is_empty() {
                    out.push_diag(diag(rec.line, errors.join("\n")), true);
                }
            }
            Ok(_) => {}
        }
    }
}

/// Follow one include record (`tokenize_auth_file()`'s include branch and
/// `GetConfFilesInDir()`), appending the included rules; returns the errors PostgreSQL
/// would put on the include line.
fn include(
    inc: &Include,
    file: &str,
    source: &dyn FileSource,
    depth: usize,
    version: PgVersion,
    out: &mut Resolved,
) -> Vec<String> {
    let files = if inc.kind == IncludeKind::IncludeDir {
        if inc.path.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
            return vec!["empty configuration directory name".to_owned()];
        }
        let dir = relative_to(file, &inc.path);
        match source.list_dir(&dir) {
            Ok(mut names) => {
                // At least six bytes, not hidden, ending in ".conf" (case-sensitive).
                #[allow(clippy::case_sensitive_file_extension_comparisons)]
                names.retain(|n| n.len() >= 6 && !n.starts_with('.') && n.ends_with(".conf"));
                let mut paths: Vec<String> = names
                    .iter()
                    .map(|n| relative_to(&format!("{dir}/"), n))
                    .collect();
                // strcmp order of the full paths (byte order, the C locale).
                paths.sort();
                paths
            }
            Err(_) => return vec![format!("could not open directory \"{dir}\"")],
        }
    } else {
        vec![relative_to(file, &inc.path)]
    };
    let mut errors = Vec::new();
    for path in files {
        if depth + 1 > MAX_DEPTH {
            errors.push(format!(
                "could not open file \"{path}\": maximum nesting depth exceeded"
            ));
            continue;
        }
        match read(source, &path) {
            Ok(text) => {
                let sub = Document::parse(
                    &text,
                    ParseOptions {
                        version,
                        file_name: path.clone(),
                    },
                );
                resolve_doc(&sub, source, depth + 1, out);
            }
            // `include_if_exists` skips a missing file (PostgreSQL only logs it).
            Err(e)
                if inc.kind == IncludeKind::IncludeIfExists
                    && e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("could not open file \"{path}\": {}", strerror(&e))),
        }
    }
    errors
}

/// Replace unquoted `@file` tokens with the tokens of the named file.
fn expand_fields<'a>(
    fields: &[Field<'a>],
    file: &str,
    source: &dyn FileSource,
    depth: usize,
    version: PgVersion,
    unread: &mut bool,
) -> Result<Vec<Field<'a>>, String> {
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let mut tokens = Vec::with_capacity(f.tokens.len());
        for t in &f.tokens {
            tokens.extend(expand_token(t, file, source, depth, version, unread)?);
        }
        // PostgreSQL drops a field that expands to nothing (an empty `@file`), so the
        // following fields move up one place.
        if tokens.is_empty() {
            continue;
        }
        out.push(Field {
            tokens,
            start: f.start,
            end: f.end,
        });
    }
    Ok(out)
}

fn expand_token<'a>(
    t: &Token<'a>,
    file: &str,
    source: &dyn FileSource,
    depth: usize,
    version: PgVersion,
    unread: &mut bool,
) -> Result<Vec<Token<'a>>, String> {
    let Some(name) = t
        .value
        .strip_prefix('@')
        .filter(|n| !t.quoted && !n.is_empty())
    else {
        return Ok(vec![t.clone()]);
    };
    let path = relative_to(file, name);
    if depth >= MAX_DEPTH {
        *unread = true;
        return Err(format!(
            "could not open file \"{path}\": maximum nesting depth exceeded"
        ));
    }
    let text = read(source, &path).map_err(|e| {
        *unread = true;
        if version.has_includes_and_regexes() {
            // 16+ opens it with open_auth_file().
            format!("could not open file \"{path}\": {}", strerror(&e))
        } else {
            format!(
                "could not open secondary authentication file \"@{name}\" as \"{path}\": {}",
                strerror(&e)
            )
        }
    })?;
    let mut tokens = Vec::new();
    for line in LogicalLines::new(&text) {
        let fields = tokenize(&line.content)?;
        for f in expand_fields(&fields, &path, source, depth + 1, version, unread)? {
            tokens.extend(f.tokens.into_iter().map(|tok| Token {
                value: std::borrow::Cow::Owned(tok.value.into_owned()),
                quoted: tok.quoted,
                start: t.start,
                end: t.end,
            }));
        }
    }
    Ok(tokens)
}

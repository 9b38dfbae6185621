//! `@file` and include resolution through a caller-supplied reader (the crate does no I/O).
//!
//! PostgreSQL expands `@file` tokens while tokenizing (`tokenize_inc_file()`): every token of
//! every line of the named file joins the field, recursively, with paths relative to the
//! directory of the file that names them. From 16 on, `include`, `include_if_exists` and
//! `include_dir` records splice other files' records in place, up to 10 files deep.

use std::io;

use crate::document::{Diagnostic, Document};
use crate::interpret::interpret;
use crate::model::{IncludeKind, ParseOptions, RecordKind, Rule};
use crate::token::{Field, Token, split_lines, tokenize};

/// PostgreSQL's `CONF_FILE_MAX_DEPTH`.
const MAX_DEPTH: usize = 10;

/// Reads the files a `pg_hba.conf` names. Paths given to it are already resolved the way
/// PostgreSQL resolves them (absolute, or joined to the including file's directory).
pub trait FileSource {
    /// The contents of a file.
    fn read(&self, path: &str) -> io::Result<String>;
    /// The file names (not paths) in a directory, for `include_dir`.
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
}

/// `strerror`-like text for an I/O error, as PostgreSQL's `%m` prints it.
fn strerror(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Join `name` to the directory of `base` unless it is absolute.
pub(crate) fn relative_to(base: &str, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    match base.rfind('/') {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => name.to_owned(),
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
    let diag = |line: usize, message: String| Diagnostic {
        file: file.clone(),
        line,
        message,
    };
    for rec in doc.records() {
        // Lines with tokenizer errors stay errors.
        let own = rec.token_fields();
        let fields = if own.is_empty() {
            Err(rec.error.clone().unwrap_or_default())
        } else {
            expand_fields(&own, &file, source, 0)
        };
        let kind = fields.and_then(|f| interpret(&f, doc.options.version));
        match kind {
            Err(message) => out.diagnostics.push(diag(rec.line, message)),
            Ok(RecordKind::Rule(rule)) => out.rules.push(ResolvedRule {
                file: file.clone(),
                line: rec.line,
                rule,
            }),
            Ok(RecordKind::Include(inc)) => {
                let path = relative_to(&file, &inc.path);
                if depth + 1 >= MAX_DEPTH {
                    out.diagnostics.push(diag(
                        rec.line,
                        format!("could not open file \"{path}\": maximum nesting depth exceeded"),
                    ));
                    continue;
                }
                let files = if inc.kind == IncludeKind::IncludeDir {
                    match source.list_dir(&path) {
                        Ok(mut names) => {
                            // PostgreSQL compares the suffix case-sensitively.
                            #[allow(clippy::case_sensitive_file_extension_comparisons)]
                            names.retain(|n| n.ends_with(".conf") && !n.starts_with('.'));
                            names.sort();
                            names.into_iter().map(|n| format!("{path}/{n}")).collect()
                        }
                        Err(e) => {
                            out.diagnostics.push(diag(
                                rec.line,
                                format!("could not open directory \"{path}\": {}", strerror(&e)),
                            ));
                            continue;
                        }
                    }
                } else {
                    vec![path]
                };
                for f in files {
                    match source.read(&f) {
                        Ok(text) => {
                            let sub = Document::parse(
                                &text,
                                ParseOptions {
                                    version: doc.options.version,
                                    file_name: f.clone(),
                                },
                            );
                            resolve_doc(&sub, source, depth + 1, out);
                        }
                        Err(e)
                            if inc.kind == IncludeKind::IncludeIfExists
                                && e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => out.diagnostics.push(diag(
                            rec.line,
                            format!("could not open file \"{f}\": {}", strerror(&e)),
                        )),
                    }
                }
            }
            Ok(_) => {}
        }
    }
}

/// Replace unquoted `@file` tokens with the tokens of the named file.
fn expand_fields<'a>(
    fields: &[Field<'a>],
    file: &str,
    source: &dyn FileSource,
    depth: usize,
) -> Result<Vec<Field<'a>>, String> {
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let mut tokens = Vec::with_capacity(f.tokens.len());
        for t in &f.tokens {
            tokens.extend(expand_token(t, file, source, depth)?);
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
        return Err(format!(
            "could not open file \"{path}\": maximum nesting depth exceeded"
        ));
    }
    let text = source.read(&path).map_err(|e| {
        format!(
            "could not open secondary authentication file \"@{name}\" as \"{path}\": {}",
            strerror(&e)
        )
    })?;
    let mut tokens = Vec::new();
    for line in split_lines(&text) {
        let fields = tokenize(&line.content)?;
        for f in expand_fields(&fields, &path, source, depth + 1)? {
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

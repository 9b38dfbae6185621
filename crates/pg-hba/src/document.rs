//! The document: logical lines kept byte for byte, records typed.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::interpret::{interpret, view_options};
use crate::model::{ParseOptions, RecordKind, Rule};
use crate::token::{Field, LogicalLines, RawLine, tokenize};

/// A parsed `pg_hba.conf`: every logical line, in order, with its exact source text.
///
/// `doc.to_string()` gives back the input byte for byte until the document is edited;
/// edits rewrite only the lines they touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub(crate) lines: Vec<Line>,
    pub(crate) options: ParseOptions,
}

/// One logical line (a line plus its backslash continuations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Blank or comment-only line.
    Other {
        raw: String,
        number: usize,
        physical: usize,
    },
    /// A line with at least one token (or a tokenizer error).
    Record(Record),
}

impl Line {
    pub(crate) fn raw(&self) -> &str {
        match self {
            Self::Other { raw, .. } => raw,
            Self::Record(r) => &r.raw,
        }
    }

    /// Physical lines spanned.
    pub(crate) fn physical(&self) -> usize {
        match self {
            Self::Other { physical, .. } => *physical,
            Self::Record(r) => r.physical,
        }
    }

    /// Move the line down by `by` physical lines (after an insertion above it).
    pub(crate) fn shift(&mut self, by: usize) {
        match self {
            Self::Other { number, .. } => *number += by,
            Self::Record(r) => r.line += by,
        }
    }
}

/// One record: a non-empty logical line, valid or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) raw: String,
    pub(crate) line: usize,
    pub(crate) physical: usize,
    /// The tokenized text (continuations joined) when it differs from `raw` minus its
    /// line terminator.
    pub(crate) joined: Option<String>,
    pub(crate) kind: RecordKind,
    pub(crate) error: Option<String>,
}

/// Whether a logical line holds a record (PostgreSQL skips lines with no token).
fn is_record(content: &str) -> bool {
    let content = content.trim_start_matches([' ', '\t', '\r', ',']);
    !(content.is_empty() || content.starts_with('#') || content.starts_with('\0'))
}

/// What one record line reads as: its kind, or PostgreSQL's error.
fn read_record(content: &str, options: &ParseOptions) -> (RecordKind, Option<String>) {
    match tokenize(content) {
        Err(e) => (RecordKind::Invalid, Some(e)),
        Ok(fields) => match interpret(&fields, options.version) {
            Ok(kind) => (kind, None),
            Err(e) => (RecordKind::Invalid, Some(e)),
        },
    }
}

/// The result of [`validate_text`]: how many records the file has and which of them
/// PostgreSQL would refuse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// Records (non-blank, non-comment logical lines), valid or not.
    pub records: usize,
    /// Every line PostgreSQL would refuse, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Check `text` line by line without building a [`Document`]: the same diagnostics as
/// `Document::parse(text, options).validate()`, holding one line at a time (for large
/// files: memory stays near the size of the text).
///
/// ```
/// use pg_hba::{ParseOptions, validate_text};
///
/// let v = validate_text("local all all peer\nhost all all 10.0.0.0/33 md5\n", &ParseOptions::default());
/// assert_eq!(v.records, 2);
/// assert_eq!(v.diagnostics[0].line, 2);
/// assert_eq!(v.diagnostics[0].message, "invalid CIDR mask in address \"10.0.0.0/33\"");
/// ```
pub fn validate_text(text: &str, options: &ParseOptions) -> Validation {
    let mut out = Validation::default();
    for raw in LogicalLines::new(text) {
        if !is_record(&raw.content) {
            continue;
        }
        out.records += 1;
        if let (_, Some(message)) = read_record(&raw.content, options) {
            out.diagnostics.push(Diagnostic {
                file: options.file_name.clone(),
                line: raw.number,
                message,
            });
        }
    }
    out
}

impl Record {
    pub(crate) fn from_raw(raw: &RawLine<'_>, options: &ParseOptions) -> Self {
        let (kind, error) = read_record(&raw.content, options);
        let plain = raw.raw.trim_end_matches(['\r', '\n']);
        Self {
            raw: raw.raw.to_owned(),
            line: raw.number,
            physical: raw.physical,
            joined: (plain != raw.content).then(|| raw.content.clone().into_owned()),
            kind,
            error,
        }
    }

    /// 1-based number of the record's first physical line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// How many physical lines the record spans (more than one with continuations).
    pub fn physical_lines(&self) -> usize {
        self.physical
    }

    /// The exact source text, including continuations and the line terminator.
    pub fn source(&self) -> &str {
        &self.raw
    }

    /// The text PostgreSQL tokenizes: continuations joined, line terminator removed.
    pub fn logical_text(&self) -> &str {
        self.joined
            .as_deref()
            .unwrap_or_else(|| self.raw.trim_end_matches(['\r', '\n']))
    }

    /// What the record is.
    pub fn kind(&self) -> &RecordKind {
        &self.kind
    }

    /// The rule, when the record is a valid rule.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.kind {
            RecordKind::Rule(r) => Some(r),
            _ => None,
        }
    }

    /// PostgreSQL's error message for an invalid record.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether PostgreSQL would load this record.
    pub fn is_valid(&self) -> bool {
        self.error.is_none()
    }

    /// Token values per field (quotes removed), as PostgreSQL splits them.
    pub fn fields(&self) -> Vec<Vec<String>> {
        self.token_fields()
            .iter()
            .map(|f| f.tokens.iter().map(|t| t.value.to_string()).collect())
            .collect()
    }

    /// The record's fields, tokenized again from its text (records keep no token list, to
    /// stay small).
    pub(crate) fn token_fields(&self) -> Vec<Field<'_>> {
        tokenize(self.logical_text()).unwrap_or_default()
    }

    /// The record as one row of the `pg_hba_file_rules` view (PostgreSQL 15 columns).
    pub fn view(&self) -> ViewRow {
        let mut row = ViewRow {
            line_number: self.line,
            r#type: None,
            database: None,
            user_name: None,
            address: None,
            netmask: None,
            auth_method: None,
            options: None,
            error: self.error.clone(),
        };
        if let Some(rule) = self.rule() {
            row.fill(rule);
        }
        row
    }
}

impl ViewRow {
    /// The row PostgreSQL shows for a valid `rule` starting at `line`.
    pub fn of_rule(line: usize, rule: &Rule) -> Self {
        let mut row = Self::error_row(line);
        row.fill(rule);
        row
    }

    /// A row with only its line number set.
    pub(crate) fn error_row(line: usize) -> Self {
        ViewRow {
            line_number: line,
            r#type: None,
            database: None,
            user_name: None,
            address: None,
            netmask: None,
            auth_method: None,
            options: None,
            error: None,
        }
    }

    fn fill(&mut self, rule: &Rule) {
        let row = self;
        {
            row.r#type = Some(rule.connection.as_str().to_owned());
            row.database = Some(
                rule.databases
                    .iter()
                    .map(crate::Item::view_string)
                    .collect(),
            );
            row.user_name = Some(rule.users.iter().map(crate::Item::view_string).collect());
            if let Some(a) = &rule.address {
                let (addr, mask) = a.view_columns();
                row.address = Some(addr);
                row.netmask = mask;
            }
            row.auth_method = Some(rule.method.as_str().to_owned());
            let opts = view_options(rule);
            row.options = (!opts.is_empty()).then_some(opts);
        }
    }
}

/// One row of `pg_hba_file_rules`, computed without a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewRow {
    /// First physical line.
    pub line_number: usize,
    /// Connection type.
    pub r#type: Option<String>,
    /// Database tokens.
    pub database: Option<Vec<String>>,
    /// User tokens.
    pub user_name: Option<Vec<String>>,
    /// Address (normalised like the server prints it).
    pub address: Option<String>,
    /// Netmask.
    pub netmask: Option<String>,
    /// Method.
    pub auth_method: Option<String>,
    /// Options as the server lists them.
    pub options: Option<Vec<String>>,
    /// Error message.
    pub error: Option<String>,
}

/// An invalid line, with PostgreSQL's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file name (from the parse options).
    pub file: String,
    /// The record's first physical line.
    pub line: usize,
    /// PostgreSQL's wording.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl Document {
    /// Parse `text`. Never fails: lines PostgreSQL would reject are kept as
    /// [`RecordKind::Invalid`] records and reported by [`Document::validate`].
    pub fn parse(text: &str, options: ParseOptions) -> Self {
        let lines = LogicalLines::new(text)
            .map(|raw| {
                if is_record(&raw.content) {
                    Line::Record(Record::from_raw(&raw, &options))
                } else {
                    Line::Other {
                        raw: raw.raw.to_owned(),
                        number: raw.number,
                        physical: raw.physical,
                    }
                }
            })
            .collect();
        Self { lines, options }
    }

    /// The options the document was parsed with.
    pub fn options(&self) -> &ParseOptions {
        &self.options
    }

    /// All records (valid or not) in file order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.lines.iter().filter_map(|l| match l {
            Line::Record(r) => Some(r),
            Line::Other { .. } => None,
        })
    }

    /// Valid rules with their line numbers, in file order.
    pub fn rules(&self) -> impl Iterator<Item = (usize, &Rule)> {
        self.records()
            .filter_map(|r| r.rule().map(|rule| (r.line, rule)))
    }

    /// Whether the document names other files: include records (PostgreSQL 16+) or
    /// `@file` items. Such a document means what [`Document::resolve`] says, not what its
    /// own lines say.
    pub fn has_references(&self) -> bool {
        self.records().any(|r| match &r.kind {
            RecordKind::Include(_) => true,
            RecordKind::Rule(rule) => rule.has_file_items(),
            _ => false,
        })
    }

    /// The record starting at physical line `line`.
    pub fn record_at(&self, line: usize) -> Option<&Record> {
        self.records().find(|r| r.line == line)
    }

    /// Every line PostgreSQL would refuse, with its message. Empty means the server would
    /// load the file (`@file` and include targets are not read: the crate does no I/O).
    pub fn validate(&self) -> Vec<Diagnostic> {
        self.records()
            .filter_map(|r| {
                r.error.as_ref().map(|m| Diagnostic {
                    file: self.options.file_name.clone(),
                    line: r.line,
                    message: m.clone(),
                })
            })
            .collect()
    }

    /// `pg_hba_file_rules` rows for every record.
    pub fn view(&self) -> Vec<ViewRow> {
        self.records().map(Record::view).collect()
    }

    pub(crate) fn index_of(&self, line: usize) -> Result<usize> {
        self.lines
            .iter()
            .position(|l| matches!(l, Line::Record(r) if r.line == line))
            .ok_or_else(|| Error::NoRecordAtLine {
                file: self.options.file_name.clone(),
                line,
            })
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            f.write_str(l.raw())?;
        }
        Ok(())
    }
}

//! The document: the file's lines, each with its exact text and line ending, and what PgBouncer
//! reads from it.

use std::fmt;
use std::ops::Range;

use crate::error::{Error, Result};

/// How a line ends. The last line of a file may have no ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Lf,
    CrLf,
    None,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

/// What PgBouncer reads from one line. Ranges index the line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Include {
        path: Range<usize>,
    },
    Section {
        name: Range<usize>,
    },
    Entry {
        key: Range<usize>,
        value: Range<usize>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    eol: Eol,
    kind: Kind,
}

impl Line {
    fn key(&self) -> Option<&str> {
        match &self.kind {
            Kind::Entry { key, .. } => self.text.get(key.clone()),
            _ => None,
        }
    }
    fn value(&self) -> Option<&str> {
        match &self.kind {
            Kind::Entry { value, .. } => self.text.get(value.clone()),
            _ => None,
        }
    }
    fn section(&self) -> Option<&str> {
        match &self.kind {
            Kind::Section { name } => self.text.get(name.clone()),
            _ => None,
        }
    }
}

/// One `key = value` line as PgBouncer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The section it belongs to (`None` before the first section header).
    pub section: Option<&'a str>,
    /// The key, without the quotes of a `'quoted key'`.
    pub key: &'a str,
    /// The value: the rest of the line after `=`, blanks trimmed (`;` and `#` are part of it).
    pub value: &'a str,
    /// The line, 1-based.
    pub line: usize,
}

/// One `%include` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include<'a> {
    /// The section the line is in (`None` before the first section header).
    pub section: Option<&'a str>,
    /// The file named, blanks trimmed.
    pub path: &'a str,
    /// The line, 1-based.
    pub line: usize,
}

/// A pgbouncer.ini held as its exact text, editable without disturbing anything else.
///
/// `Document::parse(text)?.to_string() == text` for every text that parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    lines: Vec<Line>,
}

/// Blanks as C's `isspace` sees them in the "C" locale.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Characters of an unquoted key (PgBouncer: `isalnum` or one of `_.-*`).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*')
}

fn classify(text: &str, line: usize) -> Result<Kind> {
    let syntax = |reason| Error::Syntax {
        line,
        reason,
        text: text.to_owned(),
    };
    let start = text.len() - text.trim_start_matches(is_space).len();
    let rest = &text[start..];
    if rest.is_empty() {
        return Ok(Kind::Blank);
    }
    if let Some(after) = rest.strip_prefix("%include")
        && after.starts_with([' ', '\t'])
    {
        let lead = after.len() - after.trim_start_matches([' ', '\t']).len();
        let path_start = start + "%include".len() + lead;
        let path_end = start + rest.trim_end_matches(is_space).len();
        return Ok(Kind::Include {
            path: path_start..path_end.max(path_start),
        });
    }
    if rest.starts_with(['#', ';']) {
        return Ok(Kind::Comment);
    }
    if let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err(syntax("a section header without \"]\""));
        };
        let after = inner[close + 1..].trim_start_matches(is_space);
        if !after.is_empty() && !after.starts_with(['#', ';']) {
            return Err(Error::Unsupported {
                line,
                reason: "text after a section header",
                text: text.to_owned(),
            });
        }
        return Ok(Kind::Section {
            name: start + 1..start + 1 + close,
        });
    }
    let (key, after_key) = if let Some(quoted) = rest.strip_prefix('\'') {
        let Some(close) = quoted.find('\'') else {
            return Err(Error::Unsupported {
                line,
                reason: "a quoted key that does not end on its line",
                text: text.to_owned(),
            });
        };
        if close == 0 {
            return Err(syntax("an empty quoted key"));
        }
        (start + 1..start + 1 + close, start + close + 2)
    } else {
        let len = rest.len() - rest.trim_start_matches(is_key_char).len();
        if len == 0 {
            return Err(syntax(
                "a line that is neither a key, a section nor a comment",
            ));
        }
        (start..start + len, start + len)
    };
    let tail = &text[after_key..];
    let eq = tail.len() - tail.trim_start_matches([' ', '\t']).len();
    if !tail[eq..].starts_with('=') {
        return Err(syntax("expected \"=\" after the key"));
    }
    let after_eq = after_key + eq + 1;
    let tail = &text[after_eq..];
    let value_start = after_eq + (tail.len() - tail.trim_start_matches([' ', '\t']).len());
    let value_end = text.trim_end_matches(is_space).len().max(value_start);
    Ok(Kind::Entry {
        key,
        value: value_start..value_end,
    })
}

/// Writes a key as PgBouncer reads it back: bare when it can be, else in single quotes.
fn render_key(key: &str) -> Result<String> {
    if !key.is_empty() && key.chars().all(is_key_char) {
        Ok(key.to_owned())
    } else if key.is_empty() || key.contains(['\'', '\n', '\r']) {
        Err(Error::InvalidKey(key.to_owned()))
    } else {
        Ok(format!("'{key}'"))
    }
}

fn check_value(key: &str, value: &str) -> Result<()> {
    if value.contains(['\n', '\r']) || value.trim_matches(is_space) != value {
        return Err(Error::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn check_section(name: &str) -> Result<()> {
    if name.is_empty() || name.contains([']', '\n', '\r']) {
        return Err(Error::InvalidSection(name.to_owned()));
    }
    Ok(())
}

impl Document {
    /// Reads a pgbouncer.ini, keeping every byte.
    ///
    /// Accepts what PgBouncer's loader accepts (lib/usual/cfparser.c), line by line:
    /// blank lines, comments (`#` or `;` first on the line), `%include file`, `[section]`, and
    /// `key = value` (`'quoted key' = value` too). The error names the first bad line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = Vec::new();
        let mut rest = text;
        let mut number = 0;
        while !rest.is_empty() {
            number += 1;
            let (raw, eol, next) = match rest.find('\n') {
                Some(i) => {
                    let raw = &rest[..i];
                    match raw.strip_suffix('\r') {
                        Some(body) => (body, Eol::CrLf, &rest[i + 1..]),
                        None => (raw, Eol::Lf, &rest[i + 1..]),
                    }
                }
                None => (rest, Eol::None, ""),
            };
            let kind = classify(raw, number)?;
            lines.push(Line {
                text: raw.to_owned(),
                eol,
                kind,
            });
            rest = next;
        }
        Ok(Self { lines })
    }

    /// Section of each line (the last header above it), in order.
    fn sections(&self) -> Vec<Option<&str>> {
        let mut current = None;
        self.lines
            .iter()
            .map(|l| {
                if let Some(name) = l.section() {
                    current = Some(name);
                }
                current
            })
            .collect()
    }

    /// Every `key = value` line, in file order.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let sections = self.sections();
        self.lines
            .iter()
            .zip(sections)
            .enumerate()
            .filter_map(|(i, (l, section))| {
                Some(Entry {
                    section,
                    key: l.key()?,
                    value: l.value()?,
                    line: i + 1,
                })
            })
            .collect()
    }

    /// Every `%include` line, in file order. This editor does not follow them: a setting in an
    /// included file read after a line of this file overrides it.
    pub fn includes(&self) -> Vec<Include<'_>> {
        let sections = self.sections();
        self.lines
            .iter()
            .zip(sections)
            .enumerate()
            .filter_map(|(i, (l, section))| match &l.kind {
                Kind::Include { path } => Some(Include {
                    section,
                    path: l.text.get(path.clone())?,
                    line: i + 1,
                }),
                _ => None,
            })
            .collect()
    }

    /// The names of the section headers, in file order (a repeated header appears twice).
    pub fn section_names(&self) -> Vec<&str> {
        self.lines.iter().filter_map(Line::section).collect()
    }

    /// The entry PgBouncer ends up with for `key` in `section`: the last one in this file
    /// (keys and section names are case-sensitive, as in PgBouncer).
    pub fn get_entry(&self, section: &str, key: &str) -> Option<Entry<'_>> {
        self.entries()
            .into_iter()
            .rev()
            .find(|e| e.section == Some(section) && e.key == key)
    }

    /// The value of `key` in `section` (the last one, as PgBouncer reads it).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.get_entry(section, key).map(|e| e.value)
    }

    fn eol(&self) -> Eol {
        match self.lines.iter().find(|l| l.eol != Eol::None) {
            Some(l) => l.eol,
            None => Eol::Lf,
        }
    }

    /// Sets `key = value` in `section`; returns whether the text changed.
    ///
    /// A present key gets its value replaced in place (the last occurrence, the one PgBouncer
    /// uses; blanks around `=` kept). A new key goes on a line of its own after the last entry
    /// of the section's last block, written like that entry (`key = value` or `key=value`);
    /// a missing section is appended at the end of the file. Line endings follow the file.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<bool> {
        check_section(section)?;
        let rendered_key = render_key(key)?;
        check_value(key, value)?;
        if let Some(number) = self.get_entry(section, key).map(|e| e.line) {
            let index = number - 1;
            let line = &mut self.lines[index];
            let Kind::Entry { value: range, .. } = line.kind.clone() else {
                return Ok(false);
            };
            if line.text.get(range.clone()) == Some(value) {
                return Ok(false);
            }
            line.text.replace_range(range.clone(), value);
            line.kind = classify(&line.text, number)?;
            return Ok(true);
        }
        let eol = self.eol();
        let last_header = self
            .lines
            .iter()
            .rposition(|l| l.section() == Some(section));
        let Some(header) = last_header else {
            // A new section at the end, after a blank line when the file has content.
            self.end_last_line(eol);
            if self
                .lines
                .last()
                .is_some_and(|l| !matches!(l.kind, Kind::Blank))
            {
                self.push_line(String::new(), eol);
            }
            self.push_line(format!("[{section}]"), eol);
            self.push_line(format!("{rendered_key} = {value}"), eol);
            return Ok(true);
        };
        // The block runs from the header to the next header.
        let block_end = self.lines[header + 1..]
            .iter()
            .position(|l| l.section().is_some())
            .map_or(self.lines.len(), |p| header + 1 + p);
        let last_entry = (header + 1..block_end)
            .rev()
            .find(|&i| matches!(self.lines[i].kind, Kind::Entry { .. }));
        let (at, text) = match last_entry {
            Some(i) => (
                i + 1,
                Self::styled_like(&self.lines[i], &rendered_key, value),
            ),
            None => (header + 1, format!("{rendered_key} = {value}")),
        };
        if at == self.lines.len() {
            self.end_last_line(eol);
            self.push_line(text, eol);
        } else {
            let kind = classify(&text, at + 1)?;
            self.lines.insert(at, Line { text, eol, kind });
        }
        Ok(true)
    }

    /// Removes every `key` line in `section`; returns whether the text changed.
    pub fn remove(&mut self, section: &str, key: &str) -> bool {
        let sections: Vec<Option<String>> = self
            .sections()
            .into_iter()
            .map(|s| s.map(str::to_owned))
            .collect();
        let before = self.lines.len();
        let mut index = 0;
        self.lines.retain(|l| {
            let keep = !(sections[index].as_deref() == Some(section) && l.key() == Some(key));
            index += 1;
            keep
        });
        before != self.lines.len()
    }

    /// A new entry line written in the style of `like` (its indentation and the blanks around
    /// `=`).
    fn styled_like(like: &Line, key: &str, value: &str) -> String {
        let Kind::Entry { key: k, value: v } = &like.kind else {
            return format!("{key} = {value}");
        };
        let indent = &like.text[..like.text.len() - like.text.trim_start_matches(is_space).len()];
        let quoted = like.text[k.end..].starts_with('\'');
        let sep_start = if quoted { k.end + 1 } else { k.end };
        let sep = like.text.get(sep_start..v.start).unwrap_or(" = ");
        format!("{indent}{key}{sep}{value}")
    }

    fn end_last_line(&mut self, eol: Eol) {
        if let Some(last) = self.lines.last_mut()
            && last.eol == Eol::None
        {
            last.eol = eol;
        }
    }

    fn push_line(&mut self, text: String, eol: Eol) {
        let kind = classify(&text, self.lines.len() + 1).unwrap_or(Kind::Blank);
        self.lines.push(Line { text, eol, kind });
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            f.write_str(&line.text)?;
            f.write_str(line.eol.as_str())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Document {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDOBURU: &str = "################## Auto generated ##################\n[databases]\npostgres = host=db port=5432 auth_user=postgres\n\n[pgbouncer]\nlisten_addr = 0.0.0.0\nlisten_port = 6432\nunix_socket_dir = \nuser = postgres\nauth_file = /etc/pgbouncer/userlist.txt\nauth_type = scram-sha-256\npool_mode = transaction\nignore_startup_parameters = extra_float_digits\n\n# Log settings\nadmin_users = postgres\n\n# Connection sanity checks, timeouts\n\n# TLS settings\n\n# Dangerous timeouts\n################## end file ##################\n";

    #[test]
    fn reads_the_edoburu_shape() {
        let doc = Document::parse(EDOBURU).unwrap();
        assert_eq!(doc.to_string(), EDOBURU);
        assert_eq!(doc.get("pgbouncer", "listen_port"), Some("6432"));
        assert_eq!(doc.get("pgbouncer", "unix_socket_dir"), Some(""));
        assert_eq!(
            doc.get("databases", "postgres"),
            Some("host=db port=5432 auth_user=postgres")
        );
        assert_eq!(doc.section_names(), ["databases", "pgbouncer"]);
    }

    #[test]
    fn new_key_goes_after_the_last_entry_of_its_section() {
        let mut doc = Document::parse(EDOBURU).unwrap();
        assert!(
            doc.set("pgbouncer", "client_tls_sslmode", "require")
                .unwrap()
        );
        let text = doc.to_string();
        assert!(text.contains(
            "admin_users = postgres\nclient_tls_sslmode = require\n\n# Connection sanity checks"
        ));
        assert!(
            !doc.set("pgbouncer", "client_tls_sslmode", "require")
                .unwrap()
        );
        assert_eq!(doc.to_string(), text);
    }

    #[test]
    fn last_assignment_wins_and_is_the_one_edited() {
        let src = "[pgbouncer]\nclient_tls_sslmode=allow\n[pgbouncer]\r\n  client_tls_sslmode\t=  disable ; not a comment\n";
        let mut doc = Document::parse(src).unwrap();
        assert_eq!(
            doc.get("pgbouncer", "client_tls_sslmode"),
            Some("disable ; not a comment")
        );
        assert!(
            doc.set("pgbouncer", "client_tls_sslmode", "require")
                .unwrap()
        );
        assert_eq!(
            doc.to_string(),
            "[pgbouncer]\nclient_tls_sslmode=allow\n[pgbouncer]\r\n  client_tls_sslmode\t=  require\n"
        );
    }

    #[test]
    fn style_of_the_previous_entry_and_crlf() {
        let src = "[pgbouncer]\r\n  a=1\r\n\r\n[users]\r\n";
        let mut doc = Document::parse(src).unwrap();
        doc.set("pgbouncer", "b", "2").unwrap();
        assert_eq!(
            doc.to_string(),
            "[pgbouncer]\r\n  a=1\r\n  b=2\r\n\r\n[users]\r\n"
        );
    }

    #[test]
    fn missing_section_and_no_final_newline() {
        let mut doc = Document::parse("[databases]\n* = host=db").unwrap();
        doc.set("pgbouncer", "client_tls_sslmode", "require")
            .unwrap();
        assert_eq!(
            doc.to_string(),
            "[databases]\n* = host=db\n\n[pgbouncer]\nclient_tls_sslmode = require\n"
        );
        let mut empty = Document::parse("").unwrap();
        empty.set("pgbouncer", "a", "b").unwrap();
        assert_eq!(empty.to_string(), "[pgbouncer]\na = b\n");
    }

    #[test]
    fn header_without_entries_and_quoted_keys() {
        let mut doc = Document::parse("[users]\n[pgbouncer] ; main\nx = 1\n").unwrap();
        doc.set("users", "my user", "pool_mode=session").unwrap();
        assert_eq!(
            doc.to_string(),
            "[users]\n'my user' = pool_mode=session\n[pgbouncer] ; main\nx = 1\n"
        );
        assert_eq!(doc.get("users", "my user"), Some("pool_mode=session"));
    }

    #[test]
    fn includes_are_kept_and_listed() {
        let src = "[pgbouncer]\n%include /etc/pgbouncer/tls.ini  \nlisten_port = 6432\n";
        let doc = Document::parse(src).unwrap();
        assert_eq!(doc.to_string(), src);
        let inc = doc.includes();
        assert_eq!(inc.len(), 1);
        assert_eq!(inc[0].path, "/etc/pgbouncer/tls.ini");
        assert_eq!(inc[0].line, 2);
        assert_eq!(inc[0].section, Some("pgbouncer"));
    }

    #[test]
    fn remove_takes_every_occurrence() {
        let mut doc = Document::parse("[pgbouncer]\na = 1\nb = 2\na = 3\n").unwrap();
        assert!(doc.remove("pgbouncer", "a"));
        assert!(!doc.remove("pgbouncer", "a"));
        assert_eq!(doc.to_string(), "[pgbouncer]\nb = 2\n");
    }

    #[test]
    fn errors_name_the_line() {
        let err = Document::parse("[pgbouncer]\nlisten_port 6432\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: syntax error in configuration: expected \"=\" after the key in \"listen_port 6432\""
        );
        assert!(matches!(
            Document::parse("\n\n[pgbouncer\n"),
            Err(Error::Syntax { line: 3, .. })
        ));
        assert!(matches!(
            Document::parse("%include\n"),
            Err(Error::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            Document::parse("[a] b = c\n"),
            Err(Error::Unsupported { line: 1, .. })
        ));
    }

    #[test]
    fn bad_edits_are_refused() {
        let mut doc = Document::parse("[pgbouncer]\n").unwrap();
        assert!(matches!(
            doc.set("pgbouncer", "a", "x\ny"),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            doc.set("pgbouncer", "", "x"),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            doc.set("a]", "k", "x"),
            Err(Error::InvalidSection(_))
        ));
        assert_eq!(doc.to_string(), "[pgbouncer]\n");
    }
}

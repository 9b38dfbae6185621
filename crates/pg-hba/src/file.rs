//! A `pg_hba.conf` together with the files it names: include records and `@file` lists read
//! through a [`FileSource`] ([`Disk`] for the real filesystem), then checked, linted and
//! explained as PostgreSQL would see the whole set.
//!
//! ```
//! use pg_hba::{Connection, Document, HbaFile, LintOptions, Outcome, ParseOptions};
//!
//! let doc = Document::parse("host all all 0.0.0.0/0 scram-sha-256\n", ParseOptions::default());
//! let hba = HbaFile::new(doc, &pg_hba::Disk);
//! let addr = "203.0.113.7".parse().unwrap();
//! let e = hba.explain(&Connection::host(addr, "postgres", "postgres"));
//! assert_eq!(e.outcome, Outcome::Allow);
//! assert_eq!(hba.rule_text(&e).as_deref(), Some("host all all 0.0.0.0/0 scram-sha-256"));
//! assert!(hba.findings(&LintOptions::default()).iter().any(|f| f.code == "plaintext-public"));
//! ```

use std::io;

use crate::document::{Document, Validation, validate_text};
use crate::explain::{Connection, Explanation, explain, explain_resolved};
use crate::lint::{Finding, LintOptions, Severity, lint, lint_resolved};
use crate::model::ParseOptions;
use crate::resolve::{FileSource, Resolved};

/// The real filesystem, for include records and `@file` lists. Subdirectories are skipped in
/// `include_dir` listings (following links, like PostgreSQL's `stat()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &str) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

/// A document and, when it names other files, what resolving them gave.
#[derive(Debug, Clone)]
pub struct HbaFile {
    /// The main file.
    pub doc: Document,
    /// The rules with include records and `@file` lists followed (`None` when it has none).
    pub resolved: Option<Resolved>,
}

impl HbaFile {
    /// Resolves `doc`'s references through `source` when it has any.
    pub fn new(doc: Document, source: &dyn FileSource) -> Self {
        let resolved = doc.has_references().then(|| doc.resolve(source));
        Self { doc, resolved }
    }

    /// Every finding: invalid lines and unreadable files first (code `invalid` /
    /// `unreadable`, severity error), then the lints of the effective rule list.
    pub fn findings(&self, options: &LintOptions) -> Vec<Finding> {
        let (diagnostics, unread) = match &self.resolved {
            Some(r) => (r.diagnostics.clone(), r.unread.clone()),
            None => (self.doc.validate(), Vec::new()),
        };
        let mut findings: Vec<Finding> = diagnostics
            .into_iter()
            .map(|d| {
                let (code, hint) = if unread.contains(&d) {
                    ("unreadable", "pgtls could not read this file, so the rules in it were not checked; run as a user that can read it")
                } else {
                    ("invalid", "PostgreSQL ignores the whole file when a line is invalid; fix it (pgtls hba check)")
                };
                Finding {
                    code,
                    severity: Severity::Error,
                    file: d.file,
                    line: d.line,
                    message: d.message,
                    hint: hint.to_owned(),
                }
            })
            .collect();
        findings.extend(match &self.resolved {
            Some(r) => lint_resolved(r, options),
            None => lint(&self.doc, options),
        });
        findings
    }

    /// Which rule matches `conn`, over the whole rule list (roles match by name only).
    pub fn explain(&self, conn: &Connection) -> Explanation {
        match &self.resolved {
            Some(r) => explain_resolved(r, conn, &|user, role| user == role),
            None => explain(&self.doc, conn),
        }
    }

    /// The matched rule as it reads: the source line for the main file, the rule for an
    /// included one.
    pub fn rule_text(&self, e: &Explanation) -> Option<String> {
        let line = e.line?;
        let main = self.doc.options().file_name.as_str();
        let source = |l| {
            self.doc
                .record_at(l)
                .map(|r| r.source().trim_end().to_owned())
        };
        match &self.resolved {
            None => source(line),
            Some(r) => r
                .rules
                .iter()
                .find(|x| x.line == line && Some(x.file.as_str()) == e.file.as_deref())
                .map(|x| {
                    if x.file == main {
                        source(line).unwrap_or_else(|| x.rule.to_string())
                    } else {
                        x.rule.to_string()
                    }
                }),
        }
    }

    /// Where the matched rule is: `line N`, or `FILE line N` in an included file.
    pub fn place(&self, e: &Explanation) -> Option<String> {
        let line = e.line?;
        Some(match e.file.as_deref() {
            Some(f) if f != self.doc.options().file_name => format!("{f} line {line}"),
            _ => format!("line {line}"),
        })
    }
}

/// [`validate_text`] over the whole set: when `text` has include records or `@file` lists, the
/// files they name are read through `source` and checked too, as the server reads them (a
/// missing file, or an invalid line inside one, is a diagnostic with its own file and line), and
/// `records` counts the rows of the set. Without references it is [`validate_text`] itself.
///
/// ```
/// use pg_hba::{Disk, ParseOptions, validate_with_includes};
///
/// let v = validate_with_includes("local all all peer\n", &ParseOptions::default(), &Disk);
/// assert_eq!((v.records, v.diagnostics.len()), (1, 0));
/// ```
pub fn validate_with_includes(
    text: &str,
    options: &ParseOptions,
    source: &dyn FileSource,
) -> Validation {
    let checked = validate_text(text, options);
    // a cheap test first: the text cannot reference a file without one of these
    if !(text.contains('@') || text.contains("include")) {
        return checked;
    }
    let doc = Document::parse(text, options.clone());
    if !doc.has_references() {
        return checked;
    }
    let resolved = doc.resolve(source);
    Validation {
        records: resolved.view().len(),
        diagnostics: resolved.diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParseOptions, explain::Outcome};

    struct Mem;
    impl FileSource for Mem {
        fn read(&self, path: &str) -> io::Result<String> {
            match path {
                "/etc/inc.conf" => Ok("host all all 10.0.0.0/8 trust\n".into()),
                _ => Err(io::ErrorKind::NotFound.into()),
            }
        }
        fn list_dir(&self, _: &str) -> io::Result<Vec<String>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn includes_are_followed_named_and_unreadable_ones_found() {
        let opts = ParseOptions {
            version: crate::PgVersion::V16,
            file_name: "/etc/pg_hba.conf".into(),
        };
        let text = "include inc.conf\ninclude missing.conf\n";
        let hba = HbaFile::new(Document::parse(text, opts), &Mem);
        let e = hba.explain(&Connection::host(
            "10.1.2.3".parse().unwrap(),
            "postgres",
            "postgres",
        ));
        // an unread include leaves no verdict
        assert_eq!(e.outcome, Outcome::Unknown);
        let f = hba.findings(&LintOptions::default());
        assert_eq!(f.first().map(|f| f.code), Some("unreadable"), "{f:?}");
        assert!(f.iter().any(|f| f.code == "trust-non-loopback"), "{f:?}");

        let hba = HbaFile::new(
            Document::parse("include inc.conf\n", hba.doc.options().clone()),
            &Mem,
        );
        let e = hba.explain(&Connection::host(
            "10.1.2.3".parse().unwrap(),
            "postgres",
            "postgres",
        ));
        assert_eq!(e.outcome, Outcome::Allow);
        assert_eq!(hba.place(&e).as_deref(), Some("/etc/inc.conf line 1"));
        assert_eq!(
            hba.rule_text(&e).as_deref(),
            Some("host all all 10.0.0.0/8 trust")
        );
    }

    #[test]
    fn validation_follows_includes() {
        let opts = ParseOptions {
            version: crate::PgVersion::V16,
            file_name: "/etc/pg_hba.conf".into(),
        };
        let v = validate_with_includes("include inc.conf\ninclude missing.conf\n", &opts, &Mem);
        assert_eq!(v.diagnostics.len(), 1, "{v:?}");
        assert_eq!(v.diagnostics[0].line, 2);
        assert!(v.diagnostics[0].file.ends_with("pg_hba.conf"), "{v:?}");
        // the same text without following: two include records, nothing refused
        let plain = validate_text("include inc.conf\ninclude missing.conf\n", &opts);
        assert!(plain.diagnostics.is_empty(), "{plain:?}");
    }
}

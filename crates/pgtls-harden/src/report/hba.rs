//! The reports of `pgtls hba check`, `lint` and `explain`, human and JSON, built from pg-hba's
//! [`Validation`], [`Finding`]s and [`Explanation`].

use pg_hba::{Explanation, Finding, HbaFile, Outcome, Severity, Validation};

use crate::report::paint::{Lines, Paint};

/// `pgtls hba check --json`: `{"valid": bool, "errors": [{"file", "line", "message"}]}`.
pub fn check_json(v: &Validation) -> serde_json::Value {
    let list: Vec<_> = (v.diagnostics.iter())
        .map(|d| serde_json::json!({"file": d.file, "line": d.line, "message": d.message}))
        .collect();
    serde_json::json!({"valid": v.diagnostics.is_empty(), "errors": list})
}

/// `pgtls hba check`: one pass line naming `file`, its record count and the PostgreSQL `major`,
/// or one `file:line: message` line per refused line.
pub fn check_text(file: &str, v: &Validation, major: u32, p: Paint) -> String {
    let mut out = Lines::default();
    if v.diagnostics.is_empty() {
        out.line(format!(
            "{} {file}: {} records, all valid for PostgreSQL {major}",
            p.mark("pass"),
            v.records,
        ));
    }
    for d in &v.diagnostics {
        let (file, line, msg) = (&d.file, d.line, &d.message);
        out.line(format!("{} {file}:{line}: {msg}", p.mark("fail")));
    }
    out.0
}

/// `pgtls hba lint --json`: `{"findings": [...]}`.
pub fn lint_json(findings: &[Finding]) -> serde_json::Value {
    serde_json::json!({ "findings": findings })
}

/// `pgtls hba lint`: `file: no findings`, or a line per finding (`file:line: severity [code]
/// message`) with its hint under it.
pub fn lint_text(file: &str, findings: &[Finding], p: Paint) -> String {
    let mut out = Lines::default();
    if findings.is_empty() {
        out.line(format!("{} {file}: no findings", p.mark("pass")));
    }
    for f in findings {
        let mark = match f.severity {
            Severity::Error => p.mark("fail"),
            Severity::Warning => p.mark("warn"),
            Severity::Info => p.mark("info"),
        };
        let (file, line, sev) = (&f.file, f.line, f.severity);
        out.line(format!(
            "{mark} {file}:{line}: {sev} [{}] {}",
            f.code, f.message
        ));
        if !f.hint.is_empty() {
            out.line(format!("    hint: {}", f.hint));
        }
    }
    out.0
}

/// `pgtls hba explain`: the verdict with the deciding rule (named by file and line, shown as it
/// reads) and the method, or what the client sees when it is rejected or nothing matches.
pub fn explain_text(hba: &HbaFile, e: &Explanation, p: Paint) -> String {
    let (rule, place) = (hba.rule_text(e), hba.place(e));
    let mut out = Lines::default();
    match (e.outcome, place, rule) {
        (Outcome::Allow, Some(line), Some(rule)) => out.line(format!(
            "{} allowed by {line}: {rule}\n  authentication method: {}",
            p.mark("allow"),
            e.method.as_deref().unwrap_or("")
        )),
        (Outcome::Reject, Some(line), Some(rule)) => out.line(format!(
            "{} rejected by {line}: {rule}\n  the client sees: FATAL:  {}",
            p.mark("reject"),
            e.message.as_deref().unwrap_or("")
        )),
        _ => out.line(format!(
            "{} no line matches\n  the client sees: FATAL:  {}",
            p.mark("no-match"),
            e.message.as_deref().unwrap_or("")
        )),
    }
    out.0
}

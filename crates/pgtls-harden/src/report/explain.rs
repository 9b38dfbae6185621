//! The report of `pgtls explain`: the warning codes with their titles, or one code's paragraph.

use crate::report::Code;
use crate::report::paint::{Lines, Paint, Style};

/// `pgtls explain --json`: `{"codes": [{"code", "title", "text"}]}`.
pub fn json(codes: &[Code]) -> serde_json::Value {
    let list: Vec<_> = (codes.iter())
        .map(|c| serde_json::json!({"code": c, "title": c.title(), "text": c.explain()}))
        .collect();
    serde_json::json!({ "codes": list })
}

/// `pgtls explain CODE`: the code and its title in bold, a blank line, the paragraph.
pub fn text(code: Code, p: Paint) -> String {
    let title = p.paint(Style::Bold, &format!("{code}: {}", code.title()));
    format!("{title}\n\n{}\n", code.explain())
}

/// `pgtls explain`: a line per code, `CODE  title`.
pub fn list(codes: &[Code]) -> String {
    let mut out = Lines::default();
    for code in codes {
        out.line(format!("{:<24} {}", code.as_str(), code.title()));
    }
    out.0
}

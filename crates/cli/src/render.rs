//! Human rendering of planned file changes: a unified diff for text, a one-line summary for
//! certificates and keys (never printed).

use std::fmt::Write as _;

use pgtls_harden::plan::{FileChange, FileKind};
use similar::{ChangeTag, TextDiff};

use crate::output::{Out, Style};

/// Renders a change for humans: a unified diff for text, a summary for secrets.
pub fn change(this: &FileChange, out: &Out) -> String {
    let path = this.path.display().to_string();
    let mut meta = format!("mode {:04o}", this.mode);
    if let Some((uid, gid)) = this.owner {
        let _ = write!(meta, ", owner {uid}:{gid}");
    }
    match this.kind {
        FileKind::Text => {
            let before = this
                .before
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let after = String::from_utf8_lossy(&this.after);
            if before == after {
                return format!("{path}: {meta} (content unchanged)\n");
            }
            let old_name = if this.before.is_some() {
                format!("a/{path}")
            } else {
                "/dev/null".to_owned()
            };
            unified_diff(out, &before, &after, &old_name, &format!("b/{path}"))
        }
        FileKind::Certificate | FileKind::PrivateKey => {
            let what = if this.before.is_some() {
                "replaced"
            } else {
                "new"
            };
            let summary = this.summary.as_deref().unwrap_or("");
            let secret = if this.kind == FileKind::PrivateKey {
                " (contents not shown)"
            } else {
                ""
            };
            format!("{path}: {what} {summary}, {meta}{secret}\n")
        }
        FileKind::Copy => format!("{path}: copied, {meta}\n"),
    }
}

/// A unified diff with 3 lines of context, coloured when `out` colours.
pub fn unified_diff(out: &Out, before: &str, after: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(before, after);
    let mut text = String::new();
    text.push_str(&out.paint(Style::Bold, &format!("--- {old}\n+++ {new}")));
    text.push('\n');
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{} +{} @@",
            hunk_range(old_range.start, old_range.len()),
            hunk_range(new_range.start, new_range.len())
        );
        text.push_str(&out.paint(Style::Cyan, &header));
        text.push('\n');
        for op in &group {
            for change in diff.iter_changes(op) {
                let (sign, style) = match change.tag() {
                    ChangeTag::Delete => ("-", Some(Style::Red)),
                    ChangeTag::Insert => ("+", Some(Style::Green)),
                    ChangeTag::Equal => (" ", None),
                };
                let value = change.value();
                let body = value.strip_suffix('\n').unwrap_or(value);
                let line = format!("{sign}{body}");
                match style {
                    Some(style) => text.push_str(&out.paint(style, &line)),
                    None => text.push_str(&line),
                }
                text.push('\n');
                if change.missing_newline() {
                    text.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    text
}

fn hunk_range(start: usize, len: usize) -> String {
    // unified diff convention: 1-based start; an empty range names the line before it
    if len == 0 {
        format!("{start},0")
    } else if len == 1 {
        format!("{}", start + 1)
    } else {
        format!("{},{len}", start + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ColorChoice;

    #[test]
    fn diff_has_headers_and_hunks() {
        let out = Out::new(ColorChoice::Never);
        let d = unified_diff(&out, "a\nb\nc\n", "a\nB\nc\n", "a/f", "b/f");
        assert_eq!(d, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn diff_marks_missing_newline() {
        let out = Out::new(ColorChoice::Never);
        let d = unified_diff(&out, "a", "a\nb\n", "a/f", "b/f");
        assert!(d.contains("\\ No newline at end of file"), "{d}");
    }

    #[test]
    fn key_is_never_printed() {
        let out = Out::new(ColorChoice::Never);
        let change = FileChange {
            path: "tls/server.key".into(),
            before: None,
            after: b"-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n".to_vec(),
            mode: 0o600,
            owner: Some((105, 106)),
            kind: FileKind::PrivateKey,
            summary: Some("ECDSA P-256 private key".into()),
        };
        let shown = super::change(&change, &out);
        assert!(!shown.contains("SECRET"));
        assert!(shown.contains("mode 0600, owner 105:106"), "{shown}");
    }
}

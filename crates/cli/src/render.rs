//! Colour for the plain unified diffs and change summaries pgtls-harden renders.

use pgtls_harden::plan::{FileChange, unified_diff};

use crate::output::{Out, Style};

/// A change as [`FileChange::render`] shows it, coloured when `out` colours.
pub fn change(change: &FileChange, out: &Out) -> String {
    paint_diff(out, &change.render())
}

/// [`unified_diff`], coloured when `out` colours.
pub fn diff(out: &Out, before: &str, after: &str, old: &str, new: &str) -> String {
    paint_diff(out, &unified_diff(before, after, old, new))
}

/// Bold `---`/`+++` headers, cyan hunk headers, red deletions, green insertions.
fn paint_diff(out: &Out, text: &str) -> String {
    let mut painted = String::with_capacity(text.len());
    let mut in_hunk = false;
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let style = if body.starts_with("@@ ") {
            in_hunk = true;
            Some(Style::Cyan)
        } else if !in_hunk && (body.starts_with("--- ") || body.starts_with("+++ ")) {
            Some(Style::Bold)
        } else if in_hunk && body.starts_with('-') {
            Some(Style::Red)
        } else if in_hunk && body.starts_with('+') {
            Some(Style::Green)
        } else {
            None
        };
        match style {
            Some(style) => painted.push_str(&out.paint(style, body)),
            None => painted.push_str(body),
        }
        painted.push_str(&line[body.len()..]);
    }
    painted
}

//! Colour for the human reports: the ANSI styles, the checklist marks and coloured unified diffs.
//!
//! The library never looks at a terminal: a [`Paint`] is told whether to colour (the CLI decides
//! from `--color`, `NO_COLOR` and whether stdout is a terminal). Without colour every function
//! returns its text unchanged, so a report rendered with [`Paint::PLAIN`] is the plain text.

/// ANSI styles the reports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Pass marks, added lines.
    Green,
    /// Failures, removed lines.
    Red,
    /// Warnings.
    Yellow,
    /// Hunk headers.
    Cyan,
    /// Headings.
    Bold,
    /// Secondary text.
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Self::Green => "32",
            Self::Red => "31",
            Self::Yellow => "33",
            Self::Cyan => "36",
            Self::Bold => "1",
            Self::Dim => "2",
        }
    }
}

/// Whether to colour, and the colouring itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    /// Colour on.
    pub color: bool,
}

impl Paint {
    /// No colour: the text as it is.
    pub const PLAIN: Paint = Paint { color: false };

    /// `text` in `style` when colour is on.
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }

    /// The mark of a verdict: `✓` pass (also `unchanged`, `allow`), `✗` fail (`error`, `reject`,
    /// `no-match`), `!` warn (`inconclusive`), `~` changed, `-` anything else.
    pub fn mark(self, verdict: &str) -> String {
        match verdict {
            "pass" | "unchanged" | "allow" => self.paint(Style::Green, "✓"),
            "fail" | "error" | "reject" | "no-match" => self.paint(Style::Red, "✗"),
            "warn" | "inconclusive" => self.paint(Style::Yellow, "!"),
            "changed" => self.paint(Style::Yellow, "~"),
            _ => self.paint(Style::Dim, "-"),
        }
    }

    /// A unified diff (as [`crate::plan::unified_diff`] writes it) coloured: bold `---`/`+++`
    /// headers, cyan hunk headers, red deletions, green insertions.
    pub fn diff(self, text: &str) -> String {
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
                Some(style) => painted.push_str(&self.paint(style, body)),
                None => painted.push_str(body),
            }
            painted.push_str(&line[body.len()..]);
        }
        painted
    }
}

/// A report under construction: lines each ending in `\n`.
#[derive(Default)]
pub(crate) struct Lines(pub(crate) String);

impl Lines {
    pub(crate) fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::unified_diff;

    #[test]
    fn plain_is_the_text_and_colour_wraps_only_diff_lines() {
        let d = unified_diff("a\nb\n", "a\nB\n", "a/f", "b/f");
        assert_eq!(Paint::PLAIN.diff(&d), d);
        let c = Paint { color: true }.diff(&d);
        assert!(c.contains("\x1b[31m-b\x1b[0m\n"), "{c:?}");
        assert!(c.contains("\x1b[32m+B\x1b[0m\n"), "{c:?}");
        assert!(c.contains("\x1b[1m--- a/f\x1b[0m\n"), "{c:?}");
        assert!(c.contains("\n a\n"), "{c:?}");
        assert_eq!(Paint::PLAIN.mark("no-match"), "✗");
        assert_eq!(Paint { color: true }.mark("pass"), "\x1b[32m✓\x1b[0m");
        assert_eq!(Paint::PLAIN.mark("info"), "-");
    }
}

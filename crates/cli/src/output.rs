//! Terminal output: colour decisions (TTY only, never with `NO_COLOR`), marks and a locked writer.
//!
//! Everything goes through [`Out`] with `write!`, never `println!`: a closed pipe then surfaces
//! as an `io::Error` of kind `BrokenPipe`, which the top level treats as success.

use std::io::{self, IsTerminal, Write};

use crate::cli::ColorChoice;

/// ANSI styles we use.
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

/// Decides whether to colour: `NO_COLOR` (non-empty) always wins; `auto` needs a terminal.
pub fn use_color(choice: ColorChoice, no_color_env: Option<&str>, is_tty: bool) -> bool {
    if no_color_env.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_tty,
    }
}

/// The output sink for human-readable reports.
pub struct Out {
    color: bool,
    stdout: io::Stdout,
}

impl Out {
    /// Output to stdout with the colour decision made from the environment.
    pub fn new(choice: ColorChoice) -> Self {
        let stdout = io::stdout();
        let color = use_color(
            choice,
            std::env::var("NO_COLOR").ok().as_deref(),
            stdout.is_terminal(),
        );
        Self { color, stdout }
    }

    /// Whether colour is on.
    pub fn color(&self) -> bool {
        self.color
    }

    /// `text` in `style` when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }

    /// A checklist mark: pass, fail, warn, skip, change.
    pub fn mark(&self, verdict: &str) -> String {
        match verdict {
            "pass" | "unchanged" | "allow" => self.paint(Style::Green, "✓"),
            "fail" | "error" | "reject" | "no-match" => self.paint(Style::Red, "✗"),
            "warn" | "inconclusive" => self.paint(Style::Yellow, "!"),
            "changed" => self.paint(Style::Yellow, "~"),
            _ => self.paint(Style::Dim, "-"),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        let mut lock = self.stdout.lock();
        lock.write_all(text.as_bytes())?;
        lock.write_all(b"\n")
    }

    /// Writes text as is.
    pub fn raw(&mut self, text: &str) -> io::Result<()> {
        self.stdout.lock().write_all(text.as_bytes())
    }

    /// Writes a value as pretty JSON plus a newline.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.line(&text)?;
        Ok(())
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.stdout.lock().flush()
    }
}

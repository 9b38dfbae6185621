//! Terminal output: colour decisions (TTY only, never with `NO_COLOR`), marks and a locked writer.
//!
//! Everything goes through [`Out`] with `write!`, never `println!`: a closed pipe then surfaces
//! as an `io::Error` of kind `BrokenPipe`, which the top level treats as success.

use std::io::{self, IsTerminal, Write};

use crate::cli::ColorChoice;

pub use pgtls_harden::report::paint::{Paint, Style};

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
    paint: Paint,
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
        let paint = Paint { color };
        Self { paint, stdout }
    }

    /// Whether colour is on.
    pub fn color(&self) -> bool {
        self.paint.color
    }

    /// The colouring the library's reports are rendered with.
    pub fn painter(&self) -> Paint {
        self.paint
    }

    /// `text` in `style` when colour is on ([`Paint::paint`]).
    pub fn paint(&self, style: Style, text: &str) -> String {
        self.paint.paint(style, text)
    }

    /// A checklist mark: pass, fail, warn, skip, change ([`Paint::mark`]).
    pub fn mark(&self, verdict: &str) -> String {
        self.paint.mark(verdict)
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

//! The Prometheus text exposition format (version 0.0.4), written by hand: `# HELP`, `# TYPE`,
//! then the samples of each family, label values escaped as the format asks.

use std::fmt::Write as _;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up (name ends in `_total`).
    Counter,
    /// Buckets (`_bucket{le}`), `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Histogram => "histogram",
        }
    }
}

/// A text exposition being written: families in the order they are opened.
///
/// ```
/// use pgtls_exporter::{Exposition, Kind};
/// let mut e = Exposition::new();
/// e.family("pgtls_probe_success", Kind::Gauge, "Whether the probe passed.");
/// e.sample("pgtls_probe_success", &[], 1.0);
/// e.family("pgtls_check_success", Kind::Gauge, "Per check.");
/// e.sample("pgtls_check_success", &[("check", "tls-offered")], 0.0);
/// let text = e.finish();
/// let lines: Vec<&str> = text.lines().collect();
/// assert_eq!(lines[1], "# TYPE pgtls_probe_success gauge");
/// assert_eq!(lines[2], "pgtls_probe_success 1");
/// assert_eq!(lines[5], "pgtls_check_success{check=\"tls-offered\"} 0");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Exposition {
    out: String,
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format writes it (`+Inf`, `-Inf`, `NaN`, integers without a point).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a family: its `# HELP` and `# TYPE` lines. Samples of it follow.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the open family (`name` may carry a histogram suffix).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }

    /// A family with a single sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, Kind::Gauge, help);
        self.sample(name, labels, value);
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_values() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(1_767_225_600.0), "1767225600");
        assert_eq!(format_value(0.25), "0.25");
        let mut e = Exposition::new();
        e.gauge("x", "line\nbreak \\", &[("l", "v\"")], 2.0);
        assert_eq!(
            e.finish(),
            "# HELP x line\\nbreak \\\\\n# TYPE x gauge\nx{l=\"v\\\"\"} 2\n"
        );
    }
}

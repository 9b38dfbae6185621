//! Values written into the parameters map.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::lex::{self, Kind};

/// An Elixir expression to store under a key.
///
/// Build one from a Rust value (`ValueExpr::from(true)`, [`ValueExpr::string`]) or from
/// Elixir source checked by [`ValueExpr::raw`]. [`ValueExpr::source`] is the exact text written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueExpr {
    /// `true` or `false`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A string literal, escaped for Elixir when written.
    Str(String),
    /// `nil`.
    Nil,
    /// Elixir source, written as is (checked by [`ValueExpr::raw`]).
    Raw(String),
}

impl ValueExpr {
    /// A string literal.
    pub fn string(s: impl Into<String>) -> Self {
        ValueExpr::Str(s.into())
    }

    /// Elixir source for a value, for example `System.get_env("X") |> String.to_integer()`.
    ///
    /// The text must scan, have balanced brackets, be non-empty and be one expression: no
    /// top-level `,`, `=>` or `key:` (they would split the map entry), and no comment (it would
    /// swallow the comma written after the value).
    pub fn raw(source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let invalid = |reason: &str| Error::InvalidValue {
            expression: source.clone(),
            reason: reason.to_owned(),
        };
        let scan = lex::scan(&source).map_err(|e| invalid(&e.to_string()))?;
        let mut depth = 0usize;
        let mut significant = 0usize;
        for t in &scan.tokens {
            let text = &source[t.start..t.end];
            match t.kind {
                Kind::Comment => return Err(invalid("comments are not allowed in a value")),
                Kind::Open => depth += 1,
                Kind::Close => depth = depth.saturating_sub(1),
                Kind::Op if depth == 0 && (text == "," || text == "=>" || text == ";") => {
                    return Err(invalid(&format!(
                        "top-level {text:?} would split the map entry"
                    )));
                }
                Kind::KwKey if depth == 0 => {
                    return Err(invalid("a top-level keyword key would split the map entry"));
                }
                _ => {}
            }
            if !matches!(t.kind, Kind::Space | Kind::Newline) {
                significant += 1;
            }
        }
        if significant == 0 {
            return Err(invalid("the expression is empty"));
        }
        Ok(ValueExpr::Raw(source.trim().to_owned()))
    }

    /// The DER bytes of the first PEM block of a file, read when the script runs:
    /// `"PATH" |> File.read!() |> :public_key.pem_decode() |> hd() |> elem(1)`.
    ///
    /// This is the shape Supavisor's `upstream_tls_ca` tenant field wants (a DER binary).
    pub fn der_from_pem_file(path: &str) -> Self {
        ValueExpr::Raw(format!(
            "{} |> File.read!() |> :public_key.pem_decode() |> hd() |> elem(1)",
            elixir_string(path)
        ))
    }

    /// The Elixir source written for this value.
    pub fn source(&self) -> String {
        match self {
            ValueExpr::Bool(b) => b.to_string(),
            ValueExpr::Int(n) => n.to_string(),
            ValueExpr::Str(s) => elixir_string(s),
            ValueExpr::Nil => "nil".to_owned(),
            ValueExpr::Raw(s) => s.clone(),
        }
    }
}

impl From<bool> for ValueExpr {
    fn from(b: bool) -> Self {
        ValueExpr::Bool(b)
    }
}

impl From<i64> for ValueExpr {
    fn from(n: i64) -> Self {
        ValueExpr::Int(n)
    }
}

/// A double-quoted Elixir string literal for `s`.
pub(crate) fn elixir_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '#' if chars.peek() == Some(&'{') => out.push_str("\\#"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escapes() {
        assert_eq!(elixir_string(r#"a"b\c #{x} #y"#), r#""a\"b\\c \#{x} #y""#);
        assert_eq!(elixir_string("a\nb\u{1}"), "\"a\\nb\\u{1}\"");
    }

    #[test]
    fn raw_checks() {
        assert!(ValueExpr::raw("System.get_env(\"A\") |> String.to_integer()").is_ok());
        assert!(ValueExpr::raw("%{a: 1, b: 2}").is_ok());
        assert!(matches!(
            ValueExpr::raw("1, 2"),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            ValueExpr::raw("a: 1"),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            ValueExpr::raw("1 # c"),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            ValueExpr::raw("  "),
            Err(Error::InvalidValue { .. })
        ));
        assert!(matches!(
            ValueExpr::raw("f(("),
            Err(Error::InvalidValue { .. })
        ));
        assert_eq!(ValueExpr::raw(" x ").unwrap().source(), "x");
    }
}

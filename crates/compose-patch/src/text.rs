//! Text helpers: positions, line layout and scalar rendering.

use crate::cst::Style;

/// 1-based line number of byte offset `off`.
pub(crate) fn line_of(text: &str, off: usize) -> usize {
    let off = off.min(text.len());
    text.as_bytes()[..off].split(|b| *b == b'\n').count()
}

/// Offset of the first byte of the line holding `off`.
pub(crate) fn line_start(text: &str, off: usize) -> usize {
    let off = off.min(text.len());
    text.as_bytes()[..off]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1)
}

/// Offset of the line break (`\n`, or the `\r` of `\r\n`) ending the line that
/// holds `off`, or the text length.
pub(crate) fn line_end(text: &str, off: usize) -> usize {
    let off = off.min(text.len());
    let nl = text.as_bytes()[off..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |p| off + p);
    if nl > off && text.as_bytes().get(nl - 1) == Some(&b'\r') && nl < text.len() {
        nl - 1
    } else {
        nl
    }
}

/// The indentation to use for a new sibling of the node starting at `off`: the
/// line's leading whitespace when nothing else precedes `off` on its line,
/// otherwise as many spaces as the column.
pub(crate) fn indent_at(text: &str, off: usize) -> String {
    let start = line_start(text, off);
    let prefix = &text[start..off.min(text.len())];
    if prefix.chars().all(|c| c == ' ') {
        prefix.to_owned()
    } else {
        " ".repeat(prefix.chars().count())
    }
}

/// Column (0-based, in characters) of `off`.
pub(crate) fn column(text: &str, off: usize) -> usize {
    let start = line_start(text, off);
    text[start..off.min(text.len())].chars().count()
}

/// The file's line break: `\r\n` when the file uses it, else `\n`.
pub(crate) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Offset where a new line can be inserted after the content ending at `end`:
/// the start of the next line. Returns the offset and whether a line break must be
/// written first (the text ends without one).
pub(crate) fn after_line(text: &str, end: usize) -> (usize, bool) {
    let end = end.min(text.len());
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\n') {
        return (end, false);
    }
    let bytes = text.as_bytes();
    match bytes[end..].iter().position(|b| *b == b'\n') {
        Some(p) => (end + p + 1, false),
        None => (text.len(), true),
    }
}

/// `end` moved back over trailing blanks and line breaks.
pub(crate) fn trim_back(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut e = end.min(text.len());
    while e > start && matches!(bytes.get(e - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        e -= 1;
    }
    e
}

/// Whether a plain scalar with this text could be read back as something other
/// than this exact string (null, bool, number, in YAML 1.1 or 1.2).
fn looks_non_string(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "" | "~"
            | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "<<"
            | "="
    ) {
        return true;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut chars = unsigned.chars();
    let numeric_start = match chars.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some('.') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    numeric_start
        && unsigned.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(c, 'x' | 'X' | 'o' | 'O' | '.' | '_' | ':' | '+' | '-')
        })
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
pub(crate) fn plain_ok(s: &str, flow: bool) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let second = chars.next();
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if "?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if first == '-' && matches!(second, None | Some(' ')) {
        return false;
    }
    if s.contains(": ") || s.ends_with(':') || s.contains(" #") {
        return false;
    }
    if flow && s.chars().any(|c| ",[]{}".contains(c)) {
        return false;
    }
    !looks_non_string(s)
}

/// `s` in single quotes (only for single-line text without control characters).
pub(crate) fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// `s` in double quotes with YAML escapes.
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ =
                    std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Render `s` as a single-line scalar in `style` when that style can hold it,
/// else in `fallback` quotes (double quotes as the last resort).
pub(crate) fn render(s: &str, style: Style, fallback: Style, flow: bool) -> String {
    for st in [style, fallback, Style::Double] {
        match st {
            Style::Plain if plain_ok(s, flow) => return s.to_owned(),
            Style::Single => {
                if let Some(q) = single_quoted(s) {
                    return q;
                }
            }
            Style::Double => return double_quoted(s),
            _ => {}
        }
    }
    double_quoted(s)
}

/// One word of a shell-like command string, with its range in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub range: std::ops::Range<usize>,
    pub value: String,
}

/// Split a command string into words the way Compose does (POSIX-shell-like
/// quoting with `'`, `"` and `\`). Returns None for an unterminated quote.
pub(crate) fn shell_words(s: &str) -> Option<Vec<Word>> {
    let mut words = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some((start, value)) = cur.take() {
                    words.push(Word {
                        range: start..i,
                        value,
                    });
                }
            }
            '\'' => {
                let (_, value) = cur.get_or_insert_with(|| (i, String::new()));
                loop {
                    match it.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => value.push(ch),
                        None => return None,
                    }
                }
            }
            '"' => {
                let (_, value) = cur.get_or_insert_with(|| (i, String::new()));
                loop {
                    match it.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match it.next() {
                            Some((_, ch @ ('"' | '\\' | '$' | '`'))) => value.push(ch),
                            Some((_, ch)) => {
                                value.push('\\');
                                value.push(ch);
                            }
                            None => return None,
                        },
                        Some((_, ch)) => value.push(ch),
                        None => return None,
                    }
                }
            }
            '\\' => {
                let (_, value) = cur.get_or_insert_with(|| (i, String::new()));
                if let Some((_, ch)) = it.next() {
                    value.push(ch);
                }
            }
            c => {
                let (_, value) = cur.get_or_insert_with(|| (i, String::new()));
                value.push(c);
            }
        }
    }
    if let Some((start, value)) = cur.take() {
        words.push(Word {
            range: start..s.len(),
            value,
        });
    }
    Some(words)
}

/// Quote a word for a shell-like command string when it needs it.
pub(crate) fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@%+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_safety() {
        assert!(plain_ok("ssl=on", true));
        assert!(plain_ok("-c", false));
        assert!(plain_ok("${POSTGRES_PORT}:5432", false));
        assert!(!plain_ok("${POSTGRES_PORT}:5432", true));
        assert!(!plain_ok("5432:5432", false));
        assert!(!plain_ok("on", false));
        assert!(!plain_ok("a: b", false));
        assert!(!plain_ok("a #b", false));
        assert!(!plain_ok("", false));
        assert!(!plain_ok("- x", false));
        assert!(!plain_ok("1e3", false));
    }

    #[test]
    fn rendering_falls_back_to_quotes() {
        assert_eq!(render("on", Style::Plain, Style::Single, false), "'on'");
        assert_eq!(render("a'b", Style::Single, Style::Double, false), "'a''b'");
        assert_eq!(
            render("x\ny", Style::Single, Style::Single, false),
            "\"x\\ny\""
        );
        assert_eq!(
            render("ssl=on", Style::Double, Style::Double, true),
            "\"ssl=on\""
        );
    }

    #[test]
    fn shell_words_keep_ranges() {
        let s = "postgres -c 'ssl=on' -c \"a b\"";
        let w = shell_words(s).unwrap();
        let v: Vec<_> = w.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(v, ["postgres", "-c", "ssl=on", "-c", "a b"]);
        assert_eq!(&s[w[2].range.clone()], "'ssl=on'");
        assert!(shell_words("a 'b").is_none());
    }

    #[test]
    fn line_helpers() {
        let t = "a\r\nbc\n";
        assert_eq!(line_of(t, 3), 2);
        assert_eq!(line_end(t, 0), 1);
        assert_eq!(line_start(t, 4), 3);
        assert_eq!(after_line(t, 4), (6, false));
        assert_eq!(after_line("x", 1), (1, true));
        assert_eq!(newline(t), "\r\n");
    }
}

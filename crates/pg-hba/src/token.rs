//! Physical lines, continuations and tokens, exactly as PostgreSQL reads them.
//!
//! `tokenize_auth_file()` in `src/backend/libpq/hba.c` reads one physical line at a time,
//! strips trailing CR/LF, and glues the next physical line on when the line ends in a
//! backslash (no separator; also inside quotes and comments). The glued "logical" line is then
//! split into fields and tokens by `next_field_expand()`/`next_token()`, which the pest grammar
//! in `grammar.pest` mirrors. Token values (quotes removed, `""` unescaped) are computed here
//! with the same loop PostgreSQL runs.

use std::borrow::Cow;

use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct LineParser;

/// One logical line: its exact source bytes and the text PostgreSQL tokenizes.
#[derive(Debug, Clone)]
pub(crate) struct RawLine<'a> {
    /// Exact source, including continuation lines and the final line terminator (if any).
    pub raw: &'a str,
    /// 1-based number of the first physical line.
    pub number: usize,
    /// Number of physical lines this logical line spans.
    pub physical: usize,
    /// Continuations joined, trailing CR/LF stripped.
    pub content: Cow<'a, str>,
}

/// Split `text` into logical lines. Concatenating every `raw` gives `text` back.
#[cfg(test)]
pub(crate) fn split_lines(text: &str) -> Vec<RawLine<'_>> {
    LogicalLines::new(text).collect()
}

/// The logical lines of a text, one at a time (so a whole-file check holds one line).
pub(crate) struct LogicalLines<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> LogicalLines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            number: 1,
        }
    }
}

impl<'a> Iterator for LogicalLines<'a> {
    type Item = RawLine<'a>;

    fn next(&mut self) -> Option<RawLine<'a>> {
        let text = self.text;
        let len = text.len();
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        let end = next_line_end(text, start);
        let seg = &text[start..end];
        self.pos = end;
        let trimmed = seg.trim_end_matches(['\r', '\n']);
        if !trimmed.ends_with('\\') {
            let number = self.number;
            self.number += 1;
            return Some(RawLine {
                raw: seg,
                number,
                physical: 1,
                content: Cow::Borrowed(trimmed),
            });
        }
        // Slow path: backslash continuation, replayed with PostgreSQL's buffer logic.
        let mut buf = String::from(trimmed);
        buf.pop();
        let mut last_backslash_len = buf.len();
        let mut physical = 1;
        while self.pos < len {
            let end = next_line_end(text, self.pos);
            buf.push_str(&text[self.pos..end]);
            self.pos = end;
            physical += 1;
            let keep = buf.trim_end_matches(['\r', '\n']).len();
            buf.truncate(keep);
            if buf.len() > last_backslash_len && buf.ends_with('\\') {
                buf.pop();
                last_backslash_len = buf.len();
                continue;
            }
            break;
        }
        let number = self.number;
        self.number += physical;
        Some(RawLine {
            raw: &text[start..self.pos],
            number,
            physical,
            content: Cow::Owned(buf),
        })
    }
}

fn next_line_end(text: &str, pos: usize) -> usize {
    match text[pos..].find('\n') {
        Some(i) => pos + i + 1,
        None => text.len(),
    }
}

/// One token: its value as PostgreSQL sees it and where it sits in the logical line.
/// The value borrows the line unless quote processing changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub value: Cow<'a, str>,
    /// PostgreSQL's `initial_quote`: the token began with a double quote.
    pub quoted: bool,
    pub start: usize,
    pub end: usize,
}

/// One field: a comma-joined list of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub tokens: Vec<Token<'a>>,
    pub start: usize,
    pub end: usize,
}

/// Tokenize one logical line. `Err` carries PostgreSQL's line-level tokenizer error.
#[allow(clippy::unnecessary_wraps)] // PostgreSQL 15.18 has none left; callers keep the contract
pub(crate) fn tokenize(content: &str) -> Result<Vec<Field<'_>>, String> {
    // PostgreSQL works on C strings: a NUL byte ends the line.
    let content = match content.find('\0') {
        Some(i) => &content[..i],
        None => content,
    };
    Ok(tokenize_fast(content))
}

const BLANK: u8 = 1;
const COMMA: u8 = 2;
const HASH: u8 = 4;
const QUOTE: u8 = 8;

/// Byte classes for the hand tokenizer (0: a plain token byte, UTF-8 continuation bytes
/// included).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'\r' as usize] = BLANK;
    t[b',' as usize] = COMMA;
    t[b'#' as usize] = HASH;
    t[b'"' as usize] = QUOTE;
    t
};

fn class(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).map(|&c| CLASS[usize::from(c)])
}

/// The end of the token starting at `i`, and whether it has a double quote: runs of
/// plain characters (anything but blank, comma, `#` and `"`) and quoted parts (`"` to the
/// next lone `"`, `""` inside quotes being one escaped quote, or to the end of the line),
/// as `token` in `grammar.pest`.
fn token_end(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut quoted = false;
    while let Some(c) = class(b, i) {
        if c == 0 {
            i += 1;
        } else if c == QUOTE {
            quoted = true;
            i += 1;
            loop {
                match (b.get(i), b.get(i + 1)) {
                    (None, _) => return (i, true),
                    (Some(b'"'), Some(b'"')) => i += 2,
                    (Some(b'"'), _) => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
        } else {
            break;
        }
    }
    (i, quoted)
}

/// The hand-written tokenizer every line takes. It splits exactly as the pest grammar
/// does (the property tests hold the two equal on generated lines with quotes, `""`
/// escapes, commas and `#` inside quotes and unterminated quotes); every byte it stops at
/// is ASCII, so slicing is on character boundaries.
pub(crate) fn tokenize_fast(content: &str) -> Vec<Field<'_>> {
    let b = content.as_bytes();
    let skippable = |i: usize| class(b, i).is_some_and(|c| c & (BLANK | COMMA) != 0);
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        while skippable(i) {
            i += 1;
        }
        if class(b, i).is_none_or(|c| c == HASH) {
            return fields;
        }
        let field_start = i;
        let mut tokens = Vec::with_capacity(1);
        loop {
            let start = i;
            let (end, quoted) = token_end(b, i);
            i = end;
            let raw = &content[start..end];
            let (value, quoted) = if quoted {
                token_value_fast(raw)
            } else {
                (Cow::Borrowed(raw), false)
            };
            tokens.push(Token {
                value,
                quoted,
                start,
                end,
            });
            // A comma continues the field when another token follows (after blanks/commas).
            if class(b, i) == Some(COMMA) {
                let mut j = i + 1;
                while skippable(j) {
                    j += 1;
                }
                if class(b, j).is_some_and(|c| c != HASH) {
                    i = j;
                    continue;
                }
            }
            fields.push(Field {
                tokens,
                start: field_start,
                end,
            });
            break;
        }
    }
}

/// The pest grammar: the reference tokenizer the fast path is tested against.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn tokenize_pest(content: &str) -> Result<Vec<Field<'_>>, String> {
    let pairs = LineParser::parse(Rule::line, content)
        .map_err(|e| format!("could not tokenize line: {e}"))?;
    let mut fields = Vec::new();
    for line in pairs {
        for field in line.into_inner() {
            if field.as_rule() != Rule::field {
                continue;
            }
            let span = field.as_span();
            let mut tokens = Vec::new();
            for tok in field.into_inner() {
                let tspan = tok.as_span();
                let (value, quoted) = token_value(tok.as_str());
                tokens.push(Token {
                    value,
                    quoted,
                    start: tspan.start(),
                    end: tspan.end(),
                });
            }
            fields.push(Field {
                tokens,
                start: span.start(),
                end: span.end(),
            });
        }
    }
    Ok(fields)
}

/// [`token_value`] with a shortcut for the common quoted token, two quotes (`"a b"`,
/// `+"grp x"`, `""`): PostgreSQL's loop then drops exactly those two and sets
/// `initial_quote` when the first one opens the token. Property-tested against the
/// loop through `tokenize_pest`, which keeps using it.
fn token_value_fast(raw: &str) -> (Cow<'_, str>, bool) {
    let b = raw.as_bytes();
    let mut quotes = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'"')
        .map(|(i, _)| i);
    let (Some(p), Some(q), None) = (quotes.next(), quotes.next(), quotes.next()) else {
        return token_value(raw);
    };
    if p == 0 && q + 1 == b.len() {
        return (Cow::Borrowed(&raw[1..q]), true);
    }
    let mut out = String::with_capacity(raw.len() - 2);
    out.push_str(&raw[..p]);
    out.push_str(&raw[p + 1..q]);
    out.push_str(&raw[q + 1..]);
    (Cow::Owned(out), p == 0)
}

/// PostgreSQL's `next_token()` inner loop over one token's source text. (PostgreSQL 15.18
/// has no token length limit any more; the server accepts 5000-byte tokens.)
fn token_value(raw: &str) -> (Cow<'_, str>, bool) {
    if !raw.contains('"') {
        return (Cow::Borrowed(raw), false);
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_quote = false;
    let mut was_quote = false;
    let mut initial_quote = false;
    for c in raw.chars() {
        if c != '"' || was_quote {
            out.push(c);
        }
        if in_quote && c == '"' {
            was_quote = !was_quote;
        } else {
            was_quote = false;
        }
        if c == '"' {
            in_quote = !in_quote;
            if out.is_empty() {
                initial_quote = true;
            }
        }
    }
    (Cow::Owned(out), initial_quote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(line: &str) -> Vec<Vec<String>> {
        tokenize(line)
            .unwrap()
            .into_iter()
            .map(|f| f.tokens.into_iter().map(|t| t.value.into_owned()).collect())
            .collect()
    }

    #[test]
    fn comma_lists_follow_postgres() {
        assert_eq!(values("a, b c"), vec![vec!["a", "b"], vec!["c"]]);
        assert_eq!(values("a ,b"), vec![vec!["a"], vec!["b"]]);
        assert_eq!(values("a,,b"), vec![vec!["a", "b"]]);
        assert_eq!(values("a, # c"), vec![vec!["a"]]);
        assert_eq!(values(",a"), vec![vec!["a"]]);
    }

    #[test]
    fn quotes_follow_postgres() {
        assert_eq!(values(r#""a b" c"#), vec![vec!["a b"], vec!["c"]]);
        assert_eq!(values(r#""a""b""#), vec![vec![r#"a"b"#]]);
        assert_eq!(values(r#"a""b"#), vec![vec!["ab"]]);
        assert_eq!(values("\"\"\"\"\"\""), vec![vec!["\"\""]]);
        assert_eq!(values("\"\"\"\""), vec![vec!["\""]]);
        assert_eq!(values(r#""a # b"#), vec![vec!["a # b"]]);
        assert_eq!(values(r#""""#), vec![vec![""]]);
        let f = tokenize(r#""all" a"ll""#).unwrap();
        assert!(f[0].tokens[0].quoted);
        assert!(!f[1].tokens[0].quoted);
    }

    #[test]
    fn comments_end_tokens() {
        assert_eq!(values("abc#x y"), vec![vec!["abc"]]);
        assert_eq!(values("  # only"), Vec::<Vec<String>>::new());
    }

    #[test]
    fn fast_path_agrees_with_pest() {
        for line in [
            "a, b c",
            "a ,b",
            "a,,b",
            "a, # c",
            ",a",
            "abc#x y",
            "  # only",
            "",
            "a,",
            "host all all 10.0.0.0/8 md5 map=x,y , z",
            "\tlocal\rall\r,all, ,trust#",
            r#"host "a b",c "d""e" 1.2.3.4/32 md5"#,
            r#"x "a,b" "c#d" "unterminated, still"#,
            r#""" """" """""" a"b"c "a""#,
            r#"ldap ldapprefix="cn=" ldapsuffix=", dc=x, dc=y""#,
            r#"+"grp x",+y ,"z""#,
            "\"é,ü\" é\"\"x",
        ] {
            assert_eq!(
                tokenize_fast(line),
                tokenize_pest(line).unwrap(),
                "{line:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_pest_on_generated_lines(line in "[ \t\r,#a-z0-9./:=+@é-]{0,40}|[^\"\n]{0,60}") {
            proptest::prop_assert_eq!(tokenize_fast(&line), tokenize_pest(&line).unwrap());
        }

        /// Quotes: `""` escapes, commas, blanks and `#` inside quotes, quotes in the
        /// middle of tokens, unterminated quotes.
        #[test]
        fn fast_path_agrees_with_pest_on_quoted_lines(line in "([ \t\r,#\"a-z+@é]|\"\"|\"[a-z ,#]{0,6}\"){0,30}") {
            proptest::prop_assert_eq!(tokenize_fast(&line), tokenize_pest(&line).unwrap());
        }

        /// Whole logical lines after continuations: the glued text tokenizes the same way.
        #[test]
        fn fast_path_agrees_with_pest_after_continuations(parts in proptest::collection::vec("([ ,\"a-z#]|\"\"){0,12}", 1..4)) {
            let text = parts.join("\\\n");
            for line in split_lines(&text) {
                proptest::prop_assert_eq!(tokenize_fast(&line.content), tokenize_pest(&line.content).unwrap());
            }
        }
    }

    #[test]
    fn long_tokens_are_fine() {
        let long = "a".repeat(5000);
        assert_eq!(
            values(&format!("{long},b")),
            vec![vec![long, "b".to_owned()]]
        );
    }

    #[test]
    fn continuations_glue_without_separator() {
        let text = "host all \\\r\nall\\\n 1.2.3.4/32 trust\nlocal all all trust";
        let lines = split_lines(text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].content, "host all all 1.2.3.4/32 trust");
        assert_eq!(lines[0].physical, 3);
        assert_eq!(lines[1].number, 4);
        let joined: String = lines.iter().map(|l| l.raw).collect();
        assert_eq!(joined, text);
    }
}

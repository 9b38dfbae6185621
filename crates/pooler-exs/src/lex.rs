//! The scanner: Elixir source text to a flat list of tokens with byte spans, plus bracket pairs.
//!
//! Each token is recognised by a small nom parser over `&str`. Strings, charlists, sigils,
//! heredocs and quoted atoms are single tokens; their `#{...}` interpolations are scanned with the
//! same token parser (recursively, with a depth limit) only to find where they end. Nothing is
//! ever normalised: a token is a span of the original text.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_till, take_while, take_while1},
    character::complete::{one_of, satisfy},
    combinator::{opt, recognize},
    error::{ErrorKind, ParseError},
};

use crate::error::Error;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Spaces and tabs.
    Space,
    /// `\n` or `\r\n`.
    Newline,
    /// `# ...` up to (not including) the line end.
    Comment,
    /// `"..."` (with escapes and interpolation).
    Str,
    /// `"""` or `'''` heredoc.
    Heredoc,
    /// `'...'`.
    Charlist,
    /// `~s(...)` and friends, modifiers included.
    Sigil,
    /// `:name`, `:"quoted"`, `:+`.
    Atom,
    /// `key:` or `"key":` (the colon included).
    KwKey,
    /// Integer or float.
    Number,
    /// `?c`.
    Char,
    /// Lower-case identifier (also keywords such as `do`, `end`, `if`).
    Ident,
    /// Upper-case alias such as `Supavisor`.
    Alias,
    /// Operator or punctuation (`=`, `=>`, `|>`, `.`, `,`, `%`, ...).
    Op,
    /// `(`, `[` or `{`.
    Open,
    /// `)`, `]` or `}`.
    Close,
    /// A character the scanner does not know; kept as is.
    Other,
}

/// One token: a kind and a byte span of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The scanned script: tokens and, for each bracket token, the index of its partner.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub tokens: Vec<Token>,
    /// `pair[i]` is the index of the matching bracket for an `Open`/`Close` token, else `usize::MAX`.
    pub pair: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LexKind {
    Mismatch,
    Unterminated(&'static str),
    HeredocStart,
    TooDeep,
    CloseInInterpolation,
}

/// The nom error type of the scanner: where (as remaining length) and what.
#[derive(Debug, Clone, Copy)]
struct LexErr {
    rest_len: usize,
    kind: LexKind,
}

impl ParseError<&str> for LexErr {
    fn from_error_kind(input: &str, _kind: ErrorKind) -> Self {
        LexErr {
            rest_len: input.len(),
            kind: LexKind::Mismatch,
        }
    }

    fn append(_input: &str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, O> = IResult<&'a str, O, LexErr>;

/// Interpolations nested deeper than this are refused (keeps the recursion bounded).
const MAX_DEPTH: u32 = 48;

fn failure<O>(at: &str, kind: LexKind) -> PResult<'_, O> {
    Err(nom::Err::Failure(LexErr {
        rest_len: at.len(),
        kind,
    }))
}

/// Operators, longest first so that `=>` wins over `=` and `|>` over `|`.
const OPS: &[&str] = &[
    "===", "!==", "<<<", ">>>", "<<~", "~>>", "<~>", "<|>", "^^^", "~~~", "...", "|||", "&&&",
    "\\\\", "|>", "=>", "==", "!=", "<=", ">=", "->", "<-", "::", "..", "<>", "++", "--", "&&",
    "||", "=~", "<<", ">>", "~>", "<~", "**", "//", "=", "+", "-", "*", "/", "<", ">", "!", "^",
    "&", "|", ".", ",", ";", "@", "%", ":", "~", "\\",
];

fn op(i: &str) -> PResult<'_, &str> {
    for o in OPS {
        if let Some(rest) = i.strip_prefix(o) {
            return Ok((rest, &i[..o.len()]));
        }
    }
    Err(nom::Err::Error(LexErr::from_error_kind(i, ErrorKind::Tag)))
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `name`, `name?`, `name!`.
fn ident(i: &str) -> PResult<'_, &str> {
    recognize((
        satisfy(is_ident_start),
        take_while(is_ident_continue),
        opt(one_of("?!")),
    ))
    .parse(i)
}

/// Does a keyword colon start here (`:` followed by white space or the end, not `::`)?
fn kw_colon(i: &str) -> Option<&str> {
    let rest = i.strip_prefix(':')?;
    match rest.chars().next() {
        None | Some(' ' | '\t' | '\n' | '\r') => Some(rest),
        _ => None,
    }
}

fn number(i: &str) -> PResult<'_, &str> {
    let hex = recognize((
        tag("0x"),
        take_while1(|c: char| c.is_ascii_hexdigit() || c == '_'),
    ));
    let bin = recognize((
        tag("0b"),
        take_while1(|c: char| matches!(c, '0' | '1' | '_')),
    ));
    let oct = recognize((
        tag("0o"),
        take_while1(|c: char| matches!(c, '0'..='7' | '_')),
    ));
    let digits = |i| take_while1(|c: char| c.is_ascii_digit() || c == '_')(i);
    let exponent = recognize((one_of("eE"), opt(one_of("+-")), digits));
    let fraction = recognize((tag("."), digits, opt(exponent)));
    let decimal = recognize((digits, opt(fraction)));
    alt((hex, bin, oct, decimal)).parse(i)
}

/// Skip an interpolation body after `#{` up to and including its `}`.
fn interpolation<'a>(i: &'a str, opened_at: &'a str, depth: u32) -> PResult<'a, ()> {
    if depth > MAX_DEPTH {
        return failure(opened_at, LexKind::TooDeep);
    }
    let mut rest = i;
    let mut level = 0usize;
    loop {
        if rest.is_empty() {
            return failure(opened_at, LexKind::Unterminated("interpolation"));
        }
        let (after, kind) = token(rest, depth + 1)?;
        match kind {
            Kind::Open => level += 1,
            Kind::Close if level == 0 => {
                if rest.starts_with('}') {
                    return Ok((after, ()));
                }
                return failure(rest, LexKind::CloseInInterpolation);
            }
            Kind::Close => level -= 1,
            _ => {}
        }
        rest = after;
    }
}

/// The body of a single-line-delimited literal, after its opening delimiter, up to and
/// including `close`. `\` escapes the next character; `#{` interpolates when `interp`.
fn quoted<'a>(
    i: &'a str,
    close: char,
    interp: bool,
    what: &'static str,
    start: &'a str,
    depth: u32,
) -> PResult<'a, ()> {
    let mut rest = i;
    loop {
        let (r, _) = take_till(|c: char| c == '\\' || c == close || (interp && c == '#'))(rest)?;
        rest = r;
        let mut chars = rest.chars();
        match chars.next() {
            None => return failure(start, LexKind::Unterminated(what)),
            Some('\\') => {
                // Skip the escaped character, whatever it is.
                let _ = chars.next();
                rest = chars.as_str();
            }
            Some(c) if c == close => return Ok((chars.as_str(), ())),
            Some(_) => {
                // `#`: interpolation or a literal `#`.
                let after_hash = chars.as_str();
                if let Some(body) = after_hash.strip_prefix('{') {
                    let (r, ()) = interpolation(body, rest, depth)?;
                    rest = r;
                } else {
                    rest = after_hash;
                }
            }
        }
    }
}

/// A heredoc after its opening `"""`/`'''` (passed as `triple`).
fn heredoc<'a>(
    i: &'a str,
    triple: &'static str,
    interp: bool,
    start: &'a str,
    depth: u32,
) -> PResult<'a, ()> {
    let (r, _) = take_while(|c| c == ' ' || c == '\t')(i)?;
    let Ok((mut rest, _)) = alt((tag::<_, _, LexErr>("\r\n"), tag("\n"))).parse(r) else {
        return failure(start, LexKind::HeredocStart);
    };
    let what = if triple.starts_with('"') {
        "heredoc"
    } else {
        "charlist heredoc"
    };
    let mut line_start = true;
    loop {
        if line_start {
            let (r, _) = take_while(|c| c == ' ' || c == '\t')(rest)?;
            if let Some(after) = r.strip_prefix(triple) {
                return Ok((after, ()));
            }
            rest = r;
            line_start = false;
        }
        let (r, _) = take_till(|c: char| c == '\\' || c == '\n' || (interp && c == '#'))(rest)?;
        rest = r;
        let mut chars = rest.chars();
        match chars.next() {
            None => return failure(start, LexKind::Unterminated(what)),
            Some('\n') => {
                rest = chars.as_str();
                line_start = true;
            }
            Some('\\') => {
                if chars.next() == Some('\n') {
                    line_start = true;
                }
                rest = chars.as_str();
            }
            Some(_) => {
                let after_hash = chars.as_str();
                if let Some(body) = after_hash.strip_prefix('{') {
                    let (r, ()) = interpolation(body, rest, depth)?;
                    rest = r;
                } else {
                    rest = after_hash;
                }
            }
        }
    }
}

/// `"..."` or `"""..."""` (also for `'`), after nothing has been consumed.
fn string_like(i: &str, quote: char, depth: u32) -> PResult<'_, Kind> {
    let (triple, kind, what) = if quote == '"' {
        ("\"\"\"", Kind::Str, "string")
    } else {
        ("'''", Kind::Charlist, "charlist")
    };
    if let Some(body) = i.strip_prefix(triple) {
        let (rest, ()) = heredoc(body, triple, true, i, depth)?;
        return Ok((rest, Kind::Heredoc));
    }
    let body = &i[quote.len_utf8()..];
    let (rest, ()) = quoted(body, quote, true, what, i, depth)?;
    // `"key": value` is a quoted keyword key.
    if let Some(after) = kw_colon(rest) {
        return Ok((after, Kind::KwKey));
    }
    Ok((rest, kind))
}

fn sigil(i: &str, depth: u32) -> PResult<'_, Kind> {
    let after_tilde = &i[1..];
    let name: PResult<'_, &str> = alt((
        recognize(satisfy(|c: char| c.is_ascii_lowercase())),
        recognize((
            satisfy(|c: char| c.is_ascii_uppercase()),
            take_while(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()),
        )),
    ))
    .parse(after_tilde);
    let Ok((body, name)) = name else {
        return Err(nom::Err::Error(LexErr::from_error_kind(i, ErrorKind::Tag)));
    };
    let interp = name.starts_with(|c: char| c.is_ascii_lowercase());
    let rest = if let Some(b) = body.strip_prefix("\"\"\"") {
        heredoc(b, "\"\"\"", interp, i, depth)?.0
    } else if let Some(b) = body.strip_prefix("'''") {
        heredoc(b, "'''", interp, i, depth)?.0
    } else {
        let Some(open) = body.chars().next() else {
            return Err(nom::Err::Error(LexErr::from_error_kind(i, ErrorKind::Tag)));
        };
        let close = match open {
            '(' => ')',
            '[' => ']',
            '{' => '}',
            '<' => '>',
            '/' | '|' | '"' | '\'' => open,
            _ => return Err(nom::Err::Error(LexErr::from_error_kind(i, ErrorKind::Tag))),
        };
        quoted(&body[open.len_utf8()..], close, interp, "sigil", i, depth)?.0
    };
    let (rest, _) = take_while(|c: char| c.is_ascii_alphanumeric())(rest)?;
    Ok((rest, Kind::Sigil))
}

fn atom(i: &str, depth: u32) -> PResult<'_, Kind> {
    let after = &i[1..];
    match after.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let (rest, ()) = quoted(&after[1..], q, true, "quoted atom", i, depth)?;
            Ok((rest, Kind::Atom))
        }
        Some(c) if is_ident_start(c) => {
            let (rest, _) = recognize((
                satisfy(is_ident_start),
                take_while(|c: char| is_ident_continue(c) || c == '@'),
                opt(one_of("?!")),
            ))
            .parse(after)?;
            Ok((rest, Kind::Atom))
        }
        Some(':') => Ok((&i[2..], Kind::Op)),
        _ => match op(after) {
            Ok((rest, o)) if o != "," && o != ";" && o != ":" => Ok((rest, Kind::Atom)),
            _ => Ok((after, Kind::Op)),
        },
    }
}

fn char_literal(i: &str) -> (&str, Kind) {
    let mut chars = i[1..].chars();
    match chars.next() {
        None => (&i[1..], Kind::Other),
        Some('\\') => {
            let _ = chars.next();
            (chars.as_str(), Kind::Char)
        }
        Some(_) => (chars.as_str(), Kind::Char),
    }
}

/// One token. Never consumes nothing on non-empty input.
fn token(i: &str, depth: u32) -> PResult<'_, Kind> {
    let Some(c) = i.chars().next() else {
        return Err(nom::Err::Error(LexErr::from_error_kind(i, ErrorKind::Eof)));
    };
    match c {
        ' ' | '\t' | '\u{b}' | '\u{c}' | '\u{a0}' | '\u{feff}' => {
            let (rest, _) = take_while1(|c| {
                matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\u{a0}' | '\u{feff}')
            })(i)?;
            Ok((rest, Kind::Space))
        }
        '\n' => Ok((&i[1..], Kind::Newline)),
        '\r' if i.starts_with("\r\n") => Ok((&i[2..], Kind::Newline)),
        '#' => {
            let (mut rest, body) = take_till(|c| c == '\n')(i)?;
            if body.ends_with('\r') && rest.starts_with('\n') {
                rest = &i[body.len() - 1..];
            }
            Ok((rest, Kind::Comment))
        }
        '"' | '\'' => string_like(i, c, depth),
        '~' => match sigil(i, depth) {
            Err(nom::Err::Error(_)) => op(i).map(|(r, _)| (r, Kind::Op)),
            other => other,
        },
        ':' => atom(i, depth),
        '?' => Ok(char_literal(i)),
        '0'..='9' => number(i).map(|(r, _)| (r, Kind::Number)),
        '(' | '[' | '{' => Ok((&i[1..], Kind::Open)),
        ')' | ']' | '}' => Ok((&i[1..], Kind::Close)),
        c if is_ident_start(c) => {
            let (rest, _) = ident(i)?;
            if let Some(after) = kw_colon(rest) {
                return Ok((after, Kind::KwKey));
            }
            let kind = if c.is_uppercase() {
                Kind::Alias
            } else {
                Kind::Ident
            };
            Ok((rest, kind))
        }
        _ => match op(i) {
            Ok((rest, _)) => Ok((rest, Kind::Op)),
            Err(_) => Ok((&i[c.len_utf8()..], Kind::Other)),
        },
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Up to 24 characters from `offset`, cut at the line end.
pub(crate) fn snippet(src: &str, offset: usize) -> String {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    src[offset..]
        .chars()
        .take_while(|&c| c != '\n' && c != '\r')
        .take(24)
        .collect()
}

fn bracket_char(src: &str, t: Token) -> char {
    src[t.start..t.end].chars().next().unwrap_or('?')
}

fn closer_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Scan a whole script.
pub(crate) fn scan(src: &str) -> Result<Scan, Error> {
    let total = src.len();
    let mut tokens = Vec::new();
    let mut pair = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        let start = total - rest.len();
        let (after, kind) = match token(rest, 0) {
            Ok(ok) => ok,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Err(lex_error(src, total - e.rest_len, e.kind));
            }
            Err(nom::Err::Incomplete(_)) => {
                return Err(lex_error(src, start, LexKind::Mismatch));
            }
        };
        let end = total - after.len();
        debug_assert!(end > start, "the scanner must always advance");
        let tok = Token { kind, start, end };
        let idx = tokens.len();
        tokens.push(tok);
        pair.push(usize::MAX);
        match kind {
            Kind::Open => stack.push(idx),
            Kind::Close => {
                let found = bracket_char(src, tok);
                let Some(open_idx) = stack.pop() else {
                    let (line, column) = line_col(src, start);
                    return Err(Error::UnexpectedClose {
                        found,
                        line,
                        column,
                    });
                };
                let open = bracket_char(src, tokens[open_idx]);
                if closer_of(open) != found {
                    let (line, column) = line_col(src, start);
                    let (open_line, open_column) = line_col(src, tokens[open_idx].start);
                    return Err(Error::MismatchedClose {
                        found,
                        line,
                        column,
                        open,
                        open_line,
                        open_column,
                    });
                }
                pair[open_idx] = idx;
                pair[idx] = open_idx;
            }
            _ => {}
        }
        rest = after;
    }
    if let Some(&open_idx) = stack.last() {
        let t = tokens[open_idx];
        let (line, column) = line_col(src, t.start);
        return Err(Error::Unclosed {
            open: bracket_char(src, t),
            line,
            column,
        });
    }
    Ok(Scan { tokens, pair })
}

fn lex_error(src: &str, offset: usize, kind: LexKind) -> Error {
    let (line, column) = line_col(src, offset);
    let snippet = snippet(src, offset);
    match kind {
        LexKind::Unterminated(what) => Error::Unterminated {
            what: what.to_owned(),
            line,
            column,
            snippet,
        },
        LexKind::HeredocStart => Error::Syntax {
            message: "a heredoc opener must be followed by a new line".to_owned(),
            line,
            column,
            snippet,
        },
        LexKind::TooDeep => Error::Syntax {
            message: format!("interpolation nested deeper than {MAX_DEPTH} levels"),
            line,
            column,
            snippet,
        },
        LexKind::CloseInInterpolation => Error::Syntax {
            message: "closing bracket does not match the interpolation's `#{`".to_owned(),
            line,
            column,
            snippet,
        },
        LexKind::Mismatch => Error::Syntax {
            message: "unexpected text".to_owned(),
            line,
            column,
            snippet,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let s = scan(src).unwrap();
        s.tokens
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Space))
            .map(|t| (t.kind, &src[t.start..t.end]))
            .collect()
    }

    #[test]
    fn strings_with_interpolation_containing_braces_and_quotes() {
        let src = r#""a #{%{"k" => "}"}["k"]} b \" # c" x"#;
        let k = kinds(src);
        assert_eq!(k[0], (Kind::Str, r#""a #{%{"k" => "}"}["k"]} b \" # c""#));
        assert_eq!(k[1], (Kind::Ident, "x"));
    }

    #[test]
    fn sigils_with_every_delimiter() {
        for s in [
            "~s(a ] b)",
            "~S[a ) b]",
            "~r{a(b}i",
            "~c<a } b>",
            "~w/a b/a",
            "~s|a ( b|",
            r#"~s"a ' b""#,
            "~s'a \" b'",
            "~S(a\\)b)",
            "~s\"\"\"\n a ) \"\n\"\"\"",
            "~HTML{x}",
        ] {
            let k = kinds(s);
            assert_eq!(k, vec![(Kind::Sigil, s)], "{s}");
        }
    }

    #[test]
    fn heredocs_and_comments() {
        let src = "x = \"\"\"\n  a \"\"\" b } #{1}\n  \"\"\" <> y # } =>\n'''\n}\n'''";
        let k = kinds(src);
        assert_eq!(k[2].0, Kind::Heredoc);
        assert_eq!(k[3], (Kind::Op, "<>"));
        assert_eq!(k[5], (Kind::Comment, "# } =>"));
        assert_eq!(k[7].0, Kind::Heredoc);
    }

    #[test]
    fn atoms_keys_chars_numbers() {
        let k = kinds(r#":ok :"a b" :<> key: "q k": ?} ?\\ 1_000 1.5e-3 0xFF 1..2 a::b"#);
        let kinds: Vec<Kind> = k.iter().map(|x| x.0).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Atom,
                Kind::Atom,
                Kind::Atom,
                Kind::KwKey,
                Kind::KwKey,
                Kind::Char,
                Kind::Char,
                Kind::Number,
                Kind::Number,
                Kind::Number,
                Kind::Number,
                Kind::Op,
                Kind::Number,
                Kind::Ident,
                Kind::Op,
                Kind::Ident,
            ]
        );
    }

    #[test]
    fn crlf_comment_stops_before_cr() {
        let k = kinds("# c\r\nx");
        assert_eq!(k[0], (Kind::Comment, "# c"));
        assert_eq!(k[1], (Kind::Newline, "\r\n"));
    }

    #[test]
    fn errors_carry_positions() {
        assert!(matches!(
            scan("x = \"abc"),
            Err(Error::Unterminated {
                line: 1,
                column: 5,
                ..
            })
        ));
        assert!(matches!(
            scan("a\n  %{b: [1}"),
            Err(Error::MismatchedClose {
                line: 2,
                column: 10,
                open: '[',
                ..
            })
        ));
        assert!(matches!(
            scan("\n)"),
            Err(Error::UnexpectedClose {
                line: 2,
                column: 1,
                ..
            })
        ));
        assert!(matches!(
            scan("f(%{a: 1}"),
            Err(Error::Unclosed {
                open: '(',
                line: 1,
                column: 2
            })
        ));
        assert!(matches!(
            scan("x = \"\"\"\nabc\n"),
            Err(Error::Unterminated {
                line: 1,
                column: 5,
                ..
            })
        ));
        assert!(matches!(
            scan("\"\"\"abc\n\"\"\""),
            Err(Error::Syntax { .. })
        ));
        assert!(matches!(
            scan("\"a #{ b \""),
            Err(Error::Unterminated { .. })
        ));
    }

    #[test]
    fn deep_interpolation_is_refused_not_overflowing() {
        let mut s = String::new();
        for _ in 0..500 {
            s.push_str("\"#{");
        }
        assert!(scan(&s).is_err());
    }
}

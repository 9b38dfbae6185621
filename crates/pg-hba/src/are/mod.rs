//! Which regular expressions PostgreSQL refuses, and with which message.
//!
//! PostgreSQL 16+ compiles every database and user token that starts with `/` with its own
//! regex engine (Henry Spencer's, `src/backend/regex/`), flavour `REG_ADVANCED` (ARE), and a
//! pattern it cannot compile makes the line invalid: `invalid regular expression "P": MSG`.
//! This module replays the part of that compiler that decides validity: the lexer of
//! `regc_lex.c` (prefixes `***:`/`***=`, embedded options `(?bceimnpqstwx)`, escapes, bracket
//! expressions, bounds; the BRE and ERE lexers that `(?b)` and `(?e)` switch to) and the parser
//! of `regcomp.c` (`parse`, `parsebranch`, `parseqatom`, `brackpart`, `scannum`, `range`,
//! `element`, `lookupcclass`), token by token and with the first error winning, as in C. It
//! builds no automaton: the limits that only the automaton meets (`regular expression is too
//! complex`, `out of memory` for huge bounded repetitions) are not reproduced.

mod lex;
mod names;
mod parse;
mod token;

pub(crate) use parse::check;

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn valid_patterns() {
        for p in [
            "^app_\\d+$",
            "a|b",
            "(?i)ab",
            "(?:x)+",
            "a{2,3}",
            "[a-z]",
            "[]a]",
            "[^]a]",
            "[[:alpha:]]",
            "\\w+",
            "x(?=y)",
            "(a)\\1",
            "a{",
            "a{,",
            "***:a",
            "***=(((",
            "(?x) a b # c",
            "[[.hyphen.]]",
            "[[=a=]]",
            "\\u00e9",
            "\\x41",
            "\\0",
            "\\12",
            "",
        ] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn invalid_patterns() {
        for (p, e) in [
            ("abc(", "parentheses () not balanced"),
            ("a)", "parentheses () not balanced"),
            ("[abc", "brackets [] not balanced"),
            ("*a", "quantifier operand invalid"),
            ("a**", "quantifier operand invalid"),
            ("a{1", "braces {} not balanced"),
            ("a{2,1}", "invalid repetition count(s)"),
            ("a{256}", "invalid repetition count(s)"),
            ("\\1", "invalid backreference number"),
            ("(a\\1)", "invalid backreference number"),
            ("\\q", "invalid escape \\ sequence"),
            ("a\\", "invalid escape \\ sequence"),
            ("[z-a]", "invalid character range"),
            ("[[:nope:]]", "invalid character class"),
            ("[[.xx.]]", "invalid collating element"),
            ("(?z)a", "invalid embedded option"),
            ("***?", "invalid regexp (reg version 0.8)"),
            ("a(?i)", "quantifier operand invalid"),
        ] {
            assert_eq!(check(p), Err(e), "{p}");
        }
    }
}

//! The vocabulary shared by the lexer and the parser: token types, `regerrs.h` error codes,
//! lexer contexts, limits, and character tests.

/// Token types of `regcomp.c`/`regc_lex.c` (single characters stand for themselves there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Empty,
    Eos,
    Plain,
    Digit,
    Comma,
    RBrace,
    LBrace,
    Bar,
    Star,
    Plus,
    Quest,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Dot,
    Caret,
    Dollar,
    Lt,
    Gt,
    Range,
    CollEl,
    EClass,
    CClass,
    End,
    CClassS,
    CClassC,
    SBegin,
    SEnd,
    WBdry,
    NWBdry,
    Lacon,
    Backref,
}

/// `regerrs.h` codes the parser can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Err {
    BadPat,
    ECollate,
    ECtype,
    EEscape,
    ESubreg,
    EBrack,
    EParen,
    EBrace,
    BadBr,
    ERange,
    BadRpt,
    BadOpt,
    Assert,
}

impl Err {
    /// `pg_regerror()`'s text (`src/include/regex/regerrs.h`).
    pub(super) fn text(self) -> &'static str {
        match self {
            Self::BadPat => "invalid regexp (reg version 0.8)",
            Self::ECollate => "invalid collating element",
            Self::ECtype => "invalid character class",
            Self::EEscape => "invalid escape \\ sequence",
            Self::ESubreg => "invalid backreference number",
            Self::EBrack => "brackets [] not balanced",
            Self::EParen => "parentheses () not balanced",
            Self::EBrace => "braces {} not balanced",
            Self::BadBr => "invalid repetition count(s)",
            Self::ERange => "invalid character range",
            Self::BadRpt => "quantifier operand invalid",
            Self::BadOpt => "invalid embedded option",
            Self::Assert => "\"can't happen\" -- you found a bug",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Con {
    Ere,
    Bre,
    Q,
    EBnd,
    BBnd,
    Brack,
    Cel,
    Ecl,
    Ccl,
}

/// `_POSIX2_RE_DUP_MAX`.
pub(super) const DUPMAX: u32 = 255;
/// `CHR_MAX` for PostgreSQL's 32-bit `chr`.
pub(super) const CHR_MAX: u32 = 0x7fff_fffe;

pub(super) fn is_alpha(c: u32) -> bool {
    char::from_u32(c).is_some_and(char::is_alphabetic)
}

pub(super) fn is_space(c: u32) -> bool {
    char::from_u32(c).is_some_and(char::is_whitespace)
}

pub(super) fn is_digit(c: u32) -> bool {
    (u32::from(b'0')..=u32::from(b'9')).contains(&c)
}

pub(super) const fn ch(c: u8) -> u32 {
    c as u32
}

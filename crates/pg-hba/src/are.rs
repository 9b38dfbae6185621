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

/// Token types of `regcomp.c`/`regc_lex.c` (single characters stand for themselves there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
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
enum Err {
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
    fn text(self) -> &'static str {
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
enum Con {
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
const DUPMAX: u32 = 255;
/// `CHR_MAX` for PostgreSQL's 32-bit `chr`.
const CHR_MAX: u32 = 0x7fff_fffe;

/// POSIX names usable in `[. .]` and `[= =]` (`regc_locale.c`'s `cnames`).
const CNAMES: &[&str] = &[
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "BEL",
    "alert",
    "BS",
    "backspace",
    "HT",
    "tab",
    "LF",
    "newline",
    "VT",
    "vertical-tab",
    "FF",
    "form-feed",
    "CR",
    "carriage-return",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "IS4",
    "FS",
    "IS3",
    "GS",
    "IS2",
    "RS",
    "IS1",
    "US",
    "space",
    "exclamation-mark",
    "quotation-mark",
    "number-sign",
    "dollar-sign",
    "percent-sign",
    "ampersand",
    "apostrophe",
    "left-parenthesis",
    "right-parenthesis",
    "asterisk",
    "plus-sign",
    "comma",
    "hyphen",
    "hyphen-minus",
    "period",
    "full-stop",
    "slash",
    "solidus",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "colon",
    "semicolon",
    "less-than-sign",
    "equals-sign",
    "greater-than-sign",
    "question-mark",
    "commercial-at",
    "left-square-bracket",
    "backslash",
    "reverse-solidus",
    "right-square-bracket",
    "circumflex",
    "circumflex-accent",
    "underscore",
    "low-line",
    "grave-accent",
    "left-brace",
    "left-curly-bracket",
    "vertical-line",
    "right-brace",
    "right-curly-bracket",
    "tilde",
    "DEL",
];

/// Character class names (`regc_locale.c`'s `classNames`).
const CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "xdigit", "word",
];

#[allow(clippy::struct_excessive_bools)] // the C code's cflags bits, one field each
struct Vars {
    s: Vec<u32>,
    now: usize,
    /// `REG_EXTENDED`.
    extended: bool,
    /// `REG_ADVF` (the ARE extensions).
    advf: bool,
    quote: bool,
    expanded: bool,
    lexcon: Con,
    nexttype: Tok,
    nextvalue: u32,
    lasttype: Tok,
    err: Option<Err>,
    nsubexp: u32,
    /// `v->subs`: which capturing groups are complete (index 0 unused).
    subs: Vec<bool>,
}

/// Whether PostgreSQL's regex compiler accepts `pattern` (the token without its leading `/`);
/// the error text `pg_regerror()` gives when it does not.
pub(crate) fn check(pattern: &str) -> Result<(), &'static str> {
    let mut v = Vars {
        s: pattern.chars().map(u32::from).collect(),
        now: 0,
        extended: true,
        advf: true,
        quote: false,
        expanded: false,
        lexcon: Con::Ere,
        nexttype: Tok::Empty,
        nextvalue: 0,
        lasttype: Tok::Empty,
        err: None,
        nsubexp: 0,
        subs: vec![false; 10],
    };
    v.lexstart();
    if v.err.is_none() {
        v.parse(Tok::Eos, false);
    }
    match v.err {
        Some(e) => Err(e.text()),
        None => Ok(()),
    }
}

fn is_alpha(c: u32) -> bool {
    char::from_u32(c).is_some_and(char::is_alphabetic)
}

fn is_space(c: u32) -> bool {
    char::from_u32(c).is_some_and(char::is_whitespace)
}

fn is_digit(c: u32) -> bool {
    (u32::from(b'0')..=u32::from(b'9')).contains(&c)
}

const fn ch(c: u8) -> u32 {
    c as u32
}

impl Vars {
    fn ateos(&self) -> bool {
        self.now >= self.s.len()
    }
    fn have(&self, n: usize) -> bool {
        self.s.len().saturating_sub(self.now) >= n
    }
    fn at(&self, off: usize) -> Option<u32> {
        self.s.get(self.now + off).copied()
    }
    fn next1(&self, c: u8) -> bool {
        self.at(0) == Some(ch(c))
    }
    fn error(&mut self, e: Err) {
        self.nexttype = Tok::Eos;
        if self.err.is_none() {
            self.err = Some(e);
        }
    }
    fn fail(&mut self, e: Err) -> bool {
        self.error(e);
        false
    }
    fn ret(&mut self, t: Tok) -> bool {
        self.nexttype = t;
        true
    }
    fn retv(&mut self, t: Tok, v: u32) -> bool {
        self.nexttype = t;
        self.nextvalue = v;
        true
    }
    fn see(&self, t: Tok) -> bool {
        self.nexttype == t
    }
    fn eat(&mut self, t: Tok) -> bool {
        if self.see(t) {
            self.next();
            true
        } else {
            false
        }
    }

    fn lexstart(&mut self) {
        self.prefixes();
        if self.err.is_some() {
            return;
        }
        self.lexcon = if self.quote {
            Con::Q
        } else if self.extended {
            Con::Ere
        } else {
            Con::Bre
        };
        self.nexttype = Tok::Empty;
        self.next();
    }

    fn prefixes(&mut self) {
        if self.have(4)
            && self.at(0) == Some(ch(b'*'))
            && self.at(1) == Some(ch(b'*'))
            && self.at(2) == Some(ch(b'*'))
        {
            match self.at(3) {
                Some(c) if c == ch(b'?') => return self.error(Err::BadPat),
                Some(c) if c == ch(b'=') => {
                    self.quote = true;
                    self.extended = false;
                    self.advf = false;
                    self.expanded = false;
                    self.now += 4;
                    return;
                }
                Some(c) if c == ch(b':') => {
                    self.extended = true;
                    self.advf = true;
                    self.now += 4;
                }
                _ => return self.error(Err::BadRpt),
            }
        }
        if !(self.extended && self.advf) {
            return;
        }
        if self.have(3)
            && self.next1(b'(')
            && self.at(1) == Some(ch(b'?'))
            && self.at(2).is_some_and(is_alpha)
        {
            self.now += 2;
            while let Some(c) = self.at(0).filter(|&c| is_alpha(c)) {
                match char::from_u32(c) {
                    Some('b') => {
                        self.extended = false;
                        self.advf = false;
                        self.quote = false;
                    }
                    Some('e') => {
                        self.extended = true;
                        self.advf = false;
                        self.quote = false;
                    }
                    Some('q') => {
                        self.quote = true;
                        self.extended = false;
                        self.advf = false;
                    }
                    Some('t') => self.expanded = false,
                    Some('x') => self.expanded = true,
                    Some('c' | 'i' | 'm' | 'n' | 'p' | 's' | 'w') => {}
                    _ => return self.error(Err::BadOpt),
                }
                self.now += 1;
            }
            if !self.next1(b')') {
                return self.error(Err::BadOpt);
            }
            self.now += 1;
            if self.quote {
                self.expanded = false;
            }
        }
    }

    fn skip(&mut self) {
        loop {
            while self.at(0).is_some_and(is_space) {
                self.now += 1;
            }
            if !self.next1(b'#') {
                break;
            }
            while self.at(0).is_some_and(|c| c != ch(b'\n')) {
                self.now += 1;
            }
        }
    }

    /// `next()`: the next token into `nexttype`/`nextvalue`; false on error.
    #[allow(clippy::too_many_lines)] // one switch, as in C
    fn next(&mut self) -> bool {
        loop {
            if self.err.is_some() {
                return false;
            }
            self.lasttype = self.nexttype;
            if self.expanded && matches!(self.lexcon, Con::Ere | Con::Bre | Con::EBnd | Con::BBnd) {
                self.skip();
            }
            let Some(c) = self.at(0) else {
                return match self.lexcon {
                    Con::Ere | Con::Bre | Con::Q => self.ret(Tok::Eos),
                    Con::EBnd | Con::BBnd => self.fail(Err::EBrace),
                    Con::Brack | Con::Cel | Con::Ecl | Con::Ccl => self.fail(Err::EBrack),
                };
            };
            self.now += 1;
            match self.lexcon {
                Con::Bre => return self.brenext(c),
                Con::Ere => {}
                Con::Q => return self.retv(Tok::Plain, c),
                Con::EBnd | Con::BBnd => {
                    return match char::from_u32(c) {
                        Some(d @ '0'..='9') => self.retv(Tok::Digit, u32::from(d) - u32::from('0')),
                        Some(',') => self.ret(Tok::Comma),
                        Some('}') if self.lexcon == Con::EBnd => {
                            self.lexcon = Con::Ere;
                            if self.advf && self.next1(b'?') {
                                self.now += 1;
                                return self.retv(Tok::RBrace, 0);
                            }
                            self.retv(Tok::RBrace, 1)
                        }
                        Some('\\') if self.lexcon == Con::BBnd && self.next1(b'}') => {
                            self.now += 1;
                            self.lexcon = Con::Bre;
                            self.retv(Tok::RBrace, 1)
                        }
                        _ => self.fail(Err::BadBr),
                    };
                }
                Con::Brack => {
                    return match char::from_u32(c) {
                        Some(']') => {
                            if self.lasttype == Tok::LBrack {
                                self.retv(Tok::Plain, c)
                            } else {
                                self.lexcon = if self.extended { Con::Ere } else { Con::Bre };
                                self.ret(Tok::RBrack)
                            }
                        }
                        Some('\\') => {
                            if !self.advf {
                                return self.retv(Tok::Plain, c);
                            }
                            if self.ateos() {
                                return self.fail(Err::EEscape);
                            }
                            if !self.lexescape() {
                                return false;
                            }
                            if matches!(self.nexttype, Tok::Plain | Tok::CClassS | Tok::CClassC) {
                                return true;
                            }
                            self.fail(Err::EEscape)
                        }
                        Some('-') => {
                            if self.lasttype == Tok::LBrack || self.next1(b']') {
                                self.retv(Tok::Plain, c)
                            } else {
                                self.retv(Tok::Range, c)
                            }
                        }
                        Some('[') => {
                            let Some(d) = self.at(0) else {
                                return self.fail(Err::EBrack);
                            };
                            self.now += 1;
                            match char::from_u32(d) {
                                Some('.') => {
                                    self.lexcon = Con::Cel;
                                    self.ret(Tok::CollEl)
                                }
                                Some('=') => {
                                    self.lexcon = Con::Ecl;
                                    self.ret(Tok::EClass)
                                }
                                Some(':') => {
                                    self.lexcon = Con::Ccl;
                                    self.ret(Tok::CClass)
                                }
                                _ => {
                                    self.now -= 1;
                                    self.retv(Tok::Plain, c)
                                }
                            }
                        }
                        _ => self.retv(Tok::Plain, c),
                    };
                }
                Con::Cel | Con::Ecl | Con::Ccl => {
                    let closer = match self.lexcon {
                        Con::Cel => b'.',
                        Con::Ecl => b'=',
                        _ => b':',
                    };
                    if c == ch(closer) && self.next1(b']') {
                        self.now += 1;
                        self.lexcon = Con::Brack;
                        return self.retv(Tok::End, c);
                    }
                    return self.retv(Tok::Plain, c);
                }
            }
            // EREs and AREs
            match char::from_u32(c) {
                Some('|') => return self.ret(Tok::Bar),
                Some(q @ ('*' | '+' | '?')) => {
                    let t = match q {
                        '*' => Tok::Star,
                        '+' => Tok::Plus,
                        _ => Tok::Quest,
                    };
                    if self.advf && self.next1(b'?') {
                        self.now += 1;
                        return self.retv(t, 0);
                    }
                    return self.retv(t, 1);
                }
                Some('{') => {
                    if self.expanded {
                        self.skip();
                    }
                    if !self.at(0).is_some_and(is_digit) {
                        return self.retv(Tok::Plain, c);
                    }
                    self.lexcon = Con::EBnd;
                    return self.ret(Tok::LBrace);
                }
                Some('(') => {
                    if self.advf && self.next1(b'?') {
                        self.now += 1;
                        let Some(d) = self.at(0) else {
                            return self.fail(Err::BadRpt);
                        };
                        self.now += 1;
                        match char::from_u32(d) {
                            Some(':') => return self.retv(Tok::LParen, 0),
                            Some('#') => {
                                while self.at(0).is_some_and(|x| x != ch(b')')) {
                                    self.now += 1;
                                }
                                if !self.ateos() {
                                    self.now += 1;
                                }
                                // next_restart: the comment is not a token
                                continue;
                            }
                            Some('=' | '!') => return self.retv(Tok::Lacon, 0),
                            Some('<') => {
                                let Some(e) = self.at(0) else {
                                    return self.fail(Err::BadRpt);
                                };
                                self.now += 1;
                                if e == ch(b'=') || e == ch(b'!') {
                                    return self.retv(Tok::Lacon, 1);
                                }
                                return self.fail(Err::BadRpt);
                            }
                            _ => return self.fail(Err::BadRpt),
                        }
                    }
                    return self.retv(Tok::LParen, 1);
                }
                Some(')') => return self.retv(Tok::RParen, c),
                Some('[') => {
                    if self.word_bracket() {
                        return true;
                    }
                    self.lexcon = Con::Brack;
                    if self.next1(b'^') {
                        self.now += 1;
                        return self.retv(Tok::LBrack, 0);
                    }
                    return self.retv(Tok::LBrack, 1);
                }
                Some('.') => return self.ret(Tok::Dot),
                Some('^') => return self.ret(Tok::Caret),
                Some('$') => return self.ret(Tok::Dollar),
                Some('\\') => {
                    if self.ateos() {
                        return self.fail(Err::EEscape);
                    }
                }
                _ => return self.retv(Tok::Plain, c),
            }
            if !self.advf {
                let d = self.at(0).unwrap_or(0);
                self.now += 1;
                return self.retv(Tok::Plain, d);
            }
            return self.lexescape();
        }
    }

    /// `[[:<:]]` and `[[:>:]]` right after a `[` (already eaten): word boundaries.
    fn word_bracket(&mut self) -> bool {
        let pat = |x: u8| ch(x);
        if self.have(6)
            && self.at(0) == Some(pat(b'['))
            && self.at(1) == Some(pat(b':'))
            && matches!(self.at(2), Some(c) if c == pat(b'<') || c == pat(b'>'))
            && self.at(3) == Some(pat(b':'))
            && self.at(4) == Some(pat(b']'))
            && self.at(5) == Some(pat(b']'))
        {
            let lt = self.at(2) == Some(pat(b'<'));
            self.now += 6;
            self.nexttype = if lt { Tok::Lt } else { Tok::Gt };
            return true;
        }
        false
    }

    /// `lexescape()`: an ARE escape, the backslash eaten.
    fn lexescape(&mut self) -> bool {
        let Some(c) = self.at(0) else {
            return self.fail(Err::EEscape);
        };
        self.now += 1;
        let Some(cc) = char::from_u32(c).filter(char::is_ascii_alphanumeric) else {
            return self.retv(Tok::Plain, c);
        };
        match cc {
            'a' => self.retv(Tok::Plain, 0o7),
            'b' => self.retv(Tok::Plain, 0o10),
            'B' => self.retv(Tok::Plain, ch(b'\\')),
            'e' => self.retv(Tok::Plain, 0o33),
            'f' => self.retv(Tok::Plain, 0o14),
            'n' => self.retv(Tok::Plain, 0o12),
            'r' => self.retv(Tok::Plain, 0o15),
            't' => self.retv(Tok::Plain, 0o11),
            'v' => self.retv(Tok::Plain, 0o13),
            'A' => self.retv(Tok::SBegin, 0),
            'c' => {
                let Some(d) = self.at(0) else {
                    return self.fail(Err::EEscape);
                };
                self.now += 1;
                self.retv(Tok::Plain, d & 0o37)
            }
            'd' | 's' | 'w' => self.retv(Tok::CClassS, 0),
            'D' | 'S' | 'W' => self.retv(Tok::CClassC, 0),
            'm' => self.ret(Tok::Lt),
            'M' => self.ret(Tok::Gt),
            'u' | 'U' | 'x' => {
                let (min, max) = match cc {
                    'u' => (4, 4),
                    'U' => (8, 8),
                    _ => (1, 255),
                };
                let n = self.lexdigits(16, min, max);
                if self.err.is_some() || n > u64::from(CHR_MAX) {
                    return self.fail(Err::EEscape);
                }
                self.retv(Tok::Plain, u32::try_from(n).unwrap_or(0))
            }
            'y' => self.retv(Tok::WBdry, 0),
            'Y' => self.retv(Tok::NWBdry, 0),
            'Z' => self.retv(Tok::SEnd, 0),
            '1'..='9' => {
                let save = self.now;
                self.now -= 1;
                let n = self.lexdigits(10, 1, 255);
                if self.err.is_some() {
                    return self.fail(Err::EEscape);
                }
                if self.now == save || (n > 0 && n <= u64::from(self.nsubexp)) {
                    return self.retv(Tok::Backref, u32::try_from(n).unwrap_or(u32::MAX));
                }
                self.now = save;
                self.octal()
            }
            '0' => self.octal(),
            _ => self.fail(Err::EEscape),
        }
    }

    /// The octal branch of `lexescape()` (first digit already eaten).
    fn octal(&mut self) -> bool {
        self.now -= 1;
        let mut n = self.lexdigits(8, 1, 3);
        if self.err.is_some() {
            return self.fail(Err::EEscape);
        }
        if n > 0xff {
            self.now -= 1;
            n >>= 3;
        }
        self.retv(Tok::Plain, u32::try_from(n).unwrap_or(0))
    }

    fn lexdigits(&mut self, base: u64, minlen: usize, maxlen: usize) -> u64 {
        let mut n: u64 = 0;
        let mut len = 0;
        while len < maxlen {
            let Some(c) = self.at(0) else { break };
            let d = char::from_u32(c)
                .and_then(|x| x.to_digit(16))
                .map(u64::from)
                .filter(|&d| d < base);
            let Some(d) = d else { break };
            self.now += 1;
            n = n.wrapping_mul(base).wrapping_add(d) & 0xffff_ffff;
            len += 1;
        }
        if len < minlen {
            self.error(Err::EEscape);
        }
        n
    }

    /// `brenext()`: a BRE token after `(?b)`.
    fn brenext(&mut self, c: u32) -> bool {
        match char::from_u32(c) {
            Some('*') => {
                if matches!(self.lasttype, Tok::Empty | Tok::LParen | Tok::Caret) {
                    return self.retv(Tok::Plain, c);
                }
                return self.retv(Tok::Star, 1);
            }
            Some('[') => {
                if self.word_bracket() {
                    return true;
                }
                self.lexcon = Con::Brack;
                if self.next1(b'^') {
                    self.now += 1;
                    return self.retv(Tok::LBrack, 0);
                }
                return self.retv(Tok::LBrack, 1);
            }
            Some('.') => return self.ret(Tok::Dot),
            Some('^') => {
                if matches!(self.lasttype, Tok::Empty | Tok::LParen) {
                    return self.ret(Tok::Caret);
                }
                return self.retv(Tok::Plain, c);
            }
            Some('$') => {
                if self.expanded {
                    self.skip();
                }
                if self.ateos() || (self.next1(b'\\') && self.at(1) == Some(ch(b')'))) {
                    return self.ret(Tok::Dollar);
                }
                return self.retv(Tok::Plain, c);
            }
            Some('\\') => {}
            _ => return self.retv(Tok::Plain, c),
        }
        let Some(d) = self.at(0) else {
            return self.fail(Err::EEscape);
        };
        self.now += 1;
        match char::from_u32(d) {
            Some('{') => {
                self.lexcon = Con::BBnd;
                self.ret(Tok::LBrace)
            }
            Some('(') => self.retv(Tok::LParen, 1),
            Some(')') => self.retv(Tok::RParen, d),
            Some('<') => self.ret(Tok::Lt),
            Some('>') => self.ret(Tok::Gt),
            Some(x @ '1'..='9') => self.retv(Tok::Backref, u32::from(x) - u32::from('0')),
            _ => self.retv(Tok::Plain, d),
        }
    }

    // ---- the parser (regcomp.c), without the automaton ----

    /// `parse()`: branches separated by `|` up to `stopper`.
    fn parse(&mut self, stopper: Tok, lacon: bool) {
        loop {
            self.parsebranch(stopper, lacon);
            if self.err.is_some() {
                return;
            }
            if !self.eat(Tok::Bar) {
                break;
            }
        }
        if !self.see(stopper) {
            self.error(Err::EParen);
        }
    }

    fn parsebranch(&mut self, stopper: Tok, lacon: bool) {
        while !self.see(Tok::Bar) && !self.see(stopper) && !self.see(Tok::Eos) {
            self.parseqatom(stopper, lacon);
            if self.err.is_some() {
                return;
            }
        }
    }

    fn parseqatom(&mut self, _stopper: Tok, lacon: bool) {
        let atomtype = self.nexttype;
        let mut capturing = None;
        match atomtype {
            Tok::Caret
            | Tok::Dollar
            | Tok::SBegin
            | Tok::SEnd
            | Tok::Lt
            | Tok::Gt
            | Tok::WBdry
            | Tok::NWBdry => {
                self.next();
                return;
            }
            Tok::Lacon => {
                self.next();
                self.parse(Tok::RParen, true);
                if self.err.is_some() {
                    return;
                }
                self.next();
                return;
            }
            Tok::Star | Tok::Plus | Tok::Quest | Tok::LBrace => {
                return self.error(Err::BadRpt);
            }
            Tok::RParen => {
                if self.advf || !self.extended {
                    return self.error(Err::EParen);
                }
                self.next();
            }
            Tok::Plain | Tok::CClassS | Tok::CClassC | Tok::Dot => {
                self.next();
            }
            Tok::LBrack => {
                self.bracket();
                self.next();
            }
            Tok::LParen => {
                let cap = !lacon && self.nextvalue != 0;
                if cap {
                    self.nsubexp += 1;
                    let subno = self.nsubexp as usize;
                    if subno >= self.subs.len() {
                        self.subs.resize(subno * 3 / 2 + 1, false);
                    }
                    capturing = Some(subno);
                }
                self.next();
                self.parse(Tok::RParen, lacon);
                self.next();
                if self.err.is_some() {
                    return;
                }
                if let Some(subno) = capturing
                    && let Some(s) = self.subs.get_mut(subno)
                {
                    *s = true;
                }
            }
            Tok::Backref => {
                let n = self.nextvalue as usize;
                if lacon || n >= self.subs.len() || !self.subs.get(n).copied().unwrap_or(false) {
                    return self.error(Err::ESubreg);
                }
                self.next();
            }
            _ => return self.error(Err::Assert),
        }
        if self.err.is_some() {
            return;
        }
        // a quantifier; PostgreSQL 17.12 keeps a group cancelled by `{0}` referable
        // (`(a){0}\1` compiles), so its bounds only matter for their own errors
        match self.nexttype {
            Tok::Star | Tok::Plus | Tok::Quest => {
                self.next();
            }
            Tok::LBrace => {
                self.next();
                let m = self.scannum();
                if self.eat(Tok::Comma) && self.see(Tok::Digit) && m > self.scannum() {
                    return self.error(Err::BadBr);
                }
                if !self.see(Tok::RBrace) {
                    return self.error(Err::BadBr);
                }
                self.next();
            }
            _ => {}
        }
    }

    fn scannum(&mut self) -> u32 {
        let mut n = 0;
        while self.see(Tok::Digit) && n < DUPMAX {
            n = n * 10 + self.nextvalue;
            self.next();
        }
        if self.see(Tok::Digit) || n > DUPMAX {
            self.error(Err::BadBr);
            return 0;
        }
        n
    }

    fn bracket(&mut self) {
        self.next();
        while !self.see(Tok::RBrack) && !self.see(Tok::Eos) {
            self.brackpart();
            if self.err.is_some() {
                return;
            }
        }
    }

    /// `scanplain()`: the name inside `[. .]`, `[= =]` or `[: :]`, as `now` positions.
    fn scanplain(&mut self) -> (usize, usize) {
        let start = self.now;
        self.next();
        let mut end = self.now;
        while self.see(Tok::Plain) {
            end = self.now;
            self.next();
        }
        self.next();
        (start, end)
    }

    fn name(&self, (start, end): (usize, usize)) -> String {
        self.s
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|&c| char::from_u32(c))
            .collect()
    }

    /// `element()`: one character, or a POSIX character name.
    fn element(&mut self, span: (usize, usize)) -> Option<u32> {
        if span.1 == span.0 + 1 {
            return self.s.get(span.0).copied();
        }
        let name = self.name(span);
        if let Some(i) = CNAMES.iter().position(|n| *n == name) {
            return Some(u32::try_from(i).unwrap_or(0));
        }
        self.error(Err::ECollate);
        None
    }

    /// `[.x.]` as a range endpoint: the element's character, or `None` once an error is set
    /// (an empty name is `REG_ECOLLATE`, as in `regcomp.c`'s `brackpart`).
    fn collating_element(&mut self) -> Option<u32> {
        let span = self.scanplain();
        if span.0 >= span.1 {
            self.error(Err::ECollate);
            return None;
        }
        if self.err.is_some() {
            return None;
        }
        self.element(span)
    }

    fn brackpart(&mut self) {
        let startc = match self.nexttype {
            Tok::Range => return self.error(Err::ERange),
            Tok::Plain => {
                let c = self.nextvalue;
                self.next();
                if !self.see(Tok::Range) {
                    return;
                }
                if self.err.is_some() {
                    return;
                }
                c
            }
            Tok::CollEl => match self.collating_element() {
                Some(c) => c,
                None => return,
            },
            Tok::EClass => {
                let span = self.scanplain();
                if span.0 >= span.1 {
                    return self.error(Err::ECollate);
                }
                if self.err.is_none() {
                    self.element(span);
                }
                return;
            }
            Tok::CClass => {
                let span = self.scanplain();
                if span.0 >= span.1 {
                    return self.error(Err::ECtype);
                }
                if self.err.is_none() && !CLASSES.contains(&self.name(span).as_str()) {
                    self.error(Err::ECtype);
                }
                return;
            }
            Tok::CClassS | Tok::CClassC => {
                self.next();
                return;
            }
            _ => return self.error(Err::Assert),
        };
        let endc = if self.see(Tok::Range) {
            self.next();
            match self.nexttype {
                Tok::Plain | Tok::Range => {
                    let c = self.nextvalue;
                    self.next();
                    if self.err.is_some() {
                        return;
                    }
                    c
                }
                Tok::CollEl => match self.collating_element() {
                    Some(c) => c,
                    None => return,
                },
                _ => return self.error(Err::ERange),
            }
        } else {
            startc
        };
        if startc > endc {
            self.error(Err::ERange);
        }
    }
}

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

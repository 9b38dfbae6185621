//! The lexer of `regc_lex.c`: prefixes `***:`/`***=`, embedded options, escapes, bracket
//! expressions, bounds, and the BRE lexer that `(?b)` switches to.

use super::token::{CHR_MAX, Con, Err, Tok, ch, is_alpha, is_digit, is_space};

/// The compiler state of `regcomp.c`'s `struct vars` that validity depends on.
#[allow(clippy::struct_excessive_bools)] // the C code's cflags bits, one field each
pub(super) struct Vars {
    pub(super) s: Vec<u32>,
    pub(super) now: usize,
    /// `REG_EXTENDED`.
    pub(super) extended: bool,
    /// `REG_ADVF` (the ARE extensions).
    pub(super) advf: bool,
    pub(super) quote: bool,
    pub(super) expanded: bool,
    pub(super) lexcon: Con,
    pub(super) nexttype: Tok,
    pub(super) nextvalue: u32,
    pub(super) lasttype: Tok,
    pub(super) err: Option<Err>,
    pub(super) nsubexp: u32,
    /// `v->subs`: which capturing groups are complete (index 0 unused).
    pub(super) subs: Vec<bool>,
}

impl Vars {
    /// The state `check` starts from: ARE flavour, no prefix or option seen yet.
    pub(super) fn new(pattern: &str) -> Self {
        Self {
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
        }
    }

    pub(super) fn ateos(&self) -> bool {
        self.now >= self.s.len()
    }
    pub(super) fn have(&self, n: usize) -> bool {
        self.s.len().saturating_sub(self.now) >= n
    }
    pub(super) fn at(&self, off: usize) -> Option<u32> {
        self.s.get(self.now + off).copied()
    }
    pub(super) fn next1(&self, c: u8) -> bool {
        self.at(0) == Some(ch(c))
    }
    pub(super) fn error(&mut self, e: Err) {
        self.nexttype = Tok::Eos;
        if self.err.is_none() {
            self.err = Some(e);
        }
    }
    pub(super) fn fail(&mut self, e: Err) -> bool {
        self.error(e);
        false
    }
    pub(super) fn ret(&mut self, t: Tok) -> bool {
        self.nexttype = t;
        true
    }
    pub(super) fn retv(&mut self, t: Tok, v: u32) -> bool {
        self.nexttype = t;
        self.nextvalue = v;
        true
    }
    pub(super) fn see(&self, t: Tok) -> bool {
        self.nexttype == t
    }
    pub(super) fn eat(&mut self, t: Tok) -> bool {
        if self.see(t) {
            self.next();
            true
        } else {
            false
        }
    }

    pub(super) fn lexstart(&mut self) {
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

    pub(super) fn prefixes(&mut self) {
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

    pub(super) fn skip(&mut self) {
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
    pub(super) fn next(&mut self) -> bool {
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
    pub(super) fn word_bracket(&mut self) -> bool {
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
    pub(super) fn lexescape(&mut self) -> bool {
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
    pub(super) fn octal(&mut self) -> bool {
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

    pub(super) fn lexdigits(&mut self, base: u64, minlen: usize, maxlen: usize) -> u64 {
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
    pub(super) fn brenext(&mut self, c: u32) -> bool {
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
}

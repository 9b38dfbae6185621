//! The parser of `regcomp.c` (`parse`, `parsebranch`, `parseqatom`, `brackpart`, `scannum`,
//! `range`, `element`, `lookupcclass`), without the automaton it would build.

use super::lex::Vars;
use super::names::{CLASSES, CNAMES};
use super::token::{DUPMAX, Err, Tok};

/// Whether PostgreSQL's regex compiler accepts `pattern` (the token without its leading `/`);
/// the error text `pg_regerror()` gives when it does not.
pub(crate) fn check(pattern: &str) -> Result<(), &'static str> {
    let mut v = Vars::new(pattern);
    v.lexstart();
    if v.err.is_none() {
        v.parse(Tok::Eos, false);
    }
    match v.err {
        Some(e) => Err(e.text()),
        None => Ok(()),
    }
}

impl Vars {
    /// `parse()`: branches separated by `|` up to `stopper`.
    pub(super) fn parse(&mut self, stopper: Tok, lacon: bool) {
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

    pub(super) fn parsebranch(&mut self, stopper: Tok, lacon: bool) {
        while !self.see(Tok::Bar) && !self.see(stopper) && !self.see(Tok::Eos) {
            self.parseqatom(stopper, lacon);
            if self.err.is_some() {
                return;
            }
        }
    }

    pub(super) fn parseqatom(&mut self, _stopper: Tok, lacon: bool) {
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

    pub(super) fn scannum(&mut self) -> u32 {
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

    pub(super) fn bracket(&mut self) {
        self.next();
        while !self.see(Tok::RBrack) && !self.see(Tok::Eos) {
            self.brackpart();
            if self.err.is_some() {
                return;
            }
        }
    }

    /// `scanplain()`: the name inside `[. .]`, `[= =]` or `[: :]`, as `now` positions.
    pub(super) fn scanplain(&mut self) -> (usize, usize) {
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

    pub(super) fn name(&self, (start, end): (usize, usize)) -> String {
        self.s
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|&c| char::from_u32(c))
            .collect()
    }

    /// `element()`: one character, or a POSIX character name.
    pub(super) fn element(&mut self, span: (usize, usize)) -> Option<u32> {
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
    pub(super) fn collating_element(&mut self) -> Option<u32> {
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

    pub(super) fn brackpart(&mut self) {
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

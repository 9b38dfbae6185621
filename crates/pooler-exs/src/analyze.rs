//! Reading the token list: tenant calls, the parameters map and its entries, the tenant logic.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lex::{Kind, Scan, Token, line_col};

/// A read-only view of a scanned script.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub src: &'a str,
    pub scan: &'a Scan,
}

/// The functions whose argument is the tenant parameters map.
const CREATE: &str = "create_tenant";
const UPDATE: &str = "update_tenant";

/// How a map entry's key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyStyle {
    /// `"key" => value`
    String,
    /// `key: value`
    Keyword,
    /// `"key": value`
    QuotedKeyword,
    /// `:key => value`
    Atom,
    /// Any other key expression (`var => value`, `1 => value`); its key is its source text.
    Expression,
}

/// One entry of a map, as byte offsets into the source.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub key: String,
    pub style: KeyStyle,
    pub key_start: usize,
    pub value_start: usize,
    pub value_end: usize,
    /// Byte span of the comma after this entry.
    pub comma: Option<(usize, usize)>,
}

impl RawEntry {
    /// End of the entry including its comma.
    pub fn end_with_comma(&self) -> usize {
        self.comma.map_or(self.value_end, |c| c.1)
    }
}

/// A map literal `%{...}` found in the source.
#[derive(Debug, Clone)]
pub(crate) struct MapInfo {
    /// Token index of `{`.
    pub open: usize,
    /// Token index of `}`.
    pub close: usize,
    /// Byte offset of the `%`.
    pub start: usize,
    /// Byte offset after the `}`.
    pub end: usize,
    pub entries: Vec<RawEntry>,
    pub trailing_comma: bool,
    pub variable: Option<String>,
}

/// The argument of a tenant call that carries the parameters.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    /// A variable (token index).
    Var(usize),
    /// A map literal (token index of its `{`).
    Map(usize),
    /// Something else (byte span), or nothing.
    Other(usize, usize),
}

/// A call to `create_tenant` or `update_tenant`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Token index of the function name.
    pub name: usize,
    pub function: &'static str,
    pub param: Param,
}

/// The create-only guard `if !...get_tenant_by_external_id(...) do ... end`.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    /// Token index of `if`/`unless`.
    pub keyword: usize,
    /// Byte span of the lookup expression (without the negation).
    pub cond: (usize, usize),
    /// Token index of `do`.
    pub do_tok: usize,
    /// Token index of the `else` at the block's level, if any.
    pub else_tok: Option<usize>,
}

/// How the script treats an existing tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TenantLogic {
    /// Creates the tenant only when it is missing: edits to the map do not reach an existing
    /// tenant (`if !Supavisor.Tenants.get_tenant_by_external_id(...) do create_tenant(...) end`).
    CreateOnly,
    /// Updates an existing tenant with `Supavisor.Tenants.update_tenant/2`.
    Upsert,
    /// Neither pattern was recognised.
    Unknown,
}

impl TenantLogic {
    /// The logic in words, naming the create-only trap, as `pgtls pooler inspect` shows it.
    ///
    /// ```
    /// use pooler_exs::TenantLogic;
    /// assert!(TenantLogic::CreateOnly.describe().contains("create-only trap"));
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            TenantLogic::CreateOnly => {
                "create-only (an existing tenant is never updated: the create-only trap)"
            }
            TenantLogic::Upsert => "upsert (update_tenant on an existing tenant)",
            TenantLogic::Unknown => "unknown",
        }
    }
}

impl<'a> View<'a> {
    pub fn tok(&self, i: usize) -> Token {
        self.scan.tokens[i]
    }

    pub fn len(&self) -> usize {
        self.scan.tokens.len()
    }

    pub fn text(&self, i: usize) -> &'a str {
        let t = self.scan.tokens[i];
        &self.src[t.start..t.end]
    }

    pub fn kind(&self, i: usize) -> Kind {
        self.scan.tokens[i].kind
    }

    pub fn is(&self, i: usize, kind: Kind, text: &str) -> bool {
        i < self.len() && self.kind(i) == kind && self.text(i) == text
    }

    fn trivia(&self, i: usize) -> bool {
        matches!(self.kind(i), Kind::Space | Kind::Newline | Kind::Comment)
    }

    /// The next token after `i` that is not white space or a comment.
    pub fn next_sig(&self, i: usize) -> Option<usize> {
        (i + 1..self.len()).find(|&j| !self.trivia(j))
    }

    /// The previous token before `i` that is not white space or a comment.
    pub fn prev_sig(&self, i: usize) -> Option<usize> {
        (0..i).rev().find(|&j| !self.trivia(j))
    }

    /// The byte end of token `i`, or of its group when it opens one.
    fn end_of(&self, i: usize) -> usize {
        if self.kind(i) == Kind::Open {
            self.tok(self.scan.pair[i]).end
        } else {
            self.tok(i).end
        }
    }

    /// Index of the first token starting at or after byte `pos`.
    pub fn token_at(&self, pos: usize) -> usize {
        self.scan.tokens.partition_point(|t| t.start < pos)
    }

    pub fn line(&self, pos: usize) -> usize {
        line_col(self.src, pos).0
    }

    /// The white space at the start of the line holding byte `pos`.
    pub fn line_indent(&self, pos: usize) -> &'a str {
        let ls = self.line_start(pos);
        let line = &self.src[ls..];
        let n = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..n.min(pos - ls)]
    }

    pub fn line_start(&self, pos: usize) -> usize {
        self.src[..pos].rfind('\n').map_or(0, |p| p + 1)
    }

    /// After byte `pos`, skip spaces and a comment; the newline token ending that line, if any.
    pub fn eol_after(&self, pos: usize) -> Option<usize> {
        let mut j = self.token_at(pos);
        while j < self.len() && matches!(self.kind(j), Kind::Space | Kind::Comment) {
            j += 1;
        }
        (j < self.len() && self.kind(j) == Kind::Newline).then_some(j)
    }

    /// The newline style to use near byte `pos`: the next newline's, else the file's first.
    pub fn newline_near(&self, pos: usize) -> &'a str {
        let j = self.token_at(pos);
        (j..self.len())
            .chain(0..j)
            .find(|&k| self.kind(k) == Kind::Newline)
            .map_or("\n", |k| self.text(k))
    }

    /// Top-level arguments of a call group: (first, last) token indices of each.
    fn split_group(&self, open: usize) -> Vec<(Vec<usize>, Option<usize>)> {
        let close = self.scan.pair[open];
        let mut out = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut j = open + 1;
        while j < close {
            match self.kind(j) {
                Kind::Op if self.text(j) == "," => {
                    out.push((std::mem::take(&mut cur), Some(j)));
                }
                Kind::Space | Kind::Newline | Kind::Comment => {}
                Kind::Open => {
                    cur.push(j);
                    j = self.scan.pair[j];
                }
                _ => cur.push(j),
            }
            j += 1;
        }
        out.push((cur, None));
        out
    }

    fn param_of(&self, toks: &[usize]) -> Param {
        match toks {
            [one] if self.kind(*one) == Kind::Ident => Param::Var(*one),
            [pct, brace]
                if self.is(*pct, Kind::Op, "%")
                    && *brace == pct + 1
                    && self.is(*brace, Kind::Open, "{") =>
            {
                Param::Map(*brace)
            }
            [first, .., last] => Param::Other(self.tok(*first).start, self.end_of(*last)),
            [one] => Param::Other(self.tok(*one).start, self.end_of(*one)),
            [] => Param::Other(0, 0),
        }
    }

    /// Every call to `create_tenant`/`update_tenant` that is Supavisor's (qualified with
    /// `Tenants.` or unqualified, not a `def`).
    pub fn calls(&self) -> Vec<Call> {
        let mut out = Vec::new();
        for i in 0..self.len() {
            if self.kind(i) != Kind::Ident {
                continue;
            }
            let function = match self.text(i) {
                CREATE => CREATE,
                UPDATE => UPDATE,
                _ => continue,
            };
            if !self.is(i + 1, Kind::Open, "(") {
                continue;
            }
            // Walk back over `Alias.` qualifiers.
            let mut chain_start = i;
            let mut qualified_by_tenants = None;
            while let Some(p) = self.prev_sig(chain_start) {
                if !self.is(p, Kind::Op, ".") {
                    break;
                }
                match self.prev_sig(p) {
                    Some(pp) if self.kind(pp) == Kind::Alias => {
                        if qualified_by_tenants.is_none() {
                            qualified_by_tenants = Some(self.text(pp) == "Tenants");
                        }
                        chain_start = pp;
                    }
                    _ => break,
                }
            }
            if qualified_by_tenants == Some(false) {
                continue;
            }
            let before = self.prev_sig(chain_start);
            if qualified_by_tenants.is_none()
                && before.is_some_and(|b| {
                    self.is(b, Kind::Ident, "def")
                        || self.is(b, Kind::Ident, "defp")
                        || self.is(b, Kind::Op, ".")
                })
            {
                continue;
            }
            let piped = before.filter(|&b| self.is(b, Kind::Op, "|>"));
            let args = self.split_group(i + 1);
            let mut index = usize::from(function == UPDATE);
            let param = if let Some(pipe) = piped {
                if index == 0 {
                    match self.prev_sig(pipe) {
                        Some(v) if self.kind(v) == Kind::Ident => Param::Var(v),
                        Some(c) if self.is(c, Kind::Close, "}") => {
                            let open = self.scan.pair[c];
                            if open > 0 && self.is(open - 1, Kind::Op, "%") {
                                Param::Map(open)
                            } else {
                                Param::Other(self.tok(open).start, self.tok(c).end)
                            }
                        }
                        Some(o) => Param::Other(self.tok(o).start, self.tok(o).end),
                        None => Param::Other(0, 0),
                    }
                } else {
                    index -= 1;
                    args.get(index)
                        .map_or(Param::Other(0, 0), |(toks, _)| self.param_of(toks))
                }
            } else {
                args.get(index)
                    .map_or(Param::Other(0, 0), |(toks, _)| self.param_of(toks))
            };
            out.push(Call {
                name: i,
                function,
                param,
            });
        }
        out
    }

    /// The `{` of the last `name = %{` before token `before`.
    pub fn binding(&self, name: &str, before: usize) -> Option<usize> {
        (0..before).rev().find_map(|j| {
            if self.kind(j) != Kind::Ident || self.text(j) != name {
                return None;
            }
            if self.prev_sig(j).is_some_and(|p| self.is(p, Kind::Op, ".")) {
                return None;
            }
            let eq = self.next_sig(j)?;
            if !self.is(eq, Kind::Op, "=") {
                return None;
            }
            let pct = self.next_sig(eq)?;
            (self.is(pct, Kind::Op, "%") && self.is(pct + 1, Kind::Open, "{")).then_some(pct + 1)
        })
    }

    /// The parameters map: the one map literal every tenant call uses.
    pub fn params(&self) -> Result<MapInfo> {
        let calls = self.calls();
        if calls.is_empty() {
            return Err(Error::NoTenantCall);
        }
        let mut maps: Vec<(usize, Option<String>)> = Vec::new();
        for call in &calls {
            let (line, column) = line_col(self.src, self.tok(call.name).start);
            let found = match call.param {
                Param::Var(v) => {
                    let name = self.text(v);
                    let Some(open) = self.binding(name, call.name) else {
                        return Err(Error::UnboundParams {
                            variable: name.to_owned(),
                            function: call.function.to_owned(),
                            line,
                            column,
                        });
                    };
                    (open, Some(name.to_owned()))
                }
                Param::Map(open) => (open, None),
                Param::Other(a, b) => {
                    return Err(Error::ParamsNotMap {
                        function: call.function.to_owned(),
                        argument: self.src.get(a..b).unwrap_or_default().to_owned(),
                        line,
                        column,
                    });
                }
            };
            if !maps.iter().any(|m| m.0 == found.0) {
                maps.push(found);
            }
        }
        if maps.len() > 1 {
            return Err(Error::AmbiguousParams {
                lines: maps
                    .iter()
                    .map(|m| self.line(self.tok(m.0).start))
                    .collect(),
            });
        }
        let (open, variable) = maps.swap_remove(0);
        Ok(self.map_at(open, variable))
    }

    /// The entries of the map whose `{` is token `open`.
    pub fn map_at(&self, open: usize, variable: Option<String>) -> MapInfo {
        let close = self.scan.pair[open];
        let segments = self.split_group(open);
        let mut entries = Vec::new();
        let mut trailing_comma = false;
        let last_index = segments.len() - 1;
        for (n, (toks, comma)) in segments.into_iter().enumerate() {
            if toks.is_empty() {
                if n == last_index && !entries.is_empty() {
                    trailing_comma = true;
                }
                continue;
            }
            let comma = comma.map(|c| (self.tok(c).start, self.tok(c).end));
            entries.push(self.entry(&toks, comma));
        }
        MapInfo {
            open,
            close,
            start: self.tok(open).start.saturating_sub(1),
            end: self.tok(close).end,
            entries,
            trailing_comma,
            variable,
        }
    }

    fn entry(&self, toks: &[usize], comma: Option<(usize, usize)>) -> RawEntry {
        let first = toks[0];
        let key_start = self.tok(first).start;
        let (key, style, value_toks): (String, KeyStyle, &[usize]) =
            if self.kind(first) == Kind::KwKey {
                let t = self.text(first);
                let t = &t[..t.len() - 1];
                if t.starts_with(['"', '\'']) {
                    (unquote(t).to_owned(), KeyStyle::QuotedKeyword, &toks[1..])
                } else {
                    (t.to_owned(), KeyStyle::Keyword, &toks[1..])
                }
            } else if toks.len() >= 2 && self.is(toks[1], Kind::Op, "=>") {
                let t = self.text(first);
                match self.kind(first) {
                    Kind::Str => (unquote(t).to_owned(), KeyStyle::String, &toks[2..]),
                    Kind::Atom => (unquote(&t[1..]).to_owned(), KeyStyle::Atom, &toks[2..]),
                    _ => (
                        self.src[key_start..self.end_of(first)].to_owned(),
                        KeyStyle::Expression,
                        &toks[2..],
                    ),
                }
            } else {
                // Not `k => v` nor `k: v` (for example a map update `%{m | ...}`): opaque.
                let end = self.end_of(toks[toks.len() - 1]);
                (
                    self.src[key_start..end].to_owned(),
                    KeyStyle::Expression,
                    &[],
                )
            };
        let (value_start, value_end) = match value_toks {
            [] => {
                let e = self.end_of(toks[toks.len() - 1]);
                (e, e)
            }
            [first_v, ..] => (
                self.tok(*first_v).start,
                self.end_of(value_toks[value_toks.len() - 1]),
            ),
        };
        RawEntry {
            key,
            style,
            key_start,
            value_start,
            value_end,
            comma,
        }
    }

    /// Classify the tenant logic; for create-only, also return the guard to rewrite.
    pub fn tenant_logic(&self) -> (TenantLogic, Option<Guard>, Vec<Call>) {
        let calls = self.calls();
        if calls.iter().any(|c| c.function == UPDATE) {
            return (TenantLogic::Upsert, None, calls);
        }
        for call in calls.iter().filter(|c| c.function == CREATE) {
            if let Some(guard) = self.guard_of(call.name) {
                return (TenantLogic::CreateOnly, Some(guard), calls);
            }
        }
        (TenantLogic::Unknown, None, calls)
    }

    /// The innermost `if`/`unless` around token `at` whose condition looks the tenant up and
    /// is negated.
    fn guard_of(&self, at: usize) -> Option<Guard> {
        for kw in (0..at).rev() {
            let unless = self.is(kw, Kind::Ident, "unless");
            if !(unless || self.is(kw, Kind::Ident, "if")) {
                continue;
            }
            let Some(do_tok) = self.find_do(kw) else {
                continue;
            };
            if do_tok >= at {
                continue;
            }
            let Some((end_tok, else_tok)) = self.find_end(do_tok) else {
                continue;
            };
            if end_tok <= at {
                continue;
            }
            let mentions_lookup =
                (kw + 1..do_tok).any(|j| self.is(j, Kind::Ident, "get_tenant_by_external_id"));
            if !mentions_lookup {
                continue;
            }
            let cond = self.negated_condition(kw, do_tok, unless)?;
            return Some(Guard {
                keyword: kw,
                cond,
                do_tok,
                else_tok,
            });
        }
        None
    }

    /// The innermost `fn` or `for ... do` block around token `at` (token index of `fn` or
    /// `for`): code inside runs once per item, as in upstream's registry script
    /// (`Enum.each(databases, fn db -> ... end)`), or only when the function is called.
    pub fn enclosing_loop(&self, at: usize) -> Option<usize> {
        // A stack of open blocks: `Some(token)` for `fn`/`for`, `None` for other `do` blocks.
        let mut stack: Vec<Option<usize>> = Vec::new();
        for j in 0..at.min(self.len()) {
            if self.kind(j) != Kind::Ident {
                continue;
            }
            if self.prev_sig(j).is_some_and(|p| self.is(p, Kind::Op, ".")) {
                continue;
            }
            match self.text(j) {
                "fn" => stack.push(Some(j)),
                "do" => {
                    // `for x <- xs do` (a `for` earlier on the `do`'s line).
                    let first = self.token_at(self.line_start(self.tok(j).start));
                    stack.push((first..j).find(|&k| self.is(k, Kind::Ident, "for")));
                }
                "end" => {
                    stack.pop();
                }
                _ => {}
            }
        }
        stack.into_iter().rev().flatten().next()
    }

    /// The `do` of an `if`/`unless` header starting at `kw` (skipping bracket groups).
    fn find_do(&self, kw: usize) -> Option<usize> {
        let mut j = kw + 1;
        while j < self.len() {
            match self.kind(j) {
                Kind::Open => j = self.scan.pair[j],
                Kind::Close | Kind::KwKey => return None,
                Kind::Ident if self.text(j) == "do" => return Some(j),
                Kind::Ident if self.text(j) == "end" => return None,
                _ => {}
            }
            j += 1;
        }
        None
    }

    /// The `end` matching `do_tok`, and the `else` at its level, if any.
    fn find_end(&self, do_tok: usize) -> Option<(usize, Option<usize>)> {
        let mut depth = 1usize;
        let mut else_tok = None;
        for j in do_tok + 1..self.len() {
            if self.kind(j) != Kind::Ident {
                continue;
            }
            match self.text(j) {
                "do" | "fn" => depth += 1,
                "else" if depth == 1 => else_tok = Some(j),
                "end" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((j, else_tok));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The condition without its negation: `!x`, `not x`, `is_nil(x)`, `x == nil`, `unless x`.
    fn negated_condition(&self, kw: usize, do_tok: usize, unless: bool) -> Option<(usize, usize)> {
        let first = self.next_sig(kw)?;
        let last = self.prev_sig(do_tok)?;
        if first > last {
            return None;
        }
        let span = |a: usize, b: usize| -> Option<(usize, usize)> {
            (a <= b).then(|| (self.tok(a).start, self.end_of(b)))
        };
        if unless {
            return span(first, last);
        }
        if self.is(first, Kind::Op, "!") || self.is(first, Kind::Ident, "not") {
            return span(self.next_sig(first)?, last);
        }
        if self.is(first, Kind::Ident, "is_nil")
            && self.is(first + 1, Kind::Open, "(")
            && self.scan.pair[first + 1] == last
        {
            let inner_first = self.next_sig(first + 1)?;
            let inner_last = self.prev_sig(last)?;
            return span(inner_first, inner_last);
        }
        if self.is(last, Kind::Ident, "nil") {
            let op = self.prev_sig(last)?;
            if self.is(op, Kind::Op, "==") || self.is(op, Kind::Op, "===") {
                return span(first, self.prev_sig(op)?);
            }
        }
        None
    }
}

/// The text between the quotes of `"..."`, `'...'`, or the text itself.
fn unquote(t: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    t
}

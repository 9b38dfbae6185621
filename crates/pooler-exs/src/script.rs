//! The editable script: parsing, the parameters map, edits and the inspection summary.

use std::fmt;

use serde::Serialize;

use crate::analyze::{KeyStyle, MapInfo, Param, RawEntry, TenantLogic, View};
use crate::error::{Error, Result};
use crate::lex::{self, Kind, Scan};
use crate::value::{ValueExpr, elixir_string};

/// A pooler.exs script: the original text plus its scan. Edits splice the text in place, so
/// every byte outside an edit stays as it was; [`Script::as_str`] / `to_string()` give the text.
#[derive(Debug, Clone)]
pub struct Script {
    src: String,
    scan: Scan,
}

/// A read-only view of the tenant parameters map (borrowing the script).
#[derive(Debug, Clone)]
pub struct ParamsMap<'a> {
    src: &'a str,
    info: MapInfo,
    loop_line: Option<usize>,
}

/// One `key => value` / `key: value` entry of the parameters map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    key: &'a str,
    style: KeyStyle,
    value: &'a str,
    line: usize,
}

impl<'a> Entry<'a> {
    /// The key name without quotes or colons (`"enforce_ssl" =>` and `enforce_ssl:` both give
    /// `enforce_ssl`); for [`KeyStyle::Expression`] the key's source text.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// How the key is written.
    pub fn style(&self) -> KeyStyle {
        self.style
    }

    /// The value's exact source text (without the comma or a trailing comment).
    pub fn value(&self) -> &'a str {
        self.value
    }

    /// The 1-based line where the entry starts.
    pub fn line(&self) -> usize {
        self.line
    }
}

impl<'a> ParamsMap<'a> {
    /// The variable the map is bound to (`params` in `params = %{...}`), or `None` when the map
    /// is written inline in the tenant call.
    pub fn variable(&self) -> Option<&str> {
        self.info.variable.as_deref()
    }

    /// The 1-based line of the map's `%{`.
    pub fn line(&self) -> usize {
        lex::line_col(self.src, self.info.start).0
    }

    /// The 1-based line of the `fn` (or `for`) the map is built in, when it is not at the top
    /// level: upstream's registry script (supabase/supabase `docker/volumes/pooler/pooler.exs`
    /// around 1c8aa2c) builds it in `Enum.each(databases, fn db -> ... end)`, one tenant per
    /// database of `databases.json`, so every key set here applies to each of those tenants.
    pub fn loop_line(&self) -> Option<usize> {
        self.loop_line
    }

    /// The map's exact source, from `%{` to `}`.
    pub fn source(&self) -> &'a str {
        &self.src[self.info.start..self.info.end]
    }

    /// The entries in source order (duplicates included).
    pub fn entries(&self) -> Vec<Entry<'a>> {
        self.info
            .entries
            .iter()
            .map(|e| Entry {
                key: self.key_of(e),
                style: e.style,
                value: &self.src[e.value_start..e.value_end],
                line: lex::line_col(self.src, e.key_start).0,
            })
            .collect()
    }

    fn key_of(&self, e: &RawEntry) -> &'a str {
        // Keys are substrings of the source in every style; find it back to borrow from `src`.
        let window = &self.src[e.key_start..e.value_start.max(e.key_start)];
        window
            .find(e.key.as_str())
            .map_or("", |p| &window[p..p + e.key.len()])
    }

    /// The key names in source order, each once.
    pub fn keys(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for e in self.entries() {
            if !out.contains(&e.key) {
                out.push(e.key);
            }
        }
        out
    }

    /// The value source of `key` (the last one when the key is repeated, as Elixir keeps it).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.entries()
            .into_iter()
            .rev()
            .find(|e| e.key == key && e.style != KeyStyle::Expression)
            .map(|e| e.value)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The style new entries get: the last entry's, `"key" =>` for an empty map.
    pub fn key_style(&self) -> KeyStyle {
        self.info
            .entries
            .iter()
            .rev()
            .map(|e| e.style)
            .find(|s| *s != KeyStyle::Expression)
            .unwrap_or(KeyStyle::String)
    }
}

/// What a boolean-like parameter is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FlagState {
    /// The literal `true`.
    True,
    /// The literal `false`.
    False,
    /// The key is not in the map (Supavisor's default applies: false).
    Absent,
    /// Some other expression, decided at run time.
    Expression,
}

impl FlagState {
    fn of(value: Option<&str>) -> Self {
        match value {
            None => FlagState::Absent,
            Some("true") => FlagState::True,
            Some("false") => FlagState::False,
            Some(_) => FlagState::Expression,
        }
    }

    /// The state in words, as `pgtls pooler inspect` shows it.
    ///
    /// ```
    /// use pooler_exs::FlagState;
    /// assert_eq!(FlagState::Absent.describe(), "absent (default false)");
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            FlagState::True => "true",
            FlagState::False => "false",
            FlagState::Absent => "absent (default false)",
            FlagState::Expression => "an expression (decided at run time)",
        }
    }
}

/// A summary of the script for `pgtls pooler inspect --json`. Keys are stable; new ones may be
/// added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The variable the parameters map is bound to, if any.
    pub params_variable: Option<String>,
    /// The 1-based line of the map's `%{`.
    pub params_line: usize,
    /// The parameter keys in source order.
    pub params_keys: Vec<String>,
    /// How the map's keys are written (new keys follow it).
    pub key_style: KeyStyle,
    /// `enforce_ssl`.
    pub enforce_ssl: FlagState,
    /// `upstream_ssl`.
    pub upstream_ssl: FlagState,
    /// The source of `upstream_verify`, if present.
    pub upstream_verify: Option<String>,
    /// Whether `upstream_tls_ca` is present.
    pub upstream_tls_ca: bool,
    /// The source of `sni_hostname`, if present (Supavisor 2.9+ finds the tenant by the TLS
    /// SNI host name when the user name has no `.tenant` suffix).
    pub sni_hostname: Option<String>,
    /// The 1-based line of the `fn`/`for` the map is built in ([`ParamsMap::loop_line`]):
    /// one tenant per item (upstream's database registry), `None` at the top level.
    pub params_loop_line: Option<usize>,
    /// How the script treats an existing tenant.
    pub tenant_logic: TenantLogic,
    /// `enforce_ssl` is `true` and the script upserts, so a restart applies it to an existing
    /// tenant. With create-only logic it only applies on a fresh database.
    pub enforce_ssl_reaches_existing_tenant: bool,
}

struct Splice {
    start: usize,
    end: usize,
    text: String,
}

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidKey {
            key: key.to_owned(),
            reason:
                "a parameter key must be ASCII letters, digits and `_`, not starting with a digit"
                    .to_owned(),
        })
    }
}

fn entry_text(style: KeyStyle, key: &str, value: &str) -> String {
    match style {
        KeyStyle::Keyword => format!("{key}: {value}"),
        KeyStyle::QuotedKeyword => format!("{}: {value}", elixir_string(key)),
        KeyStyle::Atom => format!(":{key} => {value}"),
        KeyStyle::String | KeyStyle::Expression => format!("{} => {value}", elixir_string(key)),
    }
}

impl Script {
    /// Scan `text`. Fails on unbalanced brackets and on unterminated strings, charlists,
    /// sigils, heredocs, quoted atoms and interpolations, with line and column.
    ///
    /// Parsing does not require a parameters map; [`Script::params_map`] looks for it.
    pub fn parse(text: &str) -> Result<Script> {
        let scan = lex::scan(text)?;
        Ok(Script {
            src: text.to_owned(),
            scan,
        })
    }

    /// The current text.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    fn view(&self) -> View<'_> {
        View {
            src: &self.src,
            scan: &self.scan,
        }
    }

    /// The tenant parameters map: the map literal passed to `Supavisor.Tenants.create_tenant`
    /// / `update_tenant`, directly or through a variable bound with `var = %{...}` before the
    /// call (the last such binding wins). All tenant calls must use the same map.
    pub fn params_map(&self) -> Result<ParamsMap<'_>> {
        let view = self.view();
        let info = view.params()?;
        let loop_line = view
            .enclosing_loop(info.open)
            .map(|t| view.line(view.tok(t).start));
        Ok(ParamsMap {
            src: &self.src,
            info,
            loop_line,
        })
    }

    /// Shortcut for `params_map()?.get(key)`.
    pub fn get(&self, key: &str) -> Result<Option<&str>> {
        Ok(self.params_map()?.get(key))
    }

    /// Set `key` to `value` in the parameters map. Returns whether the text changed.
    ///
    /// A present key has its value replaced in place (every occurrence, when repeated). A new
    /// key, in the last entry's key style, is a line of its own in a multi-line map (with a
    /// trailing comma: after the last entry when the map ends in a comma, else just before the
    /// last entry), so no existing line changes; line endings follow the file.
    pub fn set(&mut self, key: &str, value: &ValueExpr) -> Result<bool> {
        check_key(key)?;
        let new = value.source();
        let view = self.view();
        let map = view.params()?;
        let present: Vec<&RawEntry> = map
            .entries
            .iter()
            .filter(|e| e.key == key && e.style != KeyStyle::Expression)
            .collect();
        let splices = if present.is_empty() {
            insert_entry(view, &map, key, &new)
        } else {
            present
                .iter()
                .filter(|e| self.src[e.value_start..e.value_end] != new)
                .map(|e| Splice {
                    start: e.value_start,
                    end: e.value_end,
                    text: if e.value_start == e.value_end {
                        format!(" {new}")
                    } else {
                        new.clone()
                    },
                })
                .collect()
        };
        self.apply(splices)
    }

    /// `set(key, &ValueExpr::Bool(value))`, for example `set_bool("enforce_ssl", true)`.
    pub fn set_bool(&mut self, key: &str, value: bool) -> Result<bool> {
        self.set(key, &ValueExpr::Bool(value))
    }

    /// Remove every entry for `key`. Returns whether the text changed.
    ///
    /// An entry on lines of its own goes with those lines (and a same-line comment); inline,
    /// the entry and one separating comma go. Comment lines above the entry stay.
    pub fn remove(&mut self, key: &str) -> Result<bool> {
        check_key(key)?;
        let mut changed = false;
        loop {
            let view = self.view();
            let map = view.params()?;
            let Some(k) = map
                .entries
                .iter()
                .position(|e| e.key == key && e.style != KeyStyle::Expression)
            else {
                return Ok(changed);
            };
            let splices = remove_entry(view, &map, k);
            if !self.apply(splices)? {
                return Ok(changed);
            }
            changed = true;
        }
    }

    /// Supavisor's upstream TLS (pooler to PostgreSQL): `upstream_ssl => true`,
    /// `upstream_verify => "peer"` and `upstream_tls_ca` set to the DER of the PEM file at
    /// `ca_pem_path`, read when the script runs in the container
    /// ([`ValueExpr::der_from_pem_file`]). Returns whether the text changed.
    pub fn set_upstream_tls(&mut self, ca_pem_path: &str) -> Result<bool> {
        let a = self.set_bool("upstream_ssl", true)?;
        let b = self.set("upstream_verify", &ValueExpr::string("peer"))?;
        let c = self.set(
            "upstream_tls_ca",
            &ValueExpr::der_from_pem_file(ca_pem_path),
        )?;
        Ok(a || b || c)
    }

    /// How the script treats an existing tenant.
    pub fn tenant_logic(&self) -> TenantLogic {
        self.view().tenant_logic().0
    }

    /// Turn create-only logic into an upsert with `Supavisor.Tenants.update_tenant/2`:
    ///
    /// ```text
    /// if !Supavisor.Tenants.get_tenant_by_external_id(params["external_id"]) do
    ///   {:ok, _} = Supavisor.Tenants.create_tenant(params)
    /// end
    /// ```
    /// becomes
    /// ```text
    /// tenant = Supavisor.Tenants.get_tenant_by_external_id(params["external_id"])
    /// if tenant do
    ///   {:ok, _} = Supavisor.Tenants.update_tenant(tenant, params)
    /// else
    ///   {:ok, _} = Supavisor.Tenants.create_tenant(params)
    /// end
    /// ```
    /// Only the `if ... do` header changes; the body and `end` stay. When the `if` already has
    /// an `else` (upstream's registry script, around supabase/supabase 1c8aa2c, logs "tenant
    /// already exists" there), the header becomes `tenant = <lookup>` and `if !tenant do`, and
    /// the update is a new line at the top of the `else` branch; the rest of that branch stays.
    /// The update is `{:ok, _} = ...` in both forms: a failed update stops the script (and the
    /// pooler's start) instead of leaving a tenant without the new settings.
    ///
    /// Already upserting: no change (`Ok(false)`). Unknown logic, an `else` with code on its
    /// own line, an `if` that is not at the start of its line, or parameters that are not a
    /// variable: [`Error::CannotRewrite`].
    pub fn rewrite_to_upsert(&mut self) -> Result<bool> {
        let view = self.view();
        let (logic, guard, calls) = view.tenant_logic();
        let first_call_line = calls
            .first()
            .map_or(1, |c| view.line(view.tok(c.name).start));
        let guard = match (logic, guard) {
            (TenantLogic::Upsert, _) => return Ok(false),
            (TenantLogic::CreateOnly, Some(g)) => g,
            _ => {
                return Err(Error::CannotRewrite {
                    line: first_call_line,
                    reason: "no create-only pattern `if !Supavisor.Tenants.get_tenant_by_external_id(...) do ... create_tenant(params) end` found".to_owned(),
                });
            }
        };
        let kw = view.tok(guard.keyword);
        let line = view.line(kw.start);
        let cannot = |reason: &str| Error::CannotRewrite {
            line,
            reason: reason.to_owned(),
        };
        // With an `else` (upstream's registry script logs "already exists" there), the update
        // goes on a line of its own right after `else`: the `else` must end its line.
        let else_at = match guard.else_tok {
            Some(e) => {
                let end = view.tok(e).end;
                let nl = view
                    .eol_after(end)
                    .ok_or_else(|| cannot("the `else` of the `if` does not end its line"))?;
                Some(view.tok(nl).end)
            }
            None => None,
        };
        let ls = view.line_start(kw.start);
        if !self.src[ls..kw.start]
            .chars()
            .all(|c| c == ' ' || c == '\t')
        {
            return Err(cannot("the `if` does not start its line"));
        }
        let (variable, call_tok) = calls
            .iter()
            .find_map(|c| match c.param {
                Param::Var(v) if c.function == "create_tenant" && c.name > guard.do_tok => {
                    Some((view.text(v), c.name))
                }
                _ => None,
            })
            .ok_or_else(|| cannot("the parameters passed to create_tenant are not a variable"))?;
        // The new update_tenant call sits before the block: it must see the same binding.
        if view.binding(variable, guard.keyword) != view.binding(variable, call_tok) {
            return Err(cannot(&format!(
                "{variable:?} is bound to its map inside the `if` block"
            )));
        }
        let tenant_var = if variable == "tenant" {
            "existing_tenant"
        } else {
            "tenant"
        };
        let indent = view.line_indent(kw.start);
        let do_end = view.tok(guard.do_tok).end;
        let nl = view.newline_near(do_end);
        let body_indent = view
            .eol_after(do_end)
            .and_then(|n| {
                let next_line = view.tok(n).end;
                let rest = &self.src[next_line..];
                let ws = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                let first = rest[ws..].chars().next();
                (ws > indent.len() && !matches!(first, Some('\n' | '\r') | None))
                    .then(|| &rest[..ws])
            })
            .map_or_else(|| format!("{indent}  "), str::to_owned);
        let cond = &self.src[guard.cond.0..guard.cond.1];
        let update =
            format!("{{:ok, _}} = Supavisor.Tenants.update_tenant({tenant_var}, {variable})");
        let splices = match else_at {
            None => vec![Splice {
                start: kw.start,
                end: do_end,
                text: format!(
                    "{tenant_var} = {cond}{nl}{indent}if {tenant_var} do{nl}{body_indent}{update}{nl}{indent}else"
                ),
            }],
            Some(else_line_end) => {
                let rest = &self.src[else_line_end..];
                let ws = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                let else_indent = if ws > indent.len() && !rest[ws..].starts_with(['\n', '\r']) {
                    rest[..ws].to_owned()
                } else {
                    body_indent.clone()
                };
                vec![
                    Splice {
                        start: kw.start,
                        end: do_end,
                        text: format!("{tenant_var} = {cond}{nl}{indent}if !{tenant_var} do"),
                    },
                    Splice {
                        start: else_line_end,
                        end: else_line_end,
                        text: format!("{else_indent}{update}{nl}"),
                    },
                ]
            }
        };
        let before_map = view
            .params()
            .ok()
            .map(|m| self.src[m.start..m.end].to_owned());
        let saved = self.clone();
        let changed = self.apply(splices)?;
        // Safety net: the tenant calls must still agree on the same map.
        let after_map = self
            .view()
            .params()
            .ok()
            .map(|m| self.src[m.start..m.end].to_owned());
        if after_map != before_map {
            *self = saved;
            return Err(cannot(
                "the rewritten calls would not resolve to the same parameters map",
            ));
        }
        Ok(changed)
    }

    /// A summary for `pgtls pooler inspect --json`.
    pub fn inspect(&self) -> Result<Inspection> {
        let map = self.params_map()?;
        let tenant_logic = self.tenant_logic();
        let enforce_ssl = FlagState::of(map.get("enforce_ssl"));
        Ok(Inspection {
            params_variable: map.variable().map(str::to_owned),
            params_line: map.line(),
            params_keys: map.keys().into_iter().map(str::to_owned).collect(),
            key_style: map.key_style(),
            enforce_ssl,
            upstream_ssl: FlagState::of(map.get("upstream_ssl")),
            upstream_verify: map.get("upstream_verify").map(str::to_owned),
            upstream_tls_ca: map.contains_key("upstream_tls_ca"),
            sni_hostname: map.get("sni_hostname").map(str::to_owned),
            params_loop_line: map.loop_line(),
            tenant_logic,
            enforce_ssl_reaches_existing_tenant: enforce_ssl == FlagState::True
                && tenant_logic == TenantLogic::Upsert,
        })
    }

    fn apply(&mut self, mut splices: Vec<Splice>) -> Result<bool> {
        if splices.is_empty() {
            return Ok(false);
        }
        splices.sort_by_key(|s| std::cmp::Reverse(s.start));
        let mut out = self.src.clone();
        for s in &splices {
            out.replace_range(s.start..s.end, &s.text);
        }
        if out == self.src {
            return Ok(false);
        }
        let scan = lex::scan(&out).map_err(|e| Error::EditBroke {
            reason: e.to_string(),
        })?;
        self.src = out;
        self.scan = scan;
        Ok(true)
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.src)
    }
}

fn insert_entry(view: View<'_>, map: &MapInfo, key: &str, value: &str) -> Vec<Splice> {
    let style = map
        .entries
        .iter()
        .rev()
        .map(|e| e.style)
        .find(|s| *s != KeyStyle::Expression)
        .unwrap_or(KeyStyle::String);
    let entry = entry_text(style, key, value);
    let open = view.tok(map.open);
    let close = view.tok(map.close);
    let insert = |at: usize, text: String| Splice {
        start: at,
        end: at,
        text,
    };
    let Some(last) = map.entries.last() else {
        let has_newline = (map.open + 1..map.close).any(|j| view.kind(j) == Kind::Newline);
        if has_newline {
            let nl = view.newline_near(open.end);
            let indent = view.line_indent(open.start);
            // After a comment on the `%{` line, if any.
            let at = view
                .eol_after(open.end)
                .filter(|&n| n < map.close)
                .map_or(open.end, |n| view.tok(n).start);
            return vec![insert(at, format!("{nl}{indent}  {entry}"))];
        }
        return vec![insert(open.end, entry)];
    };
    let trailing = map.trailing_comma;
    let anchor = if trailing {
        last.end_with_comma()
    } else {
        last.value_end
    };
    let multiline = view.line(last.key_start) != view.line(open.start);
    if !multiline {
        return vec![if trailing {
            insert(anchor, format!(" {entry},"))
        } else {
            insert(anchor, format!(", {entry}"))
        }];
    }
    let indent = view.line_indent(last.key_start);
    if !trailing && let Some(at) = line_before_last(view, map, open.end) {
        // A line of its own before the last entry, ending in a comma like its siblings: no
        // existing line changes (`}]` stays `}]`).
        let nl = view.newline_near(last.key_start);
        return vec![insert(at, format!("{indent}{entry},{nl}"))];
    }
    let tail = if trailing { "," } else { "" };
    match view.eol_after(anchor) {
        Some(nl_tok) if view.tok(nl_tok).start < close.start => {
            let nl = view.text(nl_tok);
            let mut out = vec![insert(
                view.tok(nl_tok).start,
                format!("{nl}{indent}{entry}{tail}"),
            )];
            if !trailing {
                out.push(insert(last.value_end, ",".to_owned()));
            }
            out
        }
        _ => {
            let nl = view.newline_near(last.key_start);
            let lead = if trailing { "" } else { "," };
            vec![insert(anchor, format!("{lead}{nl}{indent}{entry}{tail}"))]
        }
    }
}

/// Where a new line can go before the last entry of a multi-line map without touching any
/// existing line: the start of the last entry's line, or of the comment lines right above it
/// (they describe it). `None` when the last entry does not start its own line.
fn line_before_last(view: View<'_>, map: &MapInfo, open_end: usize) -> Option<usize> {
    let last = map.entries.last()?;
    let src = view.src;
    let ls = view.line_start(last.key_start);
    if !src[ls..last.key_start]
        .chars()
        .all(|c| c == ' ' || c == '\t')
    {
        return None;
    }
    // The earliest byte the insertion may move back to: after the previous entry's line, or
    // after the `%{` line.
    let floor = match map.entries.len().checked_sub(2).map(|i| &map.entries[i]) {
        Some(prev) => view
            .eol_after(prev.end_with_comma())
            .map(|n| view.tok(n).end)?,
        None => view.eol_after(open_end).map(|n| view.tok(n).end)?,
    };
    if floor > ls {
        return None;
    }
    let mut at = ls;
    while at > floor {
        let prev_start = view.line_start(at - 1);
        if prev_start < floor || !src[prev_start..at].trim_start().starts_with('#') {
            break;
        }
        at = prev_start;
    }
    Some(at)
}

fn remove_entry(view: View<'_>, map: &MapInfo, k: usize) -> Vec<Splice> {
    let e = &map.entries[k];
    let delete = |start: usize, end: usize| Splice {
        start,
        end,
        text: String::new(),
    };
    let end_e = e.end_with_comma();
    let ls = view.line_start(e.key_start);
    let only_ws_before = view.src[ls..e.key_start]
        .chars()
        .all(|c| c == ' ' || c == '\t');
    let close_start = view.tok(map.close).start;
    let eol = view
        .eol_after(end_e)
        .filter(|&n| view.tok(n).start < close_start);
    let own_lines = only_ws_before && view.line(e.key_start) != view.line(view.tok(map.open).start);
    let is_last = k + 1 == map.entries.len();
    if let (true, Some(nl)) = (own_lines, eol) {
        let mut out = vec![delete(ls, view.tok(nl).end)];
        if is_last
            && !map.trailing_comma
            && k > 0
            && let Some((a, b)) = map.entries[k - 1].comma
        {
            out.push(delete(a, b));
        }
        return out;
    }
    if let Some(next) = map.entries.get(k + 1) {
        return vec![delete(e.key_start, next.key_start)];
    }
    if k > 0 {
        let prev = &map.entries[k - 1];
        let from = if e.comma.is_some() {
            prev.end_with_comma()
        } else {
            prev.value_end
        };
        return vec![delete(from, end_e)];
    }
    vec![delete(e.key_start, end_e)]
}

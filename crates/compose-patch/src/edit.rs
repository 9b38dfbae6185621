//! Planning edits: for each edit, the text splices and the expected typed service.
//!
//! Every planner walks the lossless tree (positions) and the typed view (meaning)
//! side by side. It returns `None` when the file already says what the edit asks
//! for, else the splices to make and the service as it must read afterwards; the
//! driver in `file.rs` applies the splices, re-parses and compares.

use std::ops::Range;

use yaml_serde::{Mapping, Value};

use crate::cst::{Item, Kind, Node, Style};
use crate::error::{Error, Result};
use crate::file::Svc;
use crate::model::{Edit, Selinux, Volume, VolumeMount};
use crate::text::{
    after_line, column, double_quoted, indent_at, line_end, line_start, newline, render,
    shell_quote, shell_words, trim_back,
};

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub at: Range<usize>,
    pub text: String,
}

/// What an edit will do.
pub(crate) struct Plan {
    pub splices: Vec<Splice>,
    pub service: Mapping,
}

/// Apply splices (non-overlapping) to `text`.
pub(crate) fn splice(text: &str, splices: Vec<Splice>) -> String {
    // Apply from the end so earlier offsets stay valid; at equal offsets the splice
    // listed first ends up first in the text.
    let mut indexed: Vec<(usize, Splice)> = splices.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, a), (ib, b)| b.at.start.cmp(&a.at.start).then(ib.cmp(ia)));
    let mut out = text.to_owned();
    for (_, s) in indexed {
        out.replace_range(s.at, &s.text);
    }
    out
}

fn ins(at: usize, text: String) -> Splice {
    Splice { at: at..at, text }
}

pub(crate) fn plan(svc: &Svc<'_>, edit: &Edit) -> Result<Option<Plan>> {
    match edit {
        Edit::CommandSettings { settings, .. } => plan_command(svc, settings),
        Edit::Volume { mount, .. } => plan_volume(svc, mount),
        Edit::Env { key, value, .. } => plan_env(svc, key, value),
        Edit::Port { mapping, .. } => plan_port(svc, mapping),
        Edit::InlineContent {
            target, content, ..
        } => plan_content(svc, target, content),
    }
}

// ---------------------------------------------------------------- shared helpers

fn shape_err(svc: &Svc<'_>, key: &str, node: &Node, expected: &str) -> Error {
    Error::UnexpectedShape {
        service: svc.key.clone(),
        key: key.to_owned(),
        line: svc.line(node.range.start),
        expected: expected.to_owned(),
        found: if node.tagged {
            "a tagged node".to_owned()
        } else {
            node.shape().to_owned()
        },
    }
}

/// Refuse to edit through anchors and aliases.
fn guard(svc: &Svc<'_>, key: &str, node: &Node) -> Result<()> {
    if let Some(a) = node.anchor {
        return Err(Error::Alias {
            service: svc.key.clone(),
            key: key.to_owned(),
            line: svc.line(a),
            detail: "the value carries an anchor that other places may refer to".to_owned(),
        });
    }
    if matches!(node.kind, Kind::Alias) {
        return Err(Error::Alias {
            service: svc.key.clone(),
            key: key.to_owned(),
            line: svc.line(node.range.start),
            detail: "the value is an alias".to_owned(),
        });
    }
    Ok(())
}

fn guard_deep(svc: &Svc<'_>, key: &str, node: &Node) -> Result<()> {
    guard(svc, key, node)?;
    match &node.kind {
        Kind::Seq { items, .. } => {
            for n in items.iter().filter_map(|i| i.node.as_ref()) {
                guard_deep(svc, key, n)?;
            }
        }
        Kind::Map { entries, .. } => {
            for e in entries {
                if e.merge {
                    return Err(Error::Alias {
                        service: svc.key.clone(),
                        key: key.to_owned(),
                        line: svc.line(e.key.range.start),
                        detail: "a `<<` merge key".to_owned(),
                    });
                }
                if let Some(v) = &e.value {
                    guard_deep(svc, key, v)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn item_node<'a>(svc: &Svc<'_>, key: &str, items: &'a [Item], i: usize) -> Result<&'a Node> {
    items.get(i).and_then(|it| it.node.as_ref()).ok_or_else(|| {
        crate::file::disagree(
            svc.text,
            svc.node.range.start,
            &format!("{key} items differ"),
        )
    })
}

/// A sequence value about to be edited, whose typed view has `n` items: refuses anchors and
/// aliases and other shapes, and returns `(flow, syntax items, their nodes)`.
fn seq_items<'n>(
    svc: &Svc<'_>,
    key: &str,
    node: &'n Node,
    n: usize,
) -> Result<(bool, &'n [Item], Vec<&'n Node>)> {
    guard(svc, key, node)?;
    let Kind::Seq { flow, items } = &node.kind else {
        return Err(shape_err(svc, key, node, "a sequence"));
    };
    check_len(svc, node, n)?;
    let nodes = items.iter().filter_map(|i| i.node.as_ref()).collect();
    Ok((*flow, items, nodes))
}

fn check_len(svc: &Svc<'_>, node: &Node, n: usize) -> Result<()> {
    let len = node.items().map_or(0, <[Item]>::len);
    if len == n {
        Ok(())
    } else {
        Err(crate::file::disagree(
            svc.text,
            node.range.start,
            "sequence lengths differ",
        ))
    }
}

/// The most common quote style among scalar items, for new items.
fn quote_hint(nodes: &[&Node], flow: bool) -> Style {
    let mut counts = [0usize; 3];
    for n in nodes {
        match n.style() {
            Some(Style::Plain) => counts[0] += 1,
            Some(Style::Single) => counts[1] += 1,
            Some(Style::Double) => counts[2] += 1,
            _ => {}
        }
    }
    if counts[2] > 0 && counts[2] >= counts[1] && (flow || counts[2] >= counts[0]) {
        Style::Double
    } else if counts[1] > 0 && counts[1] >= counts[0] {
        Style::Single
    } else if counts[0] > 0 {
        Style::Plain
    } else if flow {
        Style::Double
    } else {
        Style::Plain
    }
}

fn fallback_quote(nodes: &[&Node]) -> Style {
    if nodes.iter().any(|n| n.style() == Some(Style::Single)) {
        Style::Single
    } else {
        Style::Double
    }
}

fn replace_scalar(
    svc: &Svc<'_>,
    key: &str,
    node: &Node,
    value: &str,
    fallback: Style,
    flow: bool,
) -> Result<Splice> {
    guard(svc, key, node)?;
    let style = match node.style() {
        Some(s @ (Style::Plain | Style::Single | Style::Double)) if !node.tagged => s,
        _ => return Err(shape_err(svc, key, node, "a plain or quoted scalar")),
    };
    Ok(Splice {
        at: node.range.clone(),
        text: render(value, style, fallback, flow),
    })
}

/// Where the content of `node` ends (without trailing blanks), and where a new
/// line after it starts.
fn line_after_node(text: &str, node: &Node) -> (usize, bool) {
    // A block collection ends with its last descendant, which may be a block scalar.
    let last = match &node.kind {
        Kind::Map {
            flow: false,
            entries,
        } => entries.last().and_then(|e| e.value.as_ref()),
        Kind::Seq { flow: false, items } => items.last().and_then(|i| i.node.as_ref()),
        _ => None,
    };
    if let Some(last) = last {
        return line_after_node(text, last);
    }
    if matches!(node.style(), Some(Style::Literal | Style::Folded)) {
        let e = trim_back(text, node.range.start, node.range.end);
        let (mut at, need_nl) = after_line(text, e);
        let header = &text[node.range.start..line_end(text, node.range.start)];
        let keep = header
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '#')
            .any(|c| c == '+');
        if keep {
            // Trailing blank lines are part of a `|+` / `>+` value.
            while at < text.len() {
                let next = text[at..].find('\n').map_or(text.len(), |p| at + p + 1);
                if !text[at..next].trim().is_empty() {
                    break;
                }
                at = next;
            }
        }
        return (at, need_nl && at >= text.len());
    }
    let e = trim_back(text, node.range.start, node.range.end);
    after_line(text, e.max(node.range.start))
}

/// Append scalar items to a sequence (flow or block).
fn append_items(text: &str, seq: &Node, rendered: &[String]) -> Vec<Splice> {
    let nl = newline(text);
    let Kind::Seq { flow, items } = &seq.kind else {
        return Vec::new();
    };
    if *flow {
        let last = items.iter().rev().find_map(|i| i.node.as_ref());
        let Some(last) = last else {
            // `[]` or `[ ]`: put the items right after the bracket.
            let open = text[seq.range.clone()]
                .find('[')
                .map_or(seq.range.start, |p| seq.range.start + p + 1);
            return vec![ins(open, rendered.join(", "))];
        };
        let after = last.range.end;
        let bytes = text.as_bytes();
        let mut p = after;
        while matches!(bytes.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
        let trailing_comma = bytes.get(p) == Some(&b',');
        if trailing_comma {
            p += 1;
            while matches!(bytes.get(p), Some(b' ' | b'\t')) {
                p += 1;
            }
        }
        let ends_line = matches!(bytes.get(p), Some(b'#' | b'\n' | b'\r') | None);
        let ls = line_start(text, last.range.start);
        let alone = text[ls..last.range.start]
            .chars()
            .all(|c| c == ' ' || c == '\t');
        if ends_line && alone {
            let indent = &text[ls..last.range.start];
            let mut out = Vec::new();
            if !trailing_comma {
                out.push(ins(after, ",".to_owned()));
            }
            let eol = line_end(text, after);
            let mut add = String::new();
            for (i, r) in rendered.iter().enumerate() {
                add.push_str(nl);
                add.push_str(indent);
                add.push_str(r);
                if i + 1 < rendered.len() || trailing_comma {
                    add.push(',');
                }
            }
            out.push(ins(eol, add));
            out
        } else {
            vec![ins(after, format!(", {}", rendered.join(", ")))]
        }
    } else {
        let Some(last) = items.last() else {
            return Vec::new();
        };
        let indent = indent_at(text, last.start);
        let (at, need_nl) = match &last.node {
            Some(n) => line_after_node(text, n),
            None => after_line(text, last.start + 1),
        };
        let mut add = String::new();
        if need_nl {
            add.push_str(nl);
        }
        for r in rendered {
            add.push_str(&indent);
            add.push_str("- ");
            add.push_str(r);
            add.push_str(nl);
        }
        if need_nl {
            add.truncate(add.len() - nl.len());
        }
        vec![ins(at, add)]
    }
}

/// Append `key: value` lines (already rendered, first line without indent) to a
/// mapping (block or flow).
fn append_entry(text: &str, map: &Node, key: &str, value_lines: &[String]) -> Vec<Splice> {
    let nl = newline(text);
    let Kind::Map { flow, entries } = &map.kind else {
        return Vec::new();
    };
    let Some(last) = entries.last() else {
        return Vec::new();
    };
    if *flow {
        let end = last.value.as_ref().map_or(last.colon_end, |v| v.range.end);
        return vec![ins(end, format!(", {key}: {}", value_lines.join(" ")))];
    }
    let indent = indent_at(text, last.key.range.start);
    let (at, need_nl) = match &last.value {
        Some(v) => line_after_node(text, v),
        None => after_line(text, last.colon_end),
    };
    let mut add = String::new();
    if need_nl {
        add.push_str(nl);
    }
    add.push_str(&indent);
    add.push_str(key);
    add.push(':');
    for (i, l) in value_lines.iter().enumerate() {
        if i == 0 {
            if !l.is_empty() {
                add.push(' ');
                add.push_str(l);
            }
        } else {
            add.push_str(nl);
            add.push_str(&indent);
            add.push_str(l);
        }
    }
    if !need_nl {
        add.push_str(nl);
    }
    vec![ins(at, add)]
}

/// Indentation of block sequences under a key, relative to the key, as used in
/// this service (2 by default).
fn seq_offset(svc: &Svc<'_>) -> usize {
    for e in svc.node.entries().unwrap_or(&[]) {
        if let Some(Node {
            kind: Kind::Seq { flow: false, items },
            ..
        }) = &e.value
            && let Some(first) = items.first()
        {
            {
                let k = column(svc.text, e.key.range.start);
                let d = column(svc.text, first.start);
                if d >= k {
                    return d - k;
                }
            }
        }
    }
    2
}

/// Add a new key with a block sequence of `items` (rendered) to the service.
fn add_seq_key(svc: &Svc<'_>, key: &str, items: &[String]) -> Vec<Splice> {
    if matches!(svc.node.kind, Kind::Map { flow: true, .. }) {
        return vec![ins(
            svc.node.range.end - 1,
            format!(", {key}: [{}]", items.join(", ")),
        )];
    }
    let pad = " ".repeat(seq_offset(svc));
    let mut lines = vec![String::new()];
    for i in items {
        lines.push(format!("{pad}- {i}"));
    }
    append_entry(svc.text, svc.node, key, &lines)
}

/// Adds `key` with a one-item sequence to a service that has no such key: the text item is
/// `rendered`, the typed item `value`.
fn new_seq_key(
    svc: &Svc<'_>,
    mut service: Mapping,
    key: &str,
    rendered: String,
    value: String,
) -> Plan {
    let splices = add_seq_key(svc, key, &[rendered]);
    service.insert(key.into(), Value::Sequence(vec![Value::String(value)]));
    Plan { splices, service }
}

fn new_service(svc: &Svc<'_>) -> Mapping {
    svc.map.clone()
}

// ---------------------------------------------------------------- command

fn norm_setting(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

/// Whether two PostgreSQL setting names are the same setting.
pub(crate) fn same_setting(a: &str, b: &str) -> bool {
    norm_setting(a) == norm_setting(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `-c` then `name=value`.
    Pair,
    /// `-cname=value`.
    Joined,
    /// `--name=value`.
    Long,
}

/// A setting found in an argument list: index of the argument holding
/// `name=value`, its form, name and value.
fn settings_found(args: &[Option<String>]) -> Vec<(usize, Form, String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let cur = args[i].as_deref().unwrap_or("");
        if cur == "-c" {
            if let Some(Some(next)) = args.get(i + 1)
                && let Some((k, v)) = next.split_once('=')
            {
                out.push((i + 1, Form::Pair, k.to_owned(), v.to_owned()));
            }
            i += 2;
            continue;
        }
        let (rest, form) = match (cur.strip_prefix("--"), cur.strip_prefix("-c")) {
            (Some(rest), _) => (Some(rest), Form::Long),
            (None, rest) => (rest, Form::Joined),
        };
        if let Some((k, v)) = rest.and_then(|r| r.split_once('=')) {
            out.push((i, form, k.to_owned(), v.to_owned()));
        }
        i += 1;
    }
    out
}

/// The `-c` settings in an argument list, in order.
pub(crate) fn settings_in(args: &[String]) -> Vec<(String, String)> {
    let opt: Vec<Option<String>> = args.iter().cloned().map(Some).collect();
    settings_found(&opt)
        .into_iter()
        .map(|(_, _, k, v)| (k, v))
        .collect()
}

fn validate_setting(name: &str, value: &str) -> Result<()> {
    let ok_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !ok_name {
        return Err(Error::InvalidArgument {
            what: "setting name",
            value: name.to_owned(),
            reason: "expected letters, digits, `_` and `.`".to_owned(),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidArgument {
            what: "setting value",
            value: value.to_owned(),
            reason: "control characters and line breaks are not allowed".to_owned(),
        });
    }
    Ok(())
}

fn form_text(form: Form, name: &str, value: &str) -> String {
    match form {
        Form::Pair => format!("{name}={value}"),
        Form::Joined => format!("-c{name}={value}"),
        Form::Long => format!("--{name}={value}"),
    }
}

/// Replacements by argument index, and arguments to append.
type SettingsEdit = (Vec<(usize, String)>, Vec<String>);

/// Apply settings to an argument list: returns (replacements by index, appended
/// arguments).
fn settings_edit(args: &[Option<String>], settings: &[(String, String)]) -> Result<SettingsEdit> {
    for (i, (name, _)) in settings.iter().enumerate() {
        if settings[..i].iter().any(|(n, _)| same_setting(n, name)) {
            return Err(Error::InvalidArgument {
                what: "setting",
                value: name.clone(),
                reason: "given more than once in one edit".to_owned(),
            });
        }
    }
    let mut cur: Vec<Option<String>> = args.to_vec();
    let mut replaced: Vec<(usize, String)> = Vec::new();
    for (name, value) in settings {
        validate_setting(name, value)?;
        let found: Vec<_> = settings_found(&cur)
            .into_iter()
            .filter(|(_, _, k, _)| same_setting(k, name))
            .collect();
        if found.is_empty() {
            cur.push(Some("-c".to_owned()));
            cur.push(Some(format!("{name}={value}")));
            continue;
        }
        for (idx, form, k, v) in found {
            if &v != value {
                let new = form_text(form, &k, value);
                if idx < args.len() {
                    replaced.retain(|(i, _)| *i != idx);
                    replaced.push((idx, new.clone()));
                }
                cur[idx] = Some(new);
            }
        }
    }
    let appended = cur[args.len()..]
        .iter()
        .map(|s| s.clone().unwrap_or_default())
        .collect();
    Ok((replaced, appended))
}

fn plan_command(svc: &Svc<'_>, settings: &[(String, String)]) -> Result<Option<Plan>> {
    let Some((entry, value)) = svc.get("command")? else {
        return Err(Error::NoCommand {
            service: svc.key.clone(),
            line: svc.line,
        });
    };
    let Some(node) = &entry.value else {
        return Err(Error::NoCommand {
            service: svc.key.clone(),
            line: svc.line(entry.key.range.start),
        });
    };
    guard(svc, "command", node)?;
    if node.tagged {
        return Err(shape_err(svc, "command", node, "a sequence or a string"));
    }
    let program = match value {
        Value::Sequence(items) => items.first().and_then(Value::as_str).map(str::to_owned),
        Value::String(s) => shell_words(s)
            .and_then(|w| w.into_iter().next())
            .map(|w| w.value),
        _ => None,
    };
    if let Some(p) = program {
        let base = p.rsplit('/').next().unwrap_or(&p);
        if matches!(base, "sh" | "bash" | "ash" | "dash" | "zsh" | "env") {
            return Err(shape_err(
                svc,
                "command",
                node,
                &format!(
                    "a postgres command (this one runs `{p}`; add the settings inside its script by hand)"
                ),
            ));
        }
    }
    let mut service = new_service(svc);
    match (value, &node.kind) {
        (
            Value::Sequence(items),
            Kind::Seq {
                flow,
                items: cst_items,
            },
        ) => {
            check_len(svc, node, items.len())?;
            let args: Vec<Option<String>> = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            let (replaced, appended) = settings_edit(&args, settings)?;
            if replaced.is_empty() && appended.is_empty() {
                return Ok(None);
            }
            let nodes: Vec<&Node> = cst_items.iter().filter_map(|i| i.node.as_ref()).collect();
            let hint = quote_hint(&nodes, *flow);
            let fallback = if *flow {
                Style::Double
            } else {
                fallback_quote(&nodes)
            };
            // Styles of an existing `-c` flag and of an existing setting.
            let mut flag_style = hint;
            let mut set_style = hint;
            for (idx, form, _, _) in settings_found(&args) {
                if form == Form::Pair
                    && let (Some(flag), Some(set)) = (
                        cst_items.get(idx - 1).and_then(|it| it.node.as_ref()),
                        cst_items.get(idx).and_then(|it| it.node.as_ref()),
                    )
                {
                    flag_style = flag.style().unwrap_or(hint);
                    set_style = set.style().unwrap_or(hint);
                }
            }
            let mut splices = Vec::new();
            let mut new_items = items.clone();
            for (idx, text) in &replaced {
                let n = item_node(svc, "command", cst_items, *idx)?;
                splices.push(replace_scalar(svc, "command", n, text, fallback, *flow)?);
                new_items[*idx] = Value::String(text.clone());
            }
            if !appended.is_empty() {
                if let Some(n) = nodes
                    .iter()
                    .find(|n| matches!(n.kind, Kind::Alias) || n.anchor.is_some())
                {
                    guard(svc, "command", n)?;
                }
                let rendered: Vec<String> = appended
                    .iter()
                    .map(|a| {
                        let st = if a == "-c" { flag_style } else { set_style };
                        let st = if matches!(st, Style::Literal | Style::Folded) {
                            hint
                        } else {
                            st
                        };
                        render(a, st, fallback, *flow)
                    })
                    .collect();
                splices.extend(append_items(svc.text, node, &rendered));
                new_items.extend(appended.into_iter().map(Value::String));
            }
            service.insert("command".into(), Value::Sequence(new_items));
            Ok(Some(Plan { splices, service }))
        }
        (
            Value::String(s),
            Kind::Scalar(style @ (Style::Plain | Style::Single | Style::Double)),
        ) => {
            let words = shell_words(s).ok_or_else(|| {
                shape_err(
                    svc,
                    "command",
                    node,
                    "a command string with balanced quotes",
                )
            })?;
            let args: Vec<Option<String>> = words.iter().map(|w| Some(w.value.clone())).collect();
            let (replaced, appended) = settings_edit(&args, settings)?;
            if replaced.is_empty() && appended.is_empty() {
                return Ok(None);
            }
            let mut new = s.clone();
            let mut reps = replaced.clone();
            reps.sort_by_key(|r| std::cmp::Reverse(r.0));
            for (idx, text) in reps {
                if let Some(w) = words.get(idx) {
                    new.replace_range(w.range.clone(), &shell_quote(&text));
                }
            }
            for a in &appended {
                new.push(' ');
                new.push_str(&shell_quote(a));
            }
            let splice = Splice {
                at: node.range.clone(),
                text: render(&new, *style, Style::Double, false),
            };
            service.insert("command".into(), Value::String(new));
            Ok(Some(Plan {
                splices: vec![splice],
                service,
            }))
        }
        _ => Err(shape_err(
            svc,
            "command",
            node,
            "a sequence or a one-line string",
        )),
    }
}

// ---------------------------------------------------------------- volumes

/// Split on `:` outside `${...}`.
fn split_colons(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        match c {
            '{' if i > 0 && bytes.get(i - 1) == Some(&b'$') => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn short_parts(s: &str) -> Option<(Option<String>, String, Vec<String>)> {
    let parts = split_colons(s);
    match parts.as_slice() {
        [t] => Some((None, (*t).to_owned(), Vec::new())),
        [s, t] => Some((Some((*s).to_owned()), (*t).to_owned(), Vec::new())),
        [s, t, o] => Some((
            Some((*s).to_owned()),
            (*t).to_owned(),
            o.split(',').map(str::to_owned).collect(),
        )),
        _ => None,
    }
}

/// Whether two container paths name the same target.
pub(crate) fn same_target(a: &str, b: &str) -> bool {
    let ta = a.trim_end_matches('/');
    let tb = b.trim_end_matches('/');
    ta == tb
}

pub(crate) fn read_volume(v: &Value) -> Option<Volume> {
    match v {
        Value::String(s) => {
            let (source, target, opts) = short_parts(s)?;
            Some(Volume {
                source,
                target,
                read_only: opts.iter().any(|o| o == "ro"),
                selinux: opts.iter().find_map(|o| Selinux::from_letter(o)),
                long_syntax: false,
                has_content: false,
            })
        }
        Value::Mapping(m) => Some(Volume {
            source: m.get("source").and_then(Value::as_str).map(str::to_owned),
            target: m.get("target")?.as_str()?.to_owned(),
            read_only: m.get("read_only").and_then(Value::as_bool).unwrap_or(false),
            selinux: m
                .get("bind")
                .and_then(|b| b.get("selinux"))
                .and_then(Value::as_str)
                .and_then(Selinux::from_letter),
            long_syntax: true,
            has_content: m.contains_key("content"),
        }),
        _ => None,
    }
}

fn validate_mount(m: &VolumeMount) -> Result<String> {
    if !m.target.starts_with('/') {
        return Err(Error::InvalidArgument {
            what: "volume target",
            value: m.target.clone(),
            reason: "expected an absolute container path".to_owned(),
        });
    }
    if m.source.is_empty()
        || m.source.chars().any(char::is_control)
        || m.target.chars().any(char::is_control)
    {
        return Err(Error::InvalidArgument {
            what: "volume source",
            value: m.source.clone(),
            reason: "must be non-empty, without control characters".to_owned(),
        });
    }
    let short = m.to_string();
    match short_parts(&short) {
        Some((Some(s), t, _)) if s == m.source && t == m.target => Ok(short),
        _ => Err(Error::InvalidArgument {
            what: "volume",
            value: short,
            reason: "source or target contains `:`".to_owned(),
        }),
    }
}

fn is_path(source: &str) -> bool {
    source.starts_with('.')
        || source.starts_with('/')
        || source.starts_with('~')
        || source.starts_with('$')
}

fn plan_volume(svc: &Svc<'_>, mount: &VolumeMount) -> Result<Option<Plan>> {
    let short = validate_mount(mount)?;
    let mut service = new_service(svc);
    let Some((entry, value)) = svc.get("volumes")? else {
        let rendered = render(&short, Style::Plain, Style::Double, false);
        return Ok(Some(new_seq_key(svc, service, "volumes", rendered, short)));
    };
    let (Some(node), Value::Sequence(items)) = (&entry.value, value) else {
        let found = entry
            .value
            .as_ref()
            .map_or("nothing".to_owned(), |n| n.shape().to_owned());
        return Err(Error::UnexpectedShape {
            service: svc.key.clone(),
            key: "volumes".to_owned(),
            line: svc.line(entry.key.range.start),
            expected: "a sequence".to_owned(),
            found,
        });
    };
    let (flow, cst_items, nodes) = seq_items(svc, "volumes", node, items.len())?;
    let mut new_items = items.clone();
    let pos = items
        .iter()
        .position(|v| read_volume(v).is_some_and(|vol| same_target(&vol.target, &mount.target)));
    let mut splices = Vec::new();
    match pos.map(|i| (i, &items[i])) {
        Some((i, Value::String(s))) => {
            let Some((_, cur_target, opts)) = short_parts(s) else {
                return Ok(None);
            };
            let existing_label = opts.iter().find_map(|o| Selinux::from_letter(o));
            let label = mount.selinux.or(existing_label);
            let mut new_opts: Vec<String> = Vec::new();
            let (mut access, mut labelled) = (false, false);
            for o in &opts {
                match o.as_str() {
                    "ro" | "rw" => {
                        if mount.read_only {
                            new_opts.push("ro".to_owned());
                        } else if o == "rw" {
                            new_opts.push("rw".to_owned());
                        }
                        access = true;
                    }
                    "z" | "Z" => {
                        if let Some(l) = label {
                            new_opts.push(l.letter().to_owned());
                        }
                        labelled = true;
                    }
                    "" => {}
                    other => new_opts.push(other.to_owned()),
                }
            }
            if !access && mount.read_only {
                new_opts.insert(0, "ro".to_owned());
            }
            if !labelled && let Some(l) = label {
                new_opts.push(l.letter().to_owned());
            }
            let mut new = format!("{}:{cur_target}", mount.source);
            if !new_opts.is_empty() {
                new.push(':');
                new.push_str(&new_opts.join(","));
            }
            if &new == s {
                return Ok(None);
            }
            let n = item_node(svc, "volumes", cst_items, i)?;
            splices.push(replace_scalar(
                svc,
                "volumes",
                n,
                &new,
                fallback_quote(&nodes),
                flow,
            )?);
            new_items[i] = Value::String(new);
        }
        Some((idx, Value::Mapping(m))) => {
            let n = item_node(svc, "volumes", cst_items, idx)?;
            guard_deep(svc, "volumes", n)?;
            if !matches!(n.kind, Kind::Map { .. }) {
                return Err(shape_err(svc, "volumes", n, "a mapping"));
            }
            let mut new_m = m.clone();
            let cur_label = m
                .get("bind")
                .and_then(|b| b.get("selinux"))
                .and_then(Value::as_str)
                .and_then(Selinux::from_letter);
            if mount.selinux.is_some() && mount.selinux != cur_label {
                return Err(Error::Unsupported {
                    service: svc.key.clone(),
                    key: "volumes".to_owned(),
                    line: svc.line(n.range.start),
                    detail: "changing the SELinux option of a long-syntax volume".to_owned(),
                });
            }
            if m.get("source").and_then(Value::as_str) != Some(mount.source.as_str()) {
                match crate::file::find_entry(svc.text, n, m, "source")? {
                    Some((e, _)) => {
                        let v = e
                            .value
                            .as_ref()
                            .ok_or_else(|| shape_err(svc, "volumes", n, "a source value"))?;
                        splices.push(replace_scalar(
                            svc,
                            "volumes",
                            v,
                            &mount.source,
                            Style::Double,
                            false,
                        )?);
                    }
                    None => splices.extend(append_entry(
                        svc.text,
                        n,
                        "source",
                        &[render(&mount.source, Style::Plain, Style::Double, false)],
                    )),
                }
                new_m.insert("source".into(), Value::String(mount.source.clone()));
            }
            let ro = m.get("read_only").and_then(Value::as_bool).unwrap_or(false);
            if ro != mount.read_only {
                let word = if mount.read_only { "true" } else { "false" };
                match crate::file::find_entry(svc.text, n, m, "read_only")? {
                    Some((e, _)) => {
                        let v = e
                            .value
                            .as_ref()
                            .ok_or_else(|| shape_err(svc, "volumes", n, "a read_only value"))?;
                        guard(svc, "volumes", v)?;
                        splices.push(Splice {
                            at: v.range.clone(),
                            text: word.to_owned(),
                        });
                    }
                    None => {
                        splices.extend(append_entry(svc.text, n, "read_only", &[word.to_owned()]));
                    }
                }
                new_m.insert("read_only".into(), Value::Bool(mount.read_only));
            }
            if splices.is_empty() {
                return Ok(None);
            }
            new_items[idx] = Value::Mapping(new_m);
        }
        Some((i, _)) => {
            let n = item_node(svc, "volumes", cst_items, i)?;
            return Err(shape_err(svc, "volumes", n, "a string or a mapping"));
        }
        None => {
            let long_item = cst_items
                .iter()
                .zip(items)
                .find(|(_, v)| v.get("type").and_then(Value::as_str) == Some("bind"));
            match long_item {
                Some((it, _)) if !flow && is_path(&mount.source) => {
                    let nl = newline(svc.text);
                    let Some(first_node) = &it.node else {
                        return Err(shape_err(svc, "volumes", node, "mapping items"));
                    };
                    let first_key = first_node
                        .entries()
                        .and_then(|e| e.first())
                        .map_or(first_node.range.start, |e| e.key.range.start);
                    let dash_indent = indent_at(svc.text, it.start);
                    let dash_alone = svc.text[it.start..first_key].contains('\n');
                    let key_indent = if dash_alone {
                        indent_at(svc.text, first_key)
                    } else {
                        format!("{dash_indent}  ")
                    };
                    let mut lines = vec![
                        "type: bind".to_owned(),
                        format!(
                            "source: {}",
                            render(&mount.source, Style::Plain, Style::Double, false)
                        ),
                        format!(
                            "target: {}",
                            render(&mount.target, Style::Plain, Style::Double, false)
                        ),
                    ];
                    let mut m = Mapping::new();
                    m.insert("type".into(), "bind".into());
                    m.insert("source".into(), mount.source.clone().into());
                    m.insert("target".into(), mount.target.clone().into());
                    if mount.read_only {
                        lines.push("read_only: true".to_owned());
                        m.insert("read_only".into(), Value::Bool(true));
                    }
                    if let Some(l) = mount.selinux {
                        lines.push("bind:".to_owned());
                        lines.push(format!("  selinux: {}", l.letter()));
                        let mut b = Mapping::new();
                        b.insert("selinux".into(), l.letter().into());
                        m.insert("bind".into(), Value::Mapping(b));
                    }
                    let last = cst_items
                        .last()
                        .ok_or_else(|| shape_err(svc, "volumes", node, "items"))?;
                    let (at, need_nl) = match &last.node {
                        Some(n) => line_after_node(svc.text, n),
                        None => after_line(svc.text, last.start + 1),
                    };
                    let mut add = String::new();
                    if need_nl {
                        add.push_str(nl);
                    }
                    if dash_alone {
                        add.push_str(&dash_indent);
                        add.push('-');
                        add.push_str(nl);
                        for l in &lines {
                            add.push_str(&key_indent);
                            add.push_str(l);
                            add.push_str(nl);
                        }
                    } else {
                        for (k, l) in lines.iter().enumerate() {
                            if k == 0 {
                                add.push_str(&dash_indent);
                                add.push_str("- ");
                            } else {
                                add.push_str(&key_indent);
                            }
                            add.push_str(l);
                            add.push_str(nl);
                        }
                    }
                    if need_nl {
                        add.truncate(add.len() - nl.len());
                    }
                    splices.push(ins(at, add));
                    new_items.push(Value::Mapping(m));
                }
                _ => {
                    if cst_items.is_empty() && !flow {
                        return Err(shape_err(svc, "volumes", node, "a non-empty sequence"));
                    }
                    let st = quote_hint(&nodes, flow);
                    let rendered = render(&short, st, fallback_quote(&nodes), flow);
                    splices.extend(append_items(svc.text, node, &[rendered]));
                    new_items.push(Value::String(short));
                }
            }
        }
    }
    service.insert("volumes".into(), Value::Sequence(new_items));
    Ok(Some(Plan { splices, service }))
}

// ---------------------------------------------------------------- environment

fn compose_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list_env_style(all: &Mapping) -> bool {
    all.values()
        .any(|s| matches!(s.get("environment"), Some(Value::Sequence(_))))
}

fn plan_env(svc: &Svc<'_>, key: &str, value: &str) -> Result<Option<Plan>> {
    if key.is_empty()
        || key.contains('=')
        || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::InvalidArgument {
            what: "environment variable name",
            value: key.to_owned(),
            reason: "must be non-empty, without `=`, blanks or control characters".to_owned(),
        });
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::InvalidArgument {
            what: "environment value",
            value: value.to_owned(),
            reason: "line breaks and control characters are not supported".to_owned(),
        });
    }
    let mut service = new_service(svc);
    let Some((entry, env)) = svc.get("environment")? else {
        if list_env_style(svc.all) {
            let item = format!("{key}={value}");
            let rendered = render(&item, Style::Plain, Style::Single, false);
            return Ok(Some(new_seq_key(
                svc,
                service,
                "environment",
                rendered,
                item,
            )));
        }
        let pad = " ".repeat(seq_offset(svc));
        let line = format!(
            "{pad}{}: {}",
            render(key, Style::Plain, Style::Double, false),
            render(value, Style::Plain, Style::Double, false)
        );
        let splices = if matches!(svc.node.kind, Kind::Map { flow: true, .. }) {
            return Err(shape_err(
                svc,
                "environment",
                svc.node,
                "a block mapping service",
            ));
        } else {
            append_entry(svc.text, svc.node, "environment", &[String::new(), line])
        };
        let mut m = Mapping::new();
        m.insert(key.into(), value.into());
        service.insert("environment".into(), Value::Mapping(m));
        return Ok(Some(Plan { splices, service }));
    };
    let Some(node) = &entry.value else {
        return Err(Error::UnexpectedShape {
            service: svc.key.clone(),
            key: "environment".to_owned(),
            line: svc.line(entry.key.range.start),
            expected: "a mapping or a sequence".to_owned(),
            found: "nothing".to_owned(),
        });
    };
    guard(svc, "environment", node)?;
    if node.tagged {
        return Err(shape_err(
            svc,
            "environment",
            node,
            "a mapping or a sequence",
        ));
    }
    match (env, &node.kind) {
        (Value::Mapping(m), Kind::Map { flow, .. }) => {
            let mut new_m = m.clone();
            let found = crate::file::find_entry(svc.text, node, m, key)?;
            let splices = if let Some((e, cur)) = found {
                {
                    if compose_string(cur).as_deref() == Some(value) {
                        return Ok(None);
                    }
                    match &e.value {
                        Some(v) => vec![replace_scalar(
                            svc,
                            "environment",
                            v,
                            value,
                            Style::Double,
                            *flow,
                        )?],
                        None => vec![ins(
                            e.colon_end,
                            format!(" {}", render(value, Style::Plain, Style::Double, *flow)),
                        )],
                    }
                }
            } else {
                {
                    if m.is_empty() {
                        return Err(shape_err(svc, "environment", node, "a non-empty mapping"));
                    }
                    append_entry(
                        svc.text,
                        node,
                        &render(key, Style::Plain, Style::Double, *flow),
                        &[render(value, Style::Plain, Style::Double, *flow)],
                    )
                }
            };
            new_m.insert(key.into(), value.into());
            service.insert("environment".into(), Value::Mapping(new_m));
            Ok(Some(Plan { splices, service }))
        }
        (
            Value::Sequence(items),
            Kind::Seq {
                flow,
                items: cst_items,
            },
        ) => {
            check_len(svc, node, items.len())?;
            let nodes: Vec<&Node> = cst_items.iter().filter_map(|i| i.node.as_ref()).collect();
            let fallback = fallback_quote(&nodes);
            let want = format!("{key}={value}");
            let mut new_items = items.clone();
            let mut splices = Vec::new();
            let mut found = false;
            for (i, v) in items.iter().enumerate() {
                let Some(s) = v.as_str() else { continue };
                let k = s.split_once('=').map_or(s, |(k, _)| k);
                if k != key {
                    continue;
                }
                found = true;
                if s != want {
                    let n = item_node(svc, "environment", cst_items, i)?;
                    splices.push(replace_scalar(
                        svc,
                        "environment",
                        n,
                        &want,
                        fallback,
                        *flow,
                    )?);
                    new_items[i] = Value::String(want.clone());
                }
            }
            if !found {
                if cst_items.is_empty() && !*flow {
                    return Err(shape_err(svc, "environment", node, "a non-empty sequence"));
                }
                let rendered = render(&want, Style::Plain, fallback, *flow);
                splices.extend(append_items(svc.text, node, &[rendered]));
                new_items.push(Value::String(want));
            }
            if splices.is_empty() {
                return Ok(None);
            }
            service.insert("environment".into(), Value::Sequence(new_items));
            Ok(Some(Plan { splices, service }))
        }
        _ => Err(shape_err(
            svc,
            "environment",
            node,
            "a mapping or a sequence",
        )),
    }
}

// ---------------------------------------------------------------- ports

/// A port mapping, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    pub host_ip: Option<String>,
    pub published: Option<String>,
    pub target: String,
    pub protocol: String,
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = &self.host_ip {
            write!(f, "{ip}:")?;
        }
        if let Some(p) = &self.published {
            write!(f, "{p}:")?;
        }
        write!(f, "{}", self.target)?;
        if self.protocol != "tcp" {
            write!(f, "/{}", self.protocol)?;
        }
        Ok(())
    }
}

pub(crate) fn parse_port(s: &str) -> Option<Port> {
    let (rest, protocol) = match s.rsplit_once('/') {
        Some((r, p)) if !p.contains('}') => (r, p.to_ascii_lowercase()),
        _ => (s, "tcp".to_owned()),
    };
    // An IPv6 host address in brackets.
    let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, after) = r.split_once(']')?;
        (Some(format!("[{ip}]")), after.strip_prefix(':')?)
    } else {
        (None, rest)
    };
    let parts = split_colons(rest);
    let (ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (None, [p, t]) => (None, Some((*p).to_owned()), *t),
        (None, [ip, p, t]) => (Some((*ip).to_owned()), Some((*p).to_owned()), *t),
        (Some(ip), [p, t]) => (Some(ip), Some((*p).to_owned()), *t),
        _ => return None,
    };
    if target.is_empty() {
        return None;
    }
    Some(Port {
        host_ip: ip,
        published: published.filter(|p| !p.is_empty()),
        target: target.to_owned(),
        protocol,
    })
}

pub(crate) fn read_port(v: &Value) -> Option<Port> {
    match v {
        Value::String(s) => parse_port(s),
        Value::Number(n) => parse_port(&n.to_string()),
        Value::Mapping(m) => Some(Port {
            host_ip: m.get("host_ip").and_then(compose_string),
            published: m.get("published").and_then(compose_string),
            target: m.get("target").and_then(compose_string)?,
            protocol: m
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("tcp")
                .to_ascii_lowercase(),
        }),
        _ => None,
    }
}

fn plan_port(svc: &Svc<'_>, mapping: &str) -> Result<Option<Plan>> {
    let want = parse_port(mapping).ok_or_else(|| Error::InvalidArgument {
        what: "port mapping",
        value: mapping.to_owned(),
        reason: "expected [host_ip:][published:]target[/protocol]".to_owned(),
    })?;
    let mut service = new_service(svc);
    let Some((entry, value)) = svc.get("ports")? else {
        let rendered = double_quoted(mapping);
        return Ok(Some(new_seq_key(
            svc,
            service,
            "ports",
            rendered,
            mapping.to_owned(),
        )));
    };
    let (Some(node), Value::Sequence(items)) = (&entry.value, value) else {
        return Err(Error::UnexpectedShape {
            service: svc.key.clone(),
            key: "ports".to_owned(),
            line: svc.line(entry.key.range.start),
            expected: "a sequence".to_owned(),
            found: entry
                .value
                .as_ref()
                .map_or("nothing", Node::shape)
                .to_owned(),
        });
    };
    let (flow, cst_items, nodes) = seq_items(svc, "ports", node, items.len())?;
    let mut new_items = items.clone();
    let mut splices = Vec::new();
    let pos = items.iter().position(|v| {
        read_port(v).is_some_and(|p| p.target == want.target && p.protocol == want.protocol)
    });
    if let Some(i) = pos {
        {
            let cur = read_port(&items[i]);
            if cur.as_ref() == Some(&want) {
                return Ok(None);
            }
            let n = item_node(svc, "ports", cst_items, i)?;
            if let Value::Mapping(m) = &items[i] {
                guard_deep(svc, "ports", n)?;
                if cur.as_ref().map(|c| &c.host_ip) != Some(&want.host_ip) {
                    return Err(Error::Unsupported {
                        service: svc.key.clone(),
                        key: "ports".to_owned(),
                        line: svc.line(n.range.start),
                        detail: "changing host_ip of a long-syntax port".to_owned(),
                    });
                }
                let published = want.published.clone().unwrap_or_default();
                match crate::file::find_entry(svc.text, n, m, "published")? {
                    Some((e, _)) => {
                        let v = e
                            .value
                            .as_ref()
                            .ok_or_else(|| shape_err(svc, "ports", n, "a published value"))?;
                        splices.push(replace_scalar(
                            svc,
                            "ports",
                            v,
                            &published,
                            Style::Double,
                            false,
                        )?);
                    }
                    None => splices.extend(append_entry(
                        svc.text,
                        n,
                        "published",
                        &[double_quoted(&published)],
                    )),
                }
                let mut new_m = m.clone();
                new_m.insert("published".into(), Value::String(published));
                new_items[i] = Value::Mapping(new_m);
            } else {
                let st = match n.style() {
                    Some(Style::Plain) | None => Style::Double,
                    Some(s) => s,
                };
                splices.push(
                    replace_scalar(svc, "ports", n, mapping, Style::Double, flow).map(
                        |mut s| {
                            s.text = render(mapping, st, Style::Double, flow);
                            s
                        },
                    )?,
                );
                new_items[i] = Value::String(mapping.to_owned());
            }
        }
    } else {
        {
            if cst_items.is_empty() && !flow {
                return Err(shape_err(svc, "ports", node, "a non-empty sequence"));
            }
            let st = match quote_hint(&nodes, flow) {
                Style::Single => Style::Single,
                _ => Style::Double,
            };
            splices.extend(append_items(
                svc.text,
                node,
                &[render(mapping, st, Style::Double, flow)],
            ));
            new_items.push(Value::String(mapping.to_owned()));
        }
    }
    service.insert("ports".into(), Value::Sequence(new_items));
    Ok(Some(Plan { splices, service }))
}

// ---------------------------------------------------------------- inline content

fn plan_content(svc: &Svc<'_>, target: &str, content: &str) -> Result<Option<Plan>> {
    if content
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
        || content.contains('\u{feff}')
    {
        return Err(Error::InvalidArgument {
            what: "inline content",
            value: content.chars().take(40).collect(),
            reason: "control characters (other than line breaks and tabs) cannot be written in a block scalar".to_owned(),
        });
    }
    let not_found = || Error::Unsupported {
        service: svc.key.clone(),
        key: "volumes".to_owned(),
        line: svc.line,
        detail: format!("no long-syntax volume with target \"{target}\" and a `content:` key"),
    };
    let Some((entry, Value::Sequence(items))) = svc.get("volumes")? else {
        return Err(not_found());
    };
    let Some(node) = &entry.value else {
        return Err(not_found());
    };
    guard(svc, "volumes", node)?;
    check_len(svc, node, items.len())?;
    let cst_items = node.items().unwrap_or(&[]);
    let Some(idx) = items.iter().position(|v| {
        v.get("target")
            .and_then(Value::as_str)
            .is_some_and(|t| same_target(t, target))
            && v.get("content").is_some()
    }) else {
        return Err(not_found());
    };
    let Value::Mapping(m) = &items[idx] else {
        return Err(not_found());
    };
    if m.get("content").and_then(Value::as_str) == Some(content) {
        return Ok(None);
    }
    let item = item_node(svc, "volumes", cst_items, idx)?;
    guard(svc, "volumes", item)?;
    let (e, _) = crate::file::find_entry(svc.text, item, m, "content")?.ok_or_else(not_found)?;
    let Some(v) = &e.value else {
        return Err(not_found());
    };
    guard(svc, "volumes", v)?;
    // Folded content (`content: >`): YAML joins its lines with spaces, so the file holds that
    // joined text. Rewriting it as a literal block would change what the file says around the
    // edit; refuse rather than write a file that differs from the YAML's meaning.
    if v.style() == Some(Style::Folded) {
        return Err(Error::Unsupported {
            service: svc.key.clone(),
            key: "volumes".to_owned(),
            line: svc.line(v.range.start),
            detail: format!(
                "the content of {target:?} is a folded block (`content: >`), whose lines YAML joins with spaces; it is not edited: write it as a literal block (`content: |`) and run again"
            ),
        });
    }
    let text = svc.text;
    let nl = newline(text);
    let key_col = column(text, e.key.range.start);
    // Content indentation: that of the first non-blank content line, else key + 2.
    let mut indent = " ".repeat(key_col + 2);
    let mut header_tail = String::new();
    let mut at = v.range.clone();
    if v.style() == Some(Style::Literal) || v.style() == Some(Style::Folded) {
        let header_end = line_end(text, v.range.start);
        let header = &text[v.range.start..header_end];
        if let Some(p) = header.find('#') {
            header[..p]
                .trim_start_matches(|c: char| "|>+-0123456789".contains(c))
                .clone_into(&mut header_tail);
            header_tail.push_str(&header[p..]);
        }
        let body = &text[header_end.min(v.range.end)..v.range.end];
        let indicator = header
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '#')
            .find_map(|c| c.to_digit(10));
        if let Some(d) = indicator {
            indent = " ".repeat(key_col + d as usize);
        } else if let Some(line) = body.lines().find(|l| !l.trim().is_empty()) {
            let ws: String = line.chars().take_while(|c| *c == ' ').collect();
            if ws.len() > key_col {
                indent = ws;
            }
        }
    } else if !matches!(
        v.style(),
        Some(Style::Plain | Style::Single | Style::Double)
    ) {
        return Err(shape_err(svc, "volumes", v, "a string content"));
    }
    // Keep the block scalar's end: up to and including its final line break.
    if at.end > at.start && !text[at.clone()].ends_with('\n') {
        let (next, _) = after_line(text, at.end);
        if text[at.end..next].trim().is_empty() {
            at.end = next;
        }
    }
    let ends_nl = text[at.clone()].ends_with('\n');
    let trailing = content.len() - content.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let body_text = content.strip_suffix('\n').unwrap_or(content);
    let first_line = content.lines().find(|l| !l.is_empty()).unwrap_or("");
    let indicator = if first_line.starts_with(' ') || content.starts_with('\n') {
        let d = indent.len().saturating_sub(key_col);
        if !(1..=9).contains(&d) {
            return Err(shape_err(
                svc,
                "volumes",
                v,
                "content indented 1 to 9 columns past its key",
            ));
        }
        d.to_string()
    } else {
        String::new()
    };
    let mut out = format!("|{indicator}{chomp}{header_tail}");
    if content.is_empty() {
        out.push_str(nl);
    }
    for line in body_text.split('\n') {
        out.push_str(nl);
        if !line.is_empty() {
            out.push_str(&indent);
            out.push_str(line);
        }
    }
    if !content.is_empty() {
        out.push_str(nl);
    }
    if !ends_nl && out.ends_with(nl) {
        out.truncate(out.len() - nl.len());
    }
    let mut new_m = m.clone();
    new_m.insert("content".into(), Value::String(content.to_owned()));
    let mut new_items = items.clone();
    new_items[idx] = Value::Mapping(new_m);
    let mut service = new_service(svc);
    service.insert("volumes".into(), Value::Sequence(new_items));
    Ok(Some(Plan {
        splices: vec![Splice { at, text: out }],
        service,
    }))
}

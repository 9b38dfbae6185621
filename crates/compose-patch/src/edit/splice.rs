//! Shared by every planner: shape checks, quoting decisions, and splices that replace a
//! scalar, append sequence items or mapping entries, or add a new key.

use std::ops::Range;

use yaml_serde::{Mapping, Value};

use crate::cst::{Item, Kind, Node, Style};
use crate::error::{Error, Result};
use crate::svc::Svc;
use crate::text::{
    after_line, column, indent_at, line_end, line_start, newline, render, trim_back,
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

/// An insertion of `text` at byte `at`.
pub(super) fn ins(at: usize, text: String) -> Splice {
    Splice { at: at..at, text }
}

pub(super) fn shape_err(svc: &Svc<'_>, key: &str, node: &Node, expected: &str) -> Error {
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
pub(super) fn guard(svc: &Svc<'_>, key: &str, node: &Node) -> Result<()> {
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

pub(super) fn guard_deep(svc: &Svc<'_>, key: &str, node: &Node) -> Result<()> {
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

pub(super) fn item_node<'a>(
    svc: &Svc<'_>,
    key: &str,
    items: &'a [Item],
    i: usize,
) -> Result<&'a Node> {
    items.get(i).and_then(|it| it.node.as_ref()).ok_or_else(|| {
        crate::svc::disagree(
            svc.text,
            svc.node.range.start,
            &format!("{key} items differ"),
        )
    })
}

/// A sequence value about to be edited, whose typed view has `n` items: refuses anchors and
/// aliases and other shapes, and returns `(flow, syntax items, their nodes)`.
pub(super) fn seq_items<'n>(
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

pub(super) fn check_len(svc: &Svc<'_>, node: &Node, n: usize) -> Result<()> {
    let len = node.items().map_or(0, <[Item]>::len);
    if len == n {
        Ok(())
    } else {
        Err(crate::svc::disagree(
            svc.text,
            node.range.start,
            "sequence lengths differ",
        ))
    }
}

/// The most common quote style among scalar items, for new items.
pub(super) fn quote_hint(nodes: &[&Node], flow: bool) -> Style {
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

pub(super) fn fallback_quote(nodes: &[&Node]) -> Style {
    if nodes.iter().any(|n| n.style() == Some(Style::Single)) {
        Style::Single
    } else {
        Style::Double
    }
}

pub(super) fn replace_scalar(
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
pub(super) fn line_after_node(text: &str, node: &Node) -> (usize, bool) {
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
pub(super) fn append_items(text: &str, seq: &Node, rendered: &[String]) -> Vec<Splice> {
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
pub(super) fn append_entry(
    text: &str,
    map: &Node,
    key: &str,
    value_lines: &[String],
) -> Vec<Splice> {
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
pub(super) fn seq_offset(svc: &Svc<'_>) -> usize {
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
pub(super) fn add_seq_key(svc: &Svc<'_>, key: &str, items: &[String]) -> Vec<Splice> {
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
pub(super) fn new_seq_key(
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

pub(super) fn new_service(svc: &Svc<'_>) -> Mapping {
    svc.map.clone()
}

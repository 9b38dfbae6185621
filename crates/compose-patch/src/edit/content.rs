//! The inline `content:` planner (Coolify's long-syntax binds).

use yaml_serde::Value;

use super::splice::{Plan, Splice, check_len, guard, item_node, new_service, shape_err};
use super::volume::same_target;
use crate::cst::Style;
use crate::error::{Error, Result};
use crate::svc::Svc;
use crate::text::{after_line, column, line_end, newline};

pub(super) fn plan_content(svc: &Svc<'_>, target: &str, content: &str) -> Result<Option<Plan>> {
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
    let (e, _) = crate::svc::find_entry(svc.text, item, m, "content")?.ok_or_else(not_found)?;
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

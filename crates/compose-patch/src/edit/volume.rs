//! The `volumes:` planner: short and long syntax mounts.

use yaml_serde::{Mapping, Value};

use super::splice::{
    Plan, Splice, append_entry, append_items, fallback_quote, guard, guard_deep, ins, item_node,
    line_after_node, new_seq_key, new_service, quote_hint, replace_scalar, seq_items, shape_err,
};
use crate::cst::{Kind, Style};
use crate::error::{Error, Result};
use crate::model::{Selinux, Volume, VolumeMount};
use crate::svc::Svc;
use crate::text::{after_line, indent_at, newline, render};

/// Split on `:` outside `${...}`.
pub(super) fn split_colons(s: &str) -> Vec<&str> {
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

pub(super) fn short_parts(s: &str) -> Option<(Option<String>, String, Vec<String>)> {
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
                bind: source
                    .as_deref()
                    .is_some_and(|s| s.starts_with(['.', '/', '~'])),
                source,
                target,
                read_only: opts.iter().any(|o| o == "ro"),
                selinux: opts.iter().find_map(|o| Selinux::from_letter(o)),
                long_syntax: false,
                has_content: false,
                content: None,
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
            content: m.get("content").and_then(Value::as_str).map(str::to_owned),
            bind: m.get("type").and_then(Value::as_str) == Some("bind"),
        }),
        _ => None,
    }
}

pub(super) fn validate_mount(m: &VolumeMount) -> Result<String> {
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

pub(super) fn is_path(source: &str) -> bool {
    source.starts_with('.')
        || source.starts_with('/')
        || source.starts_with('~')
        || source.starts_with('$')
}

pub(super) fn plan_volume(svc: &Svc<'_>, mount: &VolumeMount) -> Result<Option<Plan>> {
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
                match crate::svc::find_entry(svc.text, n, m, "source")? {
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
                match crate::svc::find_entry(svc.text, n, m, "read_only")? {
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

pub(super) fn plan_remove_volume(svc: &Svc<'_>, target: &str) -> Result<Option<Plan>> {
    let Some((entry, Value::Sequence(items))) = svc.get("volumes")? else {
        return Ok(None);
    };
    let Some(pos) = items
        .iter()
        .position(|v| read_volume(v).is_some_and(|vol| same_target(&vol.target, target)))
    else {
        return Ok(None);
    };
    let node = entry
        .value
        .as_ref()
        .ok_or_else(|| shape_err(svc, "volumes", svc.node, "a sequence"))?;
    let (flow, cst_items, _) = seq_items(svc, "volumes", node, items.len())?;
    let n = item_node(svc, "volumes", cst_items, pos)?;
    if flow || items.len() < 2 {
        return Err(Error::Unsupported {
            service: svc.key.clone(),
            key: "volumes".to_owned(),
            line: svc.line(n.range.start),
            detail: format!(
                "removing the mount at {target} from {}",
                if flow {
                    "a flow sequence"
                } else {
                    "a service that has no other mount"
                }
            ),
        });
    }
    guard_deep(svc, "volumes", n)?;
    let item = cst_items
        .get(pos)
        .ok_or_else(|| shape_err(svc, "volumes", node, "items"))?;
    let start = crate::text::line_start(svc.text, item.start);
    let (end, _) = line_after_node(svc.text, n);
    let mut new_items = items.clone();
    new_items.remove(pos);
    let mut service = new_service(svc);
    service.insert("volumes".into(), Value::Sequence(new_items));
    Ok(Some(Plan {
        splices: vec![Splice {
            at: start..end,
            text: String::new(),
        }],
        service,
    }))
}

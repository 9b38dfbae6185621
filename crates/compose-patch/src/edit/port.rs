//! The `ports:` planner: short and long syntax mappings.

use yaml_serde::Value;

use super::env::compose_string;
use super::splice::{
    Plan, append_entry, append_items, guard_deep, item_node, new_seq_key, new_service, quote_hint,
    replace_scalar, seq_items, shape_err,
};
use super::volume::split_colons;
use crate::cst::{Node, Style};
use crate::error::{Error, Result};
use crate::svc::Svc;
use crate::text::{double_quoted, render};

pub(crate) use crate::model::Port;

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

pub(super) fn plan_port(svc: &Svc<'_>, mapping: &str) -> Result<Option<Plan>> {
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
                match crate::svc::find_entry(svc.text, n, m, "published")? {
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

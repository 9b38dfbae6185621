//! The `environment:` planner: map and list forms.

use yaml_serde::{Mapping, Value};

use super::splice::{
    Plan, append_entry, append_items, check_len, fallback_quote, guard, ins, item_node,
    new_seq_key, new_service, replace_scalar, seq_offset, shape_err,
};
use crate::cst::{Kind, Node, Style};
use crate::error::{Error, Result};
use crate::svc::Svc;
use crate::text::render;

pub(super) fn compose_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn list_env_style(all: &Mapping) -> bool {
    all.values()
        .any(|s| matches!(s.get("environment"), Some(Value::Sequence(_))))
}

pub(super) fn plan_env(svc: &Svc<'_>, key: &str, value: &str) -> Result<Option<Plan>> {
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
            let found = crate::svc::find_entry(svc.text, node, m, key)?;
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

//! The `command:` planner: PostgreSQL `-c name=value` settings in a list or string command.

use yaml_serde::Value;

use super::splice::{
    Plan, Splice, append_items, check_len, fallback_quote, guard, item_node, new_service,
    quote_hint, replace_scalar, shape_err,
};
use crate::cst::{Kind, Node, Style};
use crate::error::{Error, Result};
use crate::svc::Svc;
use crate::text::{render, shell_quote, shell_words};

pub(super) fn norm_setting(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

/// Whether two PostgreSQL setting names are the same setting.
pub(crate) fn same_setting(a: &str, b: &str) -> bool {
    norm_setting(a) == norm_setting(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `-c` then `name=value`.
    Pair,
    /// `-cname=value`.
    Joined,
    /// `--name=value`.
    Long,
}

/// A setting found in an argument list: index of the argument holding
/// `name=value`, its form, name and value.
pub(super) fn settings_found(args: &[Option<String>]) -> Vec<(usize, Form, String, String)> {
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

pub(super) fn validate_setting(name: &str, value: &str) -> Result<()> {
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

pub(super) fn form_text(form: Form, name: &str, value: &str) -> String {
    match form {
        Form::Pair => format!("{name}={value}"),
        Form::Joined => format!("-c{name}={value}"),
        Form::Long => format!("--{name}={value}"),
    }
}

/// Replacements by argument index, and arguments to append.
pub(super) type SettingsEdit = (Vec<(usize, String)>, Vec<String>);

/// Apply settings to an argument list: returns (replacements by index, appended
/// arguments).
pub(super) fn settings_edit(
    args: &[Option<String>],
    settings: &[(String, String)],
) -> Result<SettingsEdit> {
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

pub(super) fn plan_command(svc: &Svc<'_>, settings: &[(String, String)]) -> Result<Option<Plan>> {
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

//! Reading YAML values the way the merge needs them: scalars as text, argument lists, tags.

use std::collections::BTreeMap;

use yaml_serde::{Mapping, Value};

pub(super) fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn tag_name(t: &yaml_serde::value::TaggedValue) -> String {
    t.tag.to_string().trim_start_matches('!').to_owned()
}

/// `command`/`entrypoint` as arguments: a list as is, a string split with shell-words rules.
pub(super) fn args_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Sequence(items) => Some(items.iter().filter_map(str_of).collect()),
        Value::String(s) => {
            crate::text::shell_words(s).map(|w| w.into_iter().map(|w| w.value).collect())
        }
        _ => None,
    }
}

/// The first tag found inside a value (environment entries may carry `!reset`).
pub(super) fn check_no_tags(v: &Value) -> std::result::Result<(), String> {
    match v {
        Value::Tagged(t) => {
            let name = tag_name(t);
            if name == "reset" { Ok(()) } else { Err(name) }
        }
        Value::Sequence(items) => items.iter().try_for_each(check_no_tags),
        Value::Mapping(m) => m.values().try_for_each(check_no_tags),
        _ => Ok(()),
    }
}

/// The environment of service `key` in a document as written (map or list form).
pub(super) fn raw_env_of(root: &Mapping, key: &str) -> BTreeMap<String, Option<String>> {
    let svc = root.get("services").and_then(|s| s.get(key));
    let svc = match svc {
        Some(Value::Tagged(t)) => Some(&t.value),
        other => other,
    };
    let env = match svc.and_then(|s| s.get("environment")) {
        Some(Value::Tagged(t)) => Some(&t.value),
        other => other,
    };
    match env {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((str_of(k)?, str_of(v))))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(str_of)
            .map(|s| match s.split_once('=') {
                Some((a, b)) => (a.to_owned(), Some(b.to_owned())),
                None => (s, None),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

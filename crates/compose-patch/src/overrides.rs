//! Override mode: the same edits written as a `docker-compose.override.yml`.

use yaml_serde::{Mapping, Value};

use crate::edit::{read_port, read_volume};
use crate::error::{Error, Result};
use crate::file::ComposeFile;
use crate::model::Edit;

fn volume_target(v: &Value) -> Option<String> {
    read_volume(v).map(|v| v.target)
}

/// What goes into the override for one service: the parts of `after` that Compose's
/// merge rules need to turn `before` into `after`.
fn service_override(key: &str, before: &Mapping, after: &Mapping) -> Result<Mapping> {
    let mut out = Mapping::new();
    // command: replaced wholesale.
    if before.get("command") != after.get("command")
        && let Some(c) = after.get("command")
    {
        out.insert("command".into(), c.clone());
    }
    // volumes: merged by target.
    if let Some(Value::Sequence(new)) = after.get("volumes") {
        let old = match before.get("volumes") {
            Some(Value::Sequence(s)) => s.clone(),
            _ => Vec::new(),
        };
        let changed: Vec<Value> = new.iter().filter(|v| !old.contains(v)).cloned().collect();
        for v in &changed {
            if volume_target(v).is_none() {
                return Err(Error::Unsupported {
                    service: key.to_owned(),
                    key: "volumes".to_owned(),
                    line: 0,
                    detail: "a volume without a target cannot be merged".to_owned(),
                });
            }
        }
        if !changed.is_empty() {
            out.insert("volumes".into(), Value::Sequence(changed));
        }
    }
    // environment: merged by name; written as a map.
    let env_of = |m: &Mapping| -> Vec<(String, Option<String>)> {
        match m.get("environment") {
            Some(Value::Mapping(e)) => e
                .iter()
                .filter_map(|(k, v)| {
                    let val = match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => None,
                    };
                    Some((k.as_str()?.to_owned(), val))
                })
                .collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|v| {
                    let s = v.as_str()?;
                    Some(match s.split_once('=') {
                        Some((k, val)) => (k.to_owned(), Some(val.to_owned())),
                        None => (s.to_owned(), None),
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let old_env = env_of(before);
    let mut env = Mapping::new();
    for (k, v) in env_of(after) {
        if !old_env.contains(&(k.clone(), v.clone()))
            && let Some(v) = v
        {
            env.insert(k.into(), v.into());
        }
    }
    if !env.is_empty() {
        out.insert("environment".into(), Value::Mapping(env));
    }
    // ports: appended, so only new mappings; a changed one cannot be expressed.
    if let Some(Value::Sequence(new)) = after.get("ports") {
        let old = match before.get("ports") {
            Some(Value::Sequence(s)) => s.clone(),
            _ => Vec::new(),
        };
        let mut added = Vec::new();
        for v in new.iter().filter(|v| !old.contains(v)) {
            let p = read_port(v);
            let clash = old.iter().any(|o| {
                let q = read_port(o);
                matches!((&p, &q), (Some(p), Some(q)) if p.target == q.target && p.protocol == q.protocol)
            });
            if clash {
                return Err(Error::Unsupported {
                    service: key.to_owned(),
                    key: "ports".to_owned(),
                    line: 0,
                    detail: "an override file can only add ports (Compose appends them); change the existing mapping in the base file".to_owned(),
                });
            }
            added.push(v.clone());
        }
        if !added.is_empty() {
            out.insert("ports".into(), Value::Sequence(added));
        }
    }
    Ok(out)
}

impl ComposeFile {
    /// Produce the text of a `docker-compose.override.yml` that, merged by Compose
    /// over this file, has the effect of `edits`; `None` when every edit is already
    /// in place. The base file is not changed.
    ///
    /// Compose merge rules followed: `command` is replaced wholesale (the full list
    /// is written), `volumes` merge by target, `environment` by name (written as a
    /// map), `ports` are appended (so changing an existing mapping is refused).
    pub fn override_file(&self, edits: &[Edit]) -> Result<Option<String>> {
        let mut after = self.clone();
        after.apply_all(edits)?;
        let mut services = Mapping::new();
        let mut seen: Vec<String> = Vec::new();
        for e in edits {
            let key = self.find_service(e.service())?;
            if seen.contains(&key) {
                continue;
            }
            seen.push(key.clone());
            let get = |f: &ComposeFile| -> Mapping {
                f.view()
                    .get("services")
                    .and_then(|s| s.get(key.as_str()))
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default()
            };
            let o = service_override(&key, &get(self), &get(&after))?;
            if !o.is_empty() {
                services.insert(key.into(), Value::Mapping(o));
            }
        }
        if services.is_empty() {
            return Ok(None);
        }
        let mut root = Mapping::new();
        root.insert("services".into(), Value::Mapping(services));
        let root = Value::Mapping(root);
        let body = yaml_serde::to_string(&root).map_err(|e| Error::Verification {
            service: String::new(),
            edit: "override file".to_owned(),
            detail: e.to_string(),
        })?;
        let text = format!(
            "# Generated by pgtls: TLS hardening for the services below.\n# Compose merges this file over docker-compose.yml (command replaced, volumes by target,\n# environment by name, ports appended).\n{body}"
        );
        let back = crate::file::typed_view(&text)?;
        if back != root {
            return Err(Error::Verification {
                service: String::new(),
                edit: "override file".to_owned(),
                detail: "the generated override does not read back as written".to_owned(),
            });
        }
        Ok(Some(text))
    }
}

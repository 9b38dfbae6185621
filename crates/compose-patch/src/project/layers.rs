//! The service layers a file contributes: what it `include:`s, then its own services, each
//! preceded by the bases it `extends:` (with cycle detection for both).

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::{Mapping, Value};

use super::lines::ServiceLines;
use super::paths::{dir_of, join, perr};
use super::read::Reader;
use super::value::{raw_env_of, str_of, tag_name};
use crate::error::Result;

/// One service definition of one file (or an `extends` base).
#[derive(Clone)]
pub(super) struct Layer {
    pub(super) file: String,
    pub(super) dir: String,
    pub(super) service: String,
    /// `None`: `!reset` of the whole service.
    pub(super) map: Option<Mapping>,
    /// The whole service was tagged `!override`.
    pub(super) replace: bool,
    /// Written as `name:` with nothing under it. Compose (2.26) merges such a file into the
    /// services read so far and validates the result against the compose-spec schema: fine
    /// when an earlier file defines the service, "services.NAME must be a mapping" otherwise.
    pub(super) empty: bool,
    pub(super) lines: ServiceLines,
    /// The service's environment as written (before interpolation).
    pub(super) raw_env: BTreeMap<String, Option<String>>,
}

/// The service layers one top-level (or included) file contributes, in order: included
/// services first, then the file's own (each preceded by its `extends` bases).
pub(super) fn file_layers(
    r: &mut Reader<'_>,
    path: &str,
    named_by: Option<(&str, usize)>,
    stack: &mut Vec<String>,
) -> Result<Vec<(String, Layer)>> {
    if stack.iter().any(|p| p == path) {
        let by = stack.last().cloned().unwrap_or_default();
        return Err(perr(
            &by,
            0,
            format!("include cycle: {} -> {path}", stack.join(" -> ")),
        ));
    }
    let doc = r.doc(path, named_by)?;
    stack.push(path.to_owned());
    let dir = dir_of(path);
    let mut out: Vec<(String, Layer)> = Vec::new();
    let mut included: BTreeSet<String> = BTreeSet::new();
    if let Some(inc) = doc.root.get("include") {
        let inc_lines = doc.lines.top.get("include").cloned().unwrap_or_default();
        let items = match inc {
            Value::Sequence(s) => s.clone(),
            Value::Null => Vec::new(),
            _ => {
                return Err(perr(path, inc_lines.line, "`include` must be a list"));
            }
        };
        for (i, item) in items.iter().enumerate() {
            let line = inc_lines.items.get(i).copied().unwrap_or(inc_lines.line);
            let paths: Vec<String> = match item {
                Value::String(s) => vec![s.clone()],
                Value::Mapping(m) => match m.get("path") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Sequence(s)) => s.iter().filter_map(str_of).collect(),
                    _ => return Err(perr(path, line, "an `include` entry needs `path`")),
                },
                _ => {
                    return Err(perr(
                        path,
                        line,
                        "an `include` entry must be a path or a mapping",
                    ));
                }
            };
            // the included paths form their own little project, merged in order
            let mut sub: Vec<(String, Layer)> = Vec::new();
            for p in &paths {
                let full = join(&dir, p);
                sub.extend(file_layers(r, &full, Some((path, line)), stack)?);
            }
            for (k, _) in &sub {
                included.insert(k.clone());
            }
            out.extend(sub);
        }
    }
    if let Some(svcs) = doc.root.get("services") {
        let Value::Mapping(svcs) = svcs else {
            let line = doc.lines.top.get("services").map_or(0, |k| k.line);
            return Err(perr(path, line, "`services` must be a mapping"));
        };
        for (k, v) in svcs {
            let Some(key) = k.as_str() else { continue };
            let sl = doc.lines.services.get(key).cloned().unwrap_or_default();
            if included.contains(key) {
                return Err(perr(
                    path,
                    sl.line,
                    format!("services.{key} conflicts with imported resource"),
                ));
            }
            let layer = match v {
                Value::Tagged(t) if tag_name(t) == "reset" => Layer {
                    file: path.to_owned(),
                    dir: dir.clone(),
                    service: key.to_owned(),
                    map: None,
                    replace: false,
                    empty: false,
                    lines: sl,
                    raw_env: raw_env_of(&doc.raw_root, key),
                },
                Value::Tagged(t) if tag_name(t) == "override" => Layer {
                    file: path.to_owned(),
                    dir: dir.clone(),
                    service: key.to_owned(),
                    map: Some(t.value.as_mapping().cloned().unwrap_or_default()),
                    replace: true,
                    empty: false,
                    lines: sl,
                    raw_env: raw_env_of(&doc.raw_root, key),
                },
                Value::Tagged(t) => {
                    return Err(perr(
                        path,
                        sl.line,
                        format!(
                            "unknown tag !{} on service \"{key}\" (Compose knows !reset and !override)",
                            tag_name(t)
                        ),
                    ));
                }
                Value::Mapping(m) => Layer {
                    file: path.to_owned(),
                    dir: dir.clone(),
                    service: key.to_owned(),
                    map: Some(m.clone()),
                    replace: false,
                    empty: false,
                    lines: sl,
                    raw_env: raw_env_of(&doc.raw_root, key),
                },
                Value::Null => Layer {
                    file: path.to_owned(),
                    dir: dir.clone(),
                    service: key.to_owned(),
                    map: Some(Mapping::new()),
                    replace: false,
                    empty: true,
                    lines: sl,
                    raw_env: raw_env_of(&doc.raw_root, key),
                },
                _ => {
                    return Err(perr(
                        path,
                        sl.line,
                        format!("service \"{key}\" must be a mapping"),
                    ));
                }
            };
            let mut chain = Vec::new();
            for l in with_extends(r, layer, &mut chain)? {
                out.push((key.to_owned(), l));
            }
        }
    }
    stack.pop();
    Ok(out)
}

/// A layer preceded by the layers of what it `extends` (recursively).
fn with_extends(
    r: &mut Reader<'_>,
    layer: Layer,
    chain: &mut Vec<(String, String)>,
) -> Result<Vec<Layer>> {
    let Some(map) = &layer.map else {
        return Ok(vec![layer]);
    };
    let Some(ext) = map.get("extends") else {
        return Ok(vec![layer]);
    };
    let line = layer
        .lines
        .keys
        .get("extends")
        .map_or(layer.lines.line, |k| k.line);
    let (base, file) = match ext {
        Value::String(s) => (s.clone(), None),
        Value::Mapping(m) => (
            m.get("service")
                .and_then(str_of)
                .ok_or_else(|| perr(&layer.file, line, "`extends` needs `service`"))?,
            m.get("file").and_then(str_of),
        ),
        _ => {
            return Err(perr(
                &layer.file,
                line,
                "`extends` must be a name or a mapping",
            ));
        }
    };
    let base_file = file.map_or_else(|| layer.file.clone(), |f| join(&layer.dir, &f));
    let me = (layer.file.clone(), layer.service.clone());
    if chain.contains(&me) {
        return Err(perr(
            &layer.file,
            line,
            format!(
                "extends cycle: {}",
                chain
                    .iter()
                    .map(|(f, s)| format!("{f}:{s}"))
                    .chain([format!("{}:{}", me.0, me.1)])
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
        ));
    }
    chain.push(me);
    let doc = r.doc(&base_file, Some((&layer.file, line)))?;
    let base_val = doc
        .root
        .get("services")
        .and_then(|s| s.get(base.as_str()))
        .cloned()
        .ok_or_else(|| {
            perr(
                &layer.file,
                line,
                format!("cannot extend service \"{base}\": not found in \"{base_file}\""),
            )
        })?;
    let base_map = match base_val {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        _ => {
            return Err(perr(
                &layer.file,
                line,
                format!("cannot extend service \"{base}\": not a mapping"),
            ));
        }
    };
    let base_layer = Layer {
        file: base_file.clone(),
        dir: dir_of(&base_file),
        service: base.clone(),
        map: Some(base_map),
        replace: false,
        empty: false,
        lines: doc.lines.services.get(&base).cloned().unwrap_or_default(),
        raw_env: raw_env_of(&doc.raw_root, &base),
    };
    let mut out = with_extends(r, base_layer, chain)?;
    chain.pop();
    out.push(layer);
    Ok(out)
}

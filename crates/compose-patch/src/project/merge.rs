//! Compose's merge rules for one service, applied layer by layer: scalars and `command`
//! replaced, `environment` by name, `volumes` by target, `ports` concatenated, `!reset` and
//! `!override` honoured.

use std::collections::BTreeMap;

use yaml_serde::Value;

use super::interp::Interpolator;
use super::layers::Layer;
use super::model::{MergedService, Origin, Sourced};
use super::paths::{join, perr};
use super::value::{args_of, check_no_tags, str_of, tag_name};
use crate::edit::{read_port, read_volume};
use crate::error::Result;
use crate::model::{Port, Volume};

/// The merge accumulator of one service.
pub(super) struct Acc {
    key: String,
    defined_in: Vec<Origin>,
    image: Option<Sourced<String>>,
    container_name: Option<Sourced<String>>,
    command: Option<Sourced<Vec<String>>>,
    entrypoint: Option<Sourced<Vec<String>>>,
    environment: Vec<(String, Sourced<Option<String>>)>,
    environment_as_written: BTreeMap<String, Option<String>>,
    volumes: Vec<Sourced<Volume>>,
    ports: Vec<Sourced<Port>>,
    profiles: Vec<String>,
    networks: Vec<String>,
}

enum Tag {
    None,
    Reset,
    Override,
}

impl Acc {
    pub(super) fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            defined_in: Vec::new(),
            image: None,
            container_name: None,
            command: None,
            entrypoint: None,
            environment: Vec::new(),
            environment_as_written: BTreeMap::new(),
            volumes: Vec::new(),
            ports: Vec::new(),
            profiles: Vec::new(),
            networks: Vec::new(),
        }
    }

    #[allow(clippy::many_single_char_names)] // k/v/s/l are the YAML key, value, string, line
    pub(super) fn apply(&mut self, layer: &Layer, interp: &Interpolator) -> Result<()> {
        let Some(map) = &layer.map else {
            return Ok(());
        };
        let origin = |line: usize| Origin {
            file: layer.file.clone(),
            line,
            service: layer.service.clone(),
        };
        self.defined_in.push(origin(layer.lines.line));
        for (k, v) in map {
            let Some(name) = k.as_str() else { continue };
            let kl = layer.lines.keys.get(name).cloned().unwrap_or_default();
            let line = if kl.line > 0 {
                kl.line
            } else {
                layer.lines.line
            };
            let (tag, v) = match v {
                Value::Tagged(t) => match tag_name(t).as_str() {
                    "reset" => (Tag::Reset, &t.value),
                    "override" => (Tag::Override, &t.value),
                    other => {
                        return Err(perr(
                            &layer.file,
                            line,
                            format!(
                                "unknown tag !{other} on `{name}` of service \"{}\" (Compose knows !reset and !override)",
                                layer.service
                            ),
                        ));
                    }
                },
                v => (Tag::None, v),
            };
            check_no_tags(v).map_err(|t| {
                perr(
                    &layer.file,
                    line,
                    format!(
                        "tag !{t} inside `{name}` of service \"{}\" is not supported here",
                        layer.service
                    ),
                )
            })?;
            let reset = matches!(tag, Tag::Reset);
            let replace = matches!(tag, Tag::Override);
            let item_origin = |i: usize| origin(kl.items.get(i).copied().unwrap_or(line));
            match name {
                "image" => {
                    self.image = (!reset).then(|| str_of(v)).flatten().map(|value| Sourced {
                        value,
                        origin: origin(line),
                    });
                }
                "container_name" => {
                    self.container_name =
                        (!reset).then(|| str_of(v)).flatten().map(|value| Sourced {
                            value,
                            origin: origin(line),
                        });
                }
                "command" => {
                    self.command = (!reset).then(|| args_of(v)).flatten().map(|value| Sourced {
                        value,
                        origin: origin(line),
                    });
                }
                "entrypoint" => {
                    self.entrypoint = (!reset).then(|| args_of(v)).flatten().map(|value| Sourced {
                        value,
                        origin: origin(line),
                    });
                }
                "environment" => {
                    if reset || replace {
                        self.environment.clear();
                        self.environment_as_written.clear();
                    }
                    if reset {
                        continue;
                    }
                    let pairs: Vec<(String, Option<String>, usize, bool)> = match v {
                        Value::Mapping(m) => m
                            .iter()
                            .filter_map(|(ek, ev)| {
                                let ek = str_of(ek)?;
                                let l = kl.entries.get(&ek).copied().unwrap_or(line);
                                match ev {
                                    Value::Tagged(t) if tag_name(t) == "reset" => {
                                        Some((ek, None, l, true))
                                    }
                                    ev => Some((ek, str_of(ev), l, false)),
                                }
                            })
                            .collect(),
                        Value::Sequence(items) => items
                            .iter()
                            .enumerate()
                            .filter_map(|(i, s)| {
                                let s = str_of(s)?;
                                let l = kl.items.get(i).copied().unwrap_or(line);
                                Some(match s.split_once('=') {
                                    Some((a, b)) => (a.to_owned(), Some(b.to_owned()), l, false),
                                    None => (s, None, l, false),
                                })
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    for (ek, ev, l, unset) in pairs {
                        if unset {
                            self.environment.retain(|(n, _)| *n != ek);
                            self.environment_as_written.remove(&ek);
                            continue;
                        }
                        self.environment_as_written
                            .insert(ek.clone(), layer.raw_env.get(&ek).cloned().flatten());
                        let ev = ev.or_else(|| interp.lookup(&ek).map(str::to_owned));
                        let s = Sourced {
                            value: ev,
                            origin: origin(l),
                        };
                        if let Some(slot) = self.environment.iter_mut().find(|(n, _)| *n == ek) {
                            slot.1 = s;
                        } else {
                            self.environment.push((ek, s));
                        }
                    }
                }
                "volumes" => {
                    if reset || replace {
                        self.volumes.clear();
                    }
                    if reset {
                        continue;
                    }
                    if let Value::Sequence(items) = v {
                        for (i, item) in items.iter().enumerate() {
                            let Some(mut vol) = read_volume(item) else {
                                return Err(perr(
                                    &layer.file,
                                    item_origin(i).line,
                                    format!(
                                        "a volume of service \"{}\" cannot be read",
                                        layer.service
                                    ),
                                ));
                            };
                            if let Some(src) = vol.source.as_mut().filter(|s| {
                                s.starts_with("./") || s.starts_with("../") || *s == "."
                            }) && !layer.dir.is_empty()
                            {
                                *src = format!("./{}", join(&layer.dir, src));
                            }
                            let s = Sourced {
                                value: vol,
                                origin: item_origin(i),
                            };
                            let t = s.value.target.trim_end_matches('/').to_owned();
                            if let Some(slot) = self
                                .volumes
                                .iter_mut()
                                .find(|x| x.value.target.trim_end_matches('/') == t)
                            {
                                *slot = s;
                            } else {
                                self.volumes.push(s);
                            }
                        }
                    }
                }
                "ports" => {
                    if reset || replace {
                        self.ports.clear();
                    }
                    if reset {
                        continue;
                    }
                    if let Value::Sequence(items) = v {
                        for (i, item) in items.iter().enumerate() {
                            let Some(p) = read_port(item) else {
                                return Err(perr(
                                    &layer.file,
                                    item_origin(i).line,
                                    format!(
                                        "a port of service \"{}\" cannot be read",
                                        layer.service
                                    ),
                                ));
                            };
                            if !self.ports.iter().any(|x| x.value == p) {
                                self.ports.push(Sourced {
                                    value: p,
                                    origin: item_origin(i),
                                });
                            }
                        }
                    }
                }
                "profiles" => {
                    if reset || replace {
                        self.profiles.clear();
                    }
                    if let Value::Sequence(items) = v {
                        for p in items.iter().filter_map(str_of) {
                            if !self.profiles.contains(&p) {
                                self.profiles.push(p);
                            }
                        }
                    }
                }
                "networks" => {
                    if reset || replace {
                        self.networks.clear();
                    }
                    let names: Vec<String> = match v {
                        Value::Sequence(items) => items.iter().filter_map(str_of).collect(),
                        Value::Mapping(m) => m.keys().filter_map(str_of).collect(),
                        _ => Vec::new(),
                    };
                    for n in names {
                        if !self.networks.contains(&n) {
                            self.networks.push(n);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(super) fn finish(self, active_profiles: &[String]) -> MergedService {
        let active = self.profiles.is_empty()
            || active_profiles
                .iter()
                .any(|p| p == "*" || self.profiles.contains(p));
        MergedService {
            key: self.key,
            active,
            profiles: self.profiles,
            defined_in: self.defined_in,
            image: self.image,
            container_name: self.container_name,
            command: self.command,
            entrypoint: self.entrypoint,
            environment: self.environment,
            environment_as_written: self.environment_as_written,
            volumes: self.volumes,
            ports: self.ports,
            networks: self.networks,
        }
    }
}

//! Loading a project: select the files, read each into layers, merge the layers per service.

use std::collections::BTreeMap;

use super::interp::Interpolator;
use super::layers::file_layers;
use super::merge::Acc;
use super::model::{LoadOptions, Origin, Project, ProjectFiles, Removed};
use super::paths::perr;
use super::read::Reader;
use super::select::{dotenv_line, read_dotenv, select};
use crate::error::Result;

impl Project {
    /// Select, read, interpolate and merge the project's files as Compose v2 does.
    pub fn load(source: &dyn ProjectFiles, opts: &LoadOptions) -> Result<Project> {
        let interp = Interpolator {
            env: opts.env.clone(),
            dotenv: read_dotenv(source, opts)?,
            warnings: Vec::new(),
        };
        let mut reader = Reader::new(source, interp);
        let (files, selected_by) = select(source, opts, &reader.interp)?;
        let mut order: Vec<String> = Vec::new();
        let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
        let mut removed: Vec<Removed> = Vec::new();
        for f in &files {
            let by = match selected_by.as_str() {
                "COMPOSE_FILE (.env)" => Some((".env", dotenv_line(source, "COMPOSE_FILE"))),
                _ => None,
            };
            let layers = file_layers(&mut reader, f, by, &mut Vec::new())?;
            for (key, layer) in layers {
                if layer.map.is_none() {
                    acc.remove(&key);
                    order.retain(|k| *k != key);
                    removed.push(Removed {
                        key: key.clone(),
                        origin: Origin {
                            file: layer.file.clone(),
                            line: layer.lines.line,
                            service: layer.service.clone(),
                        },
                    });
                } else {
                    if layer.empty && !acc.contains_key(&key) {
                        return Err(perr(
                            &layer.file,
                            layer.lines.line,
                            format!(
                                "service \"{key}\" must be a mapping: it is empty and no earlier \
                                 file defines it (Compose refuses this; write its keys, or `{key}: {{}}`)"
                            ),
                        ));
                    }
                    removed.retain(|r| r.key != key);
                    if !acc.contains_key(&key) {
                        order.push(key.clone());
                    }
                    let a = acc.entry(key.clone()).or_insert_with(|| Acc::new(&key));
                    if layer.replace {
                        *a = Acc::new(&key);
                    }
                    a.apply(&layer, &reader.interp)?;
                }
            }
        }
        let profiles: Vec<String> = if opts.profiles.is_empty() {
            reader
                .interp
                .lookup("COMPOSE_PROFILES")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            opts.profiles.clone()
        };
        let services = order
            .iter()
            .filter_map(|k| acc.remove(k))
            .map(|a| a.finish(&profiles))
            .collect();
        Ok(Project {
            files,
            selected_by,
            read: reader.read,
            services,
            removed,
            profiles,
            dotenv: reader.interp.dotenv.clone(),
            warnings: reader.interp.warnings.clone(),
        })
    }
}

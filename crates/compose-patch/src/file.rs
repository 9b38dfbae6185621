//! `ComposeFile`: parsing, service lookup, reading helpers and the edit driver.

use yaml_serde::{Mapping, Value};

use crate::cst::{self, Entry, Node};
use crate::edit::{self, Plan};
use crate::error::{Error, Result};
use crate::model::{Changed, Edit, Ipam, Port, Service, ServiceView, Volume};
use crate::svc::{Svc, disagree, find_entry};
use crate::text::line_of;

/// A docker-compose document held as its exact text plus a typed view.
///
/// Every edit changes only the bytes it must, then re-parses the result and checks
/// that its typed view equals the typed view before the edit plus exactly that
/// edit. On any failure the text is left as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFile {
    text: String,
    view: Value,
}

/// Parse `text` into the typed view, mapping parser errors to ours.
pub(crate) fn typed_view(text: &str) -> Result<Value> {
    yaml_serde::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let message = e.to_string();
        if message.contains("duplicate entry") {
            let line = duplicate_line(text).unwrap_or(line);
            Error::DuplicateKey { line, message }
        } else {
            Error::InvalidYaml {
                line,
                column,
                message,
            }
        }
    })
}

/// Line of the second occurrence of the first duplicated key (keys compared by
/// their source text), found in the lossless tree.
fn duplicate_line(text: &str) -> Option<usize> {
    fn walk(text: &str, node: &Node) -> Option<usize> {
        match &node.kind {
            cst::Kind::Map { entries, .. } => {
                let mut seen: Vec<&str> = Vec::new();
                for e in entries {
                    let k = text.get(e.key.range.clone())?.trim_matches(['"', '\'']);
                    if seen.contains(&k) && !e.merge {
                        return Some(line_of(text, e.key.range.start));
                    }
                    seen.push(k);
                }
                entries
                    .iter()
                    .filter_map(|e| e.value.as_ref())
                    .find_map(|v| walk(text, v))
            }
            cst::Kind::Seq { items, .. } => items
                .iter()
                .filter_map(|i| i.node.as_ref())
                .find_map(|v| walk(text, v)),
            _ => None,
        }
    }
    walk(text, &cst::parse(text).ok()??)
}

pub(crate) fn cst_root(text: &str) -> Result<Node> {
    match cst::parse(text) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Err(Error::NotCompose {
            reason: "the document is empty".to_owned(),
        }),
        Err(e) => Err(Error::InvalidYaml {
            line: line_of(text, e.offset),
            column: crate::text::column(text, e.offset) + 1,
            message: format!("the lossless parser cannot read this: {}", e.message),
        }),
    }
}

fn services_of(view: &Value) -> Result<&Mapping> {
    let root = view.as_mapping().ok_or_else(|| Error::NotCompose {
        reason: "the top level is not a mapping".to_owned(),
    })?;
    match root.get("services") {
        Some(Value::Mapping(m)) => Ok(m),
        Some(_) => Err(Error::NotCompose {
            reason: "`services` is not a mapping".to_owned(),
        }),
        None => Err(Error::NotCompose {
            reason: "there is no `services` key".to_owned(),
        }),
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl ComposeFile {
    /// Parse a compose document. It must be one YAML document whose top level is a
    /// mapping with a `services` mapping.
    pub fn parse(text: &str) -> Result<Self> {
        let view = typed_view(text)?;
        services_of(&view)?;
        let root = cst_root(text)?;
        // The lossless tree must agree with the typed one down to the services.
        let root_map = view.as_mapping().ok_or_else(|| Error::NotCompose {
            reason: "the top level is not a mapping".to_owned(),
        })?;
        find_entry(text, &root, root_map, "services")?;
        Ok(Self {
            text: text.to_owned(),
            view,
        })
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The services in file order.
    pub fn services(&self) -> Vec<Service> {
        let Ok(services) = services_of(&self.view) else {
            return Vec::new();
        };
        let root = cst_root(&self.text).ok();
        let nodes = root.as_ref().and_then(|r| {
            let root_map = self.view.as_mapping()?;
            let (entry, _) = find_entry(&self.text, r, root_map, "services").ok()??;
            entry.value.as_ref()?.entries().map(<[Entry]>::to_vec)
        });
        services
            .iter()
            .enumerate()
            .filter_map(|(i, (k, v))| {
                let key = k.as_str()?.to_owned();
                let line = nodes
                    .as_ref()
                    .and_then(|n| n.get(i))
                    .map_or(0, |e| line_of(&self.text, e.key.range.start));
                Some(Service {
                    key,
                    container_name: str_of(v.get("container_name")),
                    image: str_of(v.get("image")),
                    line,
                })
            })
            .collect()
    }

    /// The typed view of every service, in file order.
    pub fn service_views(&self) -> Vec<ServiceView> {
        self.services()
            .into_iter()
            .filter_map(|s| self.service_view(&s.key).ok())
            .collect()
    }

    /// The typed view of the service named `name` (a key, else a `container_name`).
    pub fn service_view(&self, name: &str) -> Result<ServiceView> {
        let (key, m) = self.service_value(name)?;
        let line = self
            .services()
            .into_iter()
            .find(|s| s.key == key)
            .map_or(0, |s| s.line);
        let command = self.command(&key)?;
        let environment = match m.get("environment") {
            Some(Value::Mapping(env)) => env
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), str_of(Some(v)))))
                .collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (s.to_owned(), None),
                })
                .collect(),
            _ => Vec::new(),
        };
        let ports: Vec<Port> = match m.get("ports") {
            Some(Value::Sequence(items)) => items.iter().filter_map(edit::read_port).collect(),
            _ => Vec::new(),
        };
        let networks = match m.get("networks") {
            Some(Value::Sequence(items)) => items.iter().filter_map(|v| str_of(Some(v))).collect(),
            Some(Value::Mapping(map)) => map.keys().filter_map(|k| str_of(Some(k))).collect(),
            _ => Vec::new(),
        };
        Ok(ServiceView {
            settings: edit::settings_in(command.as_deref().unwrap_or_default()),
            command,
            container_name: str_of(m.get("container_name")),
            image: str_of(m.get("image")),
            environment,
            volumes: self.volumes(&key)?,
            ports,
            networks,
            key,
            line,
        })
    }

    /// The `ipam.config` entries (subnet and optional gateway) declared for the top-level
    /// network `name` (a key under `networks:`); empty when it declares none.
    pub fn network_ipam(&self, name: &str) -> Vec<Ipam> {
        let Some(configs) = self
            .view
            .get("networks")
            .and_then(|n| n.get(name))
            .and_then(|n| n.get("ipam"))
            .and_then(|i| i.get("config"))
            .and_then(Value::as_sequence)
        else {
            return Vec::new();
        };
        configs
            .iter()
            .filter_map(|c| {
                Some(Ipam {
                    subnet: str_of(c.get("subnet"))?,
                    gateway: str_of(c.get("gateway")),
                })
            })
            .collect()
    }

    /// The key of the service named `name`: a service key, else a
    /// `container_name`.
    pub fn find_service(&self, name: &str) -> Result<String> {
        let services = services_of(&self.view)?;
        let keys = || services.keys().filter_map(Value::as_str);
        if let Some(k) = keys().find(|k| *k == name) {
            return Ok(k.to_owned());
        }
        let by_container = services.iter().find_map(|(k, v)| {
            (str_of(v.get("container_name")).as_deref() == Some(name)).then(|| k.as_str())?
        });
        if let Some(k) = by_container {
            return Ok(k.to_owned());
        }
        Err(Error::ServiceNotFound {
            name: name.to_owned(),
            available: keys().map(str::to_owned).collect(),
        })
    }

    fn service_value(&self, name: &str) -> Result<(String, &Mapping)> {
        let key = self.find_service(name)?;
        let services = services_of(&self.view)?;
        match services.get(key.as_str()) {
            Some(Value::Mapping(m)) => Ok((key, m)),
            _ => Err(Error::NotCompose {
                reason: format!("service \"{key}\" is not a mapping"),
            }),
        }
    }

    /// The `container_name` of a service.
    pub fn container_name(&self, service: &str) -> Result<Option<String>> {
        let (_, m) = self.service_value(service)?;
        Ok(str_of(m.get("container_name")))
    }

    /// The `image` of a service.
    pub fn image(&self, service: &str) -> Result<Option<String>> {
        let (_, m) = self.service_value(service)?;
        Ok(str_of(m.get("image")))
    }

    /// The command as a list of arguments (a string command is split the way
    /// Compose splits it). None when the service has no command.
    pub fn command(&self, service: &str) -> Result<Option<Vec<String>>> {
        let (_, m) = self.service_value(service)?;
        Ok(match m.get("command") {
            Some(Value::Sequence(items)) => {
                Some(items.iter().filter_map(|v| str_of(Some(v))).collect())
            }
            Some(Value::String(s)) => {
                crate::text::shell_words(s).map(|w| w.into_iter().map(|w| w.value).collect())
            }
            _ => None,
        })
    }

    /// The PostgreSQL settings given with `-c name=value` (or `--name=value`) in
    /// the command, in order.
    pub fn command_settings(&self, service: &str) -> Result<Vec<(String, String)>> {
        let args = self.command(service)?.unwrap_or_default();
        Ok(edit::settings_in(&args))
    }

    /// The value of one PostgreSQL setting in the command (the last one wins, as
    /// in PostgreSQL).
    pub fn command_setting(&self, service: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .command_settings(service)?
            .into_iter()
            .rev()
            .find(|(k, _)| edit::same_setting(k, name))
            .map(|(_, v)| v))
    }

    /// The value of an environment variable (map or list form). `Some("")` for
    /// `KEY=`; None when absent or given without a value.
    pub fn env(&self, service: &str, key: &str) -> Result<Option<String>> {
        let (_, m) = self.service_value(service)?;
        Ok(match m.get("environment") {
            Some(Value::Mapping(env)) => str_of(env.get(key)),
            Some(Value::Sequence(items)) => items.iter().rev().find_map(|v| {
                let s = v.as_str()?;
                let (k, val) = s.split_once('=')?;
                (k == key).then(|| val.to_owned())
            }),
            _ => None,
        })
    }

    /// The volumes of a service.
    pub fn volumes(&self, service: &str) -> Result<Vec<Volume>> {
        let (_, m) = self.service_value(service)?;
        let Some(Value::Sequence(items)) = m.get("volumes") else {
            return Ok(Vec::new());
        };
        Ok(items.iter().filter_map(edit::read_volume).collect())
    }

    /// The source of the volume mounted at `target`.
    pub fn volume_source(&self, service: &str, target: &str) -> Result<Option<String>> {
        Ok(self
            .volumes(service)?
            .into_iter()
            .find(|v| edit::same_target(&v.target, target))
            .and_then(|v| v.source))
    }

    /// The port mappings of a service as strings (long syntax rendered short).
    pub fn ports(&self, service: &str) -> Result<Vec<String>> {
        let (_, m) = self.service_value(service)?;
        let Some(Value::Sequence(items)) = m.get("ports") else {
            return Ok(Vec::new());
        };
        Ok(items
            .iter()
            .filter_map(|v| edit::read_port(v).map(|p| p.to_string()))
            .collect())
    }

    /// The inline `content:` of the long-syntax volume mounted at `target`.
    pub fn inline_content(&self, service: &str, target: &str) -> Result<Option<String>> {
        let (_, m) = self.service_value(service)?;
        let Some(Value::Sequence(items)) = m.get("volumes") else {
            return Ok(None);
        };
        Ok(items.iter().find_map(|v| {
            let t = v.get("target")?.as_str()?;
            if !edit::same_target(t, target) {
                return None;
            }
            v.get("content")?.as_str().map(str::to_owned)
        }))
    }

    /// Apply one edit. On error the text is unchanged.
    pub fn apply(&mut self, edit: &Edit) -> Result<Changed> {
        let key = self.find_service(edit.service())?;
        let root = cst_root(&self.text)?;
        let root_map = self.view.as_mapping().ok_or_else(|| Error::NotCompose {
            reason: "the top level is not a mapping".to_owned(),
        })?;
        let services = services_of(&self.view)?;
        let (services_entry, _) =
            find_entry(&self.text, &root, root_map, "services")?.ok_or_else(|| {
                Error::NotCompose {
                    reason: "there is no `services` key".to_owned(),
                }
            })?;
        let services_node = services_entry
            .value
            .as_ref()
            .ok_or_else(|| Error::NotCompose {
                reason: "`services` is empty".to_owned(),
            })?;
        if services_node.anchor.is_some() {
            return Err(Error::Alias {
                service: key,
                key: "services".to_owned(),
                line: line_of(&self.text, services_node.range.start),
                detail: "the services mapping carries an anchor".to_owned(),
            });
        }
        let (svc_entry, svc_value) = find_entry(&self.text, services_node, services, &key)?
            .ok_or_else(|| Error::ServiceNotFound {
                name: key.clone(),
                available: self.services().into_iter().map(|s| s.key).collect(),
            })?;
        let line = line_of(&self.text, svc_entry.key.range.start);
        let node = match &svc_entry.value {
            Some(n) if n.anchor.is_some() || matches!(n.kind, cst::Kind::Alias) => {
                return Err(Error::Alias {
                    service: key,
                    key: String::new(),
                    line,
                    detail: "the service itself is an anchor or an alias".to_owned(),
                });
            }
            Some(n) if n.entries().is_some() && !n.tagged => n,
            _ => {
                return Err(Error::UnexpectedShape {
                    service: key,
                    key: String::new(),
                    line,
                    expected: "a mapping".to_owned(),
                    found: svc_entry
                        .value
                        .as_ref()
                        .map_or("nothing", Node::shape)
                        .to_owned(),
                });
            }
        };
        let Value::Mapping(map) = svc_value else {
            return Err(disagree(
                &self.text,
                node.range.start,
                "service is not a mapping",
            ));
        };
        let svc = Svc {
            text: &self.text,
            key: key.clone(),
            line,
            node,
            map,
            all: services,
        };
        let Some(Plan { splices, service }) = edit::plan(&svc, edit)? else {
            return Ok(Changed(false));
        };
        let mut expected = self.view.clone();
        if let Some(Value::Mapping(s)) = expected.get_mut("services") {
            s.insert(Value::String(key.clone()), Value::Mapping(service));
        }
        let new_text = edit::splice(&self.text, splices);
        let fail = |detail: String| Error::Verification {
            service: key.clone(),
            edit: edit.to_string(),
            detail,
        };
        let got =
            typed_view(&new_text).map_err(|e| fail(format!("the result does not parse: {e}")))?;
        if let Some(diff) = crate::verify::first_difference(&expected, &got, "") {
            return Err(fail(diff));
        }
        cst_root(&new_text)
            .map_err(|e| fail(format!("the result cannot be read losslessly: {e}")))?;
        self.text = new_text;
        self.view = got;
        Ok(Changed(true))
    }

    /// Apply several edits in order, all or nothing: on error the text is
    /// unchanged. Returns one [`Changed`] per edit.
    pub fn apply_all(&mut self, edits: &[Edit]) -> Result<Vec<Changed>> {
        let mut work = self.clone();
        let mut out = Vec::with_capacity(edits.len());
        for e in edits {
            out.push(work.apply(e)?);
        }
        *self = work;
        Ok(out)
    }

    /// Ensure `-c name=value` in the service's command for every pair.
    pub fn ensure_command_settings(
        &mut self,
        service: &str,
        settings: &[(&str, &str)],
    ) -> Result<Changed> {
        self.apply(&Edit::CommandSettings {
            service: service.to_owned(),
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    /// Ensure a volume mount (matched by target).
    pub fn ensure_volume(&mut self, service: &str, mount: crate::VolumeMount) -> Result<Changed> {
        self.apply(&Edit::Volume {
            service: service.to_owned(),
            mount,
        })
    }

    /// Remove the volume mount at `target` (see [`Edit::RemoveVolume`]).
    pub fn remove_volume(&mut self, service: &str, target: &str) -> Result<Changed> {
        self.apply(&Edit::RemoveVolume {
            service: service.to_owned(),
            target: target.to_owned(),
        })
    }

    /// Ensure an environment variable.
    pub fn ensure_env(&mut self, service: &str, key: &str, value: &str) -> Result<Changed> {
        self.apply(&Edit::Env {
            service: service.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Ensure a port mapping (matched by container port and protocol).
    pub fn ensure_port(&mut self, service: &str, mapping: &str) -> Result<Changed> {
        self.apply(&Edit::Port {
            service: service.to_owned(),
            mapping: mapping.to_owned(),
        })
    }

    /// Replace the inline `content:` block of the long-syntax volume at `target`.
    pub fn set_inline_content(
        &mut self,
        service: &str,
        target: &str,
        content: &str,
    ) -> Result<Changed> {
        self.apply(&Edit::InlineContent {
            service: service.to_owned(),
            target: target.to_owned(),
            content: content.to_owned(),
        })
    }

    pub(crate) fn view(&self) -> &Value {
        &self.view
    }
}

impl std::fmt::Display for ComposeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

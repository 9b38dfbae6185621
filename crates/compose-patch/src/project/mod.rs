//! The deployment as Docker Compose v2 runs it: the files Compose reads, merged with its rules,
//! every merged value knowing the file and line it came from.
//!
//! No file I/O happens here: files are read through [`ProjectFiles`] (a `BTreeMap` of path to
//! text implements it), and the process environment is passed in [`LoadOptions::env`].
//!
//! What is modelled (compose-go v2 as shipped in Compose 2.26, checked against `docker compose
//! config --format json`):
//! - **File selection**: the `-f` files ([`LoadOptions::files`]), else `COMPOSE_FILE` (process
//!   environment, then the project's `.env`; split on `COMPOSE_PATH_SEPARATOR`, default `:`),
//!   else the first of `compose.yaml`, `compose.yml`, `docker-compose.yml`,
//!   `docker-compose.yaml` plus the first of `compose.override.yml`, `compose.override.yaml`,
//!   `docker-compose.override.yml`, `docker-compose.override.yaml`.
//! - **Merge** (later file wins): `command`, `entrypoint` replaced whole; scalars replaced;
//!   `environment` merged by name (map and `KEY=value` list forms); `volumes` merged by
//!   container target; `ports` concatenated, identical entries once; `profiles`, `networks`
//!   united; `!reset` removes a value (a whole service with `name: !reset null`), `!override`
//!   replaces instead of merging; any other tag is an error.
//! - **`include:`** (a path, a list of paths, or `path:` entries; relative to the including
//!   file), **`extends:`** (same file or `file:`), both with cycle detection; a service defined
//!   both by a file and by what it includes is an error, as in Compose.
//! - **Profiles**: `COMPOSE_PROFILES` (environment, then `.env`) or [`LoadOptions::profiles`];
//!   a service with `profiles:` none of which is active does not run ([`MergedService::active`]).
//! - **Interpolation** of every value: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
//!   `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, from the environment, then `.env`.
//!
//! Limitations: the project directory is the folder the files are read from (Compose's default
//! when the first file is there); YAML anchors and `<<` merge keys are resolved by the YAML
//! reader but provenance then points at the key that uses them; only the service keys pgtls
//! reads are typed (image, container name, command, entrypoint, environment, volumes, ports,
//! networks, profiles); `env_file:` contents are not read.

mod interp;
mod lines;

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::{Mapping, Value};

use crate::edit::{read_port, read_volume, settings_in};
use crate::error::{Error, Result};
use crate::model::{Port, ServiceView, Volume};
use interp::Interpolator;
use lines::{FileLines, ServiceLines};

/// Compose's default file names, in its order of preference (compose-go `DefaultFileNames`).
pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Compose's override file names, in its order (compose-go `DefaultOverrideFileNames`).
pub const OVERRIDE_FILES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Read access to the project folder. Paths are relative to it, `/`-separated, normalised
/// (`sub/../x` is `x`; a path leaving the folder starts with `../`).
pub trait ProjectFiles {
    /// The file's text; `Ok(None)` when it does not exist; `Err(reason)` when it cannot be read.
    fn read_file(&self, path: &str) -> std::result::Result<Option<String>, String>;
}

impl ProjectFiles for BTreeMap<String, String> {
    fn read_file(&self, path: &str) -> std::result::Result<Option<String>, String> {
        Ok(self.get(path).cloned())
    }
}

/// How Compose was (or would be) invoked.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f/--file` arguments, in order (relative to the project folder). Empty: use
    /// `COMPOSE_FILE` or the default names.
    pub files: Vec<String>,
    /// The process environment (`COMPOSE_FILE`, `COMPOSE_PROFILES`, `COMPOSE_PATH_SEPARATOR`
    /// and interpolation variables); it wins over `.env`.
    pub env: BTreeMap<String, String>,
    /// `--profile` arguments; when empty, `COMPOSE_PROFILES` decides.
    pub profiles: Vec<String>,
}

/// Where a merged value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The file, relative to the project folder.
    pub file: String,
    /// 1-based line in that file (0 when unknown).
    pub line: usize,
    /// The service key in that file (differs from the merged service's key for `extends`).
    pub service: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            f.write_str(&self.file)
        }
    }
}

/// A merged value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value (interpolated).
    pub value: T,
    /// The file and line that set it.
    pub origin: Origin,
}

/// One service as Compose runs it: every file's contribution merged, interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedService {
    /// The service key.
    pub key: String,
    /// Whether Compose starts it: no `profiles:`, or one of them is active.
    pub active: bool,
    /// Its profiles.
    pub profiles: Vec<String>,
    /// Each place that defines it, in merge order (base first; `extends` bases included).
    pub defined_in: Vec<Origin>,
    /// `image`.
    pub image: Option<Sourced<String>>,
    /// `container_name`.
    pub container_name: Option<Sourced<String>>,
    /// `command` as arguments (a string is split with shell-words semantics, as Compose does).
    pub command: Option<Sourced<Vec<String>>>,
    /// `entrypoint` as arguments.
    pub entrypoint: Option<Sourced<Vec<String>>>,
    /// Environment by name (in first-definition order); `None`: a name without value that
    /// neither the environment nor `.env` sets.
    pub environment: Vec<(String, Sourced<Option<String>>)>,
    /// The environment's values as written in the file that sets each (before interpolation:
    /// a `${VAR}` reference stays one), for messages that must name a variable rather than
    /// print its value (a secret).
    pub environment_as_written: BTreeMap<String, Option<String>>,
    /// Volumes, one per container target; a relative bind source is relative to the project
    /// folder (a file in a sub-folder reached by `include:` has its sources rebased).
    pub volumes: Vec<Sourced<Volume>>,
    /// Port mappings (concatenated across files, identical ones once).
    pub ports: Vec<Sourced<Port>>,
    /// Networks the service joins.
    pub networks: Vec<String>,
}

impl MergedService {
    /// The value of an environment variable with its origin.
    pub fn env(&self, name: &str) -> Option<&Sourced<Option<String>>> {
        self.environment
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The volume mounted at `target`.
    pub fn volume(&self, target: &str) -> Option<&Sourced<Volume>> {
        let t = target.trim_end_matches('/');
        self.volumes
            .iter()
            .find(|v| v.value.target.trim_end_matches('/') == t)
    }

    /// The merged service in compose-patch's single-file shape (what
    /// [`ComposeFile::service_view`](crate::ComposeFile::service_view) gives for one file),
    /// `line` being the line of its first definition.
    pub fn view(&self) -> ServiceView {
        let command = self.command.as_ref().map(|c| c.value.clone());
        ServiceView {
            key: self.key.clone(),
            line: self.defined_in.first().map_or(0, |o| o.line),
            container_name: self.container_name.as_ref().map(|c| c.value.clone()),
            image: self.image.as_ref().map(|c| c.value.clone()),
            settings: settings_in(command.as_deref().unwrap_or_default()),
            command,
            environment: self
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect(),
            volumes: self.volumes.iter().map(|v| v.value.clone()).collect(),
            ports: self.ports.iter().map(|p| p.value.clone()).collect(),
            networks: self.networks.clone(),
        }
    }

    /// The last file (in merge order) that defines this service: where a new key goes so that
    /// nothing later masks it.
    pub fn last_definition(&self) -> Option<&Origin> {
        self.defined_in.last()
    }
}

/// A service removed by `name: !reset null` (or `!reset {}`) in a later file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The service key.
    pub key: String,
    /// The `!reset` that removed it.
    pub origin: Origin,
}

/// The merged model of a Compose project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The files Compose reads, in order (without those reached by `include:`/`extends:`).
    pub files: Vec<String>,
    /// How the files were chosen: `"-f"`, `"COMPOSE_FILE (environment)"`,
    /// `"COMPOSE_FILE (.env)"` or `"default names"`.
    pub selected_by: String,
    /// Every file read (top-level files, included and extended ones), in reading order.
    pub read: Vec<String>,
    /// Services in the order they first appear (removed ones left out).
    pub services: Vec<MergedService>,
    /// Services removed by `!reset`.
    pub removed: Vec<Removed>,
    /// Active profiles.
    pub profiles: Vec<String>,
    /// Variables of the project's `.env` (empty when there is none).
    pub dotenv: BTreeMap<String, String>,
    /// Interpolation warnings (unset variables), as Compose prints them.
    pub warnings: Vec<String>,
}

impl Project {
    /// Select, read, interpolate and merge the project's files as Compose v2 does.
    pub fn load(files: &dyn ProjectFiles, opts: &LoadOptions) -> Result<Project> {
        Loader::new(files, opts)?.load()
    }

    /// The service with this key, else the one with this `container_name` (removed services
    /// are not found; inactive ones are).
    pub fn service(&self, name: &str) -> Option<&MergedService> {
        self.services.iter().find(|s| s.key == name).or_else(|| {
            self.services
                .iter()
                .find(|s| s.container_name.as_ref().is_some_and(|c| c.value == name))
        })
    }

    /// The services Compose starts (active profiles).
    pub fn running(&self) -> impl Iterator<Item = &MergedService> {
        self.services.iter().filter(|s| s.active)
    }

    /// The `!reset` that removed the service `key`, if one did.
    pub fn removal(&self, key: &str) -> Option<&Removed> {
        self.removed.iter().find(|r| r.key == key)
    }
}

/// Normalise a `/`-separated relative path: drop `.`, fold `x/..`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_owned())
}

fn join(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') || dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

fn perr(file: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Project {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

/// One parsed, interpolated file.
struct Doc {
    /// The document before interpolation (`${VAR}` references as written).
    raw_root: Mapping,
    root: Mapping,
    lines: FileLines,
}

/// One service definition of one file (or an `extends` base).
#[derive(Clone)]
struct Layer {
    file: String,
    dir: String,
    service: String,
    /// `None`: `!reset` of the whole service.
    map: Option<Mapping>,
    /// The whole service was tagged `!override`.
    replace: bool,
    /// Written as `name:` with nothing under it. Compose (2.26) merges such a file into the
    /// services read so far and validates the result against the compose-spec schema: fine
    /// when an earlier file defines the service, "services.NAME must be a mapping" otherwise.
    empty: bool,
    lines: ServiceLines,
    /// The service's environment as written (before interpolation).
    raw_env: BTreeMap<String, Option<String>>,
}

/// The environment of service `key` in a document as written (map or list form).
fn raw_env_of(root: &Mapping, key: &str) -> BTreeMap<String, Option<String>> {
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

struct Loader<'a> {
    files: &'a dyn ProjectFiles,
    opts: &'a LoadOptions,
    interp: Interpolator,
    read: Vec<String>,
    docs: BTreeMap<String, std::rc::Rc<Doc>>,
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn tag_name(t: &yaml_serde::value::TaggedValue) -> String {
    t.tag.to_string().trim_start_matches('!').to_owned()
}

impl<'a> Loader<'a> {
    fn new(files: &'a dyn ProjectFiles, opts: &'a LoadOptions) -> Result<Self> {
        let dotenv = match files.read_file(".env").map_err(|e| perr(".env", 0, e))? {
            Some(text) => interp::parse_dotenv(&text, &opts.env)
                .map_err(|(line, raw)| perr(".env", line, format!("unexpected line \"{raw}\"")))?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            files,
            opts,
            interp: Interpolator {
                env: opts.env.clone(),
                dotenv,
                warnings: Vec::new(),
            },
            read: Vec::new(),
            docs: BTreeMap::new(),
        })
    }

    /// The line of `.env` that sets `name` (0 when unknown).
    fn dotenv_line(&self, name: &str) -> usize {
        let Ok(Some(text)) = self.files.read_file(".env") else {
            return 0;
        };
        text.lines()
            .position(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
                l.strip_prefix(name)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
            .map_or(0, |i| i + 1)
    }

    fn select(&self) -> Result<(Vec<String>, String)> {
        if !self.opts.files.is_empty() {
            return Ok((
                self.opts.files.iter().map(|f| normalize(f)).collect(),
                "-f".to_owned(),
            ));
        }
        let sep = self
            .interp
            .lookup("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .unwrap_or(":")
            .to_owned();
        let (value, from) = if let Some(v) = self.opts.env.get("COMPOSE_FILE") {
            (Some(v.clone()), "COMPOSE_FILE (environment)")
        } else {
            (
                self.interp.dotenv.get("COMPOSE_FILE").cloned(),
                "COMPOSE_FILE (.env)",
            )
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let list: Vec<String> = v
                .split(sep.as_str())
                .filter(|s| !s.is_empty())
                .map(normalize)
                .collect();
            return Ok((list, from.to_owned()));
        }
        let exists = |name: &str| -> Result<bool> {
            Ok(self
                .files
                .read_file(name)
                .map_err(|e| perr(name, 0, e))?
                .is_some())
        };
        let mut out = Vec::new();
        for name in DEFAULT_FILES {
            if exists(name)? {
                out.push(name.to_owned());
                break;
            }
        }
        if out.is_empty() {
            return Err(perr(
                ".",
                0,
                format!(
                    "no compose file: none of {} exists and neither -f nor COMPOSE_FILE names one",
                    DEFAULT_FILES.join(", ")
                ),
            ));
        }
        for name in OVERRIDE_FILES {
            if exists(name)? {
                out.push(name.to_owned());
                break;
            }
        }
        Ok((out, "default names".to_owned()))
    }

    fn doc(&mut self, path: &str, named_by: Option<(&str, usize)>) -> Result<std::rc::Rc<Doc>> {
        if let Some(d) = self.docs.get(path) {
            return Ok(d.clone());
        }
        let text = self
            .files
            .read_file(path)
            .map_err(|e| perr(path, 0, e))?
            .ok_or_else(|| match named_by {
                Some((by, line)) => perr(by, line, format!("\"{path}\" does not exist")),
                None => perr(path, 0, "no such file"),
            })?;
        let value = crate::file::typed_view(&text)
            .map_err(|e| perr(path, e.line().unwrap_or(0), e.to_string()))?;
        let lines = lines::file_lines(&text);
        let root = match value {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            _ => return Err(perr(path, 1, "the top level is not a mapping")),
        };
        let raw_root = root.clone();
        let root = self.interpolate_root(path, root, &lines)?;
        self.read.push(path.to_owned());
        let doc = std::rc::Rc::new(Doc {
            raw_root,
            root,
            lines,
        });
        self.docs.insert(path.to_owned(), doc.clone());
        Ok(doc)
    }

    fn interpolate_root(
        &mut self,
        path: &str,
        root: Mapping,
        lines: &FileLines,
    ) -> Result<Mapping> {
        let mut out = Mapping::new();
        for (k, v) in root {
            let key = k.as_str().unwrap_or("").to_owned();
            let v = if key == "services" {
                match v {
                    Value::Mapping(svcs) => {
                        let mut o = Mapping::new();
                        for (sk, sv) in svcs {
                            let sname = sk.as_str().unwrap_or("").to_owned();
                            let sl = lines.services.get(&sname);
                            let line = sl.map_or(0, |s| s.line);
                            let sv = match sv {
                                Value::Mapping(m) => {
                                    let mut mo = Mapping::new();
                                    for (kk, kv) in m {
                                        let kname = kk.as_str().unwrap_or("");
                                        let kline = sl
                                            .and_then(|s| s.keys.get(kname))
                                            .map_or(line, |k| k.line);
                                        let kv = self
                                            .interp_value(kv)
                                            .map_err(|e| perr(path, kline, e))?;
                                        mo.insert(kk, kv);
                                    }
                                    Value::Mapping(mo)
                                }
                                other => {
                                    self.interp_value(other).map_err(|e| perr(path, line, e))?
                                }
                            };
                            o.insert(sk, sv);
                        }
                        Value::Mapping(o)
                    }
                    other => other,
                }
            } else {
                let line = lines.top.get(&key).map_or(0, |k| k.line);
                self.interp_value(v).map_err(|e| perr(path, line, e))?
            };
            out.insert(k, v);
        }
        Ok(out)
    }

    fn interp_value(&mut self, v: Value) -> std::result::Result<Value, String> {
        Ok(match v {
            Value::String(s) => Value::String(self.interp.interpolate(&s).map_err(|e| e.0)?),
            Value::Sequence(items) => Value::Sequence(
                items
                    .into_iter()
                    .map(|i| self.interp_value(i))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            Value::Mapping(m) => {
                let mut o = Mapping::new();
                for (k, v) in m {
                    o.insert(k, self.interp_value(v)?);
                }
                Value::Mapping(o)
            }
            Value::Tagged(t) => {
                let t = *t;
                Value::Tagged(Box::new(yaml_serde::value::TaggedValue {
                    tag: t.tag,
                    value: self.interp_value(t.value)?,
                }))
            }
            other => other,
        })
    }

    fn load(mut self) -> Result<Project> {
        let (files, selected_by) = self.select()?;
        let mut order: Vec<String> = Vec::new();
        let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
        let mut removed: Vec<Removed> = Vec::new();
        for f in &files {
            let by = match selected_by.as_str() {
                "COMPOSE_FILE (.env)" => Some((".env", self.dotenv_line("COMPOSE_FILE"))),
                _ => None,
            };
            let layers = self.file_layers(f, by, &mut Vec::new())?;
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
                    a.apply(&layer, &self.interp)?;
                }
            }
        }
        let profiles: Vec<String> = if self.opts.profiles.is_empty() {
            self.interp
                .lookup("COMPOSE_PROFILES")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            self.opts.profiles.clone()
        };
        let services = order
            .iter()
            .filter_map(|k| acc.remove(k))
            .map(|a| a.finish(&profiles))
            .collect();
        Ok(Project {
            files,
            selected_by,
            read: self.read,
            services,
            removed,
            profiles,
            dotenv: self.interp.dotenv.clone(),
            warnings: self.interp.warnings.clone(),
        })
    }

    /// The service layers one top-level (or included) file contributes, in order: included
    /// services first, then the file's own (each preceded by its `extends` bases).
    fn file_layers(
        &mut self,
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
        let doc = self.doc(path, named_by)?;
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
                    sub.extend(self.file_layers(&full, Some((path, line)), stack)?);
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
                for l in self.with_extends(layer, &mut chain)? {
                    out.push((key.to_owned(), l));
                }
            }
        }
        stack.pop();
        Ok(out)
    }

    /// A layer preceded by the layers of what it `extends` (recursively).
    fn with_extends(
        &mut self,
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
        let doc = self.doc(&base_file, Some((&layer.file, line)))?;
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
        let mut out = self.with_extends(base_layer, chain)?;
        chain.pop();
        out.push(layer);
        Ok(out)
    }
}

/// The merge accumulator of one service.
struct Acc {
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

fn args_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Sequence(items) => Some(items.iter().filter_map(str_of).collect()),
        Value::String(s) => {
            crate::text::shell_words(s).map(|w| w.into_iter().map(|w| w.value).collect())
        }
        _ => None,
    }
}

impl Acc {
    fn new(key: &str) -> Self {
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
    fn apply(&mut self, layer: &Layer, interp: &Interpolator) -> Result<()> {
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

    fn finish(self, active_profiles: &[String]) -> MergedService {
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

/// The first tag found inside a value (environment entries may carry `!reset`).
fn check_no_tags(v: &Value) -> std::result::Result<(), String> {
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

#[cfg(test)]
mod tests;

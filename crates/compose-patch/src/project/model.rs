//! The merged model's public types: the project, its services, where each value came from, and
//! how the files are read and Compose invoked.

use std::collections::BTreeMap;

use crate::edit::settings_in;
use crate::model::{Port, ServiceView, Volume};

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

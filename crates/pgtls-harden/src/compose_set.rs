//! The compose files of a deployment, edited where each edit takes effect.
//!
//! Compose merges several files ([`crate::Layout::project`]); an edit written into a file whose
//! value a later file replaces does nothing. So each edit goes into the file whose value wins in
//! the merged model:
//! - `-c` settings: the file whose `command` Compose runs (an override that sets the db command
//!   gets the ssl flags);
//! - a volume: the file whose mount at that container path wins, else the last file that
//!   defines the service (a later `volumes: !override` cannot drop it);
//! - an environment variable: the file whose value wins, else the last file defining the
//!   service;
//! - a port: nothing when the merged service publishes the container port, else the last file
//!   defining the service (Compose concatenates ports).
//!
//! A value that comes through `extends:` from another service is refused (editing the base
//! would change every service extending it), as is a file outside the deployment folder.
//! Each file is edited by compose-patch, so every other byte of it stays as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use compose_patch::{Changed, ComposeFile, MergedService, Origin, VolumeMount};

use crate::error::{Context as _, Error, Result};
use crate::layout::Layout;
use crate::plan::Staging;

/// The compose files, parsed on first use, and the merged model they were planned from.
pub(crate) struct ComposeSet {
    base: PathBuf,
    files: BTreeMap<PathBuf, ComposeFile>,
    order: Vec<PathBuf>,
    project: Option<compose_patch::Project>,
    touched: BTreeSet<PathBuf>,
}

/// What an edit is about, to find the file it belongs in.
enum Field<'a> {
    Command,
    Volume(&'a str),
    Env(&'a str),
    NewKey,
}

impl ComposeSet {
    /// The files of `layout`, read from `staging` when first edited.
    pub(crate) fn new(layout: &Layout) -> Self {
        Self {
            base: layout.compose.clone(),
            files: BTreeMap::new(),
            order: Vec::new(),
            project: layout.project.clone(),
            touched: BTreeSet::new(),
        }
    }

    fn merged(&self, service: &str) -> Option<&MergedService> {
        self.project.as_ref()?.service(service)
    }

    /// The file and the service key in it where an edit of `field` on `service` belongs.
    fn target(&self, service: &str, field: &Field<'_>) -> Result<(PathBuf, String)> {
        let Some(m) = self.merged(service) else {
            return Ok((self.base.clone(), service.to_owned()));
        };
        let last = || m.last_definition().cloned();
        let origin: Option<Origin> = match field {
            Field::Command => m.command.as_ref().map(|c| c.origin.clone()).or_else(last),
            Field::Volume(t) => m.volume(t).map(|v| v.origin.clone()).or_else(last),
            Field::Env(name) => m.env(name).map(|v| v.origin.clone()).or_else(last),
            Field::NewKey => last(),
        };
        let Some(origin) = origin else {
            return Ok((self.base.clone(), service.to_owned()));
        };
        if origin.service != m.key {
            return Err(Error::Message(format!(
                "service `{}` takes this value from service `{}` in \"{}\" line {} through `extends`: pgtls does not edit through extends (it would change every service extending it); set it on `{}` itself",
                m.key, origin.service, origin.file, origin.line, m.key
            )));
        }
        if origin.file.starts_with("../") || origin.file.starts_with('/') {
            return Err(Error::Message(format!(
                "the value Compose uses for service `{}` is set in \"{}\" line {}, outside the deployment folder: pgtls edits only files inside it",
                m.key, origin.file, origin.line
            )));
        }
        Ok((PathBuf::from(origin.file), origin.service))
    }

    fn file(&mut self, staging: &Staging<'_>, path: &Path) -> Result<&mut ComposeFile> {
        if !self.files.contains_key(path) {
            let text = staging
                .read_text(path)?
                .with_context(|| format!("\"{}\" disappeared", path.display()))?;
            let file = ComposeFile::parse(&text)
                .with_context(|| format!("reading \"{}\"", path.display()))?;
            self.files.insert(path.to_path_buf(), file);
            self.order.push(path.to_path_buf());
        }
        self.files
            .get_mut(path)
            .with_context(|| format!("\"{}\" disappeared", path.display()))
    }

    fn edit(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        field: &Field<'_>,
        f: impl FnOnce(&mut ComposeFile, &str) -> compose_patch::Result<Changed>,
    ) -> Result<Changed> {
        let (path, key) = self.target(service, field)?;
        let file = self.file(staging, &path)?;
        let changed = f(file, &key)
            .with_context(|| format!("editing service \"{key}\" in \"{}\"", path.display()))?;
        if changed.changed() {
            self.touched.insert(path);
        }
        Ok(changed)
    }

    pub(crate) fn ensure_command_settings(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        settings: &[(&str, &str)],
    ) -> Result<Changed> {
        self.edit(staging, service, &Field::Command, |f, k| {
            f.ensure_command_settings(k, settings)
        })
    }

    pub(crate) fn ensure_volume(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        mount: VolumeMount,
    ) -> Result<Changed> {
        let target = mount.target.clone();
        self.edit(staging, service, &Field::Volume(&target), |f, k| {
            f.ensure_volume(k, mount)
        })
    }

    pub(crate) fn remove_volume(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        target: &str,
    ) -> Result<Changed> {
        if self.project.is_some()
            && self
                .merged(service)
                .is_some_and(|m| m.volume(target).is_none())
        {
            return Ok(Changed(false));
        }
        self.edit(staging, service, &Field::Volume(target), |f, k| {
            f.remove_volume(k, target)
        })
    }

    pub(crate) fn ensure_env(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        key: &str,
        value: &str,
    ) -> Result<Changed> {
        self.edit(staging, service, &Field::Env(key), |f, k| {
            f.ensure_env(k, key, value)
        })
    }

    /// The service's port specs as Compose runs them (merged), else as the base file has them.
    pub(crate) fn ports(&mut self, staging: &Staging<'_>, service: &str) -> Result<Vec<String>> {
        if let Some(m) = self.merged(service) {
            return Ok(m.ports.iter().map(|p| p.value.to_string()).collect());
        }
        let base = self.base.clone();
        Ok(self.file(staging, &base)?.ports(service)?)
    }

    pub(crate) fn ensure_port(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        mapping: &str,
    ) -> Result<Changed> {
        self.edit(staging, service, &Field::NewKey, |f, k| {
            f.ensure_port(k, mapping)
        })
    }

    pub(crate) fn inline_content(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        target: &str,
    ) -> Result<Option<String>> {
        let (path, key) = self.target(service, &Field::Volume(target))?;
        Ok(self.file(staging, &path)?.inline_content(&key, target)?)
    }

    pub(crate) fn set_inline_content(
        &mut self,
        staging: &Staging<'_>,
        service: &str,
        target: &str,
        content: &str,
    ) -> Result<Changed> {
        self.edit(staging, service, &Field::Volume(target), |f, k| {
            f.set_inline_content(k, target, content)
        })
    }

    /// The files changed since the last call (and forgets them).
    pub(crate) fn take_touched(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.touched).into_iter().collect()
    }

    /// Every file parsed, in the order first edited, with its current text.
    pub(crate) fn texts(&self) -> impl Iterator<Item = (&PathBuf, &str)> {
        self.order
            .iter()
            .filter_map(|p| self.files.get(p).map(|f| (p, f.text())))
    }

    /// The base file's path (where a single-file deployment's edits go).
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }
}

//! Plans: ordered steps producing [`FileChange`]s, staged in memory (the CLI renders them as
//! unified diffs).
//!
//! Planning is pure: nothing is written until [`crate::apply`] runs. Keys and certificates are
//! summarised, never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::tree::Tree;

/// What kind of content a file holds (decides how it is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Text: shown as a unified diff.
    Text,
    /// A PEM certificate: summarised.
    Certificate,
    /// A private key: summarised, never printed.
    PrivateKey,
    /// A file copied unchanged into `--out`: listed only.
    Copy,
}

/// One file to write.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Path relative to the deployment folder.
    pub path: PathBuf,
    /// The bytes the plan started from (destination, else source), `None` for a new file.
    pub before: Option<Vec<u8>>,
    /// The bytes to write.
    pub after: Vec<u8>,
    /// Permission bits the file gets (set at creation time).
    pub mode: u32,
    /// Owner `uid:gid` to set, if any.
    pub owner: Option<(u32, u32)>,
    /// How to show it.
    pub kind: FileKind,
    /// A one-line description for certificates and keys.
    pub summary: Option<String>,
}

/// A file as staged during planning.
#[derive(Debug, Clone)]
struct Staged {
    base: Option<Vec<u8>>,
    current: Vec<u8>,
    mode: u32,
    owner: Option<(u32, u32)>,
    kind: FileKind,
    summary: Option<String>,
}

/// Files being edited during planning: each step reads the current staged state and writes a
/// new one; at the end the changes that differ from the destination are collected.
#[derive(Debug)]
pub struct Staging<'a> {
    tree: &'a Tree,
    files: BTreeMap<PathBuf, Staged>,
}

impl<'a> Staging<'a> {
    /// Empty staging over a tree.
    pub fn new(tree: &'a Tree) -> Self {
        Self {
            tree,
            files: BTreeMap::new(),
        }
    }

    /// The tree being planned over.
    pub fn tree(&self) -> &'a Tree {
        self.tree
    }

    /// Current bytes of a file: staged, else on disk (destination, else source).
    pub fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        match self.files.get(rel) {
            Some(staged) => Ok(Some(staged.current.clone())),
            None => self.tree.read(rel),
        }
    }

    /// Current text of a file.
    pub fn read_text(&self, rel: &Path) -> Result<Option<String>> {
        match self.files.get(rel) {
            Some(staged) => Ok(Some(String::from_utf8_lossy(&staged.current).into_owned())),
            None => self.tree.read_text(rel),
        }
    }

    /// Planned (or current) mode and owner of a file.
    pub fn mode_owner(&self, rel: &Path) -> Option<(u32, Option<(u32, u32)>)> {
        if let Some(staged) = self.files.get(rel) {
            let owner = staged
                .owner
                .or_else(|| self.tree.meta(rel).map(|m| (m.uid, m.gid)));
            return Some((staged.mode, owner));
        }
        self.tree.meta(rel).map(|m| (m.mode, Some((m.uid, m.gid))))
    }

    /// Stages new content. Mode defaults to the existing file's, else `default_mode`.
    /// Returns whether the staged content differs from what was there.
    pub fn write(
        &mut self,
        rel: &Path,
        after: Vec<u8>,
        default_mode: u32,
        owner: Option<(u32, u32)>,
        kind: FileKind,
        summary: Option<String>,
    ) -> Result<bool> {
        let existing_mode = self
            .files
            .get(rel)
            .map(|s| s.mode)
            .or_else(|| self.tree.meta(rel).map(|m| m.mode));
        let mode = existing_mode.unwrap_or(default_mode);
        self.write_exact(rel, after, mode, owner, kind, summary)
    }

    /// Stages new content with an exact mode (used for keys, whose mode is part of the fix).
    pub fn write_exact(
        &mut self,
        rel: &Path,
        after: Vec<u8>,
        mode: u32,
        owner: Option<(u32, u32)>,
        kind: FileKind,
        summary: Option<String>,
    ) -> Result<bool> {
        let changed;
        if let Some(staged) = self.files.get_mut(rel) {
            changed = staged.current != after || staged.mode != mode || staged.owner != owner;
            staged.current = after;
            staged.mode = mode;
            staged.owner = owner;
            staged.kind = kind;
            staged.summary = summary;
        } else {
            let base = self.tree.read(rel)?;
            let meta = self.tree.meta(rel);
            changed = base.as_deref() != Some(after.as_slice())
                || meta.is_some_and(|m| m.mode != mode)
                || owner.is_some_and(|(u, g)| meta.is_some_and(|m| (m.uid, m.gid) != (u, g)));
            self.files.insert(
                rel.to_path_buf(),
                Staged {
                    base,
                    current: after,
                    mode,
                    owner,
                    kind,
                    summary,
                },
            );
        }
        Ok(changed)
    }

    /// The changes that must be written to make the destination match the staged state.
    pub fn changes(&self) -> Result<Vec<FileChange>> {
        let mut changes = Vec::new();
        for (path, staged) in &self.files {
            let dest = self.tree.read_dest(path)?;
            let meta = self.tree.meta_dest(path);
            let needs = dest.as_deref() != Some(staged.current.as_slice())
                || meta.is_none_or(|m| m.mode != staged.mode)
                || staged
                    .owner
                    .is_some_and(|(u, g)| meta.is_none_or(|m| (m.uid, m.gid) != (u, g)));
            if needs {
                changes.push(FileChange {
                    path: path.clone(),
                    before: staged.base.clone(),
                    after: staged.current.clone(),
                    mode: staged.mode,
                    owner: staged.owner,
                    kind: staged.kind,
                    summary: staged.summary.clone(),
                });
            }
        }
        Ok(changes)
    }
}

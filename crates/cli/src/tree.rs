//! A read-only view of the deployment folder, overlaid by the output folder when `--out` is used.
//!
//! With `--out DIR` the hardened copy is the destination: a file already in `DIR` (a previous
//! run) is what the plan starts from, otherwise the source folder's file is. That makes a second
//! run against the same `--out` a no-op, exactly like a second in-place run.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Mode and owner of a file or folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FileMeta {
    /// Permission bits (`0o7777` masked).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Whether it is a directory.
    pub is_dir: bool,
}

impl FileMeta {
    fn from_std(meta: &fs::Metadata) -> Self {
        Self {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            is_dir: meta.is_dir(),
        }
    }
}

/// The source folder and the destination (the same folder when editing in place).
#[derive(Debug, Clone)]
pub struct Tree {
    src: PathBuf,
    dest: PathBuf,
}

impl Tree {
    /// A view of `src`, writing into `out` when given.
    pub fn new(src: &Path, out: Option<&Path>) -> Self {
        // `--out` naming the source folder itself (`./x`, `x/`, a symlink) means in place
        let same = out.is_some_and(
            |o| matches!((fs::canonicalize(src), fs::canonicalize(o)), (Ok(a), Ok(b)) if a == b),
        );
        let dest = match out {
            Some(o) if !same => o.to_path_buf(),
            _ => src.to_path_buf(),
        };
        Self {
            src: src.to_path_buf(),
            dest,
        }
    }

    /// The source folder.
    pub fn src(&self) -> &Path {
        &self.src
    }

    /// The folder changes are written to.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Whether changes go into the source folder itself.
    pub fn in_place(&self) -> bool {
        self.src == self.dest
    }

    /// The file's current bytes: the destination's copy if present, else the source's.
    pub fn read(&self, rel: &Path) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.read_dest(rel)? {
            return Ok(Some(bytes));
        }
        read_opt(&self.src.join(rel))
    }

    /// The file's current text (UTF-8 required).
    pub fn read_text(&self, rel: &Path) -> anyhow::Result<Option<String>> {
        match self.read(rel)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .with_context(|| format!("\"{}\" is not UTF-8 text", rel.display())),
        }
    }

    /// The destination's bytes only.
    pub fn read_dest(&self, rel: &Path) -> anyhow::Result<Option<Vec<u8>>> {
        read_opt(&self.dest.join(rel))
    }

    /// Mode and owner: the destination's if present, else the source's.
    pub fn meta(&self, rel: &Path) -> Option<FileMeta> {
        self.meta_dest(rel).or_else(|| {
            fs::metadata(self.src.join(rel))
                .ok()
                .map(|m| FileMeta::from_std(&m))
        })
    }

    /// Mode and owner of the destination's copy.
    pub fn meta_dest(&self, rel: &Path) -> Option<FileMeta> {
        fs::metadata(self.dest.join(rel))
            .ok()
            .map(|m| FileMeta::from_std(&m))
    }

    /// Mode and owner in the source folder.
    pub fn meta_src(&self, rel: &Path) -> Option<FileMeta> {
        fs::metadata(self.src.join(rel))
            .ok()
            .map(|m| FileMeta::from_std(&m))
    }

    /// Every regular file under the source folder (relative paths, sorted), not descending into
    /// `skip` folders or the destination folder or backup folders.
    pub fn src_files(&self, skip: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let dest_abs = fs::canonicalize(&self.dest).ok();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = self.src.join(&rel);
            let entries = fs::read_dir(&dir)
                .with_context(|| format!("reading folder \"{}\"", dir.display()))?;
            for entry in entries {
                let entry =
                    entry.with_context(|| format!("reading folder \"{}\"", dir.display()))?;
                let child = rel.join(entry.file_name());
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    let abs = fs::canonicalize(entry.path()).ok();
                    let is_dest = !self.in_place() && abs.is_some() && abs == dest_abs;
                    if skip.contains(&child) || is_dest || entry.file_name() == BACKUP_DIR {
                        continue;
                    }
                    stack.push(child);
                } else if kind.is_file() {
                    found.push(child);
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Name of the folder (in the destination) holding backups of replaced files.
pub const BACKUP_DIR: &str = ".pgtls-backups";

fn read_opt(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading \"{}\"", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_naming_the_source_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let dotted = dir.path().join(".");
        assert!(Tree::new(dir.path(), Some(&dotted)).in_place());
        assert!(Tree::new(dir.path(), None).in_place());
        assert!(!Tree::new(dir.path(), Some(&dir.path().join("copy"))).in_place());
    }
}

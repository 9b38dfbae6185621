//! A read-only view of the deployment folder, overlaid by the output folder when `--out` is used.
//!
//! With `--out DIR` the hardened copy is the destination: a file already in `DIR` (a previous
//! run) is what the plan starts from, otherwise the source folder's file is. That makes a second
//! run against the same `--out` a no-op, exactly like a second in-place run.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Result;
pub use crate::source::FileMeta;
use crate::source::{DirEntry, EntryKind, FsSource, Source};

/// The source folder and the destination (the same folder when editing in place).
#[derive(Debug)]
pub struct Tree {
    src: Box<dyn Source>,
    /// `None` when editing in place.
    dest: Option<Box<dyn Source>>,
    dest_path: PathBuf,
    /// The destination's path inside the source folder, when it is there (not copied into
    /// itself).
    dest_in_src: Option<PathBuf>,
}

impl Tree {
    /// A view of `src`, writing into `out` when given.
    pub fn new(src: &Path, out: Option<&Path>) -> Self {
        // `--out` naming the source folder itself (`./x`, `x/`, a symlink) means in place
        let same = out.is_some_and(
            |o| matches!((fs::canonicalize(src), fs::canonicalize(o)), (Ok(a), Ok(b)) if a == b),
        );
        let dest = match out {
            Some(o) if !same => Some(o.to_path_buf()),
            _ => None,
        };
        let dest_in_src = dest.as_ref().and_then(|d| {
            let (Ok(s), Ok(d)) = (fs::canonicalize(src), fs::canonicalize(d)) else {
                return None;
            };
            d.strip_prefix(&s).ok().map(Path::to_path_buf)
        });
        Self {
            src: Box::new(FsSource::new(src)),
            dest_path: dest.clone().unwrap_or_else(|| src.to_path_buf()),
            dest: dest.map(|d| Box::new(FsSource::new(d)) as Box<dyn Source>),
            dest_in_src,
        }
    }

    /// A view over any [`Source`]: in place when `dest` is `None`.
    pub fn over(src: Box<dyn Source>, dest: Option<Box<dyn Source>>) -> Self {
        let dest_path = dest
            .as_ref()
            .map_or_else(|| src.root().to_path_buf(), |d| d.root().to_path_buf());
        Self {
            src,
            dest,
            dest_path,
            dest_in_src: None,
        }
    }

    /// The source folder.
    pub fn src(&self) -> &Path {
        self.src.root()
    }

    /// The folder changes are written to.
    pub fn dest(&self) -> &Path {
        &self.dest_path
    }

    /// Whether changes go into the source folder itself.
    pub fn in_place(&self) -> bool {
        self.dest.is_none()
    }

    /// The source folder as a [`Source`] (without the destination overlaid).
    pub fn src_source(&self) -> &dyn Source {
        &*self.src
    }

    fn dest_source(&self) -> &dyn Source {
        self.dest.as_deref().unwrap_or(&*self.src)
    }

    /// The file's current bytes: the destination's copy if present, else the source's.
    pub fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.read_dest(rel)? {
            return Ok(Some(bytes));
        }
        self.src.read(rel)
    }

    /// The file's current text (UTF-8 required).
    pub fn read_text(&self, rel: &Path) -> Result<Option<String>> {
        Source::read_text(self, rel)
    }

    /// The destination's bytes only.
    pub fn read_dest(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        self.dest_source().read(rel)
    }

    /// Mode and owner: the destination's if present, else the source's.
    pub fn meta(&self, rel: &Path) -> Option<FileMeta> {
        self.meta_dest(rel).or_else(|| self.src.metadata(rel))
    }

    /// Mode and owner of the destination's copy.
    pub fn meta_dest(&self, rel: &Path) -> Option<FileMeta> {
        self.dest_source().metadata(rel)
    }

    /// Mode and owner in the source folder.
    pub fn meta_src(&self, rel: &Path) -> Option<FileMeta> {
        self.src.metadata(rel)
    }

    /// Every regular file under the source folder (relative paths, sorted), not descending into
    /// `skip` folders or the destination folder or backup folders.
    pub fn src_files(&self, skip: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            for DirEntry { name, kind } in self.src.list_dir(&rel)? {
                let child = rel.join(&name);
                match kind {
                    EntryKind::Dir => {
                        let is_dest = self.dest_in_src.as_ref() == Some(&child);
                        if skip.contains(&child) || is_dest || name == BACKUP_DIR {
                            continue;
                        }
                        stack.push(child);
                    }
                    // the lock (and a staged CA key) belong to the folder's own runs
                    EntryKind::File
                        if name == crate::paths::LOCK_FILE
                            || child == Path::new(crate::paths::CA_KEY_PENDING) => {}
                    EntryKind::File => found.push(child),
                    EntryKind::Other => {}
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// The overlay: reads see the destination's copy first, then the source's.
impl Source for Tree {
    fn root(&self) -> &Path {
        self.src()
    }

    fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        Tree::read(self, rel)
    }

    fn metadata(&self, rel: &Path) -> Option<FileMeta> {
        self.meta(rel)
    }

    fn list_dir(&self, rel: &Path) -> Result<Vec<DirEntry>> {
        self.src.list_dir(rel)
    }
}

/// Name of the folder (in the destination) holding backups of replaced files (pgtls-certs'
/// writer makes it).
pub use pgtls_certs::BACKUP_DIR;

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

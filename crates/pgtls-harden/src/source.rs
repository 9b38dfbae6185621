//! The read-only view planning needs of a deployment folder: [`Source`], with a real-filesystem
//! implementation ([`FsSource`]) and an in-memory one ([`MemSource`]) for tests and for tools
//! that hold the files themselves.
//!
//! Paths are relative to the source's root. A missing file is `Ok(None)`, not an error; an
//! unreadable one is an error naming it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

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
    /// Whether it is a regular file.
    pub is_file: bool,
}

impl FileMeta {
    /// Facts from `std::fs::Metadata` (symlinks followed, as `fs::metadata` does).
    pub fn from_std(meta: &fs::Metadata) -> Self {
        Self {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            is_dir: meta.is_dir(),
            is_file: meta.is_file(),
        }
    }
}

/// What a folder entry is (symlinks are not followed: they are [`EntryKind::Other`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symlink, socket, device, ...
    Other,
}

/// One entry of [`Source::list_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's file name.
    pub name: OsString,
    /// What it is.
    pub kind: EntryKind,
}

/// A read-only deployment folder.
pub trait Source: std::fmt::Debug {
    /// The folder this source stands for (used in messages; a made-up name for memory).
    fn root(&self) -> &Path;
    /// The file's bytes, `None` when it does not exist.
    fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>>;
    /// Mode, owner and kind, `None` when it does not exist.
    fn metadata(&self, rel: &Path) -> Option<FileMeta>;
    /// The entries of a folder (any order).
    fn list_dir(&self, rel: &Path) -> Result<Vec<DirEntry>>;

    /// The file's text (UTF-8 required), `None` when it does not exist.
    fn read_text(&self, rel: &Path) -> Result<Option<String>> {
        match self.read(rel)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|source| Error::NotUtf8 {
                    path: rel.to_path_buf(),
                    source,
                }),
        }
    }

    /// Whether anything exists at `rel`.
    fn exists(&self, rel: &Path) -> bool {
        self.metadata(rel).is_some()
    }
}

/// A folder on the real filesystem.
#[derive(Debug, Clone)]
pub struct FsSource {
    root: PathBuf,
}

impl FsSource {
    /// The folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl Source for FsSource {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        let path = self.root.join(rel);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                context: format!("reading \"{}\"", path.display()),
                source,
            }),
        }
    }

    fn metadata(&self, rel: &Path) -> Option<FileMeta> {
        fs::metadata(self.root.join(rel))
            .ok()
            .map(|m| FileMeta::from_std(&m))
    }

    fn list_dir(&self, rel: &Path) -> Result<Vec<DirEntry>> {
        let dir = self.root.join(rel);
        let io_err = |source| Error::Io {
            context: format!("reading folder \"{}\"", dir.display()),
            source,
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let kind = entry.file_type().map_err(io_err)?;
            let kind = if kind.is_dir() {
                EntryKind::Dir
            } else if kind.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            out.push(DirEntry {
                name: entry.file_name(),
                kind,
            });
        }
        Ok(out)
    }
}

/// One node of a [`MemSource`].
#[derive(Debug, Clone)]
struct MemNode {
    bytes: Option<Vec<u8>>,
    meta: FileMeta,
}

/// An in-memory folder: files with contents, modes and owners; folders are implied by the files
/// under them (mode 0755, owner 0:0) unless added with [`MemSource::dir`].
///
/// ```
/// use std::path::Path;
/// use pgtls_harden::{MemSource, Source};
///
/// let src = MemSource::new("/srv/supabase")
///     .file("docker-compose.yml", "services: {}\n")
///     .dir("volumes/db/data", 0o700, 105, 106);
/// assert_eq!(src.read_text(Path::new("docker-compose.yml")).unwrap().as_deref(), Some("services: {}\n"));
/// assert_eq!(src.metadata(Path::new("volumes/db/data")).map(|m| m.uid), Some(105));
/// assert!(src.metadata(Path::new("volumes")).is_some_and(|m| m.is_dir));
/// ```
#[derive(Debug, Clone)]
pub struct MemSource {
    root: PathBuf,
    nodes: BTreeMap<PathBuf, MemNode>,
}

fn normal(rel: &Path) -> PathBuf {
    rel.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

impl MemSource {
    /// An empty folder named `root` in messages.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            nodes: BTreeMap::new(),
        }
    }

    /// Adds a file with mode 0644 owned by 1000:1000.
    #[must_use]
    pub fn file(self, rel: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> Self {
        self.file_with(rel, contents, 0o644, (1000, 1000))
    }

    /// Adds a file with an exact mode and owner.
    #[must_use]
    pub fn file_with(
        mut self,
        rel: impl AsRef<Path>,
        contents: impl Into<Vec<u8>>,
        mode: u32,
        (uid, gid): (u32, u32),
    ) -> Self {
        self.nodes.insert(
            normal(rel.as_ref()),
            MemNode {
                bytes: Some(contents.into()),
                meta: FileMeta {
                    mode: mode & 0o7777,
                    uid,
                    gid,
                    is_dir: false,
                    is_file: true,
                },
            },
        );
        self
    }

    /// Adds a folder with an exact mode and owner.
    #[must_use]
    pub fn dir(mut self, rel: impl AsRef<Path>, mode: u32, uid: u32, gid: u32) -> Self {
        self.nodes.insert(
            normal(rel.as_ref()),
            MemNode {
                bytes: None,
                meta: FileMeta {
                    mode: mode & 0o7777,
                    uid,
                    gid,
                    is_dir: true,
                    is_file: false,
                },
            },
        );
        self
    }

    fn implied_dir(&self, rel: &Path) -> bool {
        self.nodes.keys().any(|k| k != rel && k.starts_with(rel))
    }
}

impl Source for MemSource {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        let rel = normal(rel);
        match self.nodes.get(&rel) {
            Some(MemNode {
                bytes: Some(bytes), ..
            }) => Ok(Some(bytes.clone())),
            None if !self.implied_dir(&rel) => Ok(None),
            _ => Err(Error::Io {
                context: format!("reading \"{}\"", self.root.join(&rel).display()),
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            }),
        }
    }

    fn metadata(&self, rel: &Path) -> Option<FileMeta> {
        let rel = normal(rel);
        if let Some(node) = self.nodes.get(&rel) {
            return Some(node.meta);
        }
        (rel.as_os_str().is_empty() || self.implied_dir(&rel)).then_some(FileMeta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            is_dir: true,
            is_file: false,
        })
    }

    fn list_dir(&self, rel: &Path) -> Result<Vec<DirEntry>> {
        let rel = normal(rel);
        if !self.metadata(&rel).is_some_and(|m| m.is_dir) {
            return Err(Error::Io {
                context: format!("reading folder \"{}\"", self.root.join(&rel).display()),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        let mut out: Vec<DirEntry> = Vec::new();
        for (path, node) in &self.nodes {
            let Ok(rest) = path.strip_prefix(&rel) else {
                continue;
            };
            let mut parts = rest.components();
            let Some(first) = parts.next() else { continue };
            let name = first.as_os_str().to_os_string();
            let kind = if parts.next().is_some() || node.bytes.is_none() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            if !out.iter().any(|e| e.name == name) {
                out.push(DirEntry { name, kind });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_lists_implied_folders() {
        let src = MemSource::new("m")
            .file("a/b/c.txt", "x")
            .file("a/d.txt", "y")
            .file("top", "z");
        let mut names: Vec<_> = src
            .list_dir(Path::new("a"))
            .unwrap()
            .into_iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            names,
            vec![
                ("b".into(), EntryKind::Dir),
                ("d.txt".into(), EntryKind::File)
            ]
        );
        assert_eq!(src.list_dir(Path::new("")).unwrap().len(), 2);
        assert!(src.read(Path::new("missing")).unwrap().is_none());
        assert!(src.read(Path::new("a")).is_err());
        assert!(src.list_dir(Path::new("top")).is_err());
    }

    #[test]
    fn filesystem_reads_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "hi").unwrap();
        let src = FsSource::new(dir.path());
        assert_eq!(
            src.read_text(Path::new("f")).unwrap().as_deref(),
            Some("hi")
        );
        assert!(src.read(Path::new("nope")).unwrap().is_none());
        assert!(src.metadata(Path::new("f")).is_some_and(|m| m.is_file));
        assert_eq!(src.list_dir(Path::new("")).unwrap().len(), 1);
    }
}

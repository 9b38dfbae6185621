//! Plans: ordered steps producing [`FileChange`]s, staged in memory, rendered as unified diffs.
//!
//! Planning is pure: nothing is written until [`crate::apply`] runs. Keys and certificates are
//! summarised, never printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use similar::{ChangeTag, TextDiff};

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

impl FileChange {
    /// Renders the change for humans: a unified diff for text, a summary for secrets (a key's
    /// contents are never shown). Plain text; the CLI colours it.
    pub fn render(&self) -> String {
        let path = self.path.display().to_string();
        let mut meta = format!("mode {:04o}", self.mode);
        if let Some((uid, gid)) = self.owner {
            let _ = write!(meta, ", owner {uid}:{gid}");
        }
        match self.kind {
            FileKind::Text => {
                let before = self
                    .before
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let after = String::from_utf8_lossy(&self.after);
                if before == after {
                    return format!("{path}: {meta} (content unchanged)\n");
                }
                let old_name = if self.before.is_some() {
                    format!("a/{path}")
                } else {
                    "/dev/null".to_owned()
                };
                unified_diff(&before, &after, &old_name, &format!("b/{path}"))
            }
            FileKind::Certificate | FileKind::PrivateKey => {
                let what = if self.before.is_some() {
                    "replaced"
                } else {
                    "new"
                };
                let summary = self.summary.as_deref().unwrap_or("");
                let secret = if self.kind == FileKind::PrivateKey {
                    " (contents not shown)"
                } else {
                    ""
                };
                format!("{path}: {what} {summary}, {meta}{secret}\n")
            }
            FileKind::Copy => format!("{path}: copied, {meta}\n"),
        }
    }
}

/// A unified diff with 3 lines of context (plain text).
pub fn unified_diff(before: &str, after: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(before, after);
    let mut text = String::new();
    let _ = write!(text, "--- {old}\n+++ {new}");
    text.push('\n');
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{} +{} @@",
            hunk_range(old_range.start, old_range.len()),
            hunk_range(new_range.start, new_range.len())
        );
        text.push_str(&header);
        text.push('\n');
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Delete => "-",
                    ChangeTag::Insert => "+",
                    ChangeTag::Equal => " ",
                };
                let value = change.value();
                let body = value.strip_suffix('\n').unwrap_or(value);
                let _ = write!(text, "{sign}{body}");
                text.push('\n');
                if change.missing_newline() {
                    text.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    text
}

fn hunk_range(start: usize, len: usize) -> String {
    // unified diff convention: 1-based start; an empty range names the line before it
    if len == 0 {
        format!("{start},0")
    } else if len == 1 {
        format!("{}", start + 1)
    } else {
        format!("{},{len}", start + 1)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_has_headers_and_hunks() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "a/f", "b/f");
        assert_eq!(d, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn diff_marks_missing_newline() {
        let d = unified_diff("a", "a\nb\n", "a/f", "b/f");
        assert!(d.contains("\\ No newline at end of file"), "{d}");
    }

    #[test]
    fn key_is_never_printed() {
        let change = FileChange {
            path: "tls/server.key".into(),
            before: None,
            after: b"-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n".to_vec(),
            mode: 0o600,
            owner: Some((105, 106)),
            kind: FileKind::PrivateKey,
            summary: Some("ECDSA P-256 private key".into()),
        };
        let shown = change.render();
        assert!(!shown.contains("SECRET"));
        assert!(shown.contains("mode 0600, owner 105:106"), "{shown}");
    }
}

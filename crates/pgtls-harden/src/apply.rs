//! Atomic application of a plan: backup, temp file in the same folder created with its final
//! mode, fsync, rename, fsync the folder. A failure stops at once and reports what was written
//! and where the backups are.
//!
//! The writing itself is pgtls-certs' writer ([`pgtls_certs::write_atomic_with`]), the
//! workspace's one implementation, with one [`pgtls_certs::Backups`] folder per run:
//! `<destination>/.pgtls-backups/<UTC timestamp>[-N]/<relative path>`.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pgtls_certs::{Backups, Owner, WriteOptions};

use crate::plan::FileChange;

/// Environment variable of the test hook: `N` makes the N-th file write (1-based) fail right
/// after its temp file has been written and synced, before the rename.
pub const FAIL_HOOK_ENV: &str = "PGTLS_TEST_FAIL_AFTER_TEMP";

/// A folder to create with an exact mode (and owner) before files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    /// Relative to the destination.
    pub path: PathBuf,
    /// Permission bits.
    pub mode: u32,
    /// Owner to set when the folder is created.
    pub owner: Option<(u32, u32)>,
}

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Keep a copy of every replaced file under `.pgtls-backups/<timestamp>/`.
    pub backup: bool,
    /// Test hook: fail after the temp file of the N-th write (1-based).
    pub fail_after_temp: Option<usize>,
}

impl ApplyOptions {
    /// Options with backups on and the test hook read from [`FAIL_HOOK_ENV`].
    pub fn from_env() -> Self {
        Self {
            backup: true,
            fail_after_temp: std::env::var(FAIL_HOOK_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok()),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Applied {
    /// Files written, in order (absolute).
    pub written: Vec<PathBuf>,
    /// Folders created.
    pub created_dirs: Vec<PathBuf>,
    /// Where backups of replaced files are (absent when nothing was replaced).
    pub backup_dir: Option<PathBuf>,
}

/// A failed apply: the files before `failed` were written, the rest were not.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.failed, .applied))]
pub struct ApplyError {
    /// The file whose write failed.
    pub failed: PathBuf,
    /// What had been written before the failure.
    pub applied: Applied,
    /// The cause.
    #[source]
    pub source: Box<pgtls_certs::Error>,
}

fn describe(failed: &Path, applied: &Applied) -> String {
    let mut s = format!(
        "writing \"{}\" failed; the file is unchanged and nothing after it was written",
        failed.display()
    );
    if applied.written.is_empty() {
        s.push_str("; no file had been written yet");
    } else {
        s.push_str("; already written: ");
        let names: Vec<String> = applied
            .written
            .iter()
            .map(|p| format!("\"{}\"", p.display()))
            .collect();
        s.push_str(&names.join(", "));
    }
    if let Some(dir) = &applied.backup_dir {
        let _ = write!(
            s,
            "; backups of replaced files are in \"{}\"",
            dir.display()
        );
    }
    s
}

/// Applies `changes` under `root`, creating `dirs` first.
pub fn apply(
    root: &Path,
    dirs: &[DirSpec],
    changes: &[FileChange],
    opts: &ApplyOptions,
) -> Result<Applied, ApplyError> {
    let mut applied = Applied::default();
    for dir in dirs {
        let abs = root.join(&dir.path);
        if abs.exists() {
            continue;
        }
        if let Err(e) = create_dir(&abs, dir.mode, dir.owner) {
            return Err(ApplyError {
                source: Box::new(pgtls_certs::Error::Io {
                    op: "create the folder",
                    path: abs.clone(),
                    message: e.to_string(),
                }),
                failed: abs,
                applied,
            });
        }
        applied.created_dirs.push(abs);
    }
    // one backup folder per run, never shared with an earlier run in the same second
    let mut backups = Backups::new(root);
    for (index, change) in changes.iter().enumerate() {
        let abs = root.join(&change.path);
        let fail_here = opts.fail_after_temp == Some(index + 1);
        let result = write_atomic(&abs, change, opts.backup.then_some(&mut backups), fail_here);
        if applied.backup_dir.is_none() {
            applied.backup_dir = backups.dir().map(Path::to_path_buf);
        }
        if let Err(source) = result {
            return Err(ApplyError {
                failed: abs,
                applied,
                source: Box::new(source),
            });
        }
        applied.written.push(abs);
    }
    Ok(applied)
}

/// Writes one change to `path` through pgtls-certs' atomic writer (temp file with the final
/// mode and owner, fsync, rename, fsync the folder), creating missing parent folders first.
fn write_atomic(
    path: &Path,
    change: &FileChange,
    backups: Option<&mut Backups>,
    simulate_failure: bool,
) -> Result<(), pgtls_certs::Error> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| pgtls_certs::Error::Io {
            op: "create the folder",
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let opts = WriteOptions {
        mode: change.mode,
        owner: change.owner.map(|(uid, gid)| Owner { uid, gid }),
        backup: backups.is_some(),
        protect_existing: false,
    };
    let hook = |_: &Path| {
        if simulate_failure {
            Err(io::Error::other(format!(
                "simulated failure after writing the temp file ({FAIL_HOOK_ENV})"
            )))
        } else {
            Ok(())
        }
    };
    pgtls_certs::write_atomic_with(path, &change.after, &opts, backups, &hook).map(|_| ())
}

fn create_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::create_dir(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::FileKind;

    fn change(path: &str, after: &str, mode: u32) -> FileChange {
        FileChange {
            path: path.into(),
            before: None,
            after: after.as_bytes().to_vec(),
            mode,
            owner: None,
            kind: FileKind::Text,
            summary: None,
        }
    }

    #[test]
    fn writes_with_mode_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "old\n").unwrap();
        let opts = ApplyOptions {
            backup: true,
            fail_after_temp: None,
        };
        let applied = apply(
            dir.path(),
            &[],
            &[
                change("a.txt", "new\n", 0o644),
                change("k/s.key", "k", 0o600),
            ],
            &opts,
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "new\n"
        );
        let mode = fs::metadata(dir.path().join("k/s.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let backup = applied.backup_dir.unwrap().join("a.txt");
        assert_eq!(fs::read_to_string(backup).unwrap(), "old\n");
    }

    #[test]
    fn two_runs_in_one_second_get_separate_backups() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "v1\n").unwrap();
        let opts = ApplyOptions {
            backup: true,
            fail_after_temp: None,
        };
        let first = apply(dir.path(), &[], &[change("a.txt", "v2\n", 0o644)], &opts).unwrap();
        let second = apply(dir.path(), &[], &[change("a.txt", "v3\n", 0o644)], &opts).unwrap();
        let (b1, b2) = (first.backup_dir.unwrap(), second.backup_dir.unwrap());
        assert_ne!(b1, b2);
        assert_eq!(fs::read_to_string(b1.join("a.txt")).unwrap(), "v1\n");
        assert_eq!(fs::read_to_string(b2.join("a.txt")).unwrap(), "v2\n");
    }

    #[test]
    fn simulated_failure_keeps_original_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "old a\n").unwrap();
        fs::write(dir.path().join("b.txt"), "old b\n").unwrap();
        let opts = ApplyOptions {
            backup: true,
            fail_after_temp: Some(2),
        };
        let err = apply(
            dir.path(),
            &[],
            &[
                change("a.txt", "new a\n", 0o644),
                change("b.txt", "new b\n", 0o644),
            ],
            &opts,
        )
        .unwrap_err();
        assert_eq!(
            fs::read_to_string(dir.path().join("b.txt")).unwrap(),
            "old b\n"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "new a\n"
        );
        assert_eq!(err.applied.written.len(), 1);
        let msg = err.to_string();
        assert!(msg.contains("b.txt") && msg.contains("backups"), "{msg}");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("pgtls-tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}

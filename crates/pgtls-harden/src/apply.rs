//! Atomic application of a plan: backup, temp file in the same folder created with its final
//! mode, fsync, rename, fsync the folder. A failure stops at once and reports what was written
//! and where the backups are.
//!
//! The writing itself is pgtls-certs' writer ([`pgtls_certs::write_atomic_with`]), the
//! workspace's one implementation, with one [`pgtls_certs::Backups`] folder per run:
//! `<destination>/.pgtls-backups/<UTC timestamp>[-N]/<relative path>`.
//!
//! # Order, and what a failure leaves behind
//! Files are written secrets first and configs last, so that a failure at any point leaves a
//! state the next run finishes ([`order`]):
//! 1. a new CA key, staged beside its final name as [`CA_KEY_PENDING`] (nothing is signed by
//!    it yet, so a run stopped here loses nothing: the next one makes a new CA);
//! 2. the CA certificate; 3. the staged key renamed to `ca.key` (a run stopped between 2 and 3
//!    leaves the CA certificate and the staged key: the next run adopts the key, see
//!    [`crate::harden::plan`]);
//! 4. other private keys (the server key), 5. other certificates (server.crt, the CA copy the
//!    db mounts), 6. copied files, 7. text configs (`pg_hba.conf`, `pooler.exs`), 8. the compose file,
//!    which names all of the above: it is written only after they exist.
//!
//! Stale temp files of a killed run (`.NAME.pgtls-tmp-*`) are removed from the folders written
//! to before anything else, and a staged CA key left behind is removed once `ca.key` exists.
//!
//! # Fault injection
//! Every operation that creates or replaces something first asks a [`Sink`]: the real one
//! ([`RealFs`]) lets everything through; tests pass one that fails the k-th operation to check
//! that every failure point can be finished by a rerun. The release binary has no other hook.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pgtls_certs::{Backups, Owner, WriteOptions};

use crate::error::Error;
use crate::plan::{FileChange, FileKind};

pub use crate::paths::{CA_KEY_PENDING, LOCK_FILE};
/// The CA key (relative to the destination).
pub const CA_KEY: &str = "volumes/tls-ca/ca.key";
/// The CA certificate (relative to the destination).
pub const CA_CRT: &str = "volumes/tls-ca/ca.crt";
/// Marker in the names of the writer's temp files (`.NAME.pgtls-tmp-PID-N`).
pub const TMP_MARKER: &str = ".pgtls-tmp-";

/// One operation [`apply_with`] is about to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op<'a> {
    /// Creating a folder.
    CreateDir(&'a Path),
    /// Creating the temp file of a write (nothing of the target has changed yet).
    Create(&'a Path),
    /// Renaming a written and synced temp file over the target (the commit of one file).
    Replace(&'a Path),
    /// Renaming a staged file to its final name.
    Rename {
        /// Staged name.
        from: &'a Path,
        /// Final name.
        to: &'a Path,
    },
}

/// The seam between [`apply_with`] and the filesystem: asked before every operation, an error
/// stops the apply exactly as a failing disk would (the operation is not performed).
pub trait Sink {
    /// Called before `op`; an error aborts the apply there.
    fn before(&self, op: Op<'_>) -> io::Result<()>;
}

/// The real filesystem: every operation goes through.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl Sink for RealFs {
    fn before(&self, _op: Op<'_>) -> io::Result<()> {
        Ok(())
    }
}

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
}

impl ApplyOptions {
    /// Options with backups on (what `pgtls harden` uses).
    pub fn with_backups() -> Self {
        Self { backup: true }
    }
}

/// The apply errors live at the bottom, in [`crate::error`]; re-exported here.
pub use crate::error::{Applied, ApplyError};

/// Applies `changes` under `root`, creating `dirs` first, in the order of [`order`].
pub fn apply(
    root: &Path,
    dirs: &[DirSpec],
    changes: &[FileChange],
    opts: &ApplyOptions,
) -> Result<Applied, ApplyError> {
    apply_with(root, dirs, changes, opts, &RealFs)
}

/// Replaces one user's text file (`pgtls hba fmt`, `pooler set`) whose text was `before` with
/// `after` through the one writer: mode and owner kept, the old file kept in
/// `.pgtls-backups/<timestamp>/` beside it.
///
/// # Errors
/// The file cannot be examined or written (an [`ApplyError`] says what was written).
pub fn replace_file(path: &Path, before: &str, after: &str) -> crate::Result<Applied> {
    let meta = pgtls_certs::file_meta(path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .ok_or_else(|| Error::Message("the path has no file name".into()))?;
    let change = FileChange {
        path: file.into(),
        before: Some(before.as_bytes().to_vec()),
        after: after.as_bytes().to_vec(),
        mode: meta.mode,
        owner: Some((meta.uid, meta.gid)),
        kind: FileKind::Text,
        summary: None,
    };
    Ok(apply(dir, &[], &[change], &ApplyOptions::with_backups())?)
}

/// The rank of a change in the apply order (lower first): secrets first, configs last.
fn rank(change: &FileChange) -> u8 {
    let name = change
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if change.path == Path::new(CA_KEY) {
        0
    } else if change.path == Path::new(CA_CRT) {
        1
    } else {
        match change.kind {
            FileKind::PrivateKey => 2,
            FileKind::Certificate => 3,
            FileKind::Copy => 4,
            // compose files (the base, overrides, included files: YAML) point at the rest
            FileKind::Text
                if crate::layout::COMPOSE_NAMES.contains(&name.as_str())
                    || change.path.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                    }) =>
            {
                6
            }
            FileKind::Text => 5,
        }
    }
}

/// `changes` in the order they are written (see the module notes); stable within a rank.
pub fn order(changes: &[FileChange]) -> Vec<&FileChange> {
    let mut ordered: Vec<&FileChange> = changes.iter().collect();
    ordered.sort_by_key(|c| rank(c));
    ordered
}

/// [`apply`] through a [`Sink`] (fault injection in tests; [`RealFs`] otherwise).
pub fn apply_with(
    root: &Path,
    dirs: &[DirSpec],
    changes: &[FileChange],
    opts: &ApplyOptions,
    sink: &dyn Sink,
) -> Result<Applied, ApplyError> {
    let mut applied = Applied::default();
    let fail = |applied: Applied, path: &Path, op: &'static str, e: &io::Error| ApplyError {
        source: Box::new(pgtls_certs::Error::Io {
            op,
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        failed: path.to_path_buf(),
        applied,
    };
    for dir in dirs {
        let abs = root.join(&dir.path);
        if abs.exists() {
            continue;
        }
        if let Err(e) = sink
            .before(Op::CreateDir(&abs))
            .and_then(|()| create_dir(&abs, dir.mode, dir.owner))
        {
            return Err(fail(applied, &abs, "create the folder", &e));
        }
        applied.created_dirs.push(abs);
    }
    let ordered = order(changes);
    // temp files of a killed run, in every folder this run writes to
    let mut folders: Vec<PathBuf> = ordered
        .iter()
        .filter_map(|c| root.join(&c.path).parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    for folder in &folders {
        remove_stale_temps(folder);
    }
    // one backup folder per run, never shared with an earlier run in the same second
    let mut backups = Backups::new(root);
    let pending = root.join(CA_KEY_PENDING);
    let mut staged_ca_key: Option<&FileChange> = None;
    for change in ordered {
        let abs = root.join(&change.path);
        // a new CA key waits beside its final name until the CA certificate is written
        let new_ca_key = change.path == Path::new(CA_KEY) && !abs.exists();
        let target = if new_ca_key {
            pending.clone()
        } else {
            abs.clone()
        };
        let result = write_atomic(&target, change, opts.backup.then_some(&mut backups), sink);
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
        if new_ca_key {
            staged_ca_key = Some(change);
        } else {
            applied.written.push(abs);
        }
        if change.path == Path::new(CA_CRT) || rank(change) > 1 {
            commit_ca_key(root, &pending, &mut staged_ca_key, &mut applied, sink)?;
        }
    }
    commit_ca_key(root, &pending, &mut staged_ca_key, &mut applied, sink)?;
    if root.join(CA_KEY).exists() {
        let _ = fs::remove_file(&pending);
    }
    Ok(applied)
}

/// Renames a staged CA key to its final name (once the CA certificate is on disk).
fn commit_ca_key(
    root: &Path,
    pending: &Path,
    staged: &mut Option<&FileChange>,
    applied: &mut Applied,
    sink: &dyn Sink,
) -> Result<(), ApplyError> {
    if staged.take().is_none() {
        return Ok(());
    }
    let to = root.join(CA_KEY);
    let result = sink
        .before(Op::Rename {
            from: pending,
            to: &to,
        })
        .and_then(|()| fs::rename(pending, &to))
        .and_then(|()| sync_dir(&to));
    match result {
        Ok(()) => {
            applied.written.push(to);
            Ok(())
        }
        Err(e) => Err(ApplyError {
            source: Box::new(pgtls_certs::Error::Io {
                op: "rename the staged CA key",
                path: to.clone(),
                message: e.to_string(),
            }),
            failed: to,
            applied: applied.clone(),
        }),
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Removes `.NAME.pgtls-tmp-*` files (temp files of a run that was killed) from `folder`.
pub fn remove_stale_temps(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && name.contains(TMP_MARKER)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes one change to `path` through pgtls-certs' atomic writer (temp file with the final
/// mode and owner, fsync, rename, fsync the folder), creating missing parent folders first.
fn write_atomic(
    path: &Path,
    change: &FileChange,
    backups: Option<&mut Backups>,
    sink: &dyn Sink,
) -> Result<(), pgtls_certs::Error> {
    let io_err = |op: &'static str, p: &Path, e: &io::Error| pgtls_certs::Error::Io {
        op,
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !dir.is_dir()
    {
        sink.before(Op::CreateDir(dir))
            .and_then(|()| fs::create_dir_all(dir))
            .map_err(|e| io_err("create the folder", dir, &e))?;
    }
    sink.before(Op::Create(path))
        .map_err(|e| io_err("write", path, &e))?;
    let opts = WriteOptions {
        mode: change.mode,
        owner: change.owner.map(|(uid, gid)| Owner { uid, gid }),
        backup: backups.is_some(),
        protect_existing: false,
    };
    let hook = |_: &Path| sink.before(Op::Replace(path));
    pgtls_certs::write_atomic_with(path, &change.after, &opts, backups, &hook).map(|_| ())
}

/// An exclusive lock on a deployment folder, held while a run plans and applies, released when
/// dropped. It is an advisory `flock(2)` on [`LOCK_FILE`] (std's `File::lock`), so a run that
/// is killed releases it with its process; the file itself stays (removing it would race).
#[derive(Debug)]
pub struct DeploymentLock {
    _file: File,
    path: PathBuf,
}

impl DeploymentLock {
    /// Takes the lock on `dir` (creating `dir` when missing), waiting up to `wait` for a run
    /// that holds it; then [`Error::Refused`] naming the lock file.
    pub fn acquire(dir: &Path, wait: Duration) -> crate::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = dir.join(LOCK_FILE);
        let io = |e: io::Error, what: &str| Error::Io {
            context: format!("{what} \"{}\"", path.display()),
            source: e,
        };
        fs::create_dir_all(dir).map_err(|e| io(e, "creating the folder of"))?;
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io(e, "opening the lock file"))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file, path }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::Refused(format!(
                        "another pgtls run holds the lock on this deployment (\"{}\"); waited {} s for it to finish: wait for it, or check that no pgtls is running",
                        path.display(),
                        wait.as_secs()
                    )));
                }
                Err(fs::TryLockError::Error(e)) => return Err(io(e, "locking")),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Refuses a symlinked `volumes/`, `volumes/tls`, `volumes/tls-ca` or `.pgtls-backups` in
/// `dest` (keys would be written outside the deployment), naming the link and its target.
pub fn refuse_symlinks(dest: &Path) -> crate::Result<()> {
    for rel in [
        "volumes",
        "volumes/tls",
        "volumes/tls-ca",
        pgtls_certs::BACKUP_DIR,
    ] {
        let path = dest.join(rel);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = fs::read_link(&path).map_or_else(
                |_| "an unreadable target".to_owned(),
                |t| format!("\"{}\"", t.display()),
            );
            return Err(Error::Refused(format!(
                "\"{}\" is a symbolic link to {target}: keys and backups would be written outside the deployment folder; replace the link by a folder, or pass --follow-symlinks to write through it",
                path.display()
            )));
        }
    }
    Ok(())
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

    /// Fails exactly one operation.
    struct FailOn<'a>(Op<'a>);

    impl Sink for FailOn<'_> {
        fn before(&self, op: Op<'_>) -> io::Result<()> {
            if op == self.0 {
                Err(io::Error::other("injected failure"))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn writes_with_mode_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "old\n").unwrap();
        let opts = ApplyOptions { backup: true };
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
        let opts = ApplyOptions { backup: true };
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
        let opts = ApplyOptions { backup: true };
        let err = apply_with(
            dir.path(),
            &[],
            &[
                change("a.txt", "new a\n", 0o644),
                change("b.txt", "new b\n", 0o644),
            ],
            &opts,
            &FailOn(Op::Replace(&dir.path().join("b.txt"))),
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

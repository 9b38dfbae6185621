//! Atomic application of a plan: backup, temp file in the same folder created with its final
//! mode, fsync, rename, fsync the folder. A failure stops at once and reports what was written
//! and where the backups are.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::plan::FileChange;
use crate::tree::BACKUP_DIR;

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
    pub source: io::Error,
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
        if let Err(source) = create_dir(&abs, dir.mode, dir.owner) {
            return Err(ApplyError {
                failed: abs,
                applied,
                source,
            });
        }
        applied.created_dirs.push(abs);
    }
    // one backup folder per run, never shared with an earlier run in the same second
    let backup_root = unique_backup_root(root);
    for (index, change) in changes.iter().enumerate() {
        let abs = root.join(&change.path);
        let fail_here = opts.fail_after_temp == Some(index + 1);
        let result = (|| -> io::Result<()> {
            if opts.backup && abs.exists() {
                backup(&abs, &backup_root.join(&change.path))?;
                if applied.backup_dir.is_none() {
                    applied.backup_dir = Some(backup_root.clone());
                }
            }
            write_atomic(&abs, &change.after, change.mode, change.owner, fail_here)
        })();
        if let Err(source) = result {
            return Err(ApplyError {
                failed: abs,
                applied,
                source,
            });
        }
        applied.written.push(abs);
    }
    Ok(applied)
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder created with `mode`
/// (never wider, also under a umask), owner set before the rename, fsync, rename, fsync folder.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    simulate_failure: bool,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.pgtls-tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // the umask can only have removed bits; set the exact mode on the open descriptor
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot give \"{}\" owner {uid}:{gid} ({e}); run as root or pass --pg-owner with your own uid:gid",
                        path.display()
                    ),
                )
            })?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        if simulate_failure {
            return Err(io::Error::other(format!(
                "simulated failure after writing the temp file ({FAIL_HOOK_ENV})"
            )));
        }
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn unique_backup_root(root: &Path) -> PathBuf {
    let stamp = timestamp();
    let base = root.join(BACKUP_DIR);
    let mut candidate = base.join(&stamp);
    let mut n = 2;
    while candidate.exists() {
        candidate = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    candidate
}

fn backup(src: &Path, dest: &Path) -> io::Result<()> {
    let meta = fs::metadata(src)?;
    let bytes = fs::read(src)?;
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
        fs::set_permissions(parent, fs::Permissions::from_mode(0o700))?;
    }
    let mode = meta.permissions().mode() & 0o7777;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o700)
        .open(dest)?;
    file.write_all(&bytes)?;
    file.sync_all()
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

/// UTC timestamp `YYYYMMDDTHHMMSSZ` for backup folder names.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
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
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
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

//! The one place that writes certificates and keys to disk.
//!
//! Every write goes to a temporary file in the target directory, created with its final mode
//! (`O_CREAT|O_EXCL` with the mode given to `open`, so a key is never readable by others, not even
//! for a moment), owned by the requested user, fsynced, then renamed over the target; the directory
//! is fsynced last. A file being replaced is kept under one backup folder per run,
//! `<root>/.pgtls-backups/<UTC timestamp>[-N]/<path relative to root>` ([`Backups`]; a hard link
//! to the old inode, so its mode and owner are exactly the old ones; the folders are 0700). This
//! is the workspace's one atomic writer: `pgtls harden`'s apply and every single-file edit of the
//! CLI go through [`write_atomic_with`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use crate::ca::{CertAndKey, PlannedFile};
use crate::error::{Error, Result};
use crate::renew::RenewOptions;
use crate::{Ca, inspect};

/// A numeric owner for written files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl FromStr for Owner {
    type Err = Error;

    /// Parse `UID:GID` (numbers, as the CLI's `--owner` takes them).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidOwner {
            value: s.to_string(),
        };
        let (u, g) = s.trim().split_once(':').ok_or_else(bad)?;
        Ok(Owner {
            uid: u.parse().map_err(|_| bad())?,
            gid: g.parse().map_err(|_| bad())?,
        })
    }
}

/// Mode and owner of an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
}

impl FileMeta {
    /// The owner as an [`Owner`].
    pub fn owner(&self) -> Owner {
        Owner {
            uid: self.uid,
            gid: self.gid,
        }
    }
}

/// Mode and owner of `path` (following symlinks, as PostgreSQL does).
pub fn file_meta(path: &Path) -> Result<FileMeta> {
    let md = fs::metadata(path).map_err(|e| Error::io("stat", path, &e))?;
    Ok(FileMeta {
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
    })
}

/// How [`write_atomic`] writes one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The file's mode, applied when the temporary file is created (0600 for keys).
    pub mode: u32,
    /// Owner to give the file; `None` leaves it to the writing process.
    pub owner: Option<Owner>,
    /// Keep the replaced file in a [`Backups`] folder (`.pgtls-backups/<timestamp>/`).
    pub backup: bool,
    /// Refuse to replace an existing file whose contents differ ([`Error::WouldOverwrite`]).
    pub protect_existing: bool,
}

impl WriteOptions {
    /// Options for a private key: mode 0600, backup on.
    pub fn key() -> Self {
        WriteOptions {
            mode: crate::ca::KEY_MODE,
            owner: None,
            backup: true,
            protect_existing: false,
        }
    }

    /// Options for a certificate: mode 0644, backup on.
    pub fn cert() -> Self {
        WriteOptions {
            mode: crate::ca::CERT_MODE,
            owner: None,
            backup: true,
            protect_existing: false,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStatus {
    /// There was no file; it was created.
    Created,
    /// A file was replaced.
    Replaced,
    /// The file already had these contents, mode and owner; nothing was written.
    Unchanged,
}

impl WriteStatus {
    /// `created`, `replaced` or `unchanged`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Replaced => "replaced",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The result of writing one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The file written.
    pub path: PathBuf,
    /// What happened.
    pub status: WriteStatus,
    /// Where the previous version was kept, if it was.
    pub backup: Option<PathBuf>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Name of the folder holding backups of replaced files, under the root of a run.
pub const BACKUP_DIR: &str = ".pgtls-backups";

/// One run's backup folder: `<root>/.pgtls-backups/<UTC timestamp>/`, or `...-2`, `...-3` when a
/// run in the same second already has it. The folder is chosen and made on the first file kept,
/// so a run that replaces nothing leaves no folder behind. Files keep their path relative to
/// `root` (a file outside `root` keeps only its name).
#[derive(Debug, Clone)]
pub struct Backups {
    root: PathBuf,
    dir: Option<PathBuf>,
}

impl Backups {
    /// Backups for files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dir: None,
        }
    }

    /// The run's backup folder, once a file has been kept.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Keeps the current `path` (a hard link, else a copy with the same mode and owner) and
    /// returns where.
    pub fn keep(&mut self, path: &Path) -> Result<PathBuf> {
        let dir = if let Some(d) = &self.dir {
            d.clone()
        } else {
            let base = self.root.join(BACKUP_DIR);
            let stamp = timestamp();
            let mut candidate = base.join(&stamp);
            let mut n = 2;
            while fs::symlink_metadata(&candidate).is_ok() {
                candidate = base.join(format!("{stamp}-{n}"));
                n += 1;
            }
            make_private_dirs(&candidate)?;
            self.dir = Some(candidate.clone());
            candidate
        };
        let rel = path
            .strip_prefix(&self.root)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .map_or_else(
                || PathBuf::from(path.file_name().unwrap_or_default()),
                Path::to_path_buf,
            );
        let bak = dir.join(rel);
        if let Some(parent) = bak.parent() {
            make_private_dirs(parent)?;
        }
        if fs::hard_link(path, &bak).is_err() {
            // hard links can be refused (some file systems, another device); fall back to a
            // copy with the same mode and owner
            copy_preserving(path, &bak)?;
        }
        Ok(bak)
    }
}

fn make_private_dirs(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create the backup folder", dir, &e))
}

fn timestamp() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Write `contents` to `path` atomically with the given mode and owner (see the module notes).
///
/// Identical contents with the right mode and owner are left alone ([`WriteStatus::Unchanged`]),
/// so writing the same plan twice changes nothing. With `opts.backup`, a replaced file is kept in
/// a new [`Backups`] folder under the file's own folder; use [`write_atomic_with`] to share one
/// backup folder between the files of a run.
pub fn write_atomic(path: &Path, contents: &[u8], opts: &WriteOptions) -> Result<WriteOutcome> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut backups = Backups::new(dir);
    write_atomic_with(path, contents, opts, Some(&mut backups), &|_| Ok(()))
}

/// [`write_atomic`] with the run's [`Backups`] (used when `opts.backup` is set; `None` keeps no
/// backup) and a hook called after the temporary file is written and synced, just before the
/// rename: an error from it leaves the target untouched and removes the temporary file (fault
/// injection in tests, or a last check).
pub fn write_atomic_with(
    path: &Path,
    contents: &[u8],
    opts: &WriteOptions,
    backups: Option<&mut Backups>,
    before_rename: &dyn Fn(&Path) -> std::io::Result<()>,
) -> Result<WriteOutcome> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Io {
            op: "write",
            path: path.to_path_buf(),
            message: "not a file path".to_string(),
        })?
        .to_string_lossy()
        .into_owned();

    let existing = match fs::symlink_metadata(path) {
        Ok(_) => Some(fs::read(path).map_err(|e| Error::io("read", path, &e))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("stat", path, &e)),
    };
    if let Some(old) = &existing {
        if old == contents {
            let meta = file_meta(path)?;
            let owner_ok = opts.owner.is_none_or(|o| o == meta.owner());
            if meta.mode == opts.mode && owner_ok {
                return Ok(WriteOutcome {
                    path: path.to_path_buf(),
                    status: WriteStatus::Unchanged,
                    backup: None,
                });
            }
        } else if opts.protect_existing {
            return Err(Error::WouldOverwrite {
                path: path.to_path_buf(),
            });
        }
    }

    let tmp = dir.join(format!(
        ".{name}.pgtls-tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_tmp(&tmp, contents, opts);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }

    if let Err(e) = before_rename(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", path, &e));
    }
    let backup = match backups {
        Some(backups) if existing.is_some() && opts.backup => match backups.keep(path) {
            Ok(bak) => Some(bak),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        },
        _ => None,
    };

    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("rename into", path, &e));
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", &dir, &e))?;
    Ok(WriteOutcome {
        path: path.to_path_buf(),
        status: if existing.is_some() {
            WriteStatus::Replaced
        } else {
            WriteStatus::Created
        },
        backup,
    })
}

fn write_tmp(tmp: &Path, contents: &[u8], opts: &WriteOptions) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(opts.mode)
        .open(tmp)
        .map_err(|e| Error::io("create", tmp, &e))?;
    // the umask may have removed bits from a 0644 certificate; it can only ever remove bits,
    // so a key is never more open than asked at any time
    file.set_permissions(fs::Permissions::from_mode(opts.mode))
        .map_err(|e| Error::io("set the mode of", tmp, &e))?;
    if let Some(o) = opts.owner {
        std::os::unix::fs::fchown(&file, Some(o.uid), Some(o.gid))
            .map_err(|e| Error::io("chown", tmp, &e))?;
    }
    file.write_all(contents)
        .map_err(|e| Error::io("write", tmp, &e))?;
    file.sync_all().map_err(|e| Error::io("fsync", tmp, &e))?;
    Ok(())
}

fn copy_preserving(from: &Path, to: &Path) -> Result<()> {
    let meta = file_meta(from)?;
    let bytes = fs::read(from).map_err(|e| Error::io("read", from, &e))?;
    write_tmp(
        to,
        &bytes,
        &WriteOptions {
            mode: meta.mode,
            owner: Some(meta.owner()),
            backup: false,
            protect_existing: false,
        },
    )
}

/// Options for [`write_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteFilesOptions {
    /// Owner for every file.
    pub owner: Option<Owner>,
    /// Replace protected files (an existing, different CA key).
    pub force: bool,
    /// Skip backups of replaced files.
    pub no_backup: bool,
}

/// Write planned files (for example [`CertKit::files`](crate::CertKit::files)) into `dir`.
///
/// Protected files are checked before anything is written, so a refusal leaves the directory as
/// it was. Stops at the first failure; the outcomes of the files already written are lost with
/// the error, which names the failing path.
pub fn write_files(
    dir: &Path,
    files: &[PlannedFile],
    opts: &WriteFilesOptions,
) -> Result<Vec<WriteOutcome>> {
    if !opts.force {
        for f in files.iter().filter(|f| f.protect_existing) {
            let path = dir.join(&f.name);
            if let Ok(old) = fs::read(&path)
                && old != f.contents
            {
                return Err(Error::WouldOverwrite { path });
            }
        }
    }
    let mut backups = Backups::new(dir);
    files
        .iter()
        .map(|f| {
            write_atomic_with(
                &dir.join(&f.name),
                &f.contents,
                &WriteOptions {
                    mode: f.mode,
                    owner: opts.owner,
                    backup: !opts.no_backup,
                    protect_existing: f.protect_existing && !opts.force,
                },
                Some(&mut backups),
                &|_| Ok(()),
            )
        })
        .collect()
}

/// Read `ca.crt` and `ca.key` from `dir` if both exist. `Ok(None)` when neither does; an error
/// when only one does or they do not load.
pub fn load_ca_dir(dir: &Path) -> Result<Option<Ca>> {
    let crt = dir.join("ca.crt");
    let key = dir.join("ca.key");
    match (crt.exists(), key.exists()) {
        (false, false) => Ok(None),
        (true, true) => {
            let c = fs::read(&crt).map_err(|e| Error::io("read", &crt, &e))?;
            let k = fs::read(&key).map_err(|e| Error::io("read", &key, &e))?;
            Ca::load(c, k).map(Some)
        }
        (true, false) => Err(Error::Io {
            op: "read",
            path: key,
            message: "the CA certificate exists but its key does not".to_string(),
        }),
        (false, true) => Err(Error::Io {
            op: "read",
            path: crt,
            message: "the CA key exists but its certificate does not".to_string(),
        }),
    }
}

/// The result of [`renew_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewOutcome {
    /// Serial of the replaced certificate.
    pub old_serial: String,
    /// Serial of the new certificate.
    pub new_serial: String,
    /// The certificate file written.
    pub cert: WriteOutcome,
    /// The key file written (`None` when the key was reused and left alone).
    pub key: Option<WriteOutcome>,
}

/// What [`renew_files`] would do to `cert_path`, as one sentence; nothing is written.
///
/// # Errors
/// The certificate cannot be read or parsed, or `ca` did not issue it.
pub fn renew_preview(ca: &Ca, cert_path: &Path, opts: &RenewOptions) -> Result<String> {
    let pem = fs::read(cert_path).map_err(|e| Error::io("read", cert_path, &e))?;
    let info = inspect::inspect(&pem)?;
    inspect::verify_chain(&pem, ca.cert_pem())?;
    let days = opts
        .days
        .map_or_else(|| "the same lifetime".to_owned(), |d| format!("{d} days"));
    let key = if opts.reuse_key {
        "keeping the key"
    } else {
        "with a new key"
    };
    Ok(format!(
        "would renew {} ({}, SANs {}, {} days left) for {days}, {key}; nothing was written",
        cert_path.display(),
        info.subject,
        info.sans.join(" "),
        info.days_left
    ))
}

/// Renew the leaf at `cert_path` (key at `key_path`) with `ca`, in place: the new files get the
/// old files' mode and owner, and the old files are kept as backups.
///
/// The key is written before the certificate, each atomically; a server reloading in between
/// would see a new key with the old certificate and keep its previous configuration (PostgreSQL
/// refuses the mismatched pair on reload and keeps serving the old one), so reload after this
/// returns.
pub fn renew_files(
    ca: &Ca,
    cert_path: &Path,
    key_path: &Path,
    opts: &RenewOptions,
) -> Result<RenewOutcome> {
    let old_cert = fs::read(cert_path).map_err(|e| Error::io("read", cert_path, &e))?;
    let old_key = fs::read(key_path).map_err(|e| Error::io("read", key_path, &e))?;
    let cert_meta = file_meta(cert_path)?;
    let key_meta = file_meta(key_path)?;
    let old_serial = inspect::inspect(&old_cert)?.serial;
    let CertAndKey { cert_pem, key_pem } = ca.renew(&old_cert, Some(&old_key), opts)?;
    let new_serial = inspect::inspect(&cert_pem)?.serial;
    let root = match cert_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut backups = Backups::new(root);
    let key = if opts.reuse_key {
        None
    } else {
        Some(write_atomic_with(
            key_path,
            key_pem.as_bytes(),
            &WriteOptions {
                mode: key_meta.mode,
                owner: Some(key_meta.owner()),
                backup: true,
                protect_existing: false,
            },
            Some(&mut backups),
            &|_| Ok(()),
        )?)
    };
    let cert = write_atomic_with(
        cert_path,
        cert_pem.as_bytes(),
        &WriteOptions {
            mode: cert_meta.mode,
            owner: Some(cert_meta.owner()),
            backup: true,
            protect_existing: false,
        },
        Some(&mut backups),
        &|_| Ok(()),
    )?;
    Ok(RenewOutcome {
        old_serial,
        new_serial,
        cert,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_parses() {
        assert_eq!("999:998".parse::<Owner>(), Ok(Owner { uid: 999, gid: 998 }));
        assert!("postgres".parse::<Owner>().is_err());
        assert!("1:x".parse::<Owner>().is_err());
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 16, "{t}");
        assert!(t.ends_with('Z'));
    }
}

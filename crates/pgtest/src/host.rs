//! What every server harness shares: the user servers run as, private folders and files
//! owned by it, free ports on loopback, logs, and stopping a child by PID.

use std::collections::HashSet;
use std::fs;
use std::io::Read as _;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{HarnessError, io_err};

pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);

/// The operating-system user the servers run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// User name.
    pub name: String,
    /// True when the tests run as root and servers are started as this other user.
    pub switched: bool,
}

/// The user servers run as: `postgres` when the tests run as root, else the current user.
///
/// # Panics
/// When running as root and there is no `postgres` user in `/etc/passwd` (install Debian's
/// `postgresql` package, which creates it).
pub fn server_user() -> &'static ServerUser {
    static USER: OnceLock<ServerUser> = OnceLock::new();
    USER.get_or_init(|| {
        let me = fs::metadata("/proc/self").expect("pgtest needs Linux /proc");
        if me.uid() == 0 {
            let (uid, gid) = passwd_lookup("postgres")
                .expect("running as root needs a `postgres` user (apt-get install postgresql)");
            ServerUser {
                uid,
                gid,
                name: "postgres".into(),
                switched: true,
            }
        } else {
            ServerUser {
                uid: me.uid(),
                gid: me.gid(),
                name: std::env::var("USER").unwrap_or_else(|_| format!("uid {}", me.uid())),
                switched: false,
            }
        }
    })
}

/// True when the tests run as root (some differential tests need to `chown`).
pub fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Looks a user up in `/etc/passwd`, returning its uid and gid.
pub fn passwd_lookup(name: &str) -> Option<(u32, u32)> {
    let text = fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _pw = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

/// A fresh private directory under the system temp dir, owned by the server user.
pub(crate) fn fresh_dir(prefix: &str) -> Result<PathBuf, HarnessError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "pgtest-{prefix}-{}-{n}-{nanos}",
        std::process::id()
    ));
    fs::create_dir(&dir).map_err(io_err(dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir.display()))?;
    give_to_server_user(&dir)?;
    Ok(dir)
}

pub(crate) fn give_to_server_user(path: &Path) -> Result<(), HarnessError> {
    let u = server_user();
    if u.switched {
        chown(path, Some(u.uid), Some(u.gid)).map_err(io_err(path.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` with `mode` (set at open time) and the given owner.
///
/// Replaces an existing file. `owner` of `None` means the server user.
pub fn write_file_as(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), HarnessError> {
    use std::io::Write as _;
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path.display()))?;
    f.write_all(bytes).map_err(io_err(path.display()))?;
    // The umask may have cleared bits of `mode`: make it exact.
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path.display()))?;
    match owner {
        Some((uid, gid)) => chown(path, Some(uid), Some(gid)).map_err(io_err(path.display()))?,
        None => give_to_server_user(path)?,
    }
    Ok(())
}

/// Picks a port on 127.0.0.1 that is free now and not yet handed out by this process.
///
/// # Panics
/// When no socket can be bound on 127.0.0.1 at all.
pub fn free_port() -> u16 {
    static HANDED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed = HANDED.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("binding 127.0.0.1:0");
        let mut set = handed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if set.insert(port) {
            return port;
        }
    }
}

/// Runs `cmd` as the server user (when switched), with stdin closed.
pub(crate) fn as_server_user(cmd: &mut Command) -> &mut Command {
    let u = server_user();
    if u.switched {
        cmd.uid(u.uid).gid(u.gid);
        cmd.env("HOME", std::env::temp_dir()).env("USER", &u.name);
    }
    cmd.stdin(Stdio::null())
}

/// Reads a log file, lossily, or an empty string.
pub(crate) fn read_log(path: &Path) -> String {
    let mut s = Vec::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_end(&mut s);
    }
    String::from_utf8_lossy(&s).into_owned()
}

pub(crate) fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SIGINT is PostgreSQL's "fast" shutdown and PgBouncer's "safe" one.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn keep_dirs() -> bool {
    std::env::var_os("PGTEST_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Removes a directory on drop unless disarmed.
pub(crate) struct DirGuard(pub(crate) Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = self.0.take()
            && !keep_dirs()
        {
            let _ = fs::remove_dir_all(d);
        }
    }
}

pub(crate) fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A file to write before the server starts.
#[derive(Debug, Clone)]
pub(crate) struct PendingFile {
    pub(crate) name: PathBuf,
    pub(crate) bytes: Vec<u8>,
    pub(crate) mode: u32,
    pub(crate) owner: Option<(u32, u32)>,
}

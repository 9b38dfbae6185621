//! Test support for the pgtls workspace: throwaway PostgreSQL clusters and PgBouncer
//! instances on 127.0.0.1, started for one test and stopped by PID when it ends.
//!
//! The behaviour pgtls cares about lives in servers (which key files PostgreSQL accepts,
//! what `pg_hba.conf` lets through, what a pooler answers to a plaintext client), so the tests
//! ask real servers instead of mocks. This crate makes that cheap and safe:
//!
//! - [`Pg::builder`] copies a cached `initdb` template (made once per PostgreSQL version and
//!   user, reused across test binaries), writes the caller's files and `pg_hba.conf`, and
//!   starts `postgres` on 127.0.0.1 and a free port with the caller's `-c` settings.
//! - When the tests run as root, every server process runs as the `postgres` user (found in
//!   `/etc/passwd`) and the files it must read are owned by that user; otherwise the servers run
//!   as the current user.
//! - [`Pg`] and [`PgBouncer`] stop their server by PID on drop (fast shutdown, then `SIGKILL`
//!   after a grace period), also when a test panics, and remove their directories
//!   (set `PGTEST_KEEP=1` to keep them for a post-mortem).
//! - Every instance has its own directory, socket directory and port, so tests run in parallel.
//!
//! ```no_run
//! let pg = pgtest::Pg::builder().setting("log_connections", "on").start().unwrap();
//! assert_eq!(pg.query("select 1 + 1"), "2");
//! let out = pg.psql("sslmode=disable", "select current_user");
//! assert!(out.success, "{}", out.stderr);
//! ```
//!
//! Limitations: Linux only (it reads `/proc/self` and `/etc/passwd`); a port can in theory be
//! taken by another process between choosing it and the server binding it, in which case the
//! start is retried on a new port a few times.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub mod coolify;
mod pki;
pub use coolify::{Abilities, CoolifyStandIn, FileStorage, Recorded};
pub use pki::{Leaf, Pki};

/// The superuser every cluster is created with.
pub const SUPERUSER: &str = "postgres";
/// The superuser's password (SCRAM), for TCP connections through `host`/`hostssl` rules.
pub const SUPERUSER_PASSWORD: &str = "postgres";

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(10);
const TEMPLATE_TAG: &str = "v1";

/// What went wrong while preparing or starting a server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HarnessError {
    /// A needed program was not found (the message says where we looked).
    NotFound(String),
    /// A file-system or process operation failed.
    Io(String),
    /// The server exited (or never became ready) during start; `log` is its output.
    StartFailed {
        /// Which server: `postgres` or `pgbouncer`.
        what: String,
        /// Everything the server wrote to its log.
        log: String,
    },
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::NotFound(m) => write!(f, "not found: {m}"),
            HarnessError::Io(m) => write!(f, "i/o error: {m}"),
            HarnessError::StartFailed { what, log } => {
                write!(f, "{what} failed to start; its log:\n{log}")
            }
        }
    }
}

impl std::error::Error for HarnessError {}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(io::Error) -> HarnessError {
    move |e| HarnessError::Io(format!("{context}: {e}"))
}

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

/// The directory holding PostgreSQL's server programs (`postgres`, `initdb`).
///
/// Looks at `PGTEST_BINDIR`, then `pg_config --bindir`, then the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn pg_bindir() -> Result<PathBuf, HarnessError> {
    static DIR: OnceLock<Result<PathBuf, HarnessError>> = OnceLock::new();
    DIR.get_or_init(|| {
        let has_postgres = |d: &Path| d.join("postgres").is_file() && d.join("initdb").is_file();
        if let Some(d) = std::env::var_os("PGTEST_BINDIR").map(PathBuf::from)
            && has_postgres(&d)
        {
            return Ok(d);
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if out.status.success() && has_postgres(&d) {
                return Ok(d);
            }
        }
        let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                let d = e.path().join("bin");
                has_postgres(&d).then_some((v, d))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, d)| d).ok_or_else(|| {
            HarnessError::NotFound(
                "PostgreSQL server binaries (PGTEST_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin); \
                 install Debian's `postgresql` package"
                    .into(),
            )
        })
    })
    .clone()
}

/// The PgBouncer program: `PGTEST_PGBOUNCER`, else `pgbouncer` on PATH or in `/usr/sbin`.
pub fn pgbouncer_bin() -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os("PGTEST_PGBOUNCER") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            HarnessError::NotFound(
                "pgbouncer (PATH, /usr/sbin); install Debian's `pgbouncer` package".into(),
            )
        })
}

/// A fresh private directory under the system temp dir, owned by the server user.
fn fresh_dir(prefix: &str) -> Result<PathBuf, HarnessError> {
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

fn give_to_server_user(path: &Path) -> Result<(), HarnessError> {
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
fn as_server_user(cmd: &mut Command) -> &mut Command {
    let u = server_user();
    if u.switched {
        cmd.uid(u.uid).gid(u.gid);
        cmd.env("HOME", std::env::temp_dir()).env("USER", &u.name);
    }
    cmd.stdin(Stdio::null())
}

/// The `initdb` template, made once per PostgreSQL install and user and reused by every copy.
fn template() -> Result<PathBuf, HarnessError> {
    static TEMPLATE: OnceLock<Result<PathBuf, HarnessError>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let bindir = pg_bindir()?;
            let u = server_user();
            let tag = bindir.to_string_lossy().replace('/', "_");
            let final_dir =
                std::env::temp_dir().join(format!("pgtest-template-{TEMPLATE_TAG}-{}{tag}", u.uid));
            if final_dir.join("PG_VERSION").is_file()
                && final_dir.join("global/pg_control").is_file()
            {
                return Ok(final_dir);
            }
            let work = fresh_dir("initdb")?;
            let pwfile = work.join("pw");
            write_file_as(&pwfile, SUPERUSER_PASSWORD.as_bytes(), 0o600, None)?;
            let data = work.join("data");
            let out = as_server_user(&mut Command::new(bindir.join("initdb")))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", pwfile.display()))
                .args(["-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
                .output()
                .map_err(io_err("running initdb"))?;
            if !out.status.success() {
                let _ = fs::remove_dir_all(&work);
                return Err(HarnessError::StartFailed {
                    what: "initdb".into(),
                    log: format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                });
            }
            // Publish atomically; another test binary may have won the race, which is fine.
            match fs::rename(&data, &final_dir) {
                Ok(()) => {}
                Err(_) if final_dir.join("PG_VERSION").is_file() => {}
                Err(e) => return Err(HarnessError::Io(format!("{}: {e}", final_dir.display()))),
            }
            let _ = fs::remove_dir_all(&work);
            Ok(final_dir)
        })
        .clone()
}

/// Reads a log file, lossily, or an empty string.
fn read_log(path: &Path) -> String {
    let mut s = Vec::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_end(&mut s);
    }
    String::from_utf8_lossy(&s).into_owned()
}

fn stop_child(child: &mut Child) {
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

fn keep_dirs() -> bool {
    std::env::var_os("PGTEST_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A file to write before the server starts.
#[derive(Debug, Clone)]
struct PendingFile {
    name: PathBuf,
    bytes: Vec<u8>,
    mode: u32,
    owner: Option<(u32, u32)>,
}

/// Configures and starts a [`Pg`].
#[derive(Debug)]
pub struct PgBuilder {
    dir: Result<PathBuf, HarnessError>,
    settings: Vec<(String, String)>,
    hba: Option<String>,
    files: Vec<PendingFile>,
}

impl PgBuilder {
    /// The directory the cluster will live in (files, data dir, socket dir, log), known before
    /// start so that settings can name absolute paths inside it.
    ///
    /// # Panics
    /// When the directory could not be created (the same error is returned by `start`).
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("pgtest: could not create the cluster directory")
    }

    /// Adds a `-c name=value` server setting. Later settings override earlier ones.
    #[must_use]
    pub fn setting(mut self, name: &str, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Replaces the cluster's `pg_hba.conf` (by default: initdb's, `local` trust and
    /// `host` SCRAM from loopback).
    #[must_use]
    pub fn hba(mut self, contents: &str) -> Self {
        self.hba = Some(contents.into());
        self
    }

    /// Turns TLS on with this certificate and key: writes `server.crt` (0644) and `server.key`
    /// (0600, owned by the server user) into [`PgBuilder::dir`] and sets `ssl=on`,
    /// `ssl_cert_file` and `ssl_key_file` to them.
    #[must_use]
    pub fn tls(self, cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        let Ok(dir) = self.dir.clone() else {
            return self; // `start` reports the directory error
        };
        self.file("server.crt", cert_pem, 0o644)
            .file("server.key", key_pem, 0o600)
            .setting("ssl", "on")
            .setting(
                "ssl_cert_file",
                dir.join("server.crt").display().to_string(),
            )
            .setting("ssl_key_file", dir.join("server.key").display().to_string())
    }

    /// Writes a file (relative to [`PgBuilder::dir`]) owned by the server user before start.
    #[must_use]
    pub fn file(self, name: impl AsRef<Path>, bytes: impl AsRef<[u8]>, mode: u32) -> Self {
        self.push_file(name, bytes, mode, None)
    }

    /// Like [`PgBuilder::file`] but with an explicit owner `(uid, gid)`.
    #[must_use]
    pub fn file_owned(
        self,
        name: impl AsRef<Path>,
        bytes: impl AsRef<[u8]>,
        mode: u32,
        owner: (u32, u32),
    ) -> Self {
        self.push_file(name, bytes, mode, Some(owner))
    }

    fn push_file(
        mut self,
        name: impl AsRef<Path>,
        bytes: impl AsRef<[u8]>,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Self {
        self.files.push(PendingFile {
            name: name.as_ref().to_path_buf(),
            bytes: bytes.as_ref().to_vec(),
            mode,
            owner,
        });
        self
    }

    /// Creates the cluster and starts it; waits until it accepts connections.
    ///
    /// Returns [`HarnessError::StartFailed`] with the server log when it exits during start
    /// (for example on a key file it refuses).
    pub fn start(self) -> Result<Pg, HarnessError> {
        let dir = self.dir?;
        let mut guard = DirGuard(Some(dir.clone()));
        let bindir = pg_bindir()?;
        let data = dir.join("data");
        let out = Command::new("cp")
            .arg("-a")
            .arg(template()?)
            .arg(&data)
            .output()
            .map_err(io_err("copying the initdb template"))?;
        if !out.status.success() {
            return Err(HarnessError::Io(format!(
                "cp -a template: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let sock = dir.join("sock");
        fs::create_dir(&sock).map_err(io_err(sock.display()))?;
        give_to_server_user(&sock)?;
        if let Some(hba) = &self.hba {
            write_file_as(&data.join("pg_hba.conf"), hba.as_bytes(), 0o600, None)?;
        }
        for f in &self.files {
            let path = dir.join(&f.name);
            if let Some(parent) = path.parent()
                && !parent.exists()
            {
                fs::create_dir_all(parent).map_err(io_err(parent.display()))?;
                give_to_server_user(parent)?;
            }
            write_file_as(&path, &f.bytes, f.mode, f.owner)?;
        }
        let log_path = dir.join("server.log");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(io_err(log_path.display()))?;
            let log_start = fs::metadata(&log_path).map_or(0, |m| m.len());
            let mut cmd = Command::new(bindir.join("postgres"));
            as_server_user(&mut cmd)
                .arg("-D")
                .arg(&data)
                .arg("-c")
                .arg(format!("port={port}"))
                .args(["-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", sock.display()))
                .args(["-c", "logging_collector=off", "-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "shared_buffers=16MB", "-c", "max_connections=40"]);
            for (k, v) in &self.settings {
                cmd.arg("-c").arg(format!("{k}={v}"));
            }
            let mut child = cmd
                .stdout(log.try_clone().map_err(io_err("log"))?)
                .stderr(log)
                .spawn()
                .map_err(io_err("starting postgres"))?;
            match wait_ready(&mut child, &log_path, log_start, port) {
                Ok(()) => {
                    guard.0 = None;
                    return Ok(Pg {
                        child,
                        port,
                        dir,
                        log_path,
                    });
                }
                Err(log) => {
                    stop_child(&mut child);
                    let retry = log.contains("could not bind") || log.contains("already in use");
                    last_log = log;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(HarnessError::StartFailed {
            what: "postgres".into(),
            log: last_log,
        })
    }
}

/// Removes a directory on drop unless disarmed.
struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = self.0.take()
            && !keep_dirs()
        {
            let _ = fs::remove_dir_all(d);
        }
    }
}

/// Waits for `ready` in the log (from byte `from`) and a TCP accept; `Err(log)` if the child
/// exits or the time runs out.
fn wait_ready(child: &mut Child, log_path: &Path, from: u64, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let log = read_log(log_path);
        let fresh = log
            .get(usize::try_from(from).unwrap_or(0)..)
            .unwrap_or(&log);
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{fresh}\n(server exited: {status})"));
        }
        if fresh.contains("ready to accept connections")
            && TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{fresh}\n(not ready after {START_TIMEOUT:?})"));
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// What a `psql` run returned.
#[derive(Debug, Clone)]
pub struct PsqlOutput {
    /// True when psql exited with status 0.
    pub success: bool,
    /// Standard output, trimmed of the final newline.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A running throwaway PostgreSQL cluster; stopped by PID and removed on drop.
#[derive(Debug)]
pub struct Pg {
    child: Child,
    port: u16,
    dir: PathBuf,
    log_path: PathBuf,
}

impl Pg {
    /// A builder with a fresh directory.
    pub fn builder() -> PgBuilder {
        PgBuilder {
            dir: fresh_dir("pg"),
            settings: Vec::new(),
            hba: None,
            files: Vec::new(),
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The listen address, `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The cluster's directory (caller files live here).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The Unix socket directory.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    /// Runs `psql -XAtq` with `host=127.0.0.1 port=P user=postgres dbname=postgres` followed
    /// by `extra` (later keywords win) and `PGPASSWORD=postgres`, running `sql` with `-c`.
    pub fn psql(&self, extra: &str, sql: &str) -> PsqlOutput {
        self.psql_env(extra, sql, &[])
    }

    /// Like [`Pg::psql`] with extra environment variables (for example a different `PGPASSWORD`).
    pub fn psql_env(&self, extra: &str, sql: &str, env: &[(&str, &str)]) -> PsqlOutput {
        let conninfo = format!(
            "host=127.0.0.1 port={} user={SUPERUSER} dbname=postgres connect_timeout=10 {extra}",
            self.port
        );
        run_psql(&conninfo, sql, env)
    }

    /// Runs `sql` over the Unix socket as the superuser and returns its trimmed output.
    ///
    /// Needs a `local` rule that lets the superuser in (initdb's default `trust` does).
    ///
    /// # Panics
    /// When psql fails; the message has its stderr and the server log's tail.
    pub fn query(&self, sql: &str) -> String {
        match self.try_query(sql) {
            Ok(s) => s,
            Err(e) => panic!(
                "pgtest query {sql:?} failed: {e}\n--- server log ---\n{}",
                tail(&self.log(), 40)
            ),
        }
    }

    /// Like [`Pg::query`] but returns psql's stderr as the error.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let conninfo = format!(
            "host={} port={} user={SUPERUSER} dbname=postgres",
            self.socket_dir().display(),
            self.port
        );
        let out = run_psql(&conninfo, sql, &[]);
        if out.success {
            Ok(out.stdout)
        } else {
            Err(out.stderr)
        }
    }

    /// `SELECT pg_reload_conf()`, then waits until the server logged the reload.
    pub fn reload(&self) {
        let before = self.log().matches("reloading configuration files").count();
        self.query("select pg_reload_conf()");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log().matches("reloading configuration files").count() > before {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The postmaster has re-read; give backends' SIGHUP handling a moment as well.
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Writes a file into [`Pg::dir`] owned by the server user and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write_file(
        &self,
        name: impl AsRef<Path>,
        bytes: impl AsRef<[u8]>,
        mode: u32,
    ) -> PathBuf {
        let path = self.dir.join(name);
        write_file_as(&path, bytes.as_ref(), mode, None).expect("pgtest write_file");
        path
    }

    /// Stops the server now (also done on drop).
    pub fn stop(mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if !keep_dirs() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn psql_bin() -> PathBuf {
    pg_bindir()
        .map(|d| d.join("psql"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// Runs psql with a conninfo string; environment variables starting with `PG` are cleared
/// first so the caller's environment cannot change the connection.
pub fn run_psql(conninfo: &str, sql: &str, env: &[(&str, &str)]) -> PsqlOutput {
    let mut cmd = Command::new(psql_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PGPASSWORD", SUPERUSER_PASSWORD)
        .env("PGCONNECT_TIMEOUT", "10")
        .envs(env.iter().copied())
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
            "-c",
            sql,
        ])
        .stdin(Stdio::null());
    match cmd.output() {
        Ok(out) => PsqlOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Err(e) => PsqlOutput {
            success: false,
            stdout: String::new(),
            stderr: format!("could not run psql: {e}"),
        },
    }
}

/// Configures and starts a [`PgBouncer`] in front of a [`Pg`].
#[derive(Debug)]
pub struct PgBouncerBuilder {
    dir: Result<PathBuf, HarnessError>,
    pg_port: u16,
    settings: Vec<(String, String)>,
    files: Vec<PendingFile>,
    ini_edit: Option<IniEdit>,
}

/// A rewrite of the generated pgbouncer.ini ([`PgBouncerBuilder::edit_ini`]).
struct IniEdit(Box<dyn Fn(&str) -> String>);

impl std::fmt::Debug for IniEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IniEdit(..)")
    }
}

impl PgBouncerBuilder {
    /// Rewrites the generated pgbouncer.ini (settings included) before it is written: for tests
    /// of an ini editor, whose output the real PgBouncer then loads.
    #[must_use]
    pub fn edit_ini(mut self, edit: impl Fn(&str) -> String + 'static) -> Self {
        self.ini_edit = Some(IniEdit(Box::new(edit)));
        self
    }

    /// The instance's directory, known before start.
    ///
    /// # Panics
    /// When the directory could not be created.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("pgtest: could not create the pgbouncer directory")
    }

    /// Adds a `[pgbouncer]` setting (for example `client_tls_sslmode = require`).
    #[must_use]
    pub fn setting(mut self, name: &str, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Writes a file (relative to the instance directory) owned by the server user before start.
    #[must_use]
    pub fn file(mut self, name: impl AsRef<Path>, bytes: impl AsRef<[u8]>, mode: u32) -> Self {
        self.files.push(PendingFile {
            name: name.as_ref().to_path_buf(),
            bytes: bytes.as_ref().to_vec(),
            mode,
            owner: None,
        });
        self
    }

    /// Writes the configuration and starts PgBouncer; waits until it accepts TCP connections.
    pub fn start(self) -> Result<PgBouncer, HarnessError> {
        let dir = self.dir?;
        let mut guard = DirGuard(Some(dir.clone()));
        let bin = pgbouncer_bin()?;
        for f in &self.files {
            write_file_as(&dir.join(&f.name), &f.bytes, f.mode, f.owner)?;
        }
        write_file_as(
            &dir.join("userlist.txt"),
            format!("\"{SUPERUSER}\" \"{SUPERUSER_PASSWORD}\"\n").as_bytes(),
            0o600,
            None,
        )?;
        let log_path = dir.join("pgbouncer.log");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut ini = format!(
                "[databases]\n* = host=127.0.0.1 port={}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir = {}\nauth_type = scram-sha-256\nauth_file = {}\nadmin_users = {SUPERUSER}\n\
                 pidfile = {}\nlogfile = {}\npool_mode = session\n",
                self.pg_port,
                dir.display(),
                dir.join("userlist.txt").display(),
                dir.join("pgbouncer.pid").display(),
                log_path.display(),
            );
            for (k, v) in &self.settings {
                let _ = writeln!(ini, "{k} = {v}");
            }
            if let Some(edit) = &self.ini_edit {
                ini = (edit.0)(&ini);
            }
            let ini_path = dir.join("pgbouncer.ini");
            write_file_as(&ini_path, ini.as_bytes(), 0o600, None)?;
            let _ = fs::remove_file(dir.join("pgbouncer.pid"));
            let stderr_path = dir.join("stderr.log");
            let stderr = fs::File::create(&stderr_path).map_err(io_err(stderr_path.display()))?;
            let mut cmd = Command::new(&bin);
            as_server_user(&mut cmd)
                .arg(&ini_path)
                .stdout(Stdio::null())
                .stderr(stderr);
            let mut child = cmd.spawn().map_err(io_err("starting pgbouncer"))?;
            let deadline = Instant::now() + START_TIMEOUT;
            let outcome = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!(
                        "{}{}\n(pgbouncer exited: {status})",
                        read_log(&log_path),
                        read_log(&stderr_path)
                    ));
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break Ok(());
                }
                if Instant::now() > deadline {
                    break Err(format!(
                        "{}\n(not ready after {START_TIMEOUT:?})",
                        read_log(&log_path)
                    ));
                }
                std::thread::sleep(Duration::from_millis(15));
            };
            match outcome {
                Ok(()) => {
                    guard.0 = None;
                    return Ok(PgBouncer {
                        child,
                        port,
                        dir: dir.clone(),
                        log_path,
                    });
                }
                Err(log) => {
                    stop_child(&mut child);
                    let retry = log.contains("Address already in use");
                    last_log = log;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(HarnessError::StartFailed {
            what: "pgbouncer".into(),
            log: last_log,
        })
    }
}

/// A running PgBouncer; stopped by PID and removed on drop.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    port: u16,
    dir: PathBuf,
    log_path: PathBuf,
}

impl PgBouncer {
    /// A builder for a PgBouncer forwarding every database to `pg` on 127.0.0.1, with SCRAM
    /// authentication of the superuser (`postgres`/`postgres`).
    pub fn builder(pg: &Pg) -> PgBouncerBuilder {
        PgBouncerBuilder {
            dir: fresh_dir("pgbouncer"),
            pg_port: pg.port(),
            settings: Vec::new(),
            files: Vec::new(),
            ini_edit: None,
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The instance directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything PgBouncer has logged so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    /// Runs psql against this PgBouncer (like [`Pg::psql`]).
    pub fn psql(&self, extra: &str, sql: &str) -> PsqlOutput {
        let conninfo = format!(
            "host=127.0.0.1 port={} user={SUPERUSER} dbname=postgres connect_timeout=10 {extra}",
            self.port
        );
        run_psql(&conninfo, sql, &[])
    }

    /// Stops PgBouncer now (also done on drop).
    pub fn stop(mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if !keep_dirs() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

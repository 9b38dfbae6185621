//! Throwaway PostgreSQL clusters: a cached `initdb` template copied per test, started on
//! 127.0.0.1 and a free port, queried with `psql`.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, io_err};
use crate::host::{
    DirGuard, PendingFile, START_TIMEOUT, as_server_user, free_port, fresh_dir,
    give_to_server_user, keep_dirs, read_log, server_user, stop_child, tail, write_file_as,
};

/// The superuser every cluster is created with.
pub const SUPERUSER: &str = "postgres";
/// The superuser's password (SCRAM), for TCP connections through `host`/`hostssl` rules.
pub const SUPERUSER_PASSWORD: &str = "postgres";
pub(crate) const TEMPLATE_TAG: &str = "v1";

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

/// The `initdb` template, made once per PostgreSQL install and user and reused by every copy.
pub(crate) fn template() -> Result<PathBuf, HarnessError> {
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

/// Waits for `ready` in the log (from byte `from`) and a TCP accept; `Err(log)` if the child
/// exits or the time runs out.
pub(crate) fn wait_ready(
    child: &mut Child,
    log_path: &Path,
    from: u64,
    port: u16,
) -> Result<(), String> {
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

pub(crate) fn psql_bin() -> PathBuf {
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

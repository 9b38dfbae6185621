//! Throwaway PgBouncer instances in front of a [`crate::Pg`], on 127.0.0.1 and a free port.

use std::fmt::Write as _;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{HarnessError, io_err};
use crate::host::{
    DirGuard, PendingFile, START_TIMEOUT, as_server_user, free_port, fresh_dir, keep_dirs,
    read_log, stop_child, write_file_as,
};
use crate::postgres::{Pg, PsqlOutput, SUPERUSER, SUPERUSER_PASSWORD, run_psql};

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

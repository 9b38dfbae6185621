//! Files read out of a container through the Docker engine: the db container's effective
//! `pg_hba.conf` (the file the server really loads, which may be the image's own and not any file
//! in the deployment folder).
//!
//! **How a file is read.** `docker cp -L CONTAINER:PATH -`: the engine streams a tar archive of
//! the path, followed through symbolic links (`-L`), to stdout. It needs nothing inside the
//! container (no shell, no `cat`), works on a stopped container too, sees bind mounts and
//! volumes at their container paths, never pulls an image and starts nothing. The archive is
//! read up to [`MAX_FILE_BYTES`] (a bigger file is an error, not a truncation) within
//! [`TIMEOUT`]; the engine's answers become [`ContainerFileError`]s that name the container and
//! the path: no such container, no such file, a directory, the engine not reachable.
//!
//! **Which `pg_hba.conf`** ([`effective_hba_path`]). Without a login, `SHOW hba_file` is not
//! available, so the path is found the way the server finds it at start, from the container's
//! own command (`docker inspect`: `.Path` and `.Args`, i.e. the entrypoint with the command) and
//! configuration:
//! 1. `-c hba_file=...` (or `--hba_file=...`, `--hba-file=...`) among the server's options, the
//!    last one winning as in PostgreSQL;
//! 2. else `hba_file = '...'` in the configuration file (`-c config_file=...`, else
//!    `postgresql.conf` in the `-D` directory, else in `$PGDATA`), read from the container; the
//!    last setting wins. The supabase/postgres images run `postgres -D /etc/postgresql` (their
//!    Dockerfile's CMD) and upstream's compose file `postgres -c config_file=/etc/postgresql/postgresql.conf`;
//!    both configurations say `hba_file = '/etc/postgresql/pg_hba.conf'`;
//! 3. else `pg_hba.conf` in the data directory (`data_directory` in that file, else `-D`, else
//!    `$PGDATA` from the container's environment, else `/var/lib/postgresql/data`, the official
//!    image's default).
//!
//! Limits: `include`, `include_if_exists` and `include_dir` lines in the configuration file are
//! not followed (none of the images pgtls knows sets `hba_file` in an included file), and
//! `ALTER SYSTEM` settings (`postgresql.auto.conf`) are not read: a `hba_file` set there is not
//! seen.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The largest file read (`pg_hba.conf` and `postgresql.conf` are a few KiB).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// How long one engine call may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a file could not be read from a container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerFileError {
    /// The engine cannot be asked (no `docker` binary, daemon down, no permission).
    #[error(
        "the Docker engine is not reachable ({detail}); start it, or give pgtls the files instead"
    )]
    EngineUnavailable {
        /// The engine's or the system's words.
        detail: String,
    },
    /// No container by that name or id.
    #[error("no container {container:?} (docker ps -a lists the containers)")]
    NoSuchContainer {
        /// The name or id given.
        container: String,
    },
    /// The path does not exist in the container.
    #[error("{path} does not exist in container {container:?}")]
    FileMissing {
        /// The container.
        container: String,
        /// The path inside it.
        path: String,
    },
    /// The path is not a regular file.
    #[error("{path} in container {container:?} is not a regular file ({kind})")]
    NotAFile {
        /// The container.
        container: String,
        /// The path inside it.
        path: String,
        /// What it is.
        kind: String,
    },
    /// The file is bigger than the limit.
    #[error("{path} in container {container:?} is larger than {limit} bytes; not read")]
    TooLarge {
        /// The container.
        container: String,
        /// The path inside it.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("{path} in container {container:?} is not UTF-8 text")]
    NotText {
        /// The container.
        container: String,
        /// The path inside it.
        path: String,
    },
    /// The engine gave no answer in time.
    #[error("`docker {command}` gave no answer within {} s", .seconds)]
    Timeout {
        /// The arguments.
        command: String,
        /// The deadline.
        seconds: u64,
    },
    /// Any other answer of the engine, or an archive this reader does not understand.
    #[error("reading {path} from container {container:?}: {detail}")]
    Engine {
        /// The container.
        container: String,
        /// The path inside it.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

/// Reads files out of containers with the `docker` CLI (`PGTLS_DOCKER` may name another
/// binary, as for [`crate::docker::DockerCli`]).
#[derive(Debug, Clone)]
pub struct ContainerFiles {
    bin: String,
    max_bytes: usize,
    timeout: Duration,
}

impl Default for ContainerFiles {
    fn default() -> Self {
        Self::from_env()
    }
}

/// Where the effective `pg_hba.conf` path came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum HbaSource {
    /// `-c hba_file=...` in the container's command.
    Command,
    /// `hba_file` in this configuration file (inside the container), at this 1-based line.
    ConfigFile {
        /// The configuration file's path in the container.
        path: String,
        /// The line of the setting.
        line: usize,
    },
    /// The default: `pg_hba.conf` in the data directory, found as described.
    DataDirectory {
        /// `data_directory in <file>`, `-D`, `PGDATA` or `default`.
        how: String,
    },
}

/// The effective `pg_hba.conf` of a container and its text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerHba {
    /// The container as given.
    pub container: String,
    /// The path inside the container.
    pub path: String,
    /// How the path was decided.
    pub source: HbaSource,
    /// The file's text.
    pub text: String,
}

/// The server options that decide where its files are, from the container's command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// `-c hba_file=`.
    pub hba_file: Option<String>,
    /// `-c config_file=`.
    pub config_file: Option<String>,
    /// `-c data_directory=`.
    pub data_directory: Option<String>,
    /// `-D`.
    pub dash_d: Option<String>,
}

/// The PostgreSQL server's options in a container's process: the words after `postgres` (or
/// every word when the first one after the entrypoint is an option, which docker-entrypoint.sh
/// hands to `postgres`). `-c name=value`, `-cname=value`, `--name=value` (dashes in the name
/// read as `_`, as PostgreSQL does), `-D dir` and `-Ddir`; the last one wins.
pub fn server_options(path: &str, args: &[String]) -> ServerOptions {
    let words: Vec<&str> = std::iter::once(path)
        .chain(args.iter().map(String::as_str))
        .collect();
    let is_postgres = |w: &str| w == "postgres" || w.ends_with("/postgres");
    let start = match words.iter().position(|w| is_postgres(w)) {
        Some(i) => i + 1,
        None if words.get(1).is_some_and(|w| w.starts_with('-')) => 1,
        None => words.len(),
    };
    let mut opts = ServerOptions::default();
    let mut set = |name: &str, value: &str| {
        let name = name.to_ascii_lowercase().replace('-', "_");
        let slot = match name.as_str() {
            "hba_file" => &mut opts.hba_file,
            "config_file" => &mut opts.config_file,
            "data_directory" => &mut opts.data_directory,
            _ => return,
        };
        *slot = Some(value.to_owned());
    };
    let mut dash_d = None;
    let mut i = start;
    while i < words.len() {
        let w = words[i];
        let (flag_value, next) = if let Some(rest) = w.strip_prefix("--") {
            (rest.split_once('=').map(|(n, v)| (n.to_owned(), v)), i + 1)
        } else if w == "-c" {
            let v = words.get(i + 1).copied().unwrap_or_default();
            (v.split_once('=').map(|(n, v)| (n.to_owned(), v)), i + 2)
        } else if let Some(rest) = w.strip_prefix("-c") {
            (rest.split_once('=').map(|(n, v)| (n.to_owned(), v)), i + 1)
        } else if w == "-D" {
            dash_d = words.get(i + 1).map(|s| (*s).to_owned());
            (None, i + 2)
        } else if let Some(rest) = w.strip_prefix("-D") {
            dash_d = Some(rest.to_owned());
            (None, i + 1)
        } else {
            (None, i + 1)
        };
        if let Some((name, value)) = flag_value {
            set(&name, value);
        }
        i = next;
    }
    opts.dash_d = dash_d;
    opts
}

/// The last `name = value` in a `postgresql.conf` text (`=` optional, value quoted or bare,
/// `#` comments): the value and its 1-based line.
pub fn conf_setting(text: &str, name: &str) -> Option<(String, usize)> {
    let mut found = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        let key_len = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(line.len());
        if key_len == 0 || !line[..key_len].eq_ignore_ascii_case(name) {
            continue;
        }
        let rest = line[key_len..].trim_start();
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
        let value = if let Some(q) = rest.strip_prefix('\'') {
            // '' is a quote inside a quoted value
            let mut v = String::new();
            let mut chars = q.chars().peekable();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        v.push('\'');
                        continue;
                    }
                    closed = true;
                    break;
                }
                v.push(c);
            }
            if !closed {
                continue;
            }
            v
        } else {
            rest.split(|c: char| c.is_whitespace() || c == '#')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        found = Some((value, n + 1));
    }
    found
}

fn join(dir: &str, file: &str) -> String {
    if file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

impl ContainerFiles {
    /// The `docker` CLI (or `PGTLS_DOCKER`), [`MAX_FILE_BYTES`], [`TIMEOUT`].
    pub fn from_env() -> Self {
        Self {
            bin: std::env::var("PGTLS_DOCKER").unwrap_or_else(|_| "docker".into()),
            max_bytes: MAX_FILE_BYTES,
            timeout: TIMEOUT,
        }
    }

    /// Another `docker` binary.
    #[must_use]
    pub fn with_bin(mut self, bin: &str) -> Self {
        bin.clone_into(&mut self.bin);
        self
    }

    /// Another size limit (bytes of the file itself).
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Runs `docker args...`: stdout (at most `cap` bytes; `None` beyond) on exit 0, else the
    /// classified error.
    fn run(
        &self,
        args: &[&str],
        cap: usize,
        container: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, ContainerFileError> {
        let mut child = Command::new(&self.bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ContainerFileError::EngineUnavailable {
                detail: format!("cannot run {}: {e}", self.bin),
            })?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
            let read = (&mut stdout).take(limit).read_to_end(&mut buf);
            // Drain the rest so the engine is not blocked on a full pipe.
            let over = buf.len() > cap;
            if over {
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            }
            read.map(|_| (buf, over))
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.timeout => {
                    // our own child, by its handle
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ContainerFileError::Timeout {
                        command: args.join(" "),
                        seconds: self.timeout.as_secs(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    return Err(ContainerFileError::EngineUnavailable {
                        detail: format!("waiting for {}: {e}", self.bin),
                    });
                }
            }
        };
        let (out, over) = out_reader
            .join()
            .map_err(|_| ContainerFileError::EngineUnavailable {
                detail: "the reader thread panicked".into(),
            })?
            .map_err(|e| ContainerFileError::Engine {
                container: container.into(),
                path: path.into(),
                detail: format!("reading the engine's output: {e}"),
            })?;
        let err = err_reader.join().unwrap_or_default();
        if status.success() {
            return Ok((!over).then_some(out));
        }
        Err(classify(err.trim(), container, path))
    }

    /// The text of the regular file `path` in `container` (a name or id), following symbolic
    /// links, at most the size limit.
    pub fn read(&self, container: &str, path: &str) -> Result<String, ContainerFileError> {
        if !path.starts_with('/') {
            return Err(ContainerFileError::Engine {
                container: container.into(),
                path: path.into(),
                detail: "the path must be absolute".into(),
            });
        }
        let src = format!("{container}:{path}");
        // The archive: headers (a PAX header may come first) and 512-byte padding.
        let cap = self.max_bytes.saturating_add(16 * 1024);
        let too_large = || ContainerFileError::TooLarge {
            container: container.into(),
            path: path.into(),
            limit: self.max_bytes,
        };
        let tar = self
            .run(&["cp", "-L", &src, "-"], cap, container, path)?
            .ok_or_else(too_large)?;
        let bytes = first_file(&tar).map_err(|e| match e {
            TarEntry::NotFile(kind) => ContainerFileError::NotAFile {
                container: container.into(),
                path: path.into(),
                kind,
            },
            TarEntry::Bad(detail) => ContainerFileError::Engine {
                container: container.into(),
                path: path.into(),
                detail,
            },
        })?;
        if bytes.len() > self.max_bytes {
            return Err(too_large());
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| ContainerFileError::NotText {
            container: container.into(),
            path: path.into(),
        })
    }

    /// The container's process (`.Path`, `.Args`) and environment (`.Config.Env`).
    fn process(
        &self,
        container: &str,
    ) -> Result<(String, Vec<String>, Vec<String>), ContainerFileError> {
        let out = self
            .run(
                &["inspect", "--type", "container", container],
                4 << 20,
                container,
                "",
            )?
            .ok_or_else(|| ContainerFileError::Engine {
                container: container.into(),
                path: String::new(),
                detail: "`docker inspect` answered more than 4 MiB".into(),
            })?;
        let bad = |detail: String| ContainerFileError::Engine {
            container: container.into(),
            path: String::new(),
            detail,
        };
        let v: serde_json::Value = serde_json::from_slice(&out)
            .map_err(|e| bad(format!("`docker inspect` output is not JSON: {e}")))?;
        let c = v
            .get(0)
            .ok_or_else(|| bad("`docker inspect` listed no container".into()))?;
        let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let path = c
            .get("Path")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((
            path,
            strings(c.get("Args")),
            strings(c.pointer("/Config/Env")),
        ))
    }

    /// The `pg_hba.conf` the PostgreSQL server in `container` loads (see the module
    /// documentation for how the path is decided) and its text.
    pub fn effective_hba(&self, container: &str) -> Result<ContainerHba, ContainerFileError> {
        let (path, args, env) = self.process(container)?;
        let opts = server_options(&path, &args);
        let pgdata = env
            .iter()
            .find_map(|e| e.strip_prefix("PGDATA="))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let read_conf = |p: &str| match self.read(container, p) {
            Ok(t) => Ok(Some(t)),
            Err(ContainerFileError::FileMissing { .. }) => Ok(None),
            Err(e) => Err(e),
        };
        let (hba, source) = effective_hba_path(&opts, pgdata.as_deref(), read_conf)?;
        let text = self.read(container, &hba)?;
        Ok(ContainerHba {
            container: container.into(),
            path: hba,
            source,
            text,
        })
    }
}

/// Decide the `pg_hba.conf` path from the server's options, `$PGDATA` and a reader of files in
/// the container (`Ok(None)` for a missing file).
pub fn effective_hba_path<E>(
    opts: &ServerOptions,
    pgdata: Option<&str>,
    read: impl Fn(&str) -> Result<Option<String>, E>,
) -> Result<(String, HbaSource), E> {
    let data_dir_default = || -> (String, String) {
        if let Some(d) = &opts.data_directory {
            (d.clone(), "-c data_directory".into())
        } else if let Some(d) = &opts.dash_d {
            (d.clone(), "-D".into())
        } else if let Some(d) = pgdata {
            (d.to_owned(), "PGDATA".into())
        } else {
            ("/var/lib/postgresql/data".into(), "default".into())
        }
    };
    let (dir, how) = data_dir_default();
    if let Some(h) = &opts.hba_file {
        return Ok((join(&dir, h), HbaSource::Command));
    }
    let conf = opts
        .config_file
        .clone()
        .unwrap_or_else(|| join(opts.dash_d.as_deref().unwrap_or(&dir), "postgresql.conf"));
    let conf = join(&dir, &conf);
    let text = read(&conf)?;
    if let Some(text) = &text {
        if let Some((h, line)) = conf_setting(text, "hba_file") {
            let data = conf_setting(text, "data_directory").map_or(dir.clone(), |d| d.0);
            return Ok((join(&data, &h), HbaSource::ConfigFile { path: conf, line }));
        }
        if opts.data_directory.is_none()
            && let Some((d, _)) = conf_setting(text, "data_directory")
        {
            return Ok((
                join(&d, "pg_hba.conf"),
                HbaSource::DataDirectory {
                    how: format!("data_directory in {conf}"),
                },
            ));
        }
    }
    Ok((join(&dir, "pg_hba.conf"), HbaSource::DataDirectory { how }))
}

fn classify(stderr: &str, container: &str, path: &str) -> ContainerFileError {
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("no such container") || lower.contains("no such object") {
        ContainerFileError::NoSuchContainer {
            container: container.into(),
        }
    } else if lower.contains("could not find the file") || lower.contains("no such file") {
        ContainerFileError::FileMissing {
            container: container.into(),
            path: path.into(),
        }
    } else if lower.contains("cannot connect to the docker daemon")
        || lower.contains("permission denied while trying to connect")
        || lower.contains("is the docker daemon running")
    {
        ContainerFileError::EngineUnavailable {
            detail: stderr.into(),
        }
    } else {
        ContainerFileError::Engine {
            container: container.into(),
            path: path.into(),
            detail: if stderr.is_empty() {
                "the engine failed without a message".into()
            } else {
                stderr.into()
            },
        }
    }
}

enum TarEntry {
    NotFile(String),
    Bad(String),
}

fn octal(field: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    usize::from_str_radix(s, 8).ok()
}

/// The content of the first regular-file entry of a tar archive (PAX `x`/`g` and GNU long-name
/// `L`/`K` entries skipped); anything else first is [`TarEntry::NotFile`].
fn first_file(tar: &[u8]) -> Result<&[u8], TarEntry> {
    let mut at = 0;
    loop {
        let header = tar
            .get(at..at + 512)
            .ok_or_else(|| TarEntry::Bad("the engine's archive ended before a file".into()))?;
        if header.iter().all(|&b| b == 0) {
            return Err(TarEntry::Bad("the engine's archive holds no file".into()));
        }
        if &header[257..262] != b"ustar" {
            return Err(TarEntry::Bad(
                "the engine's answer is not a tar archive".into(),
            ));
        }
        let size = octal(&header[124..136])
            .ok_or_else(|| TarEntry::Bad("a tar header has an unreadable size".into()))?;
        let body = at + 512;
        let padded = size.div_ceil(512) * 512;
        match header[156] {
            b'0' | 0 => {
                return tar
                    .get(body..body + size)
                    .ok_or_else(|| TarEntry::Bad("the engine's archive is cut short".into()));
            }
            b'x' | b'g' | b'L' | b'K' => at = body + padded,
            b'5' => return Err(TarEntry::NotFile("a directory".into())),
            b'2' => return Err(TarEntry::NotFile("a symbolic link".into())),
            b'1' => return Err(TarEntry::NotFile("a hard link".into())),
            other => {
                return Err(TarEntry::NotFile(format!(
                    "tar entry type {:?}",
                    char::from(other)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests;

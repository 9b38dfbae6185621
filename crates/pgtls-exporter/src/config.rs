//! Settings: modules (how to probe), the allowlist, the bounds; from flags and a YAML file.
//!
//! The file (`--config FILE`), in the spirit of `blackbox_exporter`'s `blackbox.yml`:
//!
//! ```yaml
//! allow_targets: [10.0.0.0/8, db.example.com, "*.pg.example.com"]
//! max_concurrent_probes: 64
//! timeout_offset: 500ms
//! modules:
//!   default:
//!     ca_file: /etc/pgtls/ca.crt
//!     timeout: 10s
//!   pooler:
//!     ca_file: /etc/pgtls/ca.crt
//!     server_name: db.example.com
//!     user: postgres
//!     tenant: my-tenant
//!     deep: false
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pgtls_probe::ProbeOptions;
use serde::Deserialize;

use crate::allow::Allowlist;
use crate::error::{Error, Result};

/// The default listen address: port 9761 on every interface (see the README: not one of the
/// ports the Prometheus wiki's "default port allocations" page lists for a known exporter).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9761";
/// The default per-probe time limit when a module names none (Prometheus's default scrape
/// timeout is 10 s; the scrape's own header lowers it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of Prometheus's scrape timeout a probe leaves unused (`blackbox_exporter`'s default).
pub const DEFAULT_TIMEOUT_OFFSET: Duration = Duration::from_millis(500);
/// Probes running at once, by default; more wait briefly, then get 503.
pub const DEFAULT_MAX_CONCURRENT: usize = 64;
/// The largest accepted `max_concurrent_probes`.
pub const MAX_CONCURRENT: usize = 4096;

/// How one module probes: what a `/probe?module=NAME` request runs. Unset fields take
/// pgtls verify's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSpec {
    /// CA certificate (PEM) to verify the chain and host name against (verify-full).
    pub ca_file: Option<PathBuf>,
    /// The name clients use, when it is not the target's host.
    pub server_name: Option<String>,
    /// Role for the plaintext probe (default `postgres`).
    pub user: Option<String>,
    /// Database for the plaintext probe (default `postgres`).
    pub database: Option<String>,
    /// Supavisor tenant (`user.tenant`).
    pub tenant: Option<String>,
    /// Run the deep checks too (about 27 connections per probe).
    pub deep: bool,
    /// Per-probe time limit (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// `expiry` fails below this many days left (default 14).
    pub expiry_warn_days: Option<u32>,
    /// Environment variable holding a password for the authenticated check.
    pub password_env: Option<String>,
}

impl ModuleSpec {
    /// True when no field differs from the default.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A module ready to probe with.
#[derive(Debug, Clone)]
pub struct Module {
    /// The module's name (`default` for the flags' module).
    pub name: String,
    /// The probe options it builds.
    pub options: ProbeOptions,
    /// Its time limit (the scrape's header may lower it).
    pub timeout: Duration,
    /// The spec it was built from.
    pub spec: ModuleSpec,
}

impl Module {
    /// Builds the probe options (reads the CA file now, so a bad file fails at start).
    pub fn build(name: &str, spec: &ModuleSpec) -> std::result::Result<Self, String> {
        let mut o = ProbeOptions::default()
            .with_retry(false)
            .with_deep(spec.deep);
        if let Some(ca) = &spec.ca_file {
            o = o.with_ca_file(ca).map_err(|e| e.to_string())?;
        }
        if let Some(u) = &spec.user {
            o = o.with_user(u.clone());
        }
        if let Some(d) = &spec.database {
            o = o.with_database(d.clone());
        }
        o = o
            .with_tenant(spec.tenant.clone())
            .with_server_name(spec.server_name.clone());
        if let Some(days) = spec.expiry_warn_days {
            o = o.with_expiry_warn_days(days);
        }
        if let Some(var) = &spec.password_env {
            let pw = std::env::var(var).map_err(|_| {
                format!("password_env: environment variable {var} is not set (or not UTF-8)")
            })?;
            o = o.with_password(Some(pw));
        }
        let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(300) {
            return Err(format!("timeout {timeout:?} is outside 100ms..=300s"));
        }
        Ok(Self {
            name: name.to_string(),
            options: o.with_timeout(timeout),
            timeout,
            spec: spec.clone(),
        })
    }
}

/// What the command line gives (the CLI maps its flags onto this).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--listen`; default [`DEFAULT_LISTEN`].
    pub listen: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--allow-target`, repeatable.
    pub allow_targets: Vec<String>,
    /// The default module's fields (`--ca`, `--server-name`, ...).
    pub default_module: ModuleSpec,
    /// `--max-concurrent`.
    pub max_concurrent: Option<usize>,
    /// `--timeout-offset`.
    pub timeout_offset: Option<Duration>,
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Which targets may be probed.
    pub allow: Allowlist,
    /// Modules by name; `default` always exists.
    pub modules: BTreeMap<String, Module>,
    /// Probes at once.
    pub max_concurrent: usize,
    /// Open HTTP connections at once (more are closed on accept).
    pub max_connections: usize,
    /// Subtracted from `X-Prometheus-Scrape-Timeout-Seconds`.
    pub timeout_offset: Duration,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Seconds(f64),
    Text(String),
}

/// Parses `10s`, `500ms`, `1m`, `1.5s` or a plain number of seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration (write 10s, 500ms or 1m)"))?;
    secs(v * scale).ok_or_else(|| format!("\"{s}\" is not a positive duration"))
}

fn secs(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0 && v < 86_400.0).then(|| Duration::from_secs_f64(v))
}

impl RawDuration {
    fn get(&self) -> std::result::Result<Duration, String> {
        match self {
            Self::Seconds(v) => secs(*v).ok_or_else(|| format!("{v} is not a positive duration")),
            Self::Text(s) => parse_duration(s),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    allow_targets: Vec<String>,
    #[serde(default)]
    modules: BTreeMap<String, RawModule>,
    max_concurrent_probes: Option<usize>,
    timeout_offset: Option<RawDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    ca_file: Option<PathBuf>,
    server_name: Option<String>,
    user: Option<String>,
    database: Option<String>,
    tenant: Option<String>,
    #[serde(default)]
    deep: bool,
    timeout: Option<RawDuration>,
    expiry_warn_days: Option<u32>,
    password_env: Option<String>,
}

/// The 1-based line of the first line whose text (trimmed) starts with `key:`, after `after`.
fn line_of(text: &str, key: &str, after: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(after.saturating_sub(1))
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
                || t.strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(1, |(i, _)| i + 1)
}

/// The configuration file, parsed and checked, before flags are merged in.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// `allow_targets`.
    pub allow: Allowlist,
    /// `modules`.
    pub modules: BTreeMap<String, Module>,
    /// `max_concurrent_probes`.
    pub max_concurrent: Option<usize>,
    /// `timeout_offset`.
    pub timeout_offset: Option<Duration>,
}

impl FileConfig {
    /// Parses the YAML `text` of `file` (the name is used in errors, which carry a line).
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let at = |line: usize, column: usize, message: String| Error::Config {
            file: file.to_string(),
            line,
            column,
            message,
        };
        let raw: RawConfig = if text.trim().is_empty() {
            return Err(at(1, 1, "the file is empty".into()));
        } else {
            yaml_serde::from_str(text).map_err(|e| {
                let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                let msg = e.to_string();
                // The position is in the prefix already; drop yaml's own " at line N column M".
                let msg = msg
                    .rfind(" at line ")
                    .map_or(msg.as_str(), |i| &msg[..i])
                    .to_string();
                at(line, column, msg)
            })?
        };
        let mut allow = Allowlist::default();
        for entry in &raw.allow_targets {
            let one = Allowlist::parse([entry]).map_err(|e| {
                let line = text
                    .lines()
                    .position(|l| l.contains(entry.as_str()))
                    .map_or(line_of(text, "allow_targets", 1), |i| i + 1);
                at(line, 1, e.to_string())
            })?;
            allow.extend(one);
        }
        let mut modules = BTreeMap::new();
        let modules_line = line_of(text, "modules", 1);
        for (name, m) in &raw.modules {
            let line = line_of(text, name, modules_line);
            let wrong = |msg: String| at(line, 1, format!("module \"{name}\": {msg}"));
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(wrong("names are letters, digits, '_' and '-'".into()));
            }
            let spec = ModuleSpec {
                ca_file: m.ca_file.clone(),
                server_name: m.server_name.clone(),
                user: m.user.clone(),
                database: m.database.clone(),
                tenant: m.tenant.clone(),
                deep: m.deep,
                timeout: m
                    .timeout
                    .as_ref()
                    .map(RawDuration::get)
                    .transpose()
                    .map_err(|e| wrong(format!("timeout: {e}")))?,
                expiry_warn_days: m.expiry_warn_days,
                password_env: m.password_env.clone(),
            };
            modules.insert(name.clone(), Module::build(name, &spec).map_err(wrong)?);
        }
        let max_concurrent = match raw.max_concurrent_probes {
            Some(n) if n == 0 || n > MAX_CONCURRENT => {
                return Err(at(
                    line_of(text, "max_concurrent_probes", 1),
                    1,
                    format!("max_concurrent_probes must be in 1..={MAX_CONCURRENT}"),
                ));
            }
            n => n,
        };
        let timeout_offset = raw
            .timeout_offset
            .as_ref()
            .map(RawDuration::get)
            .transpose()
            .map_err(|e| {
                at(
                    line_of(text, "timeout_offset", 1),
                    1,
                    format!("timeout_offset: {e}"),
                )
            })?;
        Ok(Self {
            allow,
            modules,
            max_concurrent,
            timeout_offset,
        })
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigFile {
            file: file.clone(),
            message: format!("cannot read: {}", e.to_string().to_lowercase()),
        })?;
        Self::parse(&text, &file)
    }
}

impl Settings {
    /// Merges the flags and the file: the allowlists add up; the `default` module comes from
    /// the flags unless the file defines one (then giving module flags too is an error).
    /// No allowlist at all is an error: every probe would be refused.
    pub fn from_flags(flags: &Flags) -> Result<Self> {
        let file = match &flags.config {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        let listen_s = flags.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_s.parse().map_err(|_| Error::Listen {
            addr: listen_s.to_string(),
            reason: "not an address of the form IP:PORT (e.g. 127.0.0.1:9761 or [::]:9761)".into(),
        })?;
        let mut allow = Allowlist::parse(&flags.allow_targets)?;
        allow.extend(file.allow);
        if allow.is_empty() {
            return Err(Error::Settings(
                "no target is allowed: give --allow-target CIDR|HOST (repeatable) or allow_targets in the config; without an allowlist every probe would be refused".into(),
            ));
        }
        let mut modules = file.modules;
        if modules.contains_key("default") {
            if !flags.default_module.is_default() {
                return Err(Error::Settings(format!(
                    "{}: defines module \"default\" and module flags (--ca, --server-name, ...) were given too; use one or the other",
                    flags
                        .config
                        .as_deref()
                        .map(Path::display)
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                )));
            }
        } else {
            let m = Module::build("default", &flags.default_module)
                .map_err(|e| Error::Settings(format!("default module: {e}")))?;
            modules.insert("default".into(), m);
        }
        let max_concurrent = flags
            .max_concurrent
            .or(file.max_concurrent)
            .unwrap_or(DEFAULT_MAX_CONCURRENT);
        if max_concurrent == 0 || max_concurrent > MAX_CONCURRENT {
            return Err(Error::Settings(format!(
                "--max-concurrent must be in 1..={MAX_CONCURRENT}"
            )));
        }
        Ok(Self {
            listen,
            allow,
            modules,
            max_concurrent,
            max_connections: max_concurrent * 2 + 16,
            timeout_offset: flags
                .timeout_offset
                .or(file.timeout_offset)
                .unwrap_or(DEFAULT_TIMEOUT_OFFSET),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["", "x", "-1s", "0", "NaNs", "1e99"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_file() {
        let text = "# pgtls exporter\nallow_targets:\n  - 10.0.0.0/8\n  - db.example.com\nmax_concurrent_probes: 8\ntimeout_offset: 250ms\nmodules:\n  default:\n    timeout: 5s\n  pooler:\n    user: app\n    tenant: t1\n    deep: true\n    timeout: 3\n";
        let c = FileConfig::parse(text, "x.yml").unwrap();
        assert_eq!(c.max_concurrent, Some(8));
        assert_eq!(c.timeout_offset, Some(Duration::from_millis(250)));
        assert_eq!(c.modules["default"].timeout, Duration::from_secs(5));
        let p = &c.modules["pooler"];
        assert_eq!(p.options.effective_user(), "app.t1");
        assert!(p.options.deep());
        assert_eq!(p.timeout, Duration::from_secs(3));
        assert!(c.allow.allows_name("db.example.com"));
    }

    #[test]
    fn mistakes_name_file_and_line() {
        let cases: [(&str, usize, &str); 6] = [
            (
                "modules:\n  a:\n    colour: red\n",
                3,
                "unknown field `colour`",
            ),
            (
                "allow_targets:\n  - 10.0.0.0/8\n  - 10.0.0.0/99\n",
                3,
                "invalid allow-target \"10.0.0.0/99\"",
            ),
            (
                "modules:\n  a:\n    user: x\n  b:\n    timeout: 0s\n",
                4,
                "module \"b\": timeout",
            ),
            (
                "modules:\n  fine:\n    ca_file: /nonexistent/ca.crt\n",
                2,
                "module \"fine\"",
            ),
            (
                "max_concurrent_probes: 0\n",
                1,
                "max_concurrent_probes must be",
            ),
            ("modules: [\n", 1, "expected a map"),
        ];
        for (text, line, msg) in cases {
            let e = FileConfig::parse(text, "cfg.yml").unwrap_err();
            let s = e.to_string();
            assert!(s.starts_with(&format!("cfg.yml:{line}:")), "{text:?}: {s}");
            assert!(s.contains(msg), "{text:?}: {s}");
        }
        assert!(
            FileConfig::parse("", "e.yml")
                .unwrap_err()
                .to_string()
                .starts_with("e.yml:1:1: the file is empty")
        );
    }

    #[test]
    fn flags_and_file_merge() {
        let no_allow = Settings::from_flags(&Flags::default()).unwrap_err();
        assert!(no_allow.to_string().starts_with("no target is allowed"));
        let s = Settings::from_flags(&Flags {
            allow_targets: vec!["127.0.0.1".into()],
            listen: Some("127.0.0.1:0".into()),
            default_module: ModuleSpec {
                user: Some("monitor".into()),
                ..ModuleSpec::default()
            },
            ..Flags::default()
        })
        .unwrap();
        assert_eq!(s.modules["default"].options.user(), "monitor");
        assert_eq!(s.max_concurrent, DEFAULT_MAX_CONCURRENT);
        assert_eq!(s.timeout_offset, DEFAULT_TIMEOUT_OFFSET);
        let bad_listen = Settings::from_flags(&Flags {
            allow_targets: vec!["127.0.0.1".into()],
            listen: Some("localhost".into()),
            ..Flags::default()
        })
        .unwrap_err();
        assert!(
            bad_listen
                .to_string()
                .starts_with("cannot listen on localhost")
        );
    }
}

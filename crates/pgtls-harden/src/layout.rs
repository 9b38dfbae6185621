//! Layout detection (FACTS section 2) and a typed, read-only view of the compose services.
//!
//! Two layouts are recognised: the upstream `supabase/docker` folder (services `db` /
//! `supabase-db` and `supavisor` / `supabase-pooler`, pooler.exs as a file) and a Coolify service
//! folder (services `supabase-db` and `supabase-supavisor`, pooler.exs inline in a `content: |`
//! block of a long-syntax bind). The typed view comes from compose-patch's reader
//! ([`compose_patch::ServiceView`]); edits go through compose-patch too, which keeps every other
//! byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Context as _, Error, Result};
use crate::source::Source;

/// Deployment layouts the recipe understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// The upstream `supabase/docker` folder (docker-compose.yml + volumes/).
    Upstream,
    /// A Coolify service folder (`supabase-db`, `supabase-supavisor`, inline pooler.exs).
    Coolify,
}

impl LayoutKind {
    /// `upstream` or `coolify` (as in JSON and on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Coolify => "coolify",
        }
    }

    /// A human description: "upstream supabase/docker layout", "Coolify layout".
    pub fn description(self) -> &'static str {
        match self {
            Self::Upstream => "upstream supabase/docker layout",
            Self::Coolify => "Coolify layout",
        }
    }
}

/// Compose file names looked for, in Compose v2's order (compose-go `DefaultFileNames`).
pub const COMPOSE_NAMES: [&str; 4] = compose_patch::project::DEFAULT_FILES;

/// The largest compose file read (1 MiB). The edits re-read the whole file for every change
/// they verify, so the work grows faster than the size: 1 MB takes about 9 s on a 2-core
/// machine, 4 MB about a minute; a Supabase compose file is 10 to 40 kB.
pub const MAX_COMPOSE_BYTES: usize = 1 << 20;

/// Container path of PGDATA in the supabase/postgres image.
pub const PGDATA_TARGET: &str = "/var/lib/postgresql/data";
/// Container path where Supavisor reads pooler.exs.
pub const POOLER_EXS_TARGET: &str = "/etc/pooler/pooler.exs";

/// The compose service keys of the PgBouncer variant.
pub const PGBOUNCER_SERVICES: [&str; 2] = ["pgbouncer", "supabase-pgbouncer"];

/// Which pooler serves the pooled ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PoolerKind {
    /// Supavisor (the default self-hosted pooler).
    Supavisor,
    /// PgBouncer (upstream's `docker-compose.pgbouncer.yml`, the edoburu image).
    PgBouncer,
}

impl PoolerKind {
    /// `supavisor` or `pgbouncer`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Supavisor => "supavisor",
            Self::PgBouncer => "pgbouncer",
        }
    }
}

/// Whether `svc` is a PgBouncer pooler: service `pgbouncer`, container `supabase-pgbouncer`, or
/// an `edoburu/pgbouncer` image.
pub fn is_pgbouncer(svc: &Service) -> bool {
    PGBOUNCER_SERVICES.contains(&svc.key.as_str())
        || svc.container_name.as_deref() == Some("supabase-pgbouncer")
        || svc
            .image
            .as_deref()
            .is_some_and(|i| i.contains("edoburu/pgbouncer"))
}

/// The PgBouncer service among `services`, if any.
pub fn find_pgbouncer(services: &[Service]) -> Option<&Service> {
    services.iter().find(|s| is_pgbouncer(s))
}

/// A volume entry of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    /// Host path or volume name.
    pub source: String,
    /// Container path.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// A bind of a host path (not a named volume).
    pub bind: bool,
    /// Coolify's inline file content (`content: |`).
    pub content: Option<String>,
}

/// The typed view of one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    /// The key under `services:`.
    pub key: String,
    /// `container_name`, when set.
    pub container_name: Option<String>,
    /// `image`.
    pub image: Option<String>,
    /// Command as a list of arguments (a string command is split with shell-words semantics).
    pub command: Vec<String>,
    /// Volumes.
    pub volumes: Vec<Mount>,
    /// Environment (map or list form), interpolated as Compose passes it to the container.
    pub environment: BTreeMap<String, String>,
    /// The same variables as written in the compose file (a `${VAR}` reference kept), for
    /// messages that must name a variable instead of printing its value.
    pub env_as_written: BTreeMap<String, String>,
    /// Port specs in the short syntax (long syntax rendered short).
    pub ports: Vec<String>,
    /// Networks the service joins.
    pub networks: Vec<String>,
}

impl Service {
    /// `-c name=value` settings in the command, last one wins.
    pub fn pg_settings(&self) -> BTreeMap<String, String> {
        let mut settings = BTreeMap::new();
        let mut args = self.command.iter();
        while let Some(arg) = args.next() {
            let setting = if arg == "-c" {
                args.next().map(String::as_str)
            } else if let Some(rest) = arg.strip_prefix("-c") {
                Some(rest)
            } else {
                arg.strip_prefix("--").filter(|r| r.contains('='))
            };
            if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
                settings.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        settings
    }

    /// The mount whose container path is `target`.
    pub fn mount_for(&self, target: &str) -> Option<&Mount> {
        self.volumes
            .iter()
            .find(|m| m.target.trim_end_matches('/') == target.trim_end_matches('/'))
    }

    /// Names the service is reachable by on the compose network (key and container name).
    pub fn network_names(&self) -> Vec<String> {
        let mut names = vec![self.key.clone()];
        if let Some(c) = self.container_name.as_ref().filter(|c| !names.contains(c)) {
            names.push(c.clone());
        }
        names
    }
}

/// Where the pooler script lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolerExs {
    /// A file on the host (relative to the deployment folder).
    File(PathBuf),
    /// Inline in the compose file (Coolify): the bind's container target.
    Inline {
        /// Container path of the bind holding the `content:` block.
        target: String,
        /// Host path Coolify writes the content to (relative).
        source: Option<PathBuf>,
    },
    /// No pooler.exs mount found.
    Missing,
}

/// How Compose is invoked on the deployment: the `-f` files and the environment that
/// `COMPOSE_FILE`, `COMPOSE_PROFILES` and `${VAR}` interpolation are read from (the project's
/// `.env` comes after it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeInvocation {
    /// `-f/--file` arguments, relative to the deployment folder (empty: `COMPOSE_FILE`, else
    /// the default names plus the override file).
    pub files: Vec<String>,
    /// The environment.
    pub env: BTreeMap<String, String>,
}

impl ComposeInvocation {
    /// `files` with this process's environment.
    pub fn from_process(files: Vec<String>) -> Self {
        Self {
            files,
            env: std::env::vars().collect(),
        }
    }
}

/// Which pooler Compose starts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActivePooler {
    /// Supavisor ([`Layout::pooler`]).
    Supavisor,
    /// The PgBouncer variant (upstream's `docker-compose.pgbouncer.yml`: service `pgbouncer`,
    /// container `supabase-pgbouncer`, image `edoburu/pgbouncer`), usually with Supavisor
    /// removed by `supavisor: !reset null`.
    PgBouncer,
    /// No pooler runs (none defined, removed, or outside the active profiles).
    None,
}

/// A detected deployment.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Which layout.
    pub kind: LayoutKind,
    /// The first compose file Compose reads (the base file), relative to the folder.
    pub compose: PathBuf,
    /// Every compose file Compose reads, in merge order (`compose` first); `include:`d and
    /// `extends:` files are in [`Layout::project`]'s `read`.
    pub files: Vec<PathBuf>,
    /// The merged model Compose runs (`None` for a layout read from one text, see
    /// [`detect_text`]).
    pub project: Option<compose_patch::Project>,
    /// How Compose is invoked (what [`Layout::project`] was read with).
    pub invocation: ComposeInvocation,
    /// The database service.
    pub db: Service,
    /// The Supavisor pooler service.
    pub pooler: Option<Service>,
    /// The PgBouncer pooler service (upstream's `docker-compose.pgbouncer.yml` variant: service
    /// `pgbouncer`, or an `edoburu/pgbouncer` image), when Compose runs one (a running service
    /// of the merged model, like [`Layout::pooler`]).
    pub pgbouncer: Option<Service>,
    /// Host PGDATA folder (relative), when PGDATA is a bind mount of a host path.
    pub pgdata_host: Option<PathBuf>,
    /// Where pooler.exs is.
    pub pooler_exs: PoolerExs,
    /// Every service key.
    pub service_keys: Vec<String>,
}

impl Layout {
    /// Detects the layout of the deployment in `source` (or uses `forced`).
    pub fn detect(source: &dyn Source, forced: Option<LayoutKind>) -> Result<Layout> {
        detect(source, forced)
    }

    /// The poolers Compose runs, Supavisor first: both come from the running services of the
    /// merged model (a `supavisor: !reset null` in upstream's `docker-compose.pgbouncer.yml`
    /// leaves only PgBouncer).
    pub fn pooler_kinds(&self) -> Vec<PoolerKind> {
        let mut kinds = Vec::new();
        if self.pooler.is_some() {
            kinds.push(PoolerKind::Supavisor);
        }
        if self.pgbouncer.is_some() {
            kinds.push(PoolerKind::PgBouncer);
        }
        kinds
    }

    /// The pooler clients reach on the pooled port: Supavisor when it runs, else PgBouncer
    /// (derived from [`Layout::pooler`] and [`Layout::pgbouncer`], like
    /// [`Layout::pooler_kinds`]).
    pub fn active_pooler(&self) -> ActivePooler {
        match (&self.pooler, &self.pgbouncer) {
            (Some(_), _) => ActivePooler::Supavisor,
            (None, Some(_)) => ActivePooler::PgBouncer,
            (None, None) => ActivePooler::None,
        }
    }

    /// The service `key` as Compose runs it, every value with the file and line it came from
    /// (`None` without a merged model, or when no such service runs or is defined).
    pub fn merged(&self, key: &str) -> Option<&compose_patch::MergedService> {
        self.project.as_ref()?.service(key)
    }

    /// The db service as Compose runs it, with provenance.
    pub fn merged_db(&self) -> Option<&compose_patch::MergedService> {
        self.merged(&self.db.key)
    }

    /// The pooler service Compose runs (Supavisor or the PgBouncer variant), with provenance.
    pub fn merged_pooler(&self) -> Option<&compose_patch::MergedService> {
        match self.active_pooler() {
            ActivePooler::Supavisor => self.merged(&self.pooler.as_ref()?.key),
            ActivePooler::PgBouncer => self.merged(&self.pgbouncer.as_ref()?.key),
            ActivePooler::None => None,
        }
    }

    /// Where a service's `command` comes from when it is not the base file (an override wins):
    /// `"docker-compose.override.yml:5"`.
    pub fn overridden_command(&self, key: &str) -> Option<String> {
        let origin = &self.merged(key)?.command.as_ref()?.origin;
        (Path::new(&origin.file) != self.compose).then(|| origin.to_string())
    }

    /// The `compose` key of `harden --json` / `check --json`: the files Compose reads, how they
    /// were chosen, and where the db's and the pooler's values come from (`"file:line"`).
    pub fn compose_json(&self) -> serde_json::Value {
        let from = |o: Option<&compose_patch::Origin>| o.map(ToString::to_string);
        let service = |m: Option<&compose_patch::MergedService>| {
            m.map(|m| {
                serde_json::json!({
                    "service": m.key,
                    "defined_in": m.defined_in.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "image": m.image.as_ref().map(|i| &i.value),
                    "image_from": from(m.image.as_ref().map(|i| &i.origin)),
                    "command_from": from(m.command.as_ref().map(|c| &c.origin)),
                })
            })
        };
        let pooler_kind = match self.active_pooler() {
            ActivePooler::Supavisor => "supavisor",
            ActivePooler::PgBouncer => "pgbouncer",
            ActivePooler::None => "none",
        };
        let project = self.project.as_ref();
        serde_json::json!({
            "files": self.files,
            "selected_by": project.map(|p| p.selected_by.clone()),
            "read": project.map(|p| p.read.clone()),
            "profiles": project.map(|p| p.profiles.clone()),
            "removed": project.map(|p| p.removed.iter().map(|r| serde_json::json!({
                "service": r.key, "at": r.origin.to_string(),
            })).collect::<Vec<_>>()),
            "db": service(self.merged_db()),
            "pooler": { "kind": pooler_kind, "merged": service(self.merged_pooler()) },
        })
    }

    /// The files Compose reads, for messages: `docker-compose.yml + docker-compose.override.yml`.
    pub fn files_shown(&self) -> String {
        self.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The project's files through a [`Source`] (or a staged plan), for compose-patch's loader.
struct ReadFiles<'a>(
    &'a dyn Fn(&Path) -> Result<Option<String>>,
    std::cell::RefCell<Option<(PathBuf, usize)>>,
);

impl compose_patch::ProjectFiles for ReadFiles<'_> {
    fn read_file(&self, path: &str) -> std::result::Result<Option<String>, String> {
        match (self.0)(Path::new(path)) {
            Ok(Some(text)) if text.len() > MAX_COMPOSE_BYTES => {
                *self.1.borrow_mut() = Some((PathBuf::from(path), text.len()));
                Err(format!(
                    "{} bytes, more than the {MAX_COMPOSE_BYTES} read",
                    text.len()
                ))
            }
            Ok(t) => Ok(t),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Detects the layout of the deployment in `tree` (or uses `forced`), reading the compose
/// files as Compose v2 does with this process's environment and no `-f` ([`detect_with`]).
pub fn detect(tree: &dyn Source, forced: Option<LayoutKind>) -> Result<Layout> {
    detect_with(tree, forced, &ComposeInvocation::from_process(Vec::new()))
}

/// Detects the layout of the deployment in `tree` from the merged model of the files Compose
/// reads when invoked as `how` says.
pub fn detect_with(
    tree: &dyn Source,
    forced: Option<LayoutKind>,
    how: &ComposeInvocation,
) -> Result<Layout> {
    detect_files(&|p: &Path| tree.read_text(p), tree.root(), forced, how)
}

/// [`detect_with`] over any reader of the folder's files (`read` gives `Ok(None)` for a missing
/// file): a staged plan is judged this way before anything is written.
pub fn detect_files(
    read: &dyn Fn(&Path) -> Result<Option<String>>,
    dir: &Path,
    forced: Option<LayoutKind>,
    how: &ComposeInvocation,
) -> Result<Layout> {
    let looked_for = format!(
        "a compose file ({}) with services `db`/`supabase-db` and `supavisor`/`supabase-pooler` or `pgbouncer` (upstream supabase/docker), or `supabase-db` and `supabase-supavisor` (Coolify); use --layout upstream|coolify to force one",
        COMPOSE_NAMES.join(", ")
    );
    let default_found = COMPOSE_NAMES
        .iter()
        .map(|n| read(Path::new(n)).map(|t| t.is_some()))
        .collect::<Result<Vec<bool>>>()?
        .into_iter()
        .any(|b| b);
    if how.files.is_empty() && !how.env.contains_key("COMPOSE_FILE") && !default_found {
        let dotenv_names_files = read(Path::new(".env"))?.is_some_and(|t| {
            t.lines()
                .any(|l| l.trim_start().starts_with("COMPOSE_FILE="))
        });
        if !dotenv_names_files {
            return Err(Error::UnknownLayout {
                dir: dir.to_path_buf(),
                looked_for: format!("{looked_for}; no compose file found"),
            });
        }
    }
    let files = ReadFiles(read, std::cell::RefCell::new(None));
    let loaded = compose_patch::Project::load(
        &files,
        &compose_patch::LoadOptions {
            files: how.files.clone(),
            env: how.env.clone(),
            profiles: Vec::new(),
        },
    );
    if let (Err(_), Some((path, size))) = (&loaded, files.1.borrow().clone()) {
        return Err(Error::TooLarge {
            path: dir.join(path),
            size,
            limit: MAX_COMPOSE_BYTES,
        });
    }
    let project =
        loaded.with_context(|| format!("reading the compose files of \"{}\"", dir.display()))?;
    let files: Vec<PathBuf> = project.files.iter().map(PathBuf::from).collect();
    let base = files.first().cloned().unwrap_or_default();
    let running: Vec<Service> = project.running().map(|m| Service::from(m.view())).collect();
    let mut layout = from_services(dir, &base, &running, forced, Some(&project))?;
    layout.files = files;
    layout.invocation = how.clone();
    layout.project = Some(project);
    Ok(layout)
}

/// Detects the layout from the compose file's text (`dir` and `compose_path` name it in errors).
pub fn detect_text(
    dir: &Path,
    compose_path: &Path,
    text: &str,
    forced: Option<LayoutKind>,
) -> Result<Layout> {
    if text.len() > MAX_COMPOSE_BYTES {
        return Err(Error::TooLarge {
            path: dir.join(compose_path),
            size: text.len(),
            limit: MAX_COMPOSE_BYTES,
        });
    }
    let services = parse_services(text)
        .with_context(|| format!("reading \"{}\"", dir.join(compose_path).display()))?;
    from_services(dir, compose_path, &services, forced, None)
}

fn from_services(
    dir: &Path,
    compose_path: &Path,
    services: &[Service],
    forced: Option<LayoutKind>,
    project: Option<&compose_patch::Project>,
) -> Result<Layout> {
    let looked_for = format!(
        "a compose file ({}) with services `db`/`supabase-db` and `supavisor`/`supabase-pooler` or `pgbouncer` (upstream supabase/docker), or `supabase-db` and `supabase-supavisor` (Coolify); use --layout upstream|coolify to force one",
        COMPOSE_NAMES.join(", ")
    );
    let find = |keys: &[&str], containers: &[&str]| -> Option<Service> {
        keys.iter()
            .find_map(|k| services.iter().find(|s| s.key == *k))
            .or_else(|| {
                services.iter().find(|s| {
                    s.container_name
                        .as_deref()
                        .is_some_and(|c| containers.contains(&c))
                })
            })
            .cloned()
    };
    let upstream = (
        find(&["db"], &["supabase-db"]),
        find(&["supavisor"], &["supabase-pooler"]),
    );
    let pgbouncer = find_pgbouncer(services).cloned();
    let coolify = (
        find(&["supabase-db"], &[]),
        find(&["supabase-supavisor"], &[]),
    );
    // the upstream folder with its pooler swapped (docker-compose.pgbouncer.yml) or removed
    let pooler_replaced = pgbouncer.is_some()
        || project.is_some_and(|p| {
            p.removal("supavisor").is_some() || p.service("supavisor").is_some_and(|s| !s.active)
        });
    let detected = match forced {
        Some(kind) => Some(kind),
        None if coolify.0.is_some() && coolify.1.is_some() => Some(LayoutKind::Coolify),
        None if upstream.0.is_some() && (upstream.1.is_some() || pooler_replaced) => {
            Some(LayoutKind::Upstream)
        }
        None => None,
    };
    let keys: Vec<String> = services.iter().map(|s| s.key.clone()).collect();
    let shown = match project {
        Some(p) if p.files.len() > 1 => format!(
            "the files Compose reads ({}) have running services:",
            p.files.join(" + ")
        ),
        _ => format!("\"{}\" has services:", compose_path.display()),
    };
    let unknown = |extra: &str| Error::UnknownLayout {
        dir: dir.to_path_buf(),
        looked_for: format!(
            "{looked_for}; {shown} {}{extra}",
            if keys.is_empty() {
                "(none)".to_owned()
            } else {
                keys.join(", ")
            }
        ),
    };
    let Some(kind) = detected else {
        return Err(unknown(""));
    };
    let (db, pooler) = match kind {
        LayoutKind::Upstream => upstream,
        LayoutKind::Coolify => (
            coolify.0.or_else(|| find(&["db"], &["supabase-db"])),
            coolify
                .1
                .or_else(|| find(&["supavisor"], &["supabase-pooler"])),
        ),
    };
    let Some(db) = db else {
        return Err(unknown(" (no database service)"));
    };
    let pgdata_host = db
        .mount_for(PGDATA_TARGET)
        .filter(|m| m.bind)
        .and_then(|m| relative_host_path(&m.source));
    let pooler_exs = match pooler.as_ref().and_then(tenant_script_mount) {
        Some(m) if m.content.is_some() => PoolerExs::Inline {
            target: m.target.clone(),
            source: relative_host_path(&m.source),
        },
        Some(m) => relative_host_path(&m.source).map_or(PoolerExs::Missing, PoolerExs::File),
        None => PoolerExs::Missing,
    };
    Ok(Layout {
        kind,
        compose: compose_path.to_path_buf(),
        files: vec![compose_path.to_path_buf()],
        project: None,
        invocation: ComposeInvocation::default(),
        db,
        pooler,
        pgbouncer,
        pgdata_host,
        pooler_exs,
        service_keys: keys,
    })
}

/// The mount holding the pooler's tenant script, wherever it lives: the bind at
/// [`POOLER_EXS_TARGET`]; else a bind whose container path the service's command runs or
/// reads (Coolify's 2024 `/home/entrypoint.sh`); else an inline `content:` that calls
/// `Supavisor.Tenants` (the same template, whose `command:` sat inside the mount by mistake).
pub fn tenant_script_mount(pooler: &Service) -> Option<&Mount> {
    if let Some(m) = pooler.mount_for(POOLER_EXS_TARGET) {
        return Some(m);
    }
    let launch = pooler.command.join(" ");
    pooler
        .volumes
        .iter()
        .filter(|m| m.bind && !m.target.is_empty())
        .find(|m| {
            launch
                .split(|c: char| c.is_whitespace() || "\"'();&|$`".contains(c))
                .any(|w| w == m.target)
        })
        .or_else(|| {
            pooler.volumes.iter().find(|m| {
                m.content
                    .as_deref()
                    .is_some_and(|c| c.contains("Supavisor.Tenants."))
            })
        })
}

/// A host path in a bind source, relative to the deployment folder (`./x` -> `x`).
/// Absolute paths are kept absolute; named volumes give `None`.
pub fn relative_host_path(source: &str) -> Option<PathBuf> {
    if let Some(rest) = source.strip_prefix("./") {
        Some(PathBuf::from(rest))
    } else if source.starts_with('/') || source.starts_with("../") {
        Some(PathBuf::from(source))
    } else {
        None
    }
}

/// Parses the `services:` of a compose file into typed views, through compose-patch's reader
/// ([`compose_patch::ComposeFile::service_views`]): the same reading its edits are checked
/// against, so a string command is split with shell-words semantics here as there.
pub fn parse_services(text: &str) -> Result<Vec<Service>> {
    let file = compose_patch::ComposeFile::parse(text)?;
    Ok(file
        .service_views()
        .into_iter()
        .map(Service::from)
        .collect())
}

impl From<compose_patch::ServiceView> for Service {
    fn from(view: compose_patch::ServiceView) -> Self {
        let environment: BTreeMap<String, String> = view
            .environment
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        Self {
            env_as_written: environment.clone(),
            key: view.key,
            container_name: view.container_name,
            image: view.image,
            command: view.command.unwrap_or_default(),
            volumes: view
                .volumes
                .into_iter()
                .map(|v| Mount {
                    source: v.source.unwrap_or_default(),
                    target: v.target,
                    read_only: v.read_only,
                    bind: v.bind,
                    content: v.content,
                })
                .collect(),
            environment,
            ports: view.ports.iter().map(ToString::to_string).collect(),
            networks: view.networks,
        }
    }
}

#[cfg(test)]
mod tests;

//! Whole runs of the recipe, as `pgtls harden` and `pgtls check` do them: another tool drives
//! the same work with a [`Request`] and renders the returned [`HardenRun`] / [`CheckRun`].
//!
//! [`harden()`] takes the deployment lock, opens the folder (or Coolify's copy of the compose
//! through its API), resolves the db user ([`crate::owner::db_facts`]), plans, judges the staged
//! result with the checklist, refuses an owner change this process cannot make before writing
//! anything, applies through the one writer ([`crate::apply::apply`]) and stores the compose in
//! Coolify. Nothing here prints: the report is data, with [`HardenRun::to_json`] for the stable
//! JSON contract.
//!
//! ```no_run
//! use pgtls_harden::run::{self, Request};
//!
//! let mut req = Request::new("/srv/supabase/docker");
//! req.pg_owner = Some("105:106".into());
//! req.dry_run = true;
//! let done = run::harden(&req, &pgtls_harden::NoEngine)?;
//! println!("{} step(s), changed: {}", done.plan.steps.len(), done.changed());
//! # Ok::<(), pgtls_harden::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use pgtls_certs::KeyType;

use crate::Plan;
use crate::apply::{self, Applied, ApplyOptions, DeploymentLock};
use crate::checklist::{self, CheckOptions, Checklist};
use crate::coolify::{Client, Token};
use crate::error::{Context as _, Error, Result};
use crate::harden::{self, HardenOptions};
use crate::hba_base::RunningHba;
use crate::layout::{self, Layout, LayoutKind};
use crate::owner::{self, DbFacts, DbUser, Engine};
use crate::plan::{FileChange, Staging};
use crate::tree::Tree;
use crate::via_coolify as coolify;

/// How long a run waits for another run on the same deployment before refusing.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Harden through Coolify's API (`--coolify-url`).
#[derive(Debug, Clone)]
pub struct CoolifyTarget {
    /// Coolify's base URL.
    pub url: String,
    /// The API token (one allowed to read sensitive data).
    pub token: Option<Token>,
    /// The service uuid (default: the folder's name).
    pub service: Option<String>,
    /// Ask Coolify to restart the service after storing the compose.
    pub restart: bool,
}

/// What to harden or check, and how: the command line's options as plain data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The deployment folder.
    pub dir: PathBuf,
    /// Write a hardened copy here instead of editing in place.
    pub out: Option<PathBuf>,
    /// Force the layout instead of detecting it.
    pub layout: Option<LayoutKind>,
    /// The db container's postgres user as given (`--pg-owner`, `UID:GID`): parsed with
    /// [`owner::parse_db_owner`] once the folder is open.
    pub pg_owner: Option<String>,
    /// The PostgreSQL major whose `pg_hba.conf` rules apply (`--pg-version`; default: the db
    /// image's tag, else PGDATA's `PG_VERSION`: [`crate::pgmajor`]).
    pub pg_version: Option<u32>,
    /// Extra SANs (`--domain`, `--san`).
    pub extra_sans: Vec<String>,
    /// Networks allowed without TLS (`--trusted-cidr`); empty means the db container's Docker
    /// networks, else the compose file's ipam, else the private ranges (`trust`).
    pub trusted: Vec<String>,
    /// Key algorithm asked for.
    pub key_type: Option<KeyType>,
    /// Server certificate validity in days.
    pub days: u32,
    /// Rewrite a create-only pooler.exs into an upsert.
    pub pooler_upsert: bool,
    /// Plan and judge; write nothing.
    pub dry_run: bool,
    /// Write through symlinked `volumes/...` folders.
    pub follow_symlinks: bool,
    /// Harden Coolify's copy of the compose through its API.
    pub coolify: Option<CoolifyTarget>,
    /// How long to wait for another run's lock.
    pub lock_wait: Duration,
    /// `check`: warn when the server certificate expires within this many days.
    pub expiry_warn_days: u32,
    /// How Compose is invoked: `-f` files (`--file`) and the environment (`COMPOSE_FILE`,
    /// `COMPOSE_PROFILES`, interpolation); the default is this process's environment, no `-f`.
    pub compose: layout::ComposeInvocation,
}

impl Request {
    /// The CLI's defaults for the deployment folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            out: None,
            layout: None,
            pg_owner: None,
            pg_version: None,
            extra_sans: Vec::new(),
            trusted: Vec::new(),
            key_type: None,
            days: 825,
            pooler_upsert: false,
            dry_run: false,
            follow_symlinks: false,
            coolify: None,
            lock_wait: LOCK_WAIT,
            expiry_warn_days: 30,
            compose: layout::ComposeInvocation::from_process(Vec::new()),
        }
    }
}

/// The db facts, `req.pg_owner` parsed first.
fn db_facts(req: &Request, tree: &Tree, layout: &Layout, engine: &dyn Engine) -> Result<DbFacts> {
    let flag = req
        .pg_owner
        .as_deref()
        .map(|v| owner::parse_db_owner("--pg-owner", v))
        .transpose();
    in_dir(
        flag.and_then(|f| owner::db_facts(tree, layout, f, req.pg_version, engine)),
        &req.dir,
    )
}

/// The running db container's own `pg_hba.conf`, read through `engine`, when the deployment
/// mounts none (harden then hardens the image's default: the file the server really loads is
/// the better base); `None` when a file of the deployment's is the base.
fn running_hba(tree: &Tree, layout: &Layout, engine: &dyn Engine) -> Option<RunningHba> {
    let hba = harden::hba_location(layout);
    if hba.mount != harden::HbaMount::New || tree.read_text(&hba.host).ok().flatten().is_some() {
        return None;
    }
    if !engine.available() {
        return Some(Err("no Docker engine answers".into()));
    }
    let dir = std::fs::canonicalize(tree.src()).unwrap_or_else(|_| tree.src().to_path_buf());
    let Some(c) = engine.db_container(&dir, &layout.db.key, layout.db.container_name.as_deref())
    else {
        return Some(Err(format!(
            "no running container of the db service {:?} in this deployment",
            layout.db.key
        )));
    };
    Some(engine.effective_hba(&c))
}

/// Names the deployment folder in an error.
fn in_dir<T, E: Into<Error>>(r: std::result::Result<T, E>, dir: &Path) -> Result<T> {
    r.with_context(|| format!("deployment folder \"{}\"", dir.display()))
}

/// Opens the deployment folder and detects its layout.
///
/// # Errors
/// `dir` is not a folder, or no layout is found.
pub fn open(dir: &Path, out: Option<&Path>, forced: Option<LayoutKind>) -> Result<(Tree, Layout)> {
    open_with(
        dir,
        out,
        forced,
        &layout::ComposeInvocation::from_process(Vec::new()),
    )
}

/// [`open`] with Compose invoked as `how` says (`-f` files, environment).
///
/// # Errors
/// `dir` is not a folder, the compose files cannot be read or merged, or no layout is found.
pub fn open_with(
    dir: &Path,
    out: Option<&Path>,
    forced: Option<LayoutKind>,
    how: &layout::ComposeInvocation,
) -> Result<(Tree, Layout)> {
    if !dir.is_dir() {
        return Err(Error::Message(format!(
            "invalid value \"{}\" for DIR: not a folder",
            dir.display()
        )));
    }
    let tree = Tree::new(dir, out);
    let layout = layout::detect_with(&tree, forced, how)?;
    Ok((tree, layout))
}

/// A finished (or, with `dry_run`, planned) harden run.
#[derive(Debug)]
pub struct HardenRun {
    /// The folders read and written.
    pub tree: Tree,
    /// The layout (Coolify's copy with the API).
    pub layout: Layout,
    /// The db facts.
    pub facts: DbFacts,
    /// The db user the key is owned by.
    pub user: DbUser,
    /// The plan (the compose change moved to `to_coolify` with the API).
    pub plan: Plan,
    /// The compose stored into Coolify instead of the host file.
    pub to_coolify: Option<FileChange>,
    /// The Coolify paste file, without API access.
    pub paste_file: Option<PathBuf>,
    /// The checklist of the state after applying.
    pub checks: Checklist,
    /// An owner change this process cannot make (refused unless `dry_run`).
    pub owner_problem: Option<String>,
    /// What was written.
    pub applied: Option<Applied>,
    /// The Coolify client and service uuid, with the API.
    pub api: Option<(Client, String)>,
    /// What was stored in Coolify.
    pub stored: coolify::Stored,
    /// The next steps (the first replaced for Coolify).
    pub next_steps: Vec<String>,
    /// What happened through Coolify's API.
    pub coolify_notes: Vec<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// The networks trusted without TLS, the addresses refused plaintext, and where they came
    /// from (`trust`).
    pub trust: Option<crate::TrustedNetworks>,
}

impl HardenRun {
    /// Whether anything changed (host files or Coolify's compose).
    pub fn changed(&self) -> bool {
        self.plan.changed() || self.to_coolify.is_some()
    }

    /// The changes to show: Coolify's compose first, copied files left out.
    pub fn shown_changes(&self) -> Vec<&FileChange> {
        self.to_coolify
            .iter()
            .chain(&self.plan.changes)
            .filter(|c| c.kind != crate::FileKind::Copy)
            .collect()
    }

    /// The deployment-state warning (shown before the plan).
    pub fn state_warning(&self) -> Option<crate::Warning> {
        harden::state_warning(&self.plan.pgdata, &self.layout)
    }

    /// The owner change this process cannot make, as a warning ([`crate::Code::KeyOwner`]).
    pub fn owner_warning(&self) -> Option<crate::Warning> {
        (self.owner_problem.as_ref()).map(|p| crate::Warning::new(crate::Code::KeyOwner, p.clone()))
    }

    /// Every warning of the run once, in report order: the plan's (the deployment state
    /// first), each step's, then the owner problem.
    pub fn warnings(&self) -> Vec<crate::Warning> {
        let mut all: Vec<crate::Warning> = self.plan.warnings.clone();
        let steps = self
            .plan
            .steps
            .iter()
            .flat_map(|s| s.warnings.iter().cloned());
        all.extend(steps.chain(self.owner_warning()));
        all
    }

    /// The `pgtls harden --json` report (stable keys, extended by adding).
    pub fn to_json(&self) -> serde_json::Value {
        let steps: Vec<_> = self
            .plan
            .steps
            .iter()
            .map(|s| {
                let mut j = serde_json::json!({
                    "id": s.id, "status": s.status, "files": s.files, "warnings": s.warnings,
                    "notes": s.notes, "warning_codes": crate::report::codes(&s.warnings),
                });
                if let Some(b) = &s.hba_base {
                    j["hba_base"] = serde_json::json!(b);
                }
                j
            })
            .collect();
        let coolify_json = self.api.as_ref().map(|(client, uuid)| {
            serde_json::json!({
                "url": client.url(),
                "service": uuid,
                "compose_changed": self.to_coolify.is_some(),
                "patched": self.stored.patched,
                "restart": self.stored.restarted,
            })
        });
        let facts = self.facts.json();
        let changes: Vec<_> = (self.plan.changes.iter().chain(&self.to_coolify))
            .map(harden::change_json)
            .collect();
        serde_json::json!({
            "layout": self.plan.layout,
            "changed": self.changed(),
            "dry_run": self.dry_run,
            "source": self.tree.src(),
            "destination": self.tree.dest(),
            "pg_owner": self.user.ids(),
            "db_user": facts["db_user"],
            "deployment": facts["deployment"],
            "compose": self.layout.compose_json(),
            "docker_engine": facts["docker_engine"],
            "postgres": facts["postgres"],
            "trusted_networks": self.trust.as_ref().map(crate::TrustedNetworks::json),
            "steps": steps,
            "changes": changes,
            "warnings": self.plan.warnings,
            "warning_codes": crate::report::codes(&self.plan.warnings),
            "next_steps": self.next_steps,
            "coolify_notes": self.coolify_notes,
            "checklist": self.checks,
            "coolify": coolify_json,
            "paste_file": self.paste_file,
            "applied": self.applied,
        })
    }
}

/// Plans, judges and (unless `req.dry_run`) applies the recipe; see the module notes.
///
/// # Errors
/// A refusal ([`Error::is_refusal`]: no fact tells the db user, an owner change this process
/// cannot make, another run holding the lock, Coolify's refusal), or a read, plan or write
/// failure (an apply failure says what was written and where the backups are).
pub fn harden(req: &Request, engine: &dyn Engine) -> Result<HardenRun> {
    let dest = req.out.as_deref().unwrap_or(&req.dir);
    if !req.follow_symlinks {
        in_dir(apply::refuse_symlinks(dest), &req.dir)?;
    }
    // one run at a time on a deployment: taken before anything is read, held until the end
    // (a --out folder that does not exist yet is made, and the run restarted under the lock,
    // only once the plan is known to be writable)
    let lock_later = !req.dry_run && !dest.exists();
    let _lock = if req.dry_run || lock_later || !req.dir.is_dir() {
        None
    } else {
        Some(in_dir(
            DeploymentLock::acquire(dest, req.lock_wait),
            &req.dir,
        )?)
    };
    let (tree, layout, api) = if let Some(c) = &req.coolify {
        let token = c.token.clone();
        let o = coolify::open(&req.dir, &c.url, token, c.service.as_deref(), req.layout);
        let o = in_dir(o, &req.dir)?;
        (o.tree, o.layout, Some((o.client, o.uuid)))
    } else {
        let (t, l) = in_dir(
            open_with(&req.dir, req.out.as_deref(), req.layout, &req.compose),
            &req.dir,
        )?;
        (t, l, None)
    };
    let facts = db_facts(req, &tree, &layout, engine)?;
    let Some(user) = facts.user.clone() else {
        return Err(Error::Refused(facts.refusal.clone()));
    };
    if let Some(conflict) = &facts.conflict {
        return Err(Error::Refused(conflict.clone()));
    }
    // the db cannot start on its data directory: which server will run is the user's choice
    // (--pg-version says it; the disagreement then stays a warning of the pg-hba step)
    if let (Some(m), None) = (&facts.major.mismatch, req.pg_version) {
        return Err(Error::Refused(format!(
            "{}; {}, or pass --pg-version N to say which PostgreSQL will run on it",
            m.describe(),
            m.fix()
        )));
    }
    // the trusted networks: --trusted-cidr, else the db container's Docker networks, the compose
    // file's ipam, the private ranges (with a warning); gateways and proxies refused plaintext
    let trust = in_dir(
        crate::trust::for_layout(&tree, &layout, &req.trusted, engine),
        &req.dir,
    )?;
    let opts = HardenOptions {
        extra_sans: req.extra_sans.clone(),
        pg_owner: (user.uid, user.gid),
        owner_source: user.source.clone(),
        docker_remap: facts.engine.remapped.clone(),
        trusted: trust.cidrs.clone(),
        excluded: trust.excluded_addrs(),
        trust: Some(trust.clone()),
        key_type: req.key_type,
        days: req.days,
        pooler_upsert: req.pooler_upsert,
        pg_major: Some(facts.major.clone()),
        running_hba: running_hba(&tree, &layout, engine),
    };
    let (mut plan, staging) = in_dir(harden::plan(&tree, &layout, &opts), &req.dir)?;
    let routed = coolify::route_compose(&mut plan, &layout, &tree, api.is_some())?;

    // the checklist of the state after applying (staged in memory)
    // (the merged model again, over the staged files, when the layout has one)
    let layout_after = if layout.project.is_some() {
        layout::detect_files(
            &|p: &Path| staging.read_text(p),
            tree.src(),
            Some(layout.kind),
            &layout.invocation,
        )?
    } else {
        let compose_after = staging.read_text(&layout.compose)?.unwrap_or_default();
        layout::detect_text(
            tree.src(),
            &layout.compose,
            &compose_after,
            Some(layout.kind),
        )?
    };
    let checks = checklist::run(
        &staging,
        &layout_after,
        &CheckOptions {
            db_user: Some(user.clone()),
            sans: harden::wanted_sans(&layout, &opts.extra_sans),
            expiry_warn_days: 30,
            trust: opts.trust.clone(),
            pg_major: Some(facts.major.clone()),
        },
    );

    // setting another owner needs root: refuse before writing anything rather than half-way
    let me = std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m));
    let owner_problem = owner::owner_problem(&plan.changes, me);
    if let (Some(problem), false) = (&owner_problem, req.dry_run) {
        return Err(Error::Refused(problem.clone()));
    }
    if lock_later {
        std::fs::create_dir_all(dest).map_err(|source| Error::Io {
            context: format!("creating \"{}\"", dest.display()),
            source,
        })?;
        return harden(req, engine);
    }
    drop(staging);
    let mut done = finish(
        req,
        tree,
        layout,
        facts,
        user,
        plan,
        routed,
        checks,
        owner_problem,
        api,
    )?;
    done.trust = Some(trust);
    Ok(done)
}

/// Applies the plan and stores the compose in Coolify; builds the report.
#[allow(
    clippy::too_many_arguments,
    reason = "the stages of one run, handed on once"
)]
fn finish(
    req: &Request,
    tree: Tree,
    layout: Layout,
    facts: DbFacts,
    user: DbUser,
    plan: Plan,
    routed: coolify::Routed,
    checks: Checklist,
    owner_problem: Option<String>,
    api: Option<(Client, String)>,
) -> Result<HardenRun> {
    let (to_coolify, paste_file) = (routed.to_coolify, routed.paste_file);
    // Coolify API: the host files first (recorded to put back), then the PATCH
    let saved = if api.is_some() && !req.dry_run && plan.changed() {
        let paths: Vec<_> = plan.changes.iter().map(|c| c.path.clone()).collect();
        Some(coolify::save(tree.dest(), &paths)?)
    } else {
        None
    };
    let applied = if req.dry_run || !plan.changed() {
        None
    } else {
        Some(
            apply::apply(
                tree.dest(),
                &plan.dirs,
                &plan.changes,
                &ApplyOptions::with_backups(),
            )
            .with_context(|| format!("applying the plan to \"{}\"", tree.dest().display()))?,
        )
    };
    let mut stored = coolify::Stored::default();
    if let (Some((client, uuid)), false) = (&api, req.dry_run) {
        let undo = saved.as_deref().zip(applied.as_ref());
        let restart = req.coolify.as_ref().is_some_and(|c| c.restart);
        stored = coolify::store(
            (client, uuid),
            tree.dest(),
            &layout,
            &plan.changes,
            to_coolify.as_ref(),
            undo,
            restart,
        )?;
    }
    let mut next_steps = plan.next_steps.clone();
    let mut coolify_notes = Vec::new();
    let first = match (&api, &paste_file) {
        (Some((client, uuid)), _) => {
            let (notes, next) = coolify::notes(
                (client, uuid),
                &stored,
                req.dry_run,
                plan.changed(),
                to_coolify.is_some(),
                &layout,
                &plan.changes,
            );
            coolify_notes = notes;
            Some(next)
        }
        (None, Some(paste)) => Some(coolify::paste_step(paste)),
        (None, None) => None,
    };
    if let (Some(f), Some(step)) = (first, next_steps.first_mut()) {
        *step = f;
    }
    Ok(HardenRun {
        tree,
        layout,
        facts,
        user,
        plan,
        to_coolify,
        paste_file,
        checks,
        owner_problem,
        applied,
        api,
        stored,
        next_steps,
        coolify_notes,
        dry_run: req.dry_run,
        trust: None,
    })
}

/// A `check` run: the checklist of the deployment as it is.
#[derive(Debug)]
pub struct CheckRun {
    /// The folder read.
    pub tree: Tree,
    /// Its layout.
    pub layout: Layout,
    /// The db facts.
    pub facts: DbFacts,
    /// The checklist (Coolify's own copy of the compose first, as unknown).
    pub checks: Checklist,
}

impl CheckRun {
    /// The `pgtls check --json` report: the checklist plus the db facts.
    pub fn to_json(&self) -> serde_json::Value {
        let mut report = serde_json::to_value(&self.checks).unwrap_or_default();
        if let (Some(obj), serde_json::Value::Object(extra)) =
            (report.as_object_mut(), self.facts.json())
        {
            obj.extend(extra);
        }
        if let Some(obj) = report.as_object_mut() {
            obj.insert("compose".to_owned(), self.layout.compose_json());
        }
        report
    }
}

/// Judges the deployment in `req.dir` as it is (`req.extra_sans`, `req.pg_owner`,
/// `req.layout` and `req.expiry_warn_days` count; the rest is ignored).
///
/// # Errors
/// `req.dir` is not a folder, no layout is found, or the db facts cannot be read.
pub fn check(req: &Request, engine: &dyn Engine) -> Result<CheckRun> {
    let (tree, layout) = in_dir(
        open_with(&req.dir, None, req.layout, &req.compose),
        &req.dir,
    )?;
    let facts = db_facts(req, &tree, &layout, engine)?;
    let staging = Staging::new(&tree);
    let mut checks = checklist::run(
        &staging,
        &layout,
        &CheckOptions {
            db_user: facts.user.clone(),
            sans: harden::wanted_sans(&layout, &req.extra_sans),
            expiry_warn_days: req.expiry_warn_days,
            trust: Some(in_dir(
                crate::trust::for_layout(&tree, &layout, &[], engine),
                &req.dir,
            )?),
            pg_major: Some(facts.major.clone()),
        },
    );
    // what Coolify holds in its database cannot be seen from here: unknown, never a pass
    if let Some(item) = coolify::check_item(&layout, &tree) {
        checks.items.insert(0, item);
    }
    // Compose v2's own merge of the same files, where it is installed: a difference is unknown
    if let Some(item) = crate::compose_v2::compare(&req.dir, &layout) {
        checks.items.push(item);
    }
    drop(staging);
    Ok(CheckRun {
        tree,
        layout,
        facts,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(dir: &Path) {
        std::fs::create_dir_all(dir.join("volumes/db/data")).unwrap();
        std::fs::write(
            dir.join("docker-compose.yml"),
            "services:\n  db:\n    image: supabase/postgres:15.8.1.060\n    command: [\"postgres\"]\n    volumes:\n      - ./volumes/db/data:/var/lib/postgresql/data\n  supavisor:\n    image: supabase/supavisor:2.5.1\n",
        )
        .unwrap();
    }

    #[test]
    fn a_dry_run_plans_and_judges_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        upstream(dir.path());
        let mut req = Request::new(dir.path());
        req.pg_owner = Some("105:106".into());
        req.dry_run = true;
        let done = harden(&req, &crate::NoEngine).unwrap();
        assert!(done.changed());
        assert!(done.applied.is_none());
        assert!(!dir.path().join("volumes/tls").exists());
        let json = done.to_json();
        assert_eq!(json["dry_run"], true);
        assert_eq!(json["pg_owner"], "105:106");
        assert!(json["steps"].as_array().is_some_and(|s| !s.is_empty()));
    }

    #[test]
    fn no_owner_fact_is_a_refusal_and_a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        upstream(dir.path());
        let mut req = Request::new(dir.path());
        req.dry_run = true;
        let err = harden(&req, &crate::NoEngine).unwrap_err();
        assert!(err.is_refusal(), "{err}");
        let file = dir.path().join("docker-compose.yml");
        let err = check(&Request::new(&file), &crate::NoEngine).unwrap_err();
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(cause.is_some_and(|c| c.ends_with("for DIR: not a folder")));
        assert!(!err.is_refusal());
    }
}

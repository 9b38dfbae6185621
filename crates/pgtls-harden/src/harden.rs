//! The hardening planner: facts -> ordered steps -> staged file changes. Pure: nothing is written.
//!
//! Steps (stable ids, in order): `copy` (only with `--out`), `certificates`, `pg-hba`,
//! `db-service`, `pooler-service`, `pooler-tenant`, `pgbouncer-service`.
//!
//! This file holds the [`Plan`] and [`plan()`], which runs the steps in order
//! ([`StepId`]); each step is planned in its own private module: `copy.rs`
//! (`copy`), `certs.rs` (`certificates`), `hba.rs` (`pg-hba`), `services.rs` (`db-service`,
//! `pooler-service`), `tenant.rs` (`pooler-tenant`), `pgbouncer.rs` (`pgbouncer-service`), all
//! under `harden/`, with [`HardenOptions`] in `options.rs` below them. The container-to-host path
//! mapping they share is the crate's `mapping` module.

use std::path::{Path, PathBuf};

use crate::compose_set::ComposeSet;
use crate::ids::StepId;

use crate::apply::DirSpec;
use crate::error::{Context as _, Result};
use crate::layout::{Layout, LayoutKind};
use crate::owner::{OwnerSource, PgData};
use crate::plan::{FileChange, FileKind, Staging};
use crate::report::{Code, Warning};
use crate::tree::Tree;

mod certs;
mod copy;
mod hba;
mod options;
mod pgbouncer;
mod services;
mod tenant;

pub use self::certs::{reusable, wanted_sans};
pub use self::hba::{HbaLocation, HbaMount, hba_location};
pub use self::options::{DEFAULT_DAYS, HardenOptions, trusted_or_default};
pub(crate) use self::services::touch_compose;
pub use self::tenant::api_call;
pub use crate::mapping::{container_port, host_path_for, host_path_in};

/// The deployment's paths and defaults live in [`crate::paths`]; re-exported at the paths
/// they have always had.
pub use crate::paths::{
    CA_DIR, DB_HBA_DIR_TARGET, DB_HBA_TARGET, DB_TLS_TARGET, DEFAULT_TRUSTED, HBA_DIR, HBA_HOST,
    LEGACY_HBA_HOST, POOLER_CERT_TARGET, POOLER_KEY_TARGET, POOLER_TLS_TARGET, TLS_DIR,
};

/// The plan's steps live in [`crate::step`]; re-exported at the paths they have always had.
pub use crate::step::{Step, StepStatus};

/// The whole plan.
#[derive(Debug)]
pub struct Plan {
    /// Layout that was planned for.
    pub layout: LayoutKind,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Files to write (only those that differ from the destination).
    pub changes: Vec<FileChange>,
    /// Folders to create first.
    pub dirs: Vec<DirSpec>,
    /// Warnings not tied to one step.
    pub warnings: Vec<Warning>,
    /// What to do after applying.
    pub next_steps: Vec<String>,
    /// Who reads the server key and how that was found.
    pub owner_source: OwnerSource,
    /// The state of the deployment's database (the source folder's, with `--out`).
    pub pgdata: PgData,
}

impl Plan {
    /// Whether anything would be written.
    pub fn changed(&self) -> bool {
        !self.changes.is_empty() || !self.dirs.is_empty()
    }
}

/// Plans the hardening of `layout` in `tree`.
pub fn plan<'a>(
    tree: &'a Tree,
    layout: &Layout,
    opts: &HardenOptions,
) -> Result<(Plan, Staging<'a>)> {
    let mut staging = Staging::new(tree);
    let mut steps = Vec::new();
    let mut dirs = Vec::new();
    let mut warnings = Vec::new();
    let pgdata = crate::owner::pgdata(tree, layout)?;
    warnings.extend(state_warning(&pgdata, layout));
    if !tree.in_place() {
        warnings.push(Warning::new(Code::CopyHasNoDb, format!(
            "{} is a copy with no database (its {} is empty): do not start the stack from it. Copy the hardened files over the live deployment (see Next steps), or run pgtls harden on the live folder itself",
            tree.dest().display(),
            layout
                .pgdata_host
                .as_ref()
                .map_or_else(|| "PGDATA".to_owned(), |p| p.display().to_string())
        )));
    }

    if !tree.in_place() {
        steps.push(copy::plan_copy(&mut staging, layout, &mut dirs)?);
    }
    let mut certs_step =
        certs::plan_certificates(&mut staging, layout, opts, &mut dirs, &mut warnings)?;
    if layout.pgbouncer.is_some() {
        pgbouncer::plan_copy(&mut staging, &mut dirs, &mut certs_step)?;
    }
    steps.push(certs_step);
    let hba = hba_location(layout);
    steps.push(hba::plan_hba(&mut staging, &hba, opts)?);

    let mut compose = ComposeSet::new(layout);
    let mut db_step = Step::new(StepId::DbService);
    let db_changed = services::edit_db_service(&mut compose, &staging, layout, &hba, &mut db_step)
        .with_context(|| format!("editing service \"{}\"", layout.db.key))?;
    db_step.notes.insert(0, format!(
        "service `{}`: -c hba_file ssl=on ssl_cert_file ssl_key_file ssl_ca_file; {TLS_DIR} mounted read-only at {DB_TLS_TARGET}, the folder of pg_hba.conf at {}",
        layout.db.key,
        hba.container.rsplit_once('/').map_or("/", |(d, _)| d)
    ));
    touch_compose(&mut db_step, &mut compose, db_changed);

    let mut pooler_step = Step::new(StepId::PoolerService);
    let mut tenant_step = Step::new(StepId::PoolerTenant);
    if let Some(pooler) = &layout.pooler {
        let changed =
            services::edit_pooler_service(&mut compose, &staging, layout, pooler, &mut pooler_step)
                .with_context(|| format!("editing service \"{}\"", pooler.key))?;
        pooler_step.notes.insert(0, format!(
            "service `{}`: {TLS_DIR} mounted read-only at {POOLER_TLS_TARGET}, GLOBAL_DOWNSTREAM_CERT_PATH/_KEY_PATH inside it, ports 5432 and 6543",
            pooler.key
        ));
        touch_compose(&mut pooler_step, &mut compose, changed);
        if let Some(w) = crate::supavisor::tls_warning(pooler.image.as_deref()) {
            pooler_step
                .warnings
                .push(Warning::new(Code::SupavisorAsyncHang, w));
        }
        if pooler
            .image
            .as_deref()
            .is_some_and(crate::supavisor::has_sni_routing)
        {
            pooler_step.notes.push("Supavisor 2.9+: only the GLOBAL_DOWNSTREAM_* pair is set; it serves this key whatever its type, and DOWNSTREAM_SERVER_ECDSA_CERT/_KEY stay unset (a second pair for a second key; one naming a missing file stops Supavisor at boot)".to_owned());
        }
        tenant::plan_tenant(
            &mut staging,
            &mut compose,
            layout,
            pooler,
            opts,
            &mut tenant_step,
        )?;
    } else {
        pooler_step.status = StepStatus::Skipped;
        tenant_step.status = StepStatus::Skipped;
        pooler_step.notes.push(match &layout.pgbouncer {
            Some(b) => format!(
                "no Supavisor service runs in this deployment (PgBouncer, service `{}`, is the pooler: pgbouncer-service)",
                b.key
            ),
            None => "no pooler service runs in this deployment".into(),
        });
    }
    let mut pgbouncer_step = Step::new(StepId::PgbouncerService);
    if let Some(svc) = &layout.pgbouncer {
        pgbouncer::plan(&mut staging, &mut compose, layout, svc, &mut pgbouncer_step)
            .with_context(|| format!("editing service \"{}\"", svc.key))?;
    }
    let texts: Vec<(PathBuf, String)> = compose
        .texts()
        .map(|(p, t)| (p.clone(), t.to_owned()))
        .collect();
    for (path, text) in texts {
        staging.write(&path, text.into_bytes(), 0o644, None, FileKind::Text, None)?;
    }
    steps.push(db_step);
    steps.push(pooler_step);
    steps.push(tenant_step);
    if layout.pgbouncer.is_some() {
        steps.push(pgbouncer_step);
    }

    warnings.push(Warning::new(Code::RequireMitm, "`sslmode=require` encrypts but does not authenticate the server: it does not stop a man in the middle. Give clients the CA (volumes/tls-ca/ca.crt) and use `sslmode=verify-full` (see `pgtls connstr`)"));
    if let Some(pooler) = &layout.pooler {
        let (u, g) = opts.pg_owner;
        let readers = format!(
            "one key file, two readers: the db (`{}`) reads {TLS_DIR}/server.key at {DB_TLS_TARGET}/server.key as its postgres user {u}:{g}, the owner; the pooler (`{}`; Supavisor's image has no USER line, so it runs as root) reads the same file at {POOLER_KEY_TARGET} as root, which may read a 0600 key of any owner under plain Docker",
            layout.db.key, pooler.key
        );
        match &opts.docker_remap {
            Some(mode) => warnings.push(Warning::new(Code::KeyRemapped, format!(
                "{readers}. This Docker engine runs with {mode}: the pooler's root is an unprivileged uid on the host and cannot read a 0600 key owned by {u}: the pooler crash-loops at start. Give the pooler its own copy owned by its mapped root, or run Docker without remapping"
            ))),
            None => warnings.push(Warning::new(Code::KeyTwoReaders, format!(
                "{readers}; under userns-remap or rootless Docker the pooler's root is an unprivileged host uid that cannot read it, and the pooler crash-loops"
            ))),
        }
    }
    let changes = staging.changes()?;
    let mut next_steps = next_steps(tree, layout, opts, &steps);
    let tenant_needs_api = steps
        .iter()
        .any(|s| s.id == StepId::PoolerTenant && !s.warnings.is_empty());
    if let (true, Some(pooler)) = (tenant_needs_api, &layout.pooler) {
        // right after the redeploy
        next_steps.insert(if tree.in_place() { 1 } else { 2 }, api_call(pooler));
    }
    // a step whose files need no write is unchanged even if its edit was a no-op re-stage
    for step in &mut steps {
        if step.status == StepStatus::Changed
            && !step
                .files
                .iter()
                .any(|f| changes.iter().any(|c| &c.path == f))
        {
            step.status = StepStatus::Unchanged;
        }
    }
    let dirs: Vec<DirSpec> = dirs
        .into_iter()
        .filter(|d: &DirSpec| tree.meta_dest(&d.path).is_none())
        .collect();
    Ok((
        Plan {
            layout: layout.kind,
            steps,
            changes,
            dirs,
            warnings,
            next_steps,
            owner_source: opts.owner_source.clone(),
            pgdata,
        },
        staging,
    ))
}

/// The deployment-state warning: a database that has never started must start before TLS.
pub fn state_warning(pgdata: &PgData, layout: &Layout) -> Option<Warning> {
    match pgdata {
        PgData::Uninitialized { .. } => Some(Warning::new(
            Code::DbNotStarted,
            format!(
                "{}. Start the stack once (`docker compose up -d`), let its setup finish (the image's first-start scripts create Supabase's roles and schemas, and the services run their migrations over plaintext connections), then harden: hardening first breaks that setup",
                pgdata.describe()
            ),
        )),
        PgData::NamedVolume { .. } | PgData::NotMounted => Some(Warning::new(
            Code::DbStateUnknown,
            format!(
                "{}: if the stack has never started, start it once and let its setup finish (service `{}`), then harden",
                pgdata.describe(),
                layout.db.key
            ),
        )),
        PgData::Initialized { .. } => None,
    }
}

fn next_steps(tree: &Tree, layout: &Layout, opts: &HardenOptions, planned: &[Step]) -> Vec<String> {
    let services = std::iter::once(&layout.db)
        .chain(layout.pooler.as_ref())
        .chain(layout.pgbouncer.as_ref())
        .map(|s| s.key.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut steps = Vec::new();
    if !tree.in_place() {
        // what the copy adds or changes, as top-level files and folders, PGDATA never among them
        let mut items: Vec<String> = Vec::new();
        let files = planned
            .iter()
            .filter(|s| s.id != StepId::Copy)
            .flat_map(|s| s.files.iter());
        for path in files {
            let item = if path.starts_with(TLS_DIR) {
                format!("{TLS_DIR}/")
            } else if path.starts_with(CA_DIR) {
                format!("{CA_DIR}/")
            } else if path.starts_with(HBA_DIR) {
                // the folder, as a new folder: `cp --parents` (GNU 9.1) fails on the files
                // that follow a file whose parent folders it had to create
                format!("{HBA_DIR}/")
            } else {
                path.display().to_string()
            };
            if !items.contains(&item) {
                items.push(item);
            }
        }
        // absolute, as the command changes into the copy first
        let abs = |p: &Path| {
            std::fs::canonicalize(p)
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.to_path_buf())
        };
        let live = abs(tree.src()).display().to_string();
        let out = abs(tree.dest()).display().to_string();
        let list = items.join(" ");
        steps.push(format!(
            "put the result in place: from {out}, copy {list} over the live deployment {live}, keeping modes and owners and a numbered backup of each file it replaces (as root: cd {out} && cp -a --backup=numbered --parents {list} {live}/); or run `pgtls harden {live}` on the live folder itself. Never start the stack from {out}: it has no database"
        ));
    }
    let redeploy = match (layout.kind, tree.in_place()) {
        (LayoutKind::Upstream, true) => {
            format!("redeploy: docker compose up -d --force-recreate {services}")
        }
        (LayoutKind::Upstream, false) => format!(
            "redeploy, in the live deployment {}: docker compose up -d --force-recreate {services}",
            tree.src().display()
        ),
        (LayoutKind::Coolify, _) => {
            "redeploy the service from Coolify (it rewrites inline files on deploy)".to_owned()
        }
    };
    // only certificates or pg_hba.conf changed, the compose file did not: a reload (db) and a
    // restart (pooler) make it take effect; a recreate is not needed
    let changes = crate::effect::changes_of(planned);
    let compose_same = !crate::effect::needs_recreate(planned);
    if compose_same && !changes.is_empty() && layout.kind == LayoutKind::Upstream {
        let actions = crate::effect::actions(layout, &changes);
        steps.push(format!(
            "make it take effect (the compose file is unchanged; pgtls harden --reload does this): {}",
            actions.iter().map(crate::effect::Action::line).collect::<Vec<_>>().join("; ")
        ));
    } else {
        steps.push(redeploy);
    }
    let host = opts
        .extra_sans
        .iter()
        .find(|s| s.parse::<std::net::IpAddr>().is_err())
        .cloned()
        .unwrap_or_else(|| "<your-host>".to_owned());
    let tenant = layout
        .pooler
        .as_ref()
        .and_then(|p| p.environment.get("POOLER_TENANT_ID"))
        .map_or("<tenant-id>".to_owned(), |t| {
            if t.is_empty() || t.starts_with("${") {
                "<tenant-id>".to_owned()
            } else {
                t.clone()
            }
        });
    if layout.pooler.is_none() && layout.pgbouncer.is_some() {
        // PgBouncer has no tenants: no `.tenant` suffix in the pooled user
        steps.extend([
            format!("prove it from the wire: pgtls verify {host} --ca {CA_DIR}/ca.crt"),
            format!(
                "give clients the CA and verified connection strings: pgtls connstr --host {host} --pooler pgbouncer --ca ca.crt"
            ),
            "before the deploy, or any time: pgtls check <this folder>".to_owned(),
        ]);
        return steps;
    }
    steps.extend([
        format!(
            "prove it from the wire: pgtls verify {host} --ca {CA_DIR}/ca.crt --tenant {tenant}"
        ),
        format!(
            "give clients the CA and verified connection strings: pgtls connstr --host {host} --tenant {tenant} --ca ca.crt"
        ),
        "before the deploy, or any time: pgtls check <this folder>".to_owned(),
    ]);
    steps
}

/// Summary line of a change for the JSON report.
pub fn change_json(c: &FileChange) -> serde_json::Value {
    serde_json::json!({
        "path": c.path,
        "kind": c.kind,
        "new": c.before.is_none(),
        "mode": format!("{:04o}", c.mode),
        "owner": c.owner.map(|(u, g)| format!("{u}:{g}")),
    })
}

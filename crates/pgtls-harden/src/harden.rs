//! The hardening planner: facts -> ordered steps -> staged file changes. Pure: nothing is written.
//!
//! Steps (stable ids, in order): `copy` (only with `--out`), `certificates`, `pg-hba`,
//! `db-service`, `pooler-service`, `pooler-tenant`, `pgbouncer-service`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use compose_patch::{Selinux, VolumeMount};

use crate::compose_set::ComposeSet;
use pgtls_certs::{Ca, CaParams, KeyType, RenewalPolicy, ServerParams};
use pooler_exs::TenantLogic;

use crate::apply::DirSpec;
use crate::error::{Context as _, Error, Result};
use crate::layout::{Layout, LayoutKind, PoolerExs};
use crate::owner::{OwnerSource, PgData};
use crate::plan::{FileChange, FileKind, Staging};
use crate::report::{Code, Warning};
use crate::tree::Tree;

/// The deployment's paths and defaults live in [`crate::paths`]; re-exported at the paths
/// they have always had.
pub use crate::paths::{
    CA_DIR, DB_HBA_DIR_TARGET, DB_HBA_TARGET, DB_TLS_TARGET, DEFAULT_TRUSTED, HBA_DIR, HBA_HOST,
    LEGACY_HBA_HOST, POOLER_CERT_TARGET, POOLER_KEY_TARGET, POOLER_TLS_TARGET, TLS_DIR,
};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct HardenOptions {
    /// Extra SANs (`--domain`, `--san`).
    pub extra_sans: Vec<String>,
    /// Owner of the server key: the db container's postgres user.
    pub pg_owner: (u32, u32),
    /// Where that answer came from (recorded in the plan and in the state note).
    pub owner_source: OwnerSource,
    /// The Docker engine's userns-remap or rootless mode, when known: the pooler's root then
    /// cannot read a 0600 key it does not own.
    pub docker_remap: Option<String>,
    /// Trusted CIDRs.
    pub trusted: Vec<String>,
    /// Addresses inside them refused without TLS (gateways, proxies: see [`crate::trust`]).
    pub excluded: Vec<std::net::IpAddr>,
    /// Where the trusted list came from and what could not be known ([`crate::trust::decide`]):
    /// shown in the pg-hba step (`None`: the list was given as is).
    pub trust: Option<crate::trust::TrustedNetworks>,
    /// Key algorithm asked for (`None`: keep what exists, ECDSA P-256 for new keys).
    pub key_type: Option<KeyType>,
    /// Server certificate validity.
    pub days: u32,
    /// Rewrite create-only pooler.exs into an upsert.
    pub pooler_upsert: bool,
    /// The deployment's PostgreSQL major ([`crate::pgmajor`]); `None`: 15's rules, said so.
    pub pg_major: Option<crate::pgmajor::PgMajor>,
}

impl HardenOptions {
    /// The defaults the CLI uses: the server key owned by `pg_owner`, the private ranges
    /// ([`DEFAULT_TRUSTED`]) trusted, the existing key type kept (ECDSA P-256 for new keys), a
    /// 825-day server certificate, the pooler script left create-only.
    pub fn new(pg_owner: (u32, u32)) -> Self {
        Self {
            extra_sans: Vec::new(),
            pg_owner,
            owner_source: OwnerSource::Flag,
            docker_remap: None,
            trusted: DEFAULT_TRUSTED.map(String::from).to_vec(),
            excluded: Vec::new(),
            trust: None,
            key_type: None,
            days: DEFAULT_DAYS,
            pooler_upsert: false,
            pg_major: None,
        }
    }
}

/// The networks given (`--trusted-cidr`), or [`DEFAULT_TRUSTED`] when none.
pub fn trusted_or_default(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        DEFAULT_TRUSTED.map(String::from).to_vec()
    } else {
        given.to_vec()
    }
}

/// Default validity of a new server certificate, in days.
pub const DEFAULT_DAYS: u32 = 825;

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

/// The SANs the server certificate needs: the db and pooler service and container names,
/// `localhost`, `127.0.0.1`, `::1`, then the user's names.
pub fn wanted_sans(layout: &Layout, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = layout.db.network_names();
    if let Some(p) = &layout.pgbouncer {
        names.extend(p.network_names());
    }
    if let Some(p) = &layout.pooler {
        names.extend(p.network_names());
    }
    names.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
    names.extend(
        extra
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    );
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()));
    names
}

/// How the db sees its `pg_hba.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HbaMount {
    /// In a mounted folder: edits reach the running server.
    Folder,
    /// Not mounted: `harden` creates [`HBA_HOST`] and mounts [`HBA_DIR`].
    New,
    /// Mounted as a single file (pinned): `harden` moves it to [`HBA_HOST`] in the mounted
    /// [`HBA_DIR`] and drops the old mount; the old host file stays (not deleted).
    Migrate {
        /// The host file mounted so far.
        from: PathBuf,
        /// Its container path (the mount's target).
        old_target: String,
    },
}

/// Where the `pg_hba.conf` lives and will live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaLocation {
    /// Host path (relative to the deployment, or absolute) of the file harden writes.
    pub host: PathBuf,
    /// Its path inside the db container (`hba_file`).
    pub container: String,
    /// How it is mounted now.
    pub mount: HbaMount,
}

/// Where the `pg_hba.conf` lives: the file `hba_file` names on a folder mount is kept; a
/// single-file mount (`hba_file`'s own, or any `.../pg_hba.conf` bind) is migrated to
/// [`HBA_HOST`] in a mounted folder; otherwise [`HBA_HOST`] is new.
pub fn hba_location(layout: &Layout) -> HbaLocation {
    let settings = layout.db.pg_settings();
    let pinned = |from: PathBuf, old_target: String| HbaLocation {
        host: PathBuf::from(HBA_HOST),
        container: DB_HBA_TARGET.to_owned(),
        mount: HbaMount::Migrate { from, old_target },
    };
    if let Some(container) = settings.get("hba_file")
        && let Some(host) = host_path_for(layout, container)
    {
        if crate::mounts::single_file_mount(&layout.db, container).is_some() {
            return pinned(host, container.clone());
        }
        return HbaLocation {
            host,
            container: container.clone(),
            mount: HbaMount::Folder,
        };
    }
    if let Some(m) = layout
        .db
        .volumes
        .iter()
        .find(|m| m.bind && m.content.is_none() && m.target.ends_with("pg_hba.conf"))
        && let Some(host) = crate::layout::relative_host_path(&m.source)
    {
        return pinned(host, m.target.clone());
    }
    HbaLocation {
        host: PathBuf::from(HBA_HOST),
        container: DB_HBA_TARGET.to_owned(),
        mount: HbaMount::New,
    }
}

/// Maps a container path in the db service to a host path through its bind mounts.
pub fn host_path_for(layout: &Layout, container: &str) -> Option<PathBuf> {
    host_path_in(&layout.db, container)
}

/// Maps a container path in `svc` to a host path (relative when the bind source is `./...`).
pub fn host_path_in(svc: &crate::layout::Service, container: &str) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    for m in svc.volumes.iter().filter(|m| m.bind) {
        let target = m.target.trim_end_matches('/');
        let rest = if container == target {
            Some("")
        } else {
            container
                .strip_prefix(target)
                .and_then(|r| r.strip_prefix('/'))
        };
        if let (Some(rest), Some(host)) = (rest, crate::layout::relative_host_path(&m.source)) {
            let host = if rest.is_empty() {
                host
            } else {
                host.join(rest)
            };
            if best.as_ref().is_none_or(|(len, _)| target.len() > *len) {
                best = Some((target.len(), host));
            }
        }
    }
    best.map(|(_, p)| p)
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
        steps.push(plan_copy(&mut staging, layout, &mut dirs)?);
    }
    let mut certs_step = plan_certificates(&mut staging, layout, opts, &mut dirs, &mut warnings)?;
    if layout.pgbouncer.is_some() {
        crate::pgbouncer::plan_copy(&mut staging, &mut dirs, &mut certs_step)?;
    }
    steps.push(certs_step);
    let hba = hba_location(layout);
    steps.push(plan_hba(&mut staging, &hba, opts)?);

    let mut compose = ComposeSet::new(layout);
    let mut db_step = Step::new("db-service");
    let db_changed = edit_db_service(&mut compose, &staging, layout, &hba, &mut db_step)
        .with_context(|| format!("editing service \"{}\"", layout.db.key))?;
    db_step.notes.insert(0, format!(
        "service `{}`: -c hba_file ssl=on ssl_cert_file ssl_key_file ssl_ca_file; {TLS_DIR} mounted read-only at {DB_TLS_TARGET}, the folder of pg_hba.conf at {}",
        layout.db.key,
        hba.container.rsplit_once('/').map_or("/", |(d, _)| d)
    ));
    touch_compose(&mut db_step, &mut compose, db_changed);

    let mut pooler_step = Step::new("pooler-service");
    let mut tenant_step = Step::new("pooler-tenant");
    if let Some(pooler) = &layout.pooler {
        let changed = edit_pooler_service(&mut compose, &staging, layout, pooler, &mut pooler_step)
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
        plan_tenant(
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
    let mut pgbouncer_step = Step::new(crate::pgbouncer::STEP_ID);
    if let Some(svc) = &layout.pgbouncer {
        crate::pgbouncer::plan(&mut staging, &mut compose, layout, svc, &mut pgbouncer_step)
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
        .any(|s| s.id == "pooler-tenant" && !s.warnings.is_empty());
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

fn plan_copy(staging: &mut Staging<'_>, layout: &Layout, dirs: &mut Vec<DirSpec>) -> Result<Step> {
    let mut step = Step::new("copy");
    let tree = staging.tree();
    let skip: Vec<PathBuf> = layout.pgdata_host.iter().cloned().collect();
    let files = tree.src_files(&skip)?;
    let mut copied = 0usize;
    for rel in files {
        if tree.meta_dest(&rel).is_some() {
            continue;
        }
        let Some(bytes) = tree.read(&rel)? else {
            continue;
        };
        let mode = tree.meta_src(&rel).map_or(0o644, |m| m.mode);
        staging.write_exact(&rel, bytes, mode, None, FileKind::Copy, None)?;
        step.touch(&rel, true);
        copied += 1;
    }
    if let Some(pgdata) = layout
        .pgdata_host
        .as_ref()
        .filter(|p| tree.meta_dest(p).is_none())
        && let Some(meta) = tree.meta_src(pgdata)
    {
        dirs.push(DirSpec {
            path: pgdata.clone(),
            mode: meta.mode,
            owner: None,
        });
        step.notes.push(format!(
            "{} created empty (PGDATA; the source's contents are not copied)",
            pgdata.display()
        ));
    }
    step.notes
        .insert(0, format!("{copied} files copied from the source folder"));
    Ok(step)
}

fn cert_summary(pem: &str) -> String {
    match pgtls_certs::inspect(pem) {
        Ok(info) => format!(
            "certificate {} ({}, SANs {}, expires {}, sha256 {}…)",
            info.subject,
            info.key,
            if info.sans.is_empty() {
                "none".to_owned()
            } else {
                info.sans.join(" ")
            },
            info.not_after,
            info.sha256.get(..11).unwrap_or(&info.sha256)
        ),
        Err(_) => "certificate".to_owned(),
    }
}

fn key_summary(kind: &str) -> String {
    format!("{kind} private key")
}

fn plan_certificates(
    staging: &mut Staging<'_>,
    layout: &Layout,
    opts: &HardenOptions,
    dirs: &mut Vec<DirSpec>,
    warnings: &mut Vec<Warning>,
) -> Result<Step> {
    let mut step = Step::new("certificates");
    let ca_crt = Path::new(CA_DIR).join("ca.crt");
    let ca_key = Path::new(CA_DIR).join("ca.key");
    let tls = Path::new(TLS_DIR);
    let kt = opts.key_type.unwrap_or_default();
    if let Some(w) = kt.warning() {
        step.warnings.push(Warning::new(Code::KeyType, w));
    }
    let ca = match (staging.read(&ca_crt)?, staging.read(&ca_key)?) {
        (Some(c), Some(k)) => {
            let ca = Ca::load(&c, &k).with_context(|| {
                format!(
                    "loading the existing CA from \"{}\" and \"{}\"",
                    ca_crt.display(),
                    ca_key.display()
                )
            })?;
            step.notes
                .push(format!("existing CA reused ({})", ca.subject()));
            if let Some(meta) = staging.tree().meta(&ca_key).filter(|m| m.mode & 0o077 != 0) {
                warnings.push(Warning::new(Code::CaKeyExposed, format!(
                    "THE CA KEY WAS EXPOSED: \"{}\" is mode {:04o}, readable by other users of this host; it is rewritten 0600 now, but anyone who read it can issue certificates your clients trust. Make a new CA (move {CA_DIR}/ away and rerun harden), then give clients the new ca.crt",
                    ca_key.display(),
                    meta.mode
                )));
            }
            ca
        }
        (None, None) => {
            let ca = Ca::create(&CaParams {
                key_type: kt,
                ..CaParams::default()
            })
            .context("creating the CA")?;
            step.notes.push(format!(
                "new private CA ({}), key kept on the host in {CA_DIR}/ (never mounted)",
                ca.subject()
            ));
            ca
        }
        (Some(c), None)
            if let Some(k) = staging
                .read(Path::new(crate::apply::CA_KEY_PENDING))?
                .filter(|k| Ca::load(&c, k).is_ok()) =>
        {
            // an interrupted run wrote the CA certificate but had not yet renamed the staged
            // key to ca.key: adopt it (apply renames it into place first)
            let ca = Ca::load(&c, &k).with_context(|| {
                format!(
                    "adopting the staged CA key \"{}\"",
                    crate::apply::CA_KEY_PENDING
                )
            })?;
            step.notes.push(format!(
                "CA key staged by an interrupted run adopted ({}): {} completed",
                ca.subject(),
                ca_key.display()
            ));
            ca
        }
        (Some(_), None) => {
            return Err(Error::Refused(format!(
                "\"{}\" exists but \"{}\" does not: restore the CA key, or move the CA certificate away to create a new CA",
                ca_crt.display(),
                ca_key.display()
            )));
        }
        (None, Some(_)) => {
            return Err(Error::Refused(format!(
                "\"{}\" exists but \"{}\" does not: restore the CA certificate, or move the key away to create a new CA",
                ca_key.display(),
                ca_crt.display()
            )));
        }
    };
    let key_desc = ca.key_type().description();
    dirs.push(DirSpec {
        path: CA_DIR.into(),
        mode: 0o700,
        owner: None,
    });
    dirs.push(DirSpec {
        path: TLS_DIR.into(),
        mode: 0o755,
        owner: None,
    });
    let changed = staging.write_exact(
        &ca_crt,
        ca.cert_pem().as_bytes().to_vec(),
        0o644,
        None,
        FileKind::Certificate,
        Some(cert_summary(ca.cert_pem())),
    )?;
    step.touch(&ca_crt, changed);
    let changed = staging.write_exact(
        &ca_key,
        ca.key_pem().as_bytes().to_vec(),
        0o600,
        None,
        FileKind::PrivateKey,
        Some(key_summary(key_desc)),
    )?;
    step.touch(&ca_key, changed);

    let sans = wanted_sans(layout, &opts.extra_sans);
    let network: Vec<String> = wanted_sans(layout, &[]);
    let stray: Vec<String> = opts
        .extra_sans
        .iter()
        .filter(|n| {
            !n.contains('.')
                && !n.contains(':')
                && !network.iter().any(|w| w.eq_ignore_ascii_case(n))
        })
        .map(|n| format!("`{n}`"))
        .collect();
    if !stray.is_empty() {
        warnings.push(Warning::new(Code::SanUnreachable, format!(
            "{} is not a service or container name on this compose network, so no client there can reach the server by it (the usual recipe lists `supabase-supavisor`, but the upstream pooler container is `supabase-pooler`); names here: {}",
            stray.join(", "),
            network.join(", ")
        )));
    }
    let crt_path = tls.join("server.crt");
    let key_path = tls.join("server.key");
    let existing = match (staging.read(&crt_path)?, staging.read(&key_path)?) {
        (Some(c), Some(k)) => Some((
            String::from_utf8_lossy(&c).into_owned(),
            String::from_utf8_lossy(&k).into_owned(),
        )),
        _ => None,
    };
    let adopted_note = staging
        .read_text(&tls.join(crate::adopt::ADOPTED_NOTE))?
        .and_then(|t| crate::adopt::AdoptedNote::parse(&t));
    let mut keep_adopted = None;
    if let (Some(note), Some((cert, key))) = (&adopted_note, &existing)
        && crate::adopt::is_adopted(Some(note), cert)
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match pgtls_certs::check_adoptable(cert, key, &opts.extra_sans, now) {
            Ok(checked) => {
                step.notes.push(format!(
                    "adopted certificate kept ({}; issued by {}, until {}): its ACME client renews it; pgtls certs renew goes back to the private CA",
                    note.source, checked.leaf.issuer, checked.leaf.not_after
                ));
                warnings.extend(
                    checked
                        .warnings
                        .into_iter()
                        .map(|w| Warning::new(Code::AdoptedCertificate, w)),
                );
                keep_adopted = Some((cert.clone(), key.clone()));
            }
            Err(e) => step.notes.push(format!(
                "the adopted certificate ({}) can no longer serve ({e}): a leaf of the private CA replaces it",
                note.source
            )),
        }
    }
    let decision = existing.as_ref().map(|(cert, key)| {
        reusable(cert, key, ca.cert_pem(), &sans)?;
        match (opts.key_type, pgtls_certs::inspect(cert)) {
            (Some(_), Ok(info)) if info.key != kt.description() => Err(format!(
                "its key is {} and --key-type asks for {}",
                info.key,
                kt.description()
            )),
            _ => Ok(()),
        }
    });
    let (cert_pem, key_pem) = match (existing, decision) {
        _ if keep_adopted.is_some() => keep_adopted.unwrap_or_default(),
        (Some((cert, key)), Some(Ok(()))) => {
            step.notes.push("existing server certificate kept (chains to the CA, matches its key, covers every SAN, not due for renewal)".into());
            if let Ok(info) = pgtls_certs::inspect(&cert) {
                let stray: Vec<String> = info
                    .sans
                    .iter()
                    .filter(|s| !sans.iter().any(|w| w.eq_ignore_ascii_case(s)))
                    .map(|s| format!("`{s}`"))
                    .collect();
                if !stray.is_empty() {
                    warnings.push(Warning::new(Code::SanUnreachable, format!("the server certificate names {} which are not service or container names on this compose network nor given with --domain/--san (the usual recipe lists `supabase-supavisor`, but the upstream pooler container is `supabase-pooler`)", stray.join(", "))));
                }
            }
            (cert, key)
        }
        (_, decision) => {
            if let Some(Err(why)) = decision {
                step.notes
                    .push(format!("server certificate reissued: {why}"));
            }
            let issued = ca
                .issue_server(&ServerParams {
                    sans: sans.clone(),
                    days: opts.days,
                    key_type: kt,
                    common_name: None,
                })
                .context("issuing the server certificate")?;
            step.notes
                .push(format!("server certificate for {}", sans.join(", ")));
            (issued.cert_pem, issued.key_pem)
        }
    };
    let owner = Some(opts.pg_owner);
    let tls_ca = tls.join("ca.crt");
    let changed = staging.write_exact(
        &tls_ca,
        ca.cert_pem().as_bytes().to_vec(),
        0o644,
        owner,
        FileKind::Certificate,
        Some(cert_summary(ca.cert_pem())),
    )?;
    step.touch(&tls_ca, changed);
    let changed = staging.write_exact(
        &crt_path,
        cert_pem.as_bytes().to_vec(),
        0o644,
        owner,
        FileKind::Certificate,
        Some(cert_summary(&cert_pem)),
    )?;
    step.touch(&crt_path, changed);
    let key_kind = pgtls_certs::inspect(&cert_pem)
        .map(|i| i.key)
        .unwrap_or_default();
    let changed = staging.write_exact(
        &key_path,
        key_pem.into_bytes(),
        0o600,
        owner,
        FileKind::PrivateKey,
        Some(key_summary(&key_kind)),
    )?;
    step.touch(&key_path, changed);
    let (uid, gid) = opts.pg_owner;
    // the key as written, judged by the one rule from the reader's side
    let verdict = pgtls_certs::key_file_verdict(
        &format!("{DB_TLS_TARGET}/server.key"),
        pgtls_certs::KeyFileFacts {
            is_regular_file: true,
            uid,
            gid,
            mode: 0o600,
        },
        pgtls_certs::KeyReader::new(uid, gid),
    );
    if let Some(message) = verdict.message() {
        return Err(Error::Refused(format!(
            "a key owned by {uid}:{gid} with mode 0600 would not load: {message}"
        )));
    }
    step.notes.push(format!(
        "server.key mode 0600 owned by {uid}:{gid}: the db container's postgres user ({})",
        opts.owner_source.describe()
    ));
    let note = Path::new(crate::owner::STATE_NOTE);
    let user = crate::owner::DbUser {
        uid,
        gid,
        groups: Vec::new(),
        source: opts.owner_source.clone(),
    };
    let changed = staging.write(
        note,
        crate::owner::note_text(&user).into_bytes(),
        0o644,
        None,
        FileKind::Text,
        None,
    )?;
    step.touch(note, changed);
    Ok(step)
}

/// Whether an existing server cert/key pair can stay: `Err(reason)` when it must be reissued.
pub fn reusable(cert: &str, key: &str, ca_pem: &str, sans: &[String]) -> Result<(), String> {
    pgtls_certs::verify_chain(cert, ca_pem)
        .map_err(|e| format!("it does not chain to the CA ({e})"))?;
    match pgtls_certs::key_matches_cert(key, cert) {
        Ok(true) => {}
        Ok(false) => return Err("server.key does not match server.crt".into()),
        Err(e) => return Err(format!("server.key cannot be read ({e})")),
    }
    for name in sans {
        if !pgtls_certs::covers_host(cert, name).unwrap_or(false) {
            return Err(format!("it does not cover `{name}`"));
        }
    }
    let info = pgtls_certs::inspect(cert).map_err(|e| e.to_string())?;
    if let Some(reason) = pgtls_certs::renewal_reason(&info, &RenewalPolicy::default()) {
        return Err(format!("renewal due: {reason}"));
    }
    Ok(())
}

fn plan_hba(staging: &mut Staging<'_>, hba: &HbaLocation, opts: &HardenOptions) -> Result<Step> {
    let mut step = Step::new("pg-hba");
    let host = hba.host.as_path();
    let seed = match &hba.mount {
        HbaMount::Migrate { from, old_target } if staging.read_text(host)?.is_none() => {
            step.notes.push(format!(
                "{} moved to {host} in the folder {HBA_DIR} (mounted at {DB_HBA_DIR_TARGET}): the single-file mount at {old_target} pinned the old file, so edits never reached the running db; {} is left in place, no longer mounted",
                from.display(),
                from.display(),
                host = host.display()
            ));
            staging.read_text(from)?
        }
        _ => None,
    };
    let version = opts
        .pg_major
        .as_ref()
        .map_or(pg_hba::PgVersion::V15, crate::pgmajor::PgMajor::version);
    let (base, from) = match seed.or(staging.read_text(host)?) {
        Some(text) => (text, format!("{} edited", host.display())),
        None => (
            pg_hba::supabase_default_hba(version).to_owned(),
            format!(
                "{} created from the supabase/postgres {}.x image's default{}",
                host.display(),
                if version == pg_hba::PgVersion::V15 {
                    15
                } else {
                    17
                },
                if hba.mount == HbaMount::Folder {
                    " (the mounted file is missing)"
                } else {
                    ""
                }
            ),
        ),
    };
    let policy = pg_hba::Policy::with_trusted(&opts.trusted)
        .context("reading --trusted-cidr")?
        .excluding(opts.excluded.iter().copied());
    let options = pg_hba::ParseOptions {
        file_name: host.display().to_string(),
        version,
    };
    let (after, policy_warnings) = policy
        .apply_text(&base, options)
        .with_context(|| format!("applying the TLS policy to \"{}\"", host.display()))?;
    let changed = staging.write(host, after.into_bytes(), 0o644, None, FileKind::Text, None)?;
    step.notes.push(if changed {
        from
    } else {
        format!("{} already follows the TLS policy", host.display())
    });
    step.notes.push(match &opts.pg_major {
        Some(m) => format!("pg_hba.conf judged by the rules of {}", m.describe()),
        None => "pg_hba.conf judged by PostgreSQL 15's rules".to_owned(),
    });
    if let Some(m) = &opts.pg_major {
        step.warnings.extend(
            m.notes
                .iter()
                .map(|n| Warning::new(Code::PgMajorDisagrees, n.clone())),
        );
    }
    step.notes.push(format!(
        "plaintext allowed from loopback and {} (Docker-internal services){}; hostssl elsewhere; explicit hostnossl reject lines",
        opts.trusted.join(", "),
        opts.trust
            .as_ref()
            .map(|t| format!(": {}", t.source.describe()))
            .unwrap_or_default()
    ));
    if let Some(t) = &opts.trust {
        for e in &t.excluded {
            step.notes
                .push(format!("plaintext refused from {}: {}", e.addr, e.why));
        }
        step.warnings.extend(t.warnings.iter().cloned());
    }
    step.warnings.extend(
        policy_warnings
            .iter()
            .map(|w| Warning::new(Code::HbaPlaintextLeft, w.to_string())),
    );
    step.touch(host, changed);
    Ok(step)
}

pub(crate) fn selinux_for(layout: &Layout) -> Option<Selinux> {
    match layout.kind {
        LayoutKind::Upstream => Some(Selinux::Shared),
        LayoutKind::Coolify => None,
    }
}

/// Records on `step` the compose files an edit changed (or the base file, unchanged).
pub(crate) fn touch_compose(step: &mut Step, compose: &mut ComposeSet, changed: bool) {
    let touched = compose.take_touched();
    if touched.is_empty() {
        step.touch(compose.base(), changed);
    }
    for path in touched {
        step.touch(&path, true);
    }
}

fn edit_db_service(
    compose: &mut ComposeSet,
    staging: &Staging<'_>,
    layout: &Layout,
    hba: &HbaLocation,
    step: &mut Step,
) -> Result<bool> {
    let db = layout.db.key.as_str();
    let cert = format!("{DB_TLS_TARGET}/server.crt");
    let key = format!("{DB_TLS_TARGET}/server.key");
    let ca = format!("{DB_TLS_TARGET}/ca.crt");
    let mut changed = compose
        .ensure_command_settings(
            staging,
            db,
            &[
                ("hba_file", hba.container.as_str()),
                ("ssl", "on"),
                ("ssl_cert_file", &cert),
                ("ssl_key_file", &key),
                ("ssl_ca_file", &ca),
            ],
        )?
        .changed();
    let label = selinux_for(layout);
    let mut tls = VolumeMount::new(format!("./{TLS_DIR}"), DB_TLS_TARGET).read_only();
    tls.selinux = label;
    changed |= compose.ensure_volume(staging, db, tls)?.changed();
    if hba.mount != HbaMount::Folder {
        let mut dir = VolumeMount::new(format!("./{HBA_DIR}"), DB_HBA_DIR_TARGET).read_only();
        dir.selinux = label;
        changed |= compose.ensure_volume(staging, db, dir)?.changed();
    }
    if let HbaMount::Migrate { old_target, .. } = &hba.mount
        && compose.remove_volume(staging, db, old_target)?.changed()
    {
        changed = true;
        step.notes.push(format!(
            "single-file mount at {old_target} replaced by the folder mount ./{HBA_DIR}:{DB_HBA_DIR_TARGET}"
        ));
    }
    // single-file binds of the TLS folder's files (an earlier pgtls, or by hand)
    for (host, target) in crate::mounts::file_binds_from(&layout.db, TLS_DIR) {
        if compose.remove_volume(staging, db, &target)?.changed() {
            changed = true;
            step.notes.push(format!(
                "single-file mount {} -> {target} dropped: the folder mount ./{TLS_DIR}:{DB_TLS_TARGET} serves it",
                host.display()
            ));
        }
    }
    Ok(changed)
}

fn edit_pooler_service(
    compose: &mut ComposeSet,
    staging: &Staging<'_>,
    layout: &Layout,
    pooler: &crate::layout::Service,
    step: &mut Step,
) -> Result<bool> {
    let key = pooler.key.as_str();
    let label = selinux_for(layout);
    let mut m = VolumeMount::new(format!("./{TLS_DIR}"), POOLER_TLS_TARGET).read_only();
    m.selinux = label;
    let mut changed = compose.ensure_volume(staging, key, m)?.changed();
    changed |= compose
        .ensure_env(
            staging,
            key,
            "GLOBAL_DOWNSTREAM_CERT_PATH",
            POOLER_CERT_TARGET,
        )?
        .changed();
    changed |= compose
        .ensure_env(
            staging,
            key,
            "GLOBAL_DOWNSTREAM_KEY_PATH",
            POOLER_KEY_TARGET,
        )?
        .changed();
    // what an earlier pgtls mounted: ./volumes/tls/server.crt:/etc/ssl/server.crt, one file each
    for (host, target) in crate::mounts::file_binds_from(pooler, TLS_DIR) {
        if compose.remove_volume(staging, key, &target)?.changed() {
            changed = true;
            step.notes.push(format!(
                "single-file mount {} -> {target} replaced by the folder mount ./{TLS_DIR}:{POOLER_TLS_TARGET} (a renewal replaces the file; a single-file mount keeps serving the old one)",
                host.display()
            ));
        }
    }
    let ports = compose.ports(staging, key)?;
    for port in ["5432", "6543"] {
        let published = ports.iter().any(|p| container_port(p) == Some(port));
        if !published {
            changed |= compose
                .ensure_port(staging, key, &format!("{port}:{port}"))?
                .changed();
        }
    }
    Ok(changed)
}

/// The container port of a compose port spec (`[ip:][published:]target[/proto]`).
pub fn container_port(spec: &str) -> Option<&str> {
    let spec = spec.split('/').next()?;
    let last = spec.rsplit(':').next()?;
    Some(last.trim_matches(|c| c == '"' || c == '\''))
}

fn plan_tenant(
    staging: &mut Staging<'_>,
    compose: &mut ComposeSet,
    layout: &Layout,
    pooler: &crate::layout::Service,
    opts: &HardenOptions,
    step: &mut Step,
) -> Result<()> {
    match &layout.pooler_exs {
        PoolerExs::Missing => {
            step.status = StepStatus::Skipped;
            step.warnings.push(Warning::new(Code::PoolerExsMissing, format!(
                "no pooler.exs mount at {} in service `{}`: set enforce_ssl on the tenant through Supavisor's API (see below)",
                crate::layout::POOLER_EXS_TARGET,
                pooler.key
            )));
        }
        PoolerExs::File(path) => {
            let text = staging.read_text(path)?.with_context(|| {
                format!(
                    "\"{}\" is mounted into `{}` but does not exist",
                    path.display(),
                    pooler.key
                )
            })?;
            let (after, logic) = edit_script(&text, opts.pooler_upsert)
                .with_context(|| format!("editing \"{}\"", path.display()))?;
            trap_warnings(step, logic, opts.pooler_upsert);
            explicit_false_note(step, &text);
            let changed =
                staging.write(path, after.into_bytes(), 0o644, None, FileKind::Text, None)?;
            step.notes
                .push(format!("{}: \"enforce_ssl\" => true", path.display()));
            step.touch(path, changed);
        }
        PoolerExs::Inline { target, source } => {
            let text = compose
                .inline_content(staging, &pooler.key, target)?
                .with_context(|| format!("no inline content for {target} in `{}`", pooler.key))?;
            let (after, logic) = edit_script(&text, opts.pooler_upsert).with_context(|| {
                format!(
                    "editing the inline pooler.exs of `{}` in \"{}\"",
                    pooler.key,
                    layout.compose.display()
                )
            })?;
            trap_warnings(step, logic, opts.pooler_upsert);
            explicit_false_note(step, &text);
            let changed = compose
                .set_inline_content(staging, &pooler.key, target, &after)?
                .changed();
            step.notes.push(format!(
                "inline pooler.exs (`content:` of {target} in {}): \"enforce_ssl\" => true",
                layout.compose.display()
            ));
            touch_compose(step, compose, changed);
            // Coolify writes the content to the file on deploy; keep an existing copy in step
            if let Some(src) = source.as_ref().filter(|s| s.is_relative())
                && let Some(file_text) = staging.read_text(src)?
                && file_text != after
            {
                let (file_after, _) = edit_script(&file_text, opts.pooler_upsert)
                    .with_context(|| format!("editing \"{}\"", src.display()))?;
                let changed = staging.write(
                    src,
                    file_after.into_bytes(),
                    0o644,
                    None,
                    FileKind::Text,
                    None,
                )?;
                step.touch(src, changed);
            }
        }
    }
    Ok(())
}

/// `"enforce_ssl" => true` in a tenant script: a pooler.exs, or the Elixir inside a shell
/// script's `supavisor eval '...'` ([`pooler_exs::TenantFile`]); an explicit `false` flips.
fn edit_script(text: &str, upsert: bool) -> Result<(String, TenantLogic)> {
    let mut file = pooler_exs::TenantFile::parse(text)?;
    let script = file.script_mut();
    script.set_bool("enforce_ssl", true)?;
    let mut logic = script.tenant_logic();
    if upsert && logic == TenantLogic::CreateOnly {
        script.rewrite_to_upsert()?;
        logic = script.tenant_logic();
    }
    Ok((file.text()?, logic))
}

/// A script that upserts `"enforce_ssl" => false` at every pooler start undoes any other fix.
fn explicit_false_note(step: &mut Step, text: &str) {
    let before = pooler_exs::TenantFile::parse(text).and_then(|f| f.script().inspect());
    if let Ok(i) = before
        && i.enforce_ssl == pooler_exs::FlagState::False
        && i.tenant_logic == TenantLogic::Upsert
    {
        step.notes.push("the script said \"enforce_ssl\" => false and upserts the tenant at every pooler start, so setting enforce_ssl through Supavisor's API alone would be reverted at the next start: the script itself now says true".into());
    }
}

fn trap_warnings(step: &mut Step, logic: TenantLogic, upsert: bool) {
    match logic {
        TenantLogic::Upsert if upsert => step.notes.push("tenant logic rewritten to an upsert (update_tenant/2): enforce_ssl reaches the existing tenant on the next pooler restart".into()),
        TenantLogic::Upsert => step.notes.push("the script upserts the tenant: enforce_ssl reaches the existing tenant on the next pooler restart".into()),
        TenantLogic::CreateOnly => step.warnings.push(Warning::new(Code::TenantCreateOnly,
            "CREATE-ONLY TRAP: this pooler.exs only creates the tenant when it is missing. If the tenant already exists (it lives in the database volume), this edit changes nothing. Rerun with --pooler-upsert to rewrite it to update_tenant, or set enforce_ssl on the running pooler with the API call under Next steps",
        )),
        _ => step.warnings.push(Warning::new(Code::TenantLogicUnknown,
            "the tenant logic of pooler.exs is not recognised; make sure enforce_ssl reaches the existing tenant (the API call under Next steps does)",
        )),
    }
}

/// The variable name in `${NAME}` / `${NAME:-default}`, or `None` for a literal.
fn env_reference(value: &str) -> Option<&str> {
    let inner = value.strip_prefix("${")?.strip_suffix('}')?;
    let name = inner.split([':', '-', '?']).next()?;
    (!name.is_empty()).then_some(name)
}

/// A shell snippet that sets `enforce_ssl` on the existing tenant through Supavisor's API:
/// mints a short-lived HS256 JWT signed with the pooler's `API_JWT_SECRET` (read from `.env`)
/// and sends `PUT /api/tenants/<id>` from inside the pooler container (port 4000 is not
/// published). Supavisor updates the tenant and clears its cache.
pub fn api_call(pooler: &crate::layout::Service) -> String {
    let secret = pooler
        .env_as_written
        .get("API_JWT_SECRET")
        .and_then(|v| env_reference(v))
        .unwrap_or("JWT_SECRET");
    let tenant = match pooler.env_as_written.get("POOLER_TENANT_ID") {
        Some(v) if !v.is_empty() => env_reference(v).map_or_else(|| v.clone(), |n| format!("${n}")),
        _ => "$POOLER_TENANT_ID".to_owned(),
    };
    format!(
        "set enforce_ssl on the existing tenant through Supavisor's API (from the deployment folder):
       set -a; . ./.env; set +a
       b64url() {{ openssl base64 -A | tr '+/' '-_' | tr -d '='; }}
       H=$(printf '%s' '{{\"alg\":\"HS256\",\"typ\":\"JWT\"}}' | b64url)
       P=$(printf '{{\"iat\":%d,\"exp\":%d}}' \"$(date +%s)\" \"$(( $(date +%s) + 600 ))\" | b64url)
       S=$(printf '%s.%s' \"$H\" \"$P\" | openssl dgst -sha256 -hmac \"${secret}\" -binary | b64url)
       docker compose exec {service} curl -sS -X PUT \"http://127.0.0.1:4000/api/tenants/{tenant}\" \\
         -H \"Authorization: Bearer $H.$P.$S\" -H 'Content-Type: application/json' \\
         -d '{{\"tenant\":{{\"enforce_ssl\":true}}}}'",
        service = pooler.key,
    )
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
            .filter(|s| s.id != "copy")
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
    let compose_same = !planned.iter().any(|s| {
        s.status == StepStatus::Changed
            && matches!(
                s.id,
                "copy" | "db-service" | "pooler-service" | "pooler-tenant" | "pgbouncer-service"
            )
    });
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

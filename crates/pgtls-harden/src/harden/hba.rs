//! The `pg-hba` step: where `pg_hba.conf` lives (kept, new, or moved out of a single-file mount)
//! and its TLS-only rules.

use std::path::PathBuf;

use super::options::HardenOptions;
use crate::error::{Context as _, Result};
use crate::hba_base::{HbaBase, new_file_base};
use crate::ids::StepId;
use crate::layout::Layout;
use crate::mapping::host_path_for;
use crate::paths::{DB_HBA_DIR_TARGET, DB_HBA_TARGET, HBA_DIR, HBA_HOST};
use crate::plan::{FileKind, Staging};
use crate::report::{Code, Warning};
use crate::step::Step;

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

pub(super) fn plan_hba(
    staging: &mut Staging<'_>,
    hba: &HbaLocation,
    opts: &HardenOptions,
) -> Result<Step> {
    let mut step = Step::new(StepId::PgHba);
    let host = hba.host.as_path();
    let seed = match &hba.mount {
        HbaMount::Migrate { from, old_target } if staging.read_text(host)?.is_none() => {
            step.notes.push(format!(
                "{} moved to {host} in the folder {HBA_DIR} (mounted at {DB_HBA_DIR_TARGET}): the single-file mount at {old_target} pinned the old file, so edits never reached the running db; {} is left in place, no longer mounted",
                from.display(),
                from.display(),
                host = host.display()
            ));
            staging.read_text(from)?.map(|t| {
                (
                    t,
                    HbaBase::Migrated {
                        from: from.display().to_string(),
                    },
                )
            })
        }
        _ => None,
    };
    let version = opts
        .pg_major
        .as_ref()
        .map_or(pg_hba::PgVersion::V15, crate::pgmajor::PgMajor::version);
    let own = staging.read_text(host)?.map(|t| {
        (
            t,
            HbaBase::File {
                path: host.display().to_string(),
            },
        )
    });
    let (base, base_from) = match seed.or(own) {
        Some(found) => found,
        // a mounted folder without the file: the running server cannot be loading one from it
        None if hba.mount == HbaMount::Folder => new_file_base(
            Some(&Err("the mounted folder has no pg_hba.conf".into())),
            version,
        ),
        None => new_file_base(opts.running_hba.as_ref(), version),
    };
    let from = match &base_from {
        HbaBase::File { .. } | HbaBase::Migrated { .. } => format!("{} edited", host.display()),
        HbaBase::Container { .. } => format!(
            "{} created from the running db container's own pg_hba.conf",
            host.display()
        ),
        HbaBase::BuiltIn { major, .. } => format!(
            "{} created from the supabase/postgres {major}.x image's default",
            host.display()
        ),
    };
    let base_note = base_from.describe();
    step.hba_base = Some(base_from);
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
    step.notes.push(base_note);
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

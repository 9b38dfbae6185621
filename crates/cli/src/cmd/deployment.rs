//! Shared by `harden` and `check`: locate the deployment and resolve the db owner.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::DeploymentArgs;
use crate::error::{Error, parse_owner};
use crate::layout::{self, Layout};
use crate::tree::Tree;

/// Where the `--pg-owner` answer came from.
#[derive(Debug, Clone)]
pub struct Owner {
    /// `(uid, gid)`.
    pub ids: (u32, u32),
    /// Human explanation.
    pub source: String,
}

pub fn open(args: &DeploymentArgs, out: Option<&Path>) -> anyhow::Result<(Tree, Layout)> {
    if !args.dir.is_dir() {
        anyhow::bail!(Error::BadValue {
            flag: "DIR",
            value: args.dir.display().to_string(),
            reason: "not a folder".into(),
        });
    }
    let tree = Tree::new(&args.dir, out);
    let layout = layout::detect(&tree, args.layout.map(Into::into))?;
    Ok((tree, layout))
}

/// `--pg-owner`, else the owner of the host PGDATA folder, else `None`.
pub fn pg_owner(
    args: &DeploymentArgs,
    tree: &Tree,
    layout: &Layout,
) -> anyhow::Result<Option<Owner>> {
    if let Some(value) = &args.pg_owner {
        let ids = parse_owner("--pg-owner", value)?;
        return Ok(Some(Owner {
            ids,
            source: "--pg-owner".into(),
        }));
    }
    if let Some(pgdata) = &layout.pgdata_host {
        // the source's folder: a copy made by --out is owned by whoever ran pgtls
        if let Some(meta) = tree.meta_src(pgdata) {
            return Ok(Some(Owner {
                ids: (meta.uid, meta.gid),
                source: format!("owner of the host PGDATA folder {}", pgdata.display()),
            }));
        }
    }
    Ok(None)
}

/// The refusal when the owner cannot be found.
pub fn owner_refusal(layout: &Layout) -> Error {
    let where_ = match layout.db.mount_for(layout::PGDATA_TARGET) {
        Some(m) if !m.bind => format!("a named volume (`{}`)", m.source),
        Some(m) => format!("`{}`, which does not exist on this host", m.source),
        None => "no mount at all".to_owned(),
    };
    let image = layout.db.image.as_deref().unwrap_or("supabase/postgres");
    Error::Refused(format!(
        "cannot tell which uid the db container's postgres user has: PGDATA is {where_}, and the supabase/postgres image has no fixed uid (105:106 in some builds, 100:101 in others). Pass --pg-owner UID:GID; find it with `docker compose exec {} id postgres` or `docker run --rm --entrypoint id {image} postgres`",
        layout.db.key
    ))
}

pub fn context_dir(dir: &Path) -> String {
    format!("deployment folder \"{}\"", dir.display())
}

pub fn with_dir<T, E: Into<anyhow::Error>>(r: Result<T, E>, dir: &Path) -> anyhow::Result<T> {
    r.map_err(Into::into).with_context(|| context_dir(dir))
}

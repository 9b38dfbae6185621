//! Shared by `harden` and `check`: locate the deployment and resolve the db owner.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::DeploymentArgs;
use crate::error::{Error, parse_owner};
use crate::layout::{self, Layout};
use crate::tree::Tree;
pub use pgtls_harden::owner::owner_refusal;

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
    Ok(
        pgtls_harden::owner::pgdata_owner(tree, layout).map(|(ids, pgdata)| Owner {
            ids,
            source: format!("owner of the host PGDATA folder {}", pgdata.display()),
        }),
    )
}

/// Names the deployment folder in an error.
pub fn with_dir<T, E: Into<anyhow::Error>>(r: Result<T, E>, dir: &Path) -> anyhow::Result<T> {
    r.map_err(Into::into)
        .with_context(|| format!("deployment folder \"{}\"", dir.display()))
}

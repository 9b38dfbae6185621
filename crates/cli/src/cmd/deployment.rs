//! Shared by `harden` and `check`: locate the deployment and resolve the db owner.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::DeploymentArgs;
use crate::error::{Error, parse_db_owner};
use crate::layout::{self, Layout};
use crate::owner::{self, DbFacts};
use crate::tree::Tree;
use pgtls_harden::docker::DockerCli;

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

/// The db facts (PGDATA state, the db user and where that answer came from) for `harden` and
/// `check`, asking the Docker engine on this host when the files do not tell.
///
/// # Errors
/// A malformed `--pg-owner`, or a PGDATA bind source that is a file or a symlink.
pub fn db_facts(args: &DeploymentArgs, tree: &Tree, layout: &Layout) -> anyhow::Result<DbFacts> {
    let flag = args
        .pg_owner
        .as_deref()
        .map(|v| parse_db_owner("--pg-owner", v))
        .transpose()?;
    Ok(owner::db_facts(tree, layout, flag, &DockerCli::from_env())?)
}

/// The trusted networks for `harden` (`--trusted-cidr`, else the engine, the compose file's
/// ipam, the private ranges), asking the Docker engine on this host.
pub fn trust(
    tree: &Tree,
    layout: &Layout,
    flag: &[String],
) -> anyhow::Result<pgtls_harden::TrustedNetworks> {
    Ok(pgtls_harden::trust::for_layout(
        tree,
        layout,
        flag,
        &DockerCli::from_env(),
    )?)
}

/// Names the deployment folder in an error.
pub fn with_dir<T, E: Into<anyhow::Error>>(r: Result<T, E>, dir: &Path) -> anyhow::Result<T> {
    r.map_err(Into::into)
        .with_context(|| format!("deployment folder \"{}\"", dir.display()))
}

//! The deployment's PGDATA as the host folder shows it ([`PgData`]): whether a database was
//! initialized there, and by which uid.

use std::path::{Path, PathBuf};

use crate::layout::Layout;
use crate::source::Source;
use crate::tree::Tree;

/// What the host shows of PGDATA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum PgData {
    /// A bind-mounted folder holding a data directory that PostgreSQL has initialized.
    Initialized {
        /// The folder.
        path: PathBuf,
        /// Its owner uid.
        uid: u32,
        /// Its owner gid.
        gid: u32,
        /// `PG_VERSION`'s content.
        version: String,
    },
    /// A bind-mounted folder with no database yet: the stack has never started (or the folder
    /// was replaced).
    Uninitialized {
        /// The folder.
        path: PathBuf,
        /// `missing`, `empty`, or `no PG_VERSION`.
        why: String,
    },
    /// A named volume: its content is not visible from the deployment folder.
    NamedVolume {
        /// The volume name.
        name: String,
    },
    /// No mount at the PGDATA path in the db service.
    NotMounted,
}

impl PgData {
    /// Whether the deployment has surely not been started yet.
    pub fn uninitialized(&self) -> bool {
        matches!(self, Self::Uninitialized { .. })
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Initialized {
                path,
                uid,
                gid,
                version,
            } => format!(
                "PGDATA {} is an initialized PostgreSQL {version} data directory owned by {uid}:{gid}",
                path.display()
            ),
            Self::Uninitialized { path, why } => format!(
                "PGDATA {} is not initialized ({why}): this deployment has not been started yet",
                path.display()
            ),
            Self::NamedVolume { name } => format!(
                "PGDATA is the named volume `{name}`: whether it is initialized is unknown from here"
            ),
            Self::NotMounted => {
                "PGDATA is not mounted from the host: whether it is initialized is unknown"
                    .to_owned()
            }
        }
    }
}

pub use crate::error::PgDataError;

/// Reads the state of the bind-mounted PGDATA folder `rel` of `src`.
///
/// # Errors
/// A file or symlink where the folder should be, or a folder that cannot be listed.
pub fn pgdata_state(src: &dyn Source, rel: &Path) -> Result<PgData, PgDataError> {
    if src.is_symlink(rel) {
        return Err(PgDataError::Symlink(src.root().join(rel)));
    }
    let Some(meta) = src.metadata(rel) else {
        return Ok(PgData::Uninitialized {
            path: rel.to_path_buf(),
            why: "missing".into(),
        });
    };
    if !meta.is_dir {
        return Err(PgDataError::NotAFolder(src.root().join(rel)));
    }
    let unreadable = |e: crate::Error| PgDataError::Unreadable {
        path: src.root().join(rel),
        reason: e.to_string(),
    };
    if let Some(v) = src.read(&rel.join("PG_VERSION")).map_err(unreadable)? {
        return Ok(PgData::Initialized {
            path: rel.to_path_buf(),
            uid: meta.uid,
            gid: meta.gid,
            version: String::from_utf8_lossy(&v).trim().to_owned(),
        });
    }
    let empty = src.list_dir(rel).map_err(unreadable)?.is_empty();
    Ok(PgData::Uninitialized {
        path: rel.to_path_buf(),
        why: if empty { "empty" } else { "no PG_VERSION" }.into(),
    })
}

/// The state of `layout`'s PGDATA as the source folder of `tree` shows it.
///
/// # Errors
/// A PGDATA bind source that is a file or a symlink, or cannot be read.
pub fn pgdata(tree: &Tree, layout: &Layout) -> Result<PgData, PgDataError> {
    let Some(mount) = layout.db.mount_for(crate::layout::PGDATA_TARGET) else {
        return Ok(PgData::NotMounted);
    };
    if !mount.bind {
        return Ok(PgData::NamedVolume {
            name: mount.source.clone(),
        });
    }
    let Some(rel) = &layout.pgdata_host else {
        return Ok(PgData::NotMounted);
    };
    pgdata_state(tree.src_source(), rel)
}

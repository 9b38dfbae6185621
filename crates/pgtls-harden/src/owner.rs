//! Who must own the server key: the uid the db container's `postgres` user has.
//!
//! The supabase/postgres image has no fixed uid (105:106 in some builds, 100:101 in others), so
//! the answer comes from the caller (`--pg-owner`) or from the owner of the host PGDATA folder
//! when PGDATA is a bind mount.

use std::path::PathBuf;

use crate::error::Error;
use crate::layout::{Layout, PGDATA_TARGET};
use crate::plan::FileChange;
use crate::tree::Tree;

/// The owner `(uid, gid)` of the host PGDATA folder in the source, and that folder.
pub fn pgdata_owner(tree: &Tree, layout: &Layout) -> Option<((u32, u32), PathBuf)> {
    let pgdata = layout.pgdata_host.as_ref()?;
    // the source's folder: a copy made by --out is owned by whoever ran pgtls
    let meta = tree.meta_src(pgdata)?;
    Some(((meta.uid, meta.gid), pgdata.clone()))
}

/// The refusal when the owner cannot be found.
pub fn owner_refusal(layout: &Layout) -> Error {
    let where_ = match layout.db.mount_for(PGDATA_TARGET) {
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

/// When the writer runs as `me` (not root), files planned for another owner cannot be written:
/// the reason, to refuse before writing anything rather than half-way.
pub fn owner_problem(changes: &[FileChange], me: u32) -> Option<String> {
    if me == 0 {
        return None;
    }
    let (uid, gid) = changes
        .iter()
        .filter_map(|c| c.owner)
        .find(|(uid, _)| *uid != me)?;
    Some(format!(
        "the server key must be owned by {uid}:{gid}, but pgtls runs as uid {me} and only root can give files away: run it with sudo, or pass --pg-owner with your own uid:gid for a test copy"
    ))
}

//! The db service's items: `db-command` (its TLS settings), `pgdata` (the database's state and
//! owner), the mounts of the files it reads, and the files pinned by single-file mounts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::items::{Ctx, HARDEN_FIX, merged_note};
use crate::ids::CheckId;
use crate::layout::{Layout, Service};
use crate::owner::{DbUser, PgData};

pub(super) fn check_db_settings(
    cx: &mut Ctx<'_, '_>,
    settings: &BTreeMap<String, String>,
    layout: &Layout,
) {
    let missing: Vec<&str> = ["hba_file", "ssl_cert_file", "ssl_key_file", "ssl_ca_file"]
        .into_iter()
        .filter(|k| !settings.contains_key(*k))
        .collect();
    let ssl_on = settings
        .get("ssl")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    if ssl_on && missing.is_empty() {
        cx.pass(
            CheckId::DbCommand,
            "db command sets ssl=on, hba_file, ssl_cert_file, ssl_key_file, ssl_ca_file",
        );
    } else {
        let mut why = Vec::new();
        if !ssl_on {
            why.push("ssl is not on (the image ships ssl = off)".to_owned());
        }
        if !missing.is_empty() {
            why.push(format!("missing -c {}", missing.join(", -c ")));
        }
        let mut detail = why.join("; ");
        if let Some(origin) = layout.overridden_command(&layout.db.key) {
            detail = format!(
                "{detail}: the db command Compose runs is the one at {origin}, which replaces the command of {}",
                layout.compose.display()
            );
        }
        cx.fail(CheckId::DbCommand, merged_note(layout, &detail), HARDEN_FIX);
    }
}

/// `pgdata`: the database's state. An initialized data directory tells the server's uid (it
/// runs as the folder's owner), so a different db user fails; a folder with no database yet is
/// a deployment that has never started (or a copy made by `harden --out`): a warning.
pub(super) fn check_pgdata(cx: &mut Ctx<'_, '_>, layout: &Layout, user: Option<&DbUser>) {
    match crate::owner::pgdata(cx.staging.tree(), layout) {
        Err(e) => cx.fail(CheckId::Pgdata, e.to_string(), "fix the PGDATA volume of the db service"),
        Ok(state @ PgData::Initialized { uid, gid, .. }) => match user {
            Some(u) if u.uid != uid => cx.fail(
                CheckId::Pgdata,
                format!(
                    "{}, but the db user is taken to be {} ({}): the server runs as the data directory's owner",
                    state.describe(),
                    u.ids(),
                    u.source.describe()
                ),
                format!("use --pg-owner {uid}:{gid}"),
            ),
            _ => cx.pass(CheckId::Pgdata, state.describe()),
        },
        Ok(state @ PgData::Uninitialized { .. }) => cx.warn(
            CheckId::Pgdata,
            state.describe(),
            "if this is the live deployment, start the stack once and let its setup finish before deploying TLS; if it is a copy made by `pgtls harden --out`, copy its files over the live deployment",
        ),
        Ok(state) => cx.warn(
            CheckId::Pgdata,
            state.describe(),
            "check on the Docker host that the database has been initialized (`docker compose ps`)",
        ),
    }
}

/// Files pgtls rewrites, mounted one by one: a renewal or an hba edit never reaches the
/// running container (see [`crate::mounts`]).
pub(super) fn check_pinned(cx: &mut Ctx<'_, '_>, layout: &Layout) {
    let pinned = crate::mounts::pinned_files(layout);
    if pinned.is_empty() {
        cx.pass(
            CheckId::FileMounts,
            "the files pgtls rewrites (certificates, key, pg_hba.conf) reach the containers through folder mounts",
        );
    } else {
        let list: Vec<String> = pinned
            .iter()
            .map(crate::mounts::PinnedFile::describe)
            .collect();
        cx.fail(
            CheckId::FileMounts,
            list.join("; "),
            "rerun pgtls harden: it mounts the folders instead and shows the diff",
        );
    }
}

pub(super) fn check_mounts(
    cx: &mut Ctx<'_, '_>,
    db: &Service,
    files: [&Option<(String, Option<PathBuf>)>; 4],
) {
    let mut problems = Vec::new();
    let mut writable = Vec::new();
    let mut count = 0;
    for (container, host) in files.into_iter().flatten() {
        count += 1;
        match host {
            None => problems.push(format!(
                "{container} is not on a bind mount of the db service"
            )),
            Some(host) => {
                if host.is_relative() && cx.staging.read(host).ok().flatten().is_none() {
                    problems.push(format!(
                        "{container} -> {} does not exist on the host",
                        host.display()
                    ));
                }
                let ro = db.volumes.iter().filter(|m| m.bind).any(|m| {
                    let t = m.target.trim_end_matches('/');
                    (container == t || container.starts_with(&format!("{t}/"))) && m.read_only
                });
                if !ro {
                    writable.push(container.clone());
                }
            }
        }
    }
    if count == 0 {
        cx.fail(
            CheckId::DbMounts,
            "no TLS or pg_hba.conf files configured",
            HARDEN_FIX,
        );
    } else if !problems.is_empty() {
        cx.fail(
            CheckId::DbMounts,
            problems.join("; "),
            "mount the files into the db service (pgtls harden does)",
        );
    } else if !writable.is_empty() {
        cx.warn(
            CheckId::DbMounts,
            format!("mounted read-write: {}", writable.join(", ")),
            "add :ro to the mounts",
        );
    } else {
        cx.pass(
            CheckId::DbMounts,
            format!("{count} files mounted read-only and present on the host"),
        );
    }
}

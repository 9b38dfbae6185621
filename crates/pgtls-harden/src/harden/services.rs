//! The `db-service` and `pooler-service` steps: the compose edits (TLS folder mounts, `-c`
//! settings, environment, ports); the path mapping they use is in [`crate::mapping`].

use compose_patch::{Selinux, VolumeMount};

use super::hba::{HbaLocation, HbaMount};
use crate::compose_set::ComposeSet;
use crate::error::Result;
use crate::layout::{Layout, LayoutKind};
use crate::mapping::container_port;
use crate::paths::{
    DB_HBA_DIR_TARGET, DB_TLS_TARGET, HBA_DIR, POOLER_CERT_TARGET, POOLER_KEY_TARGET,
    POOLER_TLS_TARGET, TLS_DIR,
};
use crate::plan::Staging;
use crate::step::Step;

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

pub(super) fn edit_db_service(
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

pub(super) fn edit_pooler_service(
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

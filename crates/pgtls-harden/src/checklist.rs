//! The pre-deployment checklist, verified from the files (or from a staged plan).
//!
//! Every item follows the db and pooler services' own settings and mounts, so it checks any
//! deployment, not only one `harden` wrote. Item ids are stable (the `check --json` contract).
//!
//! This file holds the items' types and [`run`], which runs the families in order; each family
//! is in its own module: `db` (the db service, PGDATA, mounts), `certs` (CA, server certificate,
//! key permissions), `hba` (`pg_hba.conf`, trusted networks), `pooler` (Supavisor, PgBouncer,
//! the tenant script).

use crate::layout::Layout;
use crate::plan::Staging;

mod certs;
mod db;
mod hba;
mod items;
mod pooler;

pub use self::items::{CheckOptions, Checklist, Item, Verdict};
use self::items::{Ctx, merged_note, setting_file};
pub use crate::ids::CheckId;

pub use self::certs::SYSTEM_ROOTS;
use self::certs::{check_ca, check_certificates};
use self::db::{check_db_settings, check_mounts, check_pgdata, check_pinned};
use self::hba::check_hba;
use self::pooler::{check_pgbouncer, check_pooler, check_tenant};

/// Runs every check over the staged (or on-disk) state.
pub fn run(staging: &Staging<'_>, layout: &Layout, opts: &CheckOptions) -> Checklist {
    let mut cx = Ctx {
        staging,
        items: Vec::new(),
    };
    let db = &layout.db;
    let settings = db.pg_settings();
    check_db_settings(&mut cx, &settings, layout);
    check_pgdata(&mut cx, layout, opts.db_user.as_ref());
    let cert = setting_file(db, &settings, "ssl_cert_file");
    let key = setting_file(db, &settings, "ssl_key_file");
    let ca = setting_file(db, &settings, "ssl_ca_file");
    let hba = setting_file(db, &settings, "hba_file");
    check_mounts(&mut cx, db, [&cert, &key, &ca, &hba]);
    check_pinned(&mut cx, layout);
    check_certificates(&mut cx, cert.as_ref(), key.as_ref(), ca.as_ref(), opts);
    check_ca(&mut cx, cert.as_ref(), ca.as_ref());
    check_hba(
        &mut cx,
        hba.as_ref(),
        &settings,
        opts.trust.as_ref(),
        opts.pg_major.as_ref(),
    );
    match &layout.pooler {
        Some(pooler) => {
            check_pooler(&mut cx, pooler, layout);
            check_tenant(&mut cx, layout, pooler);
        }
        None if layout.pgbouncer.is_some() => {}
        None => cx.warn(
            CheckId::PoolerService,
            merged_note(layout, "no pooler service runs"),
            "nothing to check for Supavisor",
        ),
    }
    if let Some(svc) = &layout.pgbouncer {
        check_pgbouncer(&mut cx, layout, svc);
    }
    let verdict = if cx.items.iter().any(|i| i.verdict == Verdict::Fail) {
        "fail"
    } else {
        "pass"
    };
    Checklist {
        verdict,
        items: cx.items,
    }
}

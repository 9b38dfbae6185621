//! The pre-deployment checklist, verified from the files (or from a staged plan).
//!
//! Every item follows the db and pooler services' own settings and mounts, so it checks any
//! deployment, not only one `harden` wrote. Item ids are stable (the `check --json` contract).
//!
//! This file holds the items' types and [`run`], which runs the families in order; each family
//! is in its own module: `db` (the db service, PGDATA, mounts), `certs` (CA, server certificate,
//! key permissions), `hba` (`pg_hba.conf`, trusted networks), `pooler` (Supavisor, PgBouncer,
//! the tenant script).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harden::host_path_in;
use crate::layout::{Layout, Service};
use crate::owner::DbUser;
use crate::plan::Staging;

mod certs;
mod db;
mod hba;
mod pooler;

pub use self::certs::SYSTEM_ROOTS;
use self::certs::{check_ca, check_certificates};
use self::db::{check_db_settings, check_mounts, check_pgdata, check_pinned};
use self::hba::check_hba;
use self::pooler::{check_pgbouncer, check_pooler, check_tenant};

/// Verdict of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Fails the checklist.
    Fail,
    /// Worth knowing; does not fail.
    Warn,
}

impl Verdict {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
        }
    }
}

/// One checklist line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    /// Stable id.
    pub id: &'static str,
    /// Verdict.
    pub verdict: Verdict,
    /// Short reason.
    pub detail: String,
    /// How to fix it, when it does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The checklist.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checklist {
    /// `pass` or `fail`.
    pub verdict: &'static str,
    /// Items in order.
    pub items: Vec<Item>,
}

impl Checklist {
    /// Whether any item failed.
    pub fn failed(&self) -> bool {
        self.items.iter().any(|i| i.verdict == Verdict::Fail)
    }

    /// The items that failed, in order.
    pub fn failing(&self) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.verdict == Verdict::Fail)
            .collect()
    }
}

/// What the checks need besides the files.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The db container's postgres user (the key's reader), when a fact tells it.
    pub db_user: Option<DbUser>,
    /// Names clients use (must be SANs).
    pub sans: Vec<String>,
    /// Warn when fewer days are left.
    pub expiry_warn_days: u32,
    /// The trusted networks and the addresses that must not get plaintext, as
    /// [`crate::trust::decide`] found them now (`None`: the `hba-trust` item is not run).
    pub trust: Option<crate::trust::TrustedNetworks>,
    /// The deployment's PostgreSQL major ([`crate::pgmajor`]); `None`: 15's rules, said so.
    pub pg_major: Option<crate::pgmajor::PgMajor>,
}

struct Ctx<'s, 'a> {
    staging: &'s Staging<'a>,
    items: Vec<Item>,
}

impl Ctx<'_, '_> {
    fn push(
        &mut self,
        id: &'static str,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.items.push(Item {
            id,
            verdict,
            detail: detail.into(),
            fix,
        });
    }
    fn pass(&mut self, id: &'static str, detail: impl Into<String>) {
        self.push(id, Verdict::Pass, detail, None);
    }
    fn fail(&mut self, id: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Fail, detail, Some(fix.into()));
    }
    fn warn(&mut self, id: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Warn, detail, Some(fix.into()));
    }
    fn text(&self, rel: &Path) -> Option<String> {
        self.staging.read_text(rel).ok().flatten()
    }
}

const HARDEN_FIX: &str = "run `pgtls harden <folder>`";

/// A file named by a db setting: container path and host path (when on a bind mount).
type FileRef = (String, Option<PathBuf>);

/// Resolves a db setting naming a file to `(container path, host path)`.
fn setting_file(
    db: &Service,
    settings: &BTreeMap<String, String>,
    name: &str,
) -> Option<(String, Option<PathBuf>)> {
    let value = settings.get(name)?;
    let container = if value.starts_with('/') {
        value.clone()
    } else {
        // relative settings are resolved against PGDATA
        format!("{}/{value}", crate::layout::PGDATA_TARGET)
    };
    let host = host_path_in(db, &container);
    Some((container, host))
}

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
            "pooler-service",
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

/// `detail`, followed by the files Compose merges when there are several.
fn merged_note(layout: &Layout, detail: &str) -> String {
    if layout.files.len() > 1 {
        format!("{detail} (as Compose merges {})", layout.files_shown())
    } else {
        detail.to_owned()
    }
}

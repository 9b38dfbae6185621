//! The checklist's types ([`Item`], [`Verdict`], [`Checklist`], [`CheckOptions`]) and what the
//! item families share: the context they write their items into, the file a db setting names,
//! the fix that says "run harden".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ids::CheckId;
use crate::layout::{Layout, Service};
use crate::mapping::host_path_in;
use crate::owner::DbUser;
use crate::plan::Staging;

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
    pub id: CheckId,
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
    /// `trust::decide` found them now (`None`: the `hba-trust` item is not run).
    pub trust: Option<crate::trust::TrustedNetworks>,
    /// The deployment's PostgreSQL major ([`crate::pgmajor`]); `None`: 15's rules, said so.
    pub pg_major: Option<crate::pgmajor::PgMajor>,
}

pub(super) struct Ctx<'s, 'a> {
    pub(super) staging: &'s Staging<'a>,
    pub(super) items: Vec<Item>,
}

impl Ctx<'_, '_> {
    pub(super) fn push(
        &mut self,
        id: CheckId,
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
    pub(super) fn pass(&mut self, id: CheckId, detail: impl Into<String>) {
        self.push(id, Verdict::Pass, detail, None);
    }
    pub(super) fn fail(&mut self, id: CheckId, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Fail, detail, Some(fix.into()));
    }
    pub(super) fn warn(&mut self, id: CheckId, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(id, Verdict::Warn, detail, Some(fix.into()));
    }
    pub(super) fn text(&self, rel: &Path) -> Option<String> {
        self.staging.read_text(rel).ok().flatten()
    }
}

pub(super) const HARDEN_FIX: &str = "run `pgtls harden <folder>`";

/// A file named by a db setting: container path and host path (when on a bind mount).
pub(super) type FileRef = (String, Option<PathBuf>);

/// Resolves a db setting naming a file to `(container path, host path)`.
pub(super) fn setting_file(
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

/// `detail`, followed by the files Compose merges when there are several.
pub(super) fn merged_note(layout: &Layout, detail: &str) -> String {
    if layout.files.len() > 1 {
        format!("{detail} (as Compose merges {})", layout.files_shown())
    } else {
        detail.to_owned()
    }
}

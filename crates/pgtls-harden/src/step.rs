//! One step of a plan: its stable id, status, files, notes and coded warnings. Below the planner
//! ([`crate::harden`]) and what reads its steps ([`crate::effect`]), so neither imports the other
//! for it.

use std::path::{Path, PathBuf};

use crate::hba_base::HbaBase;
pub use crate::ids::StepId;
use crate::report::Warning;

/// Status of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Files change.
    Changed,
    /// Already done.
    Unchanged,
    /// Not applicable.
    Skipped,
}

/// One step of the plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// Stable id.
    pub id: StepId,
    /// Changed / unchanged / skipped.
    pub status: StepStatus,
    /// Files the step touches (relative).
    pub files: Vec<PathBuf>,
    /// What the step does or found, one line each.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Things the user must know.
    pub warnings: Vec<Warning>,
    /// Where the hardened `pg_hba.conf`'s text came from (the pg-hba step only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hba_base: Option<HbaBase>,
}

impl Step {
    /// A step with this id, unchanged so far.
    pub(crate) fn new(id: StepId) -> Self {
        Self {
            id,
            status: StepStatus::Unchanged,
            files: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            hba_base: None,
        }
    }

    /// Records that the step touches `path`, changed or not.
    pub(crate) fn touch(&mut self, path: &Path, changed: bool) {
        if !self.files.iter().any(|f| f == path) {
            self.files.push(path.to_path_buf());
        }
        if changed {
            self.status = StepStatus::Changed;
        }
    }
}

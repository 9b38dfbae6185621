//! The `copy` step (`--out`): the source folder copied to the destination, PGDATA created empty.

use std::path::PathBuf;

use crate::apply::DirSpec;
use crate::error::Result;
use crate::ids::StepId;
use crate::layout::Layout;
use crate::plan::{FileKind, Staging};
use crate::step::Step;

pub(super) fn plan_copy(
    staging: &mut Staging<'_>,
    layout: &Layout,
    dirs: &mut Vec<DirSpec>,
) -> Result<Step> {
    let mut step = Step::new(StepId::Copy);
    let tree = staging.tree();
    let skip: Vec<PathBuf> = layout.pgdata_host.iter().cloned().collect();
    let files = tree.src_files(&skip)?;
    let mut copied = 0usize;
    for rel in files {
        if tree.meta_dest(&rel).is_some() {
            continue;
        }
        let Some(bytes) = tree.read(&rel)? else {
            continue;
        };
        let mode = tree.meta_src(&rel).map_or(0o644, |m| m.mode);
        staging.write_exact(&rel, bytes, mode, None, FileKind::Copy, None)?;
        step.touch(&rel, true);
        copied += 1;
    }
    if let Some(pgdata) = layout
        .pgdata_host
        .as_ref()
        .filter(|p| tree.meta_dest(p).is_none())
        && let Some(meta) = tree.meta_src(pgdata)
    {
        dirs.push(DirSpec {
            path: pgdata.clone(),
            mode: meta.mode,
            owner: None,
        });
        step.notes.push(format!(
            "{} created empty (PGDATA; the source's contents are not copied)",
            pgdata.display()
        ));
    }
    step.notes
        .insert(0, format!("{copied} files copied from the source folder"));
    Ok(step)
}

//! Single-file edits shared by `hba` and `pooler`: show a diff, write atomically with a backup.

use std::path::Path;

use anyhow::Context as _;

use crate::output::Out;
use crate::render::diff as unified_diff;

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading \"{}\"", path.display()))
}

/// Shows the diff between `before` and `after`; writes when `write` (atomic, backup kept).
pub fn show_and_write(
    out: &mut Out,
    path: &Path,
    before: &str,
    after: &str,
    write: bool,
) -> anyhow::Result<()> {
    if before == after {
        out.line(&format!("{}: nothing to change", path.display()))?;
        return Ok(());
    }
    let name = path.display().to_string();
    out.raw(&unified_diff(
        out,
        before,
        after,
        &format!("a/{name}"),
        &format!("b/{name}"),
    ))?;
    if !write {
        out.line("(dry run: nothing was written; run again without --dry-run to apply)")?;
        return Ok(());
    }
    let applied = pgtls_harden::apply::replace_file(path, before, after)?;
    let backup = applied
        .backup_dir
        .map(|b| format!(" (backup in {})", b.display()))
        .unwrap_or_default();
    out.line(&format!("wrote {}{backup}", path.display()))?;
    Ok(())
}

//! Colour for the plain unified diffs and change summaries pgtls-harden renders
//! ([`pgtls_harden::report::paint::Paint::diff`]).

use pgtls_harden::plan::unified_diff;

use crate::output::Out;

/// [`unified_diff`], coloured when `out` colours.
pub fn diff(out: &Out, before: &str, after: &str, old: &str, new: &str) -> String {
    out.painter().diff(&unified_diff(before, after, old, new))
}

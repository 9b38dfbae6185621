//! What the integration tests share: the bundled examples, copied into a scratch folder, and
//! the uid:gid that owns a folder (harden's key owner in a test that runs unprivileged).

use std::path::Path;

pub use pgtest::deployment::{copy_dir, examples_dir as examples};

/// The uid:gid owning `dir`.
pub fn me(dir: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir).unwrap();
    (m.uid(), m.gid())
}

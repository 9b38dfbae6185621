//! The repository's bundled deployments (`examples/`), copied into a test's scratch folder.
//!
//! ```no_run
//! let scratch = std::env::temp_dir().join("pgtls-doc-example");
//! pgtest::deployment::copy_dir(&pgtest::deployment::examples_dir().join("supabase"), &scratch);
//! assert!(scratch.join("docker-compose.yml").exists());
//! ```

use std::path::{Path, PathBuf};

/// The repository's `examples/` folder (the bundled deployments).
#[must_use]
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Copies the folder `from` into `to`, recursively (files and folders).
///
/// # Panics
/// On any I/O error (a test helper: the test fails where the copy did).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

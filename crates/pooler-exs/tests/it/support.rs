//! Helpers shared by the integration tests.

use std::path::PathBuf;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(rel: &str) -> String {
    let path = fixture_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The byte range of `before` that differs from `after` (common prefix and suffix removed).
pub fn changed_range(before: &str, after: &str) -> (usize, usize) {
    let b = before.as_bytes();
    let a = after.as_bytes();
    let prefix = b.iter().zip(a).take_while(|(x, y)| x == y).count();
    let max_suffix = b.len().min(a.len()) - prefix;
    let suffix = b
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, b.len() - suffix)
}

/// Assert that every byte of `before` outside `[lo, hi)` survives unchanged in `after`.
pub fn assert_changed_within(before: &str, after: &str, lo: usize, hi: usize) {
    let (p, q) = changed_range(before, after);
    assert!(
        p >= lo && q <= hi,
        "edit touched bytes {p}..{q}, outside the allowed {lo}..{hi}\n--- before\n{before}\n--- after\n{after}"
    );
}

pub fn to_crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

/// Assert that `after` is `before` with whole lines added: every line of `before` is still there,
/// byte for byte and in order, and `after` has exactly `added` more lines.
pub fn assert_lines_only_added(before: &str, after: &str, added: usize) {
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    let mut it = new.iter();
    for line in &old {
        assert!(
            it.any(|n| n == line),
            "line {line:?} changed or disappeared\n--- before\n{before}\n--- after\n{after}"
        );
    }
    assert_eq!(
        new.len(),
        old.len() + added,
        "expected {added} added lines\n--- before\n{before}\n--- after\n{after}"
    );
}

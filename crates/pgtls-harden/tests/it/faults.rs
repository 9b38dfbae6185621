//! Fault injection through the `Sink` seam: the k-th filesystem operation of a harden run fails,
//! for every k; then, with the disk healthy again, a rerun must finish the job and leave a
//! consistent PKI. The PKI is judged by `openssl` (an independent checker), not by our code.

use std::cell::Cell;
use std::io;
use std::path::Path;
use std::process::Command;

use pgtls_harden::apply::{self, ApplyOptions, Op, RealFs, Sink};
use pgtls_harden::{HardenOptions, Layout, Tree};

use crate::support::{copy_dir, examples, me};

/// Fails the `fail_at`-th operation (1-based; 0 never) and counts them all.
struct FailAt {
    fail_at: usize,
    seen: Cell<usize>,
}

impl Sink for FailAt {
    fn before(&self, op: Op<'_>) -> io::Result<()> {
        let n = self.seen.get() + 1;
        self.seen.set(n);
        if n == self.fail_at {
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("injected: no space left on device at operation {n} ({op:?})"),
            ))
        } else {
            Ok(())
        }
    }
}

/// One in-place harden run of `dir` through `sink`: plan, then apply.
fn harden(dir: &Path, sink: &dyn Sink) -> Result<usize, String> {
    let tree = Tree::new(dir, None);
    let layout = Layout::detect(&tree, None).map_err(|e| format!("detect: {e}"))?;
    let opts = HardenOptions::new(me(dir));
    let (plan, _) = pgtls_harden::plan(&tree, &layout, &opts).map_err(|e| {
        let mut s = format!("plan: {e}");
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    })?;
    apply::apply_with(
        tree.dest(),
        &plan.dirs,
        &plan.changes,
        &ApplyOptions::with_backups(),
        sink,
    )
    .map(|a| a.written.len())
    .map_err(|e| format!("apply: {e}"))
}

fn openssl(args: &[&str]) -> (bool, Vec<u8>) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (scripts/deps)");
    (o.status.success(), o.stdout)
}

fn public_key_of_key(path: &Path) -> Vec<u8> {
    let (ok, out) = openssl(&["pkey", "-in", path.to_str().unwrap(), "-pubout"]);
    assert!(ok, "openssl cannot read {}", path.display());
    out
}

fn public_key_of_cert(path: &Path) -> Vec<u8> {
    let (ok, out) = openssl(&["x509", "-in", path.to_str().unwrap(), "-pubkey", "-noout"]);
    assert!(ok, "openssl cannot read {}", path.display());
    out
}

/// The PKI and the compose agree: ca.key matches ca.crt, server.crt chains to the CA clients
/// are given and to the db's copy of it, server.key matches server.crt, and every file the db
/// command names exists on the host.
fn assert_consistent(dir: &Path, what: &str) {
    let ca_crt = dir.join("volumes/tls-ca/ca.crt");
    let ca_key = dir.join("volumes/tls-ca/ca.key");
    let crt = dir.join("volumes/tls/server.crt");
    let key = dir.join("volumes/tls/server.key");
    assert_eq!(
        public_key_of_key(&ca_key),
        public_key_of_cert(&ca_crt),
        "{what}: ca.key does not match ca.crt"
    );
    assert_eq!(
        public_key_of_key(&key),
        public_key_of_cert(&crt),
        "{what}: server.key does not match server.crt"
    );
    for ca in [&ca_crt, &dir.join("volumes/tls/ca.crt")] {
        let (ok, out) = openssl(&[
            "verify",
            "-CAfile",
            ca.to_str().unwrap(),
            crt.to_str().unwrap(),
        ]);
        assert!(
            ok,
            "{what}: server.crt does not chain to {}: {}",
            ca.display(),
            String::from_utf8_lossy(&out)
        );
    }
    let tree = Tree::new(dir, None);
    let layout = Layout::detect(&tree, None).unwrap();
    let settings = layout.db.pg_settings();
    for name in ["ssl_cert_file", "ssl_key_file", "ssl_ca_file", "hba_file"] {
        let container = settings
            .get(name)
            .unwrap_or_else(|| panic!("{what}: the compose sets no {name}"));
        let host = pgtls_harden::harden::host_path_for(&layout, container)
            .unwrap_or_else(|| panic!("{what}: {name}={container} is not on a bind mount"));
        assert!(
            dir.join(&host).is_file(),
            "{what}: the compose names {container} -> {}, which does not exist",
            host.display()
        );
    }
    let leftovers: Vec<String> = walk(dir)
        .into_iter()
        .filter(|p| p.contains(apply::TMP_MARKER) || p.contains("pgtls-pending"))
        .collect();
    assert!(leftovers.is_empty(), "{what}: left behind: {leftovers:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                if e.file_name() != ".pgtls-backups" {
                    stack.push(e.path());
                }
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

fn every_failure_point_is_finished_by_a_rerun(example: &str) {
    // how many operations a clean run performs
    let probe = tempfile::tempdir().unwrap();
    copy_dir(&examples().join(example), probe.path());
    let counter = FailAt {
        fail_at: 0,
        seen: Cell::new(0),
    };
    harden(probe.path(), &counter).unwrap();
    let total = counter.seen.get();
    assert!(total >= 8, "a fresh harden performs {total} operations");
    assert_consistent(probe.path(), "a clean run");

    for k in 1..=total {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&examples().join(example), tmp.path());
        let sink = FailAt {
            fail_at: k,
            seen: Cell::new(0),
        };
        let first = harden(tmp.path(), &sink);
        assert!(
            first.is_err(),
            "{example}: operation {k} of {total} failed but the run reported success"
        );
        // room again: the rerun must finish the job
        let rerun = harden(tmp.path(), &RealFs);
        assert!(
            rerun.is_ok(),
            "{example}: rerun after a failure at operation {k} of {total}: {}",
            rerun.unwrap_err()
        );
        assert_consistent(tmp.path(), &format!("{example}, failure at {k} of {total}"));
        // and then there is nothing left to do
        assert_eq!(
            harden(tmp.path(), &RealFs),
            Ok(0),
            "{example}: a third run after a failure at {k} still writes"
        );
    }
}

#[test]
fn upstream_every_failure_point_is_finished_by_a_rerun() {
    every_failure_point_is_finished_by_a_rerun("supabase");
}

#[test]
fn coolify_every_failure_point_is_finished_by_a_rerun() {
    every_failure_point_is_finished_by_a_rerun("coolify");
}

/// A run killed between writing the CA certificate and renaming the staged CA key: the next
/// run adopts the staged key instead of refusing ("restore the CA key").
#[test]
fn a_staged_ca_key_is_adopted() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("supabase"), tmp.path());
    let sink = FailOn(|op| matches!(op, Op::Rename { .. }));
    let err = harden(tmp.path(), &sink).unwrap_err();
    assert!(err.contains("ca.key"), "{err}");
    assert!(tmp.path().join("volumes/tls-ca/ca.crt").is_file());
    assert!(!tmp.path().join("volumes/tls-ca/ca.key").exists());
    assert!(tmp.path().join(apply::CA_KEY_PENDING).is_file());
    let staged = std::fs::read(tmp.path().join(apply::CA_KEY_PENDING)).unwrap();
    harden(tmp.path(), &RealFs).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("volumes/tls-ca/ca.key")).unwrap(),
        staged,
        "the staged key became ca.key"
    );
    assert_consistent(tmp.path(), "after adoption");
}

/// Stale temp files of a killed run are removed by the next run.
#[test]
fn stale_temp_files_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("supabase"), tmp.path());
    std::fs::create_dir_all(tmp.path().join("volumes/db/hba")).unwrap();
    let stale = tmp
        .path()
        .join("volumes/db/hba/.pg_hba.conf.pgtls-tmp-99999-0");
    std::fs::write(&stale, "half").unwrap();
    harden(tmp.path(), &RealFs).unwrap();
    assert!(!stale.exists());
}

struct FailOn<F: Fn(Op<'_>) -> bool>(F);

impl<F: Fn(Op<'_>) -> bool> Sink for FailOn<F> {
    fn before(&self, op: Op<'_>) -> io::Result<()> {
        if (self.0)(op) {
            Err(io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    }
}

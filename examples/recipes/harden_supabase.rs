//! Recipe: harden the bundled upstream Supabase deployment into a copy, then run the checklist.
//!
//! The same as `pgtls harden examples/supabase --out DIR` followed by `pgtls check DIR`, driven
//! through the CLI's library entry point (`pgtls::run`), so it needs no server and no Docker.

use std::process::ExitCode;

use pgtls_examples::{heading, upstream_deployment};

fn main() -> ExitCode {
    let out = tempfile::tempdir().expect("a temp folder");
    let dest = out.path().join("supabase-hardened");
    let src = upstream_deployment();
    // the uid:gid of the db container's postgres user: 105:106 in the example's image
    // (supabase/postgres 15.8.x); only root can give files away, so a non-root run gives the
    // demo copy its own ids
    let me = std::fs::metadata("/proc/self").expect("Linux /proc");
    let owner = if std::os::unix::fs::MetadataExt::uid(&me) == 0 {
        "105:106".to_owned()
    } else {
        use std::os::unix::fs::MetadataExt as _;
        format!("{}:{}", me.uid(), me.gid())
    };

    heading("plan (dry run: nothing is written)");
    let code = pgtls::run([
        "pgtls".as_ref(),
        "harden".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        dest.as_os_str(),
        "--domain".as_ref(),
        "db.example.com".as_ref(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
        "--dry-run".as_ref(),
    ]);
    if code != ExitCode::SUCCESS {
        return code;
    }
    assert!(!dest.exists(), "a dry run writes nothing");

    heading("apply");
    let code = pgtls::run([
        "pgtls".as_ref(),
        "harden".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        dest.as_os_str(),
        "--domain".as_ref(),
        "db.example.com".as_ref(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
    ]);
    if code != ExitCode::SUCCESS {
        return code;
    }

    heading("checklist of the hardened copy");
    pgtls::run([
        "pgtls".as_ref(),
        "check".as_ref(),
        dest.as_os_str(),
        "--domain".as_ref(),
        "db.example.com".as_ref(),
    ])
}

#[cfg(test)]
#[test]
fn recipe_runs() {
    assert_eq!(main(), ExitCode::SUCCESS);
}

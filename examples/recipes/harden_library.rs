//! Recipe: harden the bundled upstream Supabase deployment through the pgtls-harden library API
//! (no argv): detect the layout, plan into a copy, look at the plan, apply it, check the result,
//! and prove a second plan changes nothing.
//!
//! This is what another Rust tool embedding the recipe does; `harden_supabase` drives the same
//! work through the CLI entry point instead.

use std::path::Path;
use std::process::ExitCode;

use pgtls_examples::{heading, upstream_deployment};
use pgtls_harden::apply::{self, ApplyOptions};
use pgtls_harden::checklist::{self, CheckOptions, Verdict};
use pgtls_harden::{HardenOptions, Layout, Staging, StepStatus, Tree};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut cause = std::error::Error::source(&err);
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> pgtls_harden::Result<()> {
    let out = tempfile::tempdir().map_err(|source| pgtls_harden::Error::Io {
        context: "creating a temp folder".into(),
        source,
    })?;
    let dest = out.path().join("supabase-hardened");
    let src = upstream_deployment();
    // the key belongs to the db container's postgres user: 105:106 in the example's image
    // (supabase/postgres 15.8.x); only root can give files away, so a non-root run gives this
    // demo copy its own uid instead (never root: PostgreSQL cannot read a root-owned 0600 key)
    let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").map_err(
        |source| pgtls_harden::Error::Io {
            context: "reading \"/proc/self\"".into(),
            source,
        },
    )?);
    let (uid, gid) = if me == 0 { (105, 106) } else { (me, me) };

    heading("detect");
    let tree = Tree::new(&src, Some(&dest));
    let layout = Layout::detect(&tree, None)?;
    println!(
        "{:?} layout: db service `{}`, pooler `{}`",
        layout.kind,
        layout.db.key,
        layout.pooler.as_ref().map_or("(none)", |p| p.key.as_str())
    );

    heading("plan");
    let mut opts = HardenOptions::new((uid, gid));
    opts.extra_sans.push("db.example.com".into());
    let (plan, _) = pgtls_harden::plan(&tree, &layout, &opts)?;
    for step in &plan.steps {
        println!("  {:<15} {:?}", step.id, step.status);
    }
    assert!(plan.steps.iter().any(|s| s.status == StepStatus::Changed));

    heading("apply");
    let applied = apply::apply(
        tree.dest(),
        &plan.dirs,
        &plan.changes,
        &ApplyOptions::default(),
    )
    .map_err(pgtls_harden::Error::from)?;
    println!(
        "wrote {} file(s) into {}",
        applied.written.len(),
        dest.display()
    );
    assert!(dest.join("volumes/tls/server.key").is_file());

    heading("checklist of the copy");
    let copy = Tree::new(&dest, None);
    let layout = Layout::detect(&copy, None)?;
    let checks = checklist::run(
        &Staging::new(&copy),
        &layout,
        &CheckOptions {
            db_user: Some(pgtls_harden::DbUser {
                uid,
                gid,
                groups: Vec::new(),
                source: pgtls_harden::OwnerSource::Flag,
            }),
            sans: pgtls_harden::harden::wanted_sans(&layout, &opts.extra_sans),
            expiry_warn_days: 30,
            trust: None,
            // the PostgreSQL major whose pg_hba.conf rules apply: the db image's tag here
            pg_major: Some(pgtls_harden::pgmajor::decide(
                None,
                layout.db.image.as_deref(),
                &pgtls_harden::PgData::NotMounted,
                None,
            )),
        },
    );
    for item in &checks.items {
        println!(
            "  {:<5} {:<20} {}",
            item.verdict.as_str(),
            item.id,
            item.detail
        );
    }
    assert!(
        !checks.items.iter().any(|i| i.verdict == Verdict::Fail),
        "the hardened copy passes every check"
    );

    heading("second plan");
    let (again, _) = pgtls_harden::plan(&copy, &layout, &opts)?;
    println!("changes: {}", again.changes.len());
    assert!(!again.changed(), "a second plan changes nothing");
    assert!(
        !Path::new(&src).join("volumes/tls").exists(),
        "the source is untouched"
    );
    Ok(())
}

#[cfg(test)]
#[test]
fn recipe_runs() {
    assert_eq!(main(), ExitCode::SUCCESS);
}

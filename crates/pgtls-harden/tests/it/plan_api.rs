//! A harden run at the library's API over the bundled example (`examples/supabase`), no binary:
//! plan, what takes effect, apply, replan. The steps carry typed ids that serialise as the JSON
//! contract spells them; a second plan over the applied folder changes nothing.

use std::path::Path;

use pgtls_harden::effect::{self, Change};
use pgtls_harden::{HardenOptions, Layout, StepId, StepStatus, Tree, apply, checklist};

pub(crate) fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
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

fn me(dir: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir).unwrap();
    (m.uid(), m.gid())
}

#[test]
fn the_example_planned_applied_and_replanned_at_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_dir(&examples().join("supabase"), dir);
    let tree = Tree::new(dir, None);
    let layout = Layout::detect(&tree, None).unwrap();
    let opts = HardenOptions::new(me(dir));

    let (plan, _) = pgtls_harden::plan(&tree, &layout, &opts).unwrap();
    let ids: Vec<StepId> = plan.steps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            StepId::Certificates,
            StepId::PgHba,
            StepId::DbService,
            StepId::PoolerService,
            StepId::PoolerTenant,
        ]
    );
    for step in &plan.steps {
        assert_eq!(step.status, StepStatus::Changed, "{}", step.id);
        let json = serde_json::to_value(step).unwrap();
        assert_eq!(json["id"], step.id.as_str());
    }
    assert_eq!(
        effect::changes_of(&plan.steps),
        [Change::Certificates, Change::Hba]
    );
    assert!(effect::needs_recreate(&plan.steps));

    apply::apply(
        tree.dest(),
        &plan.dirs,
        &plan.changes,
        &apply::ApplyOptions::with_backups(),
    )
    .unwrap();

    let tree = Tree::new(dir, None);
    let layout = Layout::detect(&tree, None).unwrap();
    let (again, staging) = pgtls_harden::plan(&tree, &layout, &opts).unwrap();
    assert!(!again.changed(), "{:?}", again.changes);
    assert!(
        again
            .steps
            .iter()
            .all(|s| s.status == StepStatus::Unchanged),
        "{:?}",
        again.steps
    );
    assert!(effect::changes_of(&again.steps).is_empty());
    assert!(!effect::needs_recreate(&again.steps));

    let checks = checklist::run(
        &staging,
        &layout,
        &checklist::CheckOptions {
            db_user: None,
            sans: pgtls_harden::harden::wanted_sans(&layout, &[]),
            expiry_warn_days: 30,
            trust: None,
            pg_major: None,
        },
    );
    for id in [
        checklist::CheckId::DbCommand,
        checklist::CheckId::Certificates,
        checklist::CheckId::CertificateChain,
        checklist::CheckId::KeyMatches,
        checklist::CheckId::HbaValid,
    ] {
        let item = checks.items.iter().find(|i| i.id == id);
        assert!(
            item.is_some_and(|i| i.verdict == checklist::Verdict::Pass),
            "{id}: {item:?}"
        );
    }
}

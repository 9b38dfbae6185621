//! The db image and PGDATA naming different PostgreSQL majors: the server refuses that data
//! directory ("database files are incompatible with server"), so `check` fails `hba-valid`
//! with the fix and `harden` refuses unless `--pg-version` says which server will run.

use std::path::Path;

use pgtls_harden::checklist::Verdict;
use pgtls_harden::run::{Request, check, harden};
use pgtls_harden::{CheckId, NoEngine};

use crate::support::{copy_dir, examples};

/// The example with the db image `image` and an initialized PGDATA of major `data`, owned by
/// 100:101 (the tests run as root).
pub(crate) fn deployment(image: &str, data: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("supabase"), tmp.path());
    let compose = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    assert!(text.contains("supabase/postgres:15.8.1.060"));
    std::fs::write(
        &compose,
        text.replace("supabase/postgres:15.8.1.060", image),
    )
    .unwrap();
    let pgdata = tmp.path().join("volumes/db/data");
    std::fs::write(pgdata.join("PG_VERSION"), format!("{data}\n")).unwrap();
    std::os::unix::fs::chown(&pgdata, Some(100), Some(101))
        .expect("chown PGDATA (the tests run as root)");
    tmp
}

fn hba_valid(dir: &Path) -> pgtls_harden::checklist::Item {
    let run = check(&Request::new(dir), &NoEngine).unwrap();
    run.checks
        .items
        .iter()
        .find(|i| i.id == CheckId::HbaValid)
        .cloned()
        .expect("an hba-valid item")
}

#[test]
fn a_15_image_on_a_17_cluster_fails_check_and_harden_refuses() {
    let tmp = deployment("supabase/postgres:15.8.1.085", "17");
    let dir = tmp.path();

    // harden refuses: the server it would harden cannot start on this data directory
    let e = harden(&Request::new(dir), &NoEngine).unwrap_err();
    assert!(e.is_refusal(), "{e:?}");
    let text = format!("{e}");
    assert!(
        text.contains("database files are incompatible with server")
            && text.contains("supabase/postgres:17.x")
            && text.contains("--pg-version"),
        "{text}"
    );
    assert!(
        !dir.join("volumes/db/hba/pg_hba.conf").exists(),
        "nothing written"
    );

    // --pg-version 17 says which server will run: hardened, the disagreement a warning
    let mut req = Request::new(dir);
    req.pg_version = Some(17);
    let done = harden(&req, &NoEngine).unwrap();
    assert!(done.changed());
    assert!(
        done.warnings()
            .iter()
            .any(|w| w.code == pgtls_harden::Code::PgMajorDisagrees),
        "{:?}",
        done.warnings()
    );

    // the hardened folder still cannot start: check fails hba-valid with the fix
    let item = hba_valid(dir);
    assert_eq!(item.verdict, Verdict::Fail, "{item:?}");
    assert!(
        item.detail.contains("runs PostgreSQL 15 but PGDATA")
            && item.detail.contains("its lines are valid"),
        "{}",
        item.detail
    );
    assert!(
        item.fix
            .as_deref()
            .is_some_and(|f| f.contains("supabase/postgres:17.x")),
        "{item:?}"
    );

    // the image moved to 17: the same files pass
    let compose = dir.join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace(
            "supabase/postgres:15.8.1.085",
            "supabase/postgres:17.6.1.136",
        ),
    )
    .unwrap();
    let item = hba_valid(dir);
    assert_eq!(item.verdict, Verdict::Pass, "{item:?}");
}

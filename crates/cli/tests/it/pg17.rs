//! A PostgreSQL 17 deployment (the self-hosted default since June 2026): the upstream example
//! with the db image `supabase/postgres:17.6.1.136` and an initialized PostgreSQL 17 PGDATA,
//! the pooler at Supavisor 2.9.10 or Coolify's pinned 2.7.4.

use std::path::Path;
use std::process::Command;

use crate::support::{code, copy_dir, examples_dir, pgtls, stderr, stdout};

/// The postgres uid:gid of the image family 17.6.1.136 belongs to: the Alpine-based images,
/// 17.6.1.084 and later (FACTS §4; the Ubuntu 24.04-based 17.6.1.0xx before them had 101:102).
const PG17_OWNER: (u32, u32) = (100, 101);

fn deployment(db_image: &str, pooler_image: &str, pg_version: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let compose = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    let text = text
        .replace("supabase/postgres:15.8.1.060", db_image)
        .replace("supabase/supavisor:2.7.2", pooler_image);
    assert!(text.contains(db_image) && text.contains(pooler_image));
    std::fs::write(&compose, text).unwrap();
    // an initialized data directory, owned by the image family's postgres user
    let data = tmp.path().join("volumes/db/data");
    std::fs::write(data.join("PG_VERSION"), format!("{pg_version}\n")).unwrap();
    std::os::unix::fs::chown(&data, Some(PG17_OWNER.0), Some(PG17_OWNER.1))
        .expect("chown PGDATA (the tests run as root, as CI does)");
    tmp
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", stdout(o), stderr(o)))
}

fn step<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| panic!("no step {id}: {report:#}"))
}

fn texts(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn harden_judges_a_pg17_deployment_by_17_and_warns_only_for_old_supavisor() {
    let tmp = deployment(
        "supabase/postgres:17.6.1.136",
        "supabase/supavisor:2.9.10",
        "17",
    );
    let o = pgtls(["harden".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let report = json(&o);
    assert_eq!(report["postgres"]["major"], 17, "{:#}", report["postgres"]);
    assert_eq!(report["postgres"]["source"]["kind"], "image");
    assert_eq!(
        report["pg_owner"], "100:101",
        "owner from the initialized PGDATA"
    );
    let hba = step(&report, "pg-hba");
    let notes = texts(&hba["notes"]).join("\n");
    assert!(
        notes.contains("created from the supabase/postgres 17.x image's default"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "judged by the rules of PostgreSQL 17 (from the db image supabase/postgres:17.6.1.136)"
        ),
        "{notes}"
    );
    let pooler = step(&report, "pooler-service");
    assert!(
        !texts(&pooler["warnings"])
            .iter()
            .any(|w| w.contains("PQconsumeInput")),
        "{pooler:#}"
    );
    let written = std::fs::read_to_string(tmp.path().join("volumes/db/hba/pg_hba.conf")).unwrap();
    // the 17.x template has no private-range host lines; the policy writes its own trust lines
    assert!(
        !written.contains("192.168.0.0/16  scram-sha-256"),
        "{written}"
    );

    // check names the major it judged by
    let o = pgtls(["check".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    let report = json(&o);
    let item = report["items"]
        .as_array()
        .and_then(|i| i.iter().find(|x| x["id"] == "hba-valid"))
        .cloned()
        .unwrap();
    assert_eq!(item["verdict"], "pass", "{item:#}");
    assert!(
        item["detail"]
            .as_str()
            .is_some_and(|d| d.contains("valid for PostgreSQL 17 (from the db image")),
        "{item:#}"
    );

    // Coolify's pinned Supavisor: the async hang warning with the tag to move to
    let tmp = deployment(
        "supabase/postgres:17.6.1.136",
        "supabase/supavisor:2.7.4",
        "17",
    );
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    let warnings = texts(&step(&report, "pooler-service")["warnings"]).join("\n");
    assert!(warnings.contains("Supavisor 2.7.4"), "{warnings}");
    assert!(
        warnings.contains("supabase/supavisor:2.9.6 or later"),
        "{warnings}"
    );
}

#[test]
fn image_and_pgdata_disagreeing_is_said_and_the_flag_overrides() {
    let tmp = deployment(
        "supabase/postgres:17.6.1.136",
        "supabase/supavisor:2.9.10",
        "15",
    );
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["postgres"]["major"], 17);
    let notes = texts(&report["postgres"]["notes"]).join("\n");
    assert!(notes.contains("holds a PostgreSQL 15 cluster"), "{notes}");
    assert!(
        texts(&step(&report, "pg-hba")["warnings"])
            .iter()
            .any(|w| w.contains("database files are incompatible")),
        "{report:#}"
    );

    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
        "--pg-version".as_ref(),
        "15".as_ref(),
    ]);
    let report = json(&o);
    assert_eq!(report["postgres"]["major"], 15);
    assert_eq!(report["postgres"]["source"]["kind"], "flag");
}

/// The files harden writes for a PostgreSQL 17 deployment, loaded by a real PostgreSQL 17
/// (Debian trixie's postgresql-17 in the pgtls-e2e/pg17 image): every row of
/// `pg_hba_file_rules` valid.
#[test]
#[ignore = "needs the Docker engine (scripts/test runs it)"]
fn postgres_17_loads_the_pg_hba_conf_harden_writes() {
    let tmp = deployment(
        "supabase/postgres:17.6.1.136",
        "supabase/supavisor:2.9.10",
        "17",
    );
    let o = pgtls(["harden".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let cases = tempfile::tempdir().unwrap();
    let case = cases.path().join("harden17");
    copy_dir(&tmp.path().join("volumes/db/hba"), &case);
    assert!(case.join("pg_hba.conf").is_file());

    let image = pg17_image();
    let out = Command::new("docker")
        .args(["run", "--rm", "--pull", "never", "--network", "none", "-v"])
        .arg(format!("{}:/cases:ro", cases.path().display()))
        .arg(&image)
        .output()
        .expect("docker run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("harden17\t"))
        .unwrap_or_else(|| panic!("no answer for the case: {text}"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    assert!(rows.len() >= 6, "{rows:#?}");
    for r in &rows {
        assert!(
            r["error"].is_null() && !r["type"].is_null(),
            "PostgreSQL 17 refuses a line harden wrote: {r:#}"
        );
    }
    assert!(
        text.lines()
            .last()
            .unwrap_or_default()
            .starts_with("postgres 17.")
    );
}

/// The PostgreSQL 17 image of `scripts/docker/pg17/` (`PGTLS_E2E_IMAGE_PG17`, else built or
/// found by `scripts/docker-images`; nothing is pulled).
fn pg17_image() -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var("PGTLS_E2E_IMAGE_PG17").unwrap_or_else(|_| {
        let out = Command::new(workspace.join("scripts/docker-images"))
            .output()
            .expect("run scripts/docker-images");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("PGTLS_E2E_IMAGE_PG17="))
            .expect("the pg17 image")
            .to_owned()
    })
}

/// A container this test started, removed at the end by its id.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

/// When neither the image tag nor PGDATA tells the major (a tag without a version, a database
/// not initialized on the host), the deployment's running db container does: `postgres
/// --version` in it, found by its compose labels.
#[test]
#[ignore = "needs the Docker engine (scripts/test runs it)"]
fn the_running_db_container_tells_the_major_when_nothing_else_does() {
    let image = pg17_image();
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let compose = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace("supabase/postgres:15.8.1.060", &image),
    )
    .unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let out = Command::new("docker")
        .args(["run", "-d", "--rm", "--pull", "never", "--network", "none"])
        .args(["--label", "com.docker.compose.service=db", "--label"])
        .arg(format!(
            "com.docker.compose.project.working_dir={}",
            dir.display()
        ))
        .args(["--entrypoint", "/bin/sleep", &image, "300"])
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let container = Container(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
        "--pg-owner".as_ref(),
        "100:101".as_ref(),
    ]);
    let report = json(&o);
    assert_eq!(report["postgres"]["major"], 17, "{:#}", report["postgres"]);
    assert_eq!(report["postgres"]["source"]["kind"], "container");
    assert!(
        container.0.starts_with(
            report["postgres"]["source"]["container"]
                .as_str()
                .unwrap_or("-")
        ),
        "{:#}",
        report["postgres"]
    );
}

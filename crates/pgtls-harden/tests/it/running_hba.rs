//! The base of a new `pg_hba.conf` when the deployment mounts none: the file the running db
//! container really loads, read through the Docker engine (a pgtls-e2e/db17 container carrying
//! the compose labels of the deployment), else the image's default for the major, said so.

use std::path::Path;
use std::process::Command;

use pgtls_harden::docker::DockerCli;
use pgtls_harden::hba_base::HbaBase;
use pgtls_harden::run::{Request, harden};
use pgtls_harden::{NoEngine, StepId};

use crate::support::{copy_dir, examples};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("running docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A container removed (with its anonymous volumes) by id when dropped.
struct Started(String);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .output();
    }
}

fn request(dir: &Path) -> Request {
    let mut req = Request::new(dir);
    req.dry_run = true;
    // db17's postgres user (dry run: nothing is chowned)
    req.pg_owner = Some("100:101".into());
    req.trusted = vec!["10.0.0.0/8".into()];
    req
}

fn hba_step(run: &pgtls_harden::run::HardenRun) -> (&pgtls_harden::Step, String) {
    let step = run
        .plan
        .steps
        .iter()
        .find(|s| s.id == StepId::PgHba)
        .expect("a pg-hba step");
    let path = step.files.first().expect("the pg-hba step's file");
    let change = run
        .plan
        .changes
        .iter()
        .find(|c| &c.path == path)
        .expect("the new pg_hba.conf planned");
    (step, String::from_utf8(change.after.clone()).unwrap())
}

#[test]
fn without_an_engine_the_majors_built_in_copy_is_the_base_and_said_so() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples().join("supabase"), tmp.path());
    let run = harden(&request(tmp.path()), &NoEngine).unwrap();
    let (step, _) = hba_step(&run);
    assert!(
        matches!(&step.hba_base, Some(HbaBase::BuiltIn { reason, .. }) if reason.contains("no Docker engine")),
        "{:?}",
        step.hba_base
    );
    let json = run.to_json();
    let j = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "pg-hba")
        .unwrap();
    assert_eq!(j["hba_base"]["source"], "built-in", "{j}");
}

#[test]
#[ignore = "needs Docker engine"]
fn the_running_db_containers_own_pg_hba_is_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deployment");
    copy_dir(&examples().join("supabase"), &dir);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let image = docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "pgtls-e2e/db17",
    ]);
    let image = image
        .lines()
        .next()
        .expect("no local pgtls-e2e/db17 image: build it with scripts/docker-images")
        .to_owned();
    // the running server's own file: a marker no built-in copy has
    let marker = format!("# pgtls running_hba test {}", std::process::id());
    let mounted = tmp.path().join("hba");
    std::fs::create_dir(&mounted).unwrap();
    std::fs::write(
        mounted.join("hba.conf"),
        format!("{marker}\nlocal all all peer\nhost all all 127.0.0.1/32 trust\nhost all all 0.0.0.0/0 scram-sha-256\n"),
    )
    .unwrap();
    // permissions for the server's user inside (uid 100 in db17)
    std::fs::set_permissions(
        mounted.join("hba.conf"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let c = Started(docker(&[
        "run",
        "-d",
        "--pull",
        "never",
        "--network",
        "none",
        "--label",
        "com.docker.compose.service=db",
        "--label",
        &format!("com.docker.compose.project.working_dir={}", dir.display()),
        "-e",
        "POSTGRES_PASSWORD=running-hba-test",
        "-v",
        &format!("{}:/etc/pgtls-test:ro", mounted.display()),
        &image,
        "postgres",
        "-c",
        "config_file=/etc/postgresql/postgresql.conf",
        "-c",
        "hba_file=/etc/pgtls-test/hba.conf",
    ]));
    let running = docker(&["inspect", "--format", "{{.State.Running}}", &c.0]);
    assert_eq!(running, "true", "{}", docker(&["logs", &c.0]));

    let run = harden(&request(&dir), &DockerCli::from_env()).unwrap();
    let (step, text) = hba_step(&run);
    match &step.hba_base {
        Some(HbaBase::Container {
            container, path, ..
        }) => {
            assert!(
                c.0.starts_with(container.as_str()) || container.starts_with(&c.0[..12]),
                "{container} vs {}",
                c.0
            );
            assert_eq!(path, "/etc/pgtls-test/hba.conf");
        }
        other => panic!("expected the container's file as the base, got {other:?}"),
    }
    assert!(text.contains(&marker), "{text}");
    assert!(text.contains("hostssl"), "{text}");
    let json = run.to_json();
    let j = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "pg-hba")
        .unwrap();
    assert_eq!(j["hba_base"]["source"], "container", "{j}");
    assert_eq!(j["hba_base"]["path"], "/etc/pgtls-test/hba.conf", "{j}");

    // the container gone: the built-in copy, and why
    drop(c);
    let run = harden(&request(&dir), &DockerCli::from_env()).unwrap();
    let (step, text) = hba_step(&run);
    assert!(
        matches!(&step.hba_base, Some(HbaBase::BuiltIn { reason, .. }) if reason.contains("no running container")),
        "{:?}",
        step.hba_base
    );
    assert!(!text.contains(&marker), "{text}");
}

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
fn image_and_pgdata_disagreeing_is_refused_and_the_flag_overrides() {
    let tmp = deployment(
        "supabase/postgres:17.6.1.136",
        "supabase/supavisor:2.9.10",
        "15",
    );
    // a PostgreSQL 17 server refuses a 15 cluster: harden refuses (exit 1), even a dry run
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("holds a PostgreSQL 15 cluster")
            && err.contains("database files are incompatible with server")
            && err.contains("upgrade-pg17.sh")
            && err.contains("--pg-version"),
        "{err}"
    );

    // --pg-version says which server will run: planned, the disagreement a warning of the
    // pg-hba step, and the checklist fails (the data directory still does not fit)
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--dry-run".as_ref(),
        "--pg-version".as_ref(),
        "15".as_ref(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["postgres"]["major"], 15);
    assert_eq!(report["postgres"]["source"]["kind"], "flag");
    assert_eq!(report["postgres"]["mismatch"]["data_major"], 15);
    assert_eq!(report["postgres"]["mismatch"]["image_major"], 17);
    assert!(
        texts(&step(&report, "pg-hba")["warnings"])
            .iter()
            .any(|w| w.contains("database files are incompatible")),
        "{report:#}"
    );
}

/// Issue #25's case: the tag says 15 (upstream's docker-compose.pg15.yml pin), PGDATA says
/// 17. `check` fails hba-valid (exit 1) with the fix, instead of a warn and exit 0.
#[test]
fn check_fails_a_15_image_on_a_17_cluster_with_the_fix() {
    let tmp = deployment(
        "supabase/postgres:15.8.1.085",
        "supabase/supavisor:2.9.10",
        "17",
    );
    // hardened for the 17 server the user says will run (the checklist fails: exit 1)
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-version".as_ref(),
        "17".as_ref(),
    ]);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        tmp.path().join("volumes/db/hba/pg_hba.conf").is_file(),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("hba-valid"), "{}", stdout(&o));

    let o = pgtls(["check".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    let report = json(&o);
    assert_eq!(report["verdict"], "fail");
    let item = report["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == "hba-valid"))
        .unwrap_or_else(|| panic!("no hba-valid: {report:#}"));
    assert_eq!(item["verdict"], "fail", "{item:#}");
    let detail = item["detail"].as_str().unwrap();
    assert!(
        detail.contains("runs PostgreSQL 15 but PGDATA")
            && detail.contains("holds a PostgreSQL 17 cluster")
            && detail.contains("database files are incompatible with server"),
        "{detail}"
    );
    assert!(
        item["fix"]
            .as_str()
            .is_some_and(|f| f.contains("supabase/postgres:17.x")),
        "{item:#}"
    );
    // the human report names the fix too
    let o = pgtls(["check".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("supabase/postgres:17.x"),
        "{}",
        stdout(&o)
    );

    // the image moved to 17: check passes hba-valid
    let compose = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace(
            "supabase/postgres:15.8.1.085",
            "supabase/postgres:17.6.1.136",
        ),
    )
    .unwrap();
    let o = pgtls(["check".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    let report = json(&o);
    let item = report["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == "hba-valid"))
        .unwrap();
    assert_eq!(item["verdict"], "pass", "{item:#}");
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

/// The PostgreSQL 17 db image of `scripts/docker/db17/` (Debian trixie's postgresql-17 run as
/// 100:101, the uid:gid of the Alpine-based supabase/postgres 17.6.1 images).
fn db17_image() -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var("PGTLS_E2E_IMAGE_DB17").unwrap_or_else(|_| {
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
            .find_map(|l| l.strip_prefix("PGTLS_E2E_IMAGE_DB17="))
            .expect("the db17 image")
            .to_owned()
    })
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// A network this test created, removed at the end by its id (after the containers on it).
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.0]);
    }
}

/// The `-c NAME=VALUE` settings harden wrote into the db service's command, as quoted items.
fn db_settings(compose: &str) -> Vec<String> {
    let keys = [
        "config_file=",
        "hba_file=",
        "ssl=",
        "ssl_cert_file=",
        "ssl_key_file=",
        "ssl_ca_file=",
    ];
    compose
        .split('"')
        .filter(|item| keys.iter().any(|k| item.starts_with(k)))
        .map(str::to_owned)
        .collect()
}

/// The host folder bind-mounted at `target` (a short-syntax `- ./SRC:TARGET:ro,z` line).
fn bind_source(compose: &str, target: &str) -> String {
    compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .find_map(|v| {
            let v = v.trim_matches(['"', '\'']);
            let (src, rest) = v.split_once(':')?;
            (rest == target || rest.starts_with(&format!("{target}:"))).then(|| src.to_owned())
        })
        .unwrap_or_else(|| panic!("no bind mount at {target}"))
}

/// The Docker-tier proof for PostgreSQL 17: a real PostgreSQL 17 run as the 17 image family's
/// postgres user starts with exactly what harden wrote (key, certificates, `pg_hba.conf`, the
/// `-c` settings), harden having found the key's owner in the initialized PGDATA (no
/// `--pg-owner`); a client on the network gets TLS with verify-full and is refused plaintext.
#[test]
#[ignore = "needs the Docker engine (scripts/test runs it)"]
fn postgres_17_starts_with_what_harden_writes_and_refuses_plaintext() {
    let image = db17_image();
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let compose_path = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose_path).unwrap();
    std::fs::write(
        &compose_path,
        text.replace(
            "supabase/postgres:15.8.1.060",
            "supabase/postgres:17.6.1.136",
        ),
    )
    .unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let data = dir.join("volumes/db/data");
    std::fs::remove_file(data.join("README.md")).unwrap();
    // first start: the image's entry point initialises PGDATA as its postgres user
    let vol = |src: &Path, target: &str, ro: bool| {
        format!("{}:{target}{}", src.display(), if ro { ":ro" } else { "" })
    };
    let init = docker(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        "-e",
        "POSTGRES_PASSWORD=pw17",
        "-v",
        &vol(&data, "/var/lib/postgresql/data", false),
        &image,
        "true",
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    // harden: the owner from PGDATA, the rules of 17, only 10.255.0.0/16 trusted
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--json".as_ref(),
        "--trusted-cidr".as_ref(),
        "10.255.0.0/16".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let report = json(&o);
    assert_eq!(report["pg_owner"], "100:101", "{:#}", report["db_user"]);
    assert_eq!(report["postgres"]["major"], 17);

    let compose = std::fs::read_to_string(&compose_path).unwrap();
    let settings = db_settings(&compose);
    let setting = |k: &str| {
        settings
            .iter()
            .find_map(|s| s.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {settings:?}"))
            .to_owned()
    };
    assert_eq!(setting("ssl"), "on");
    let parent = |p: String| p.rsplit_once('/').map(|(d, _)| d.to_owned()).unwrap();
    let tls_target = parent(setting("ssl_cert_file"));
    let hba_target = parent(setting("hba_file"));
    let tls_src = dir.join(bind_source(&compose, &tls_target));
    let hba_src = dir.join(bind_source(&compose, &hba_target));

    let name = format!("pgtls-pg17-{}", std::process::id());
    let net = docker(&["network", "create", "--internal", &name]);
    assert!(
        net.status.success(),
        "{}",
        String::from_utf8_lossy(&net.stderr)
    );
    let network = Network(String::from_utf8_lossy(&net.stdout).trim().to_owned());

    let mut db_args: Vec<String> = [
        "run",
        "-d",
        "--rm",
        "--pull",
        "never",
        "--network",
        &network.0,
        "--network-alias",
        "db",
    ]
    .map(str::to_owned)
    .to_vec();
    for v in [
        vol(&data, "/var/lib/postgresql/data", false),
        vol(&tls_src, &tls_target, true),
        vol(&hba_src, &hba_target, true),
    ] {
        db_args.extend(["-v".to_owned(), v]);
    }
    db_args.extend([image.clone(), "postgres".to_owned()]);
    for s in &settings {
        db_args.extend(["-c".to_owned(), s.clone()]);
    }
    let refs: Vec<&str> = db_args.iter().map(String::as_str).collect();
    let run = docker(&refs);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let db = Container(String::from_utf8_lossy(&run.stdout).trim().to_owned());
    let ready = (0..60).any(|_| {
        let ok = docker(&[
            "exec",
            &db.0,
            "pg_isready",
            "-q",
            "-h",
            "localhost",
            "-U",
            "postgres",
        ])
        .status
        .success();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        ok
    });
    let logs = || String::from_utf8_lossy(&docker(&["logs", &db.0]).stderr).into_owned();
    assert!(ready, "PostgreSQL 17 did not start:\n{}", logs());

    let client = docker(&[
        "run",
        "-d",
        "--rm",
        "--pull",
        "never",
        "--network",
        &network.0,
        "-v",
        &vol(&tls_src, "/client-tls", true),
        "--entrypoint",
        "/bin/sleep",
        &image,
        "300",
    ]);
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let client = Container(String::from_utf8_lossy(&client.stdout).trim().to_owned());
    let psql = |conninfo: &str, sql: &str| {
        docker(&[
            "exec",
            "-e",
            "PGPASSWORD=pw17",
            &client.0,
            "psql",
            conninfo,
            "-XAtc",
            sql,
        ])
    };
    let tls = psql(
        "host=db user=postgres dbname=postgres sslmode=verify-full sslrootcert=/client-tls/ca.crt",
        "select ssl from pg_stat_ssl where pid = pg_backend_pid(); \
         select count(*) from pg_hba_file_rules where error is not null",
    );
    assert_eq!(
        String::from_utf8_lossy(&tls.stdout).trim(),
        "t\n0",
        "{}\n{}",
        String::from_utf8_lossy(&tls.stderr),
        logs()
    );
    let plain = psql(
        "host=db user=postgres dbname=postgres sslmode=disable",
        "select 1",
    );
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(!plain.status.success(), "plaintext was accepted");
    assert!(
        err.contains("pg_hba.conf rejects connection for host")
            && err.contains("user \"postgres\", database \"postgres\", no encryption"),
        "{err}"
    );
    drop(client);
    drop(db);
    drop(network);
}

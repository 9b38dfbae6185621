//! What pgtls says (and, with `--reload`, does) after `certs renew` and `hba apply-policy` on a
//! deployment, and the migration of an earlier pgtls's single-file mounts.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

fn run(args: &[&str]) -> Output {
    // no engine: the actions are printed, `--reload` cannot do them
    Command::new(bin())
        .args(args)
        .env("PGTLS_DOCKER", "0")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn hardened() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let o = run(&[
        "harden",
        tmp.path().to_str().unwrap(),
        "--pg-owner",
        "105:106",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    tmp
}

fn p(dir: &Path, rel: &str) -> String {
    dir.join(rel).display().to_string()
}

#[test]
fn renew_prints_the_action_per_service() {
    let tmp = hardened();
    let d = tmp.path();
    let o = run(&[
        "certs",
        "renew",
        "--dir",
        &p(d, "volumes/tls"),
        "--ca-dir",
        &p(d, "volumes/tls-ca"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("to make it take effect, from {}:", d.display())),
        "{text}"
    );
    assert!(text.contains("\n  db: docker compose kill -s SIGHUP db, or: docker compose exec db psql -h 127.0.0.1 -U supabase_admin -d postgres -c 'select pg_reload_conf()' (PostgreSQL re-reads the certificate, key and CA (PostgreSQL 10 and later) on SIGHUP"), "{text}");
    assert!(
        text.contains("\n  supavisor: docker compose restart supavisor (restart the pooler: "),
        "{text}"
    );
}

#[test]
fn hba_apply_policy_prints_the_db_reload_only() {
    let tmp = hardened();
    let d = tmp.path();
    let o = run(&[
        "hba",
        "apply-policy",
        &p(d, "volumes/db/hba/pg_hba.conf"),
        "--trusted-cidr",
        "198.18.0.0/30",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("  db: docker compose kill -s SIGHUP db, or: "),
        "{text}"
    );
    assert!(
        text.contains("PostgreSQL re-reads pg_hba.conf on SIGHUP"),
        "{text}"
    );
    assert!(!text.contains("supavisor:"), "{text}");
}

#[test]
fn reload_without_an_engine_is_exit_1_and_confirms_nothing() {
    let tmp = hardened();
    let d = tmp.path();
    let o = run(&[
        "certs",
        "renew",
        "--dir",
        &p(d, "volumes/tls"),
        "--ca-dir",
        &p(d, "volumes/tls-ca"),
        "--reload",
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains("db: not done: no Docker engine answers on this host; run it yourself: docker compose kill -s SIGHUP db; unknown: not done"), "{text}");
    // a file no deployment mounts: --reload refuses, without it the generic advice
    let lone = tempfile::tempdir().unwrap();
    std::fs::write(lone.path().join("pg_hba.conf"), "local all all peer\n").unwrap();
    let o = run(&[
        "hba",
        "apply-policy",
        &p(lone.path(), "pg_hba.conf"),
        "--reload",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--reload: no deployment folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn harden_migrates_the_single_file_mounts_of_an_earlier_pgtls_with_the_diff() {
    let tmp = hardened();
    let d = tmp.path();
    // the compose an earlier pgtls wrote (006f07b): pg_hba.conf and the pooler's files one by one
    let compose = std::fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    let old = compose
        .replace("./volumes/db/hba:/etc/postgresql-hba:ro,z", "./volumes/db/pg_hba.conf:/etc/postgresql-hba/pg_hba.conf:ro,z")
        .replace(
            "      - ./volumes/tls:/etc/pooler-tls:ro,z\n",
            "      - ./volumes/tls/server.crt:/etc/ssl/server.crt:ro,z\n      - ./volumes/tls/server.key:/etc/ssl/server.key:ro,z\n",
        )
        .replace("/etc/pooler-tls/server.", "/etc/ssl/server.");
    assert_ne!(old, compose);
    std::fs::write(d.join("docker-compose.yml"), &old).unwrap();
    std::fs::rename(
        d.join("volumes/db/hba/pg_hba.conf"),
        d.join("volumes/db/pg_hba.conf"),
    )
    .unwrap();
    let dir = d.to_str().unwrap();

    let o = run(&["check", dir, "--pg-owner", "105:106"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("file-mounts"), "{}", stdout(&o));
    // on the old layout the actions are restarts, and say why
    let o = run(&[
        "hba",
        "apply-policy",
        &p(d, "volumes/db/pg_hba.conf"),
        "--trusted-cidr",
        "198.18.0.0/30",
    ]);
    assert!(stdout(&o).contains("  db: docker compose restart db (/etc/postgresql-hba/pg_hba.conf mounted as single files"), "{}", stdout(&o));

    let o = run(&["harden", dir, "--pg-owner", "105:106"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("-      - ./volumes/tls/server.crt:/etc/ssl/server.crt:ro,z"),
        "{text}"
    );
    assert!(
        text.contains("+      - ./volumes/tls:/etc/pooler-tls:ro,z"),
        "{text}"
    );
    assert!(
        text.contains("+      - ./volumes/db/hba:/etc/postgresql-hba:ro,z"),
        "{text}"
    );
    assert!(
        text.contains("moved to volumes/db/hba/pg_hba.conf"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("docker-compose.yml")).unwrap(),
        compose
    );
    let o = run(&["check", dir, "--pg-owner", "105:106"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

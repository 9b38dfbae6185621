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

/// The command the renewal timer runs (`certs renew --if-due --reload`), with the clock moved by
/// `--now`: inside the window it renews and goes on to the reload (here without an engine, so the
/// reload is reported not done, exit 1); outside it nothing is written and nothing reloaded.
#[test]
fn renew_if_due_acts_only_inside_the_window() {
    let tmp = hardened();
    let d = tmp.path();
    let crt = d.join("volumes/tls/server.crt");
    let key = d.join("volumes/tls/server.key");
    let before = (std::fs::read(&crt).unwrap(), std::fs::read(&key).unwrap());
    let now = |days: i64| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let secs = i64::try_from(t).unwrap() + days * 86_400;
        // RFC 3339 through date(1), as a user would write it
        let o = Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .unwrap();
        stdout(&o).trim().to_owned()
    };
    let renew = |at: &str| {
        run(&[
            "certs",
            "renew",
            "--dir",
            &p(d, "volumes/tls"),
            "--ca-dir",
            &p(d, "volumes/tls-ca"),
            "--if-due",
            "--now",
            at,
            "--reload",
        ])
    };
    // 825-day leaf: a day later is outside the window
    let o = renew(&now(1));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(": not due ("), "{}", stdout(&o));
    assert!(!stdout(&o).contains("SIGHUP"), "{}", stdout(&o));
    assert_eq!(
        (std::fs::read(&crt).unwrap(), std::fs::read(&key).unwrap()),
        before
    );
    // 600 days on: less than a third of the lifetime is left
    let o = renew(&now(600));
    let text = stdout(&o);
    assert!(text.contains("renewal due: "), "{text}");
    assert!(text.contains("renewed "), "{text}");
    assert!(text.contains("db: not done: no Docker engine answers on this host; run it yourself: docker compose kill -s SIGHUP db"), "{text}");
    assert_eq!(code(&o), 1, "the reload could not be done: {text}");
    assert_ne!(std::fs::read(&crt).unwrap(), before.0);
    // a bad --now is a usage error
    let o = renew("yesterday");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("invalid value \"yesterday\" for --now"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn renew_timer_prints_and_installs_idempotently() {
    let tmp = hardened();
    let d = tmp.path();
    let o = run(&[
        "certs",
        "renew-timer",
        d.to_str().unwrap(),
        "--print",
        "--pgtls",
        "/usr/local/bin/pgtls",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("RandomizedDelaySec=1h"), "{text}");
    assert!(
        text.contains(&format!(
            "ExecStart=/usr/local/bin/pgtls certs renew --dir {0}/volumes/tls --ca-dir {0}/volumes/tls-ca --if-due --reload --deployment {0}\n",
            d.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("root sleep $(shuf -i 0-3600 -n 1) && /usr/local/bin/pgtls certs renew"),
        "{text}"
    );
    let root = tempfile::tempdir().unwrap();
    let install = || {
        run(&[
            "certs",
            "renew-timer",
            d.to_str().unwrap(),
            "--install",
            "--root",
            root.path().to_str().unwrap(),
            "--pgtls",
            "/usr/local/bin/pgtls",
        ])
    };
    let first = install();
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_eq!(
        stdout(&first).matches("created").count(),
        2,
        "{}",
        stdout(&first)
    );
    let units = root.path().join("etc/systemd/system");
    let names: Vec<String> = std::fs::read_dir(&units)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| Path::new(n).extension().is_some_and(|e| e == "timer")),
        "{names:?}"
    );
    let second = install();
    assert_eq!(
        stdout(&second).matches("unchanged").count(),
        2,
        "{}",
        stdout(&second)
    );
    // systemd-analyze, where present, accepts the units
    if let Ok(o) = Command::new("systemd-analyze")
        .arg("verify")
        .args(names.iter().map(|n| units.join(n)))
        .output()
    {
        assert!(!stderr(&o).contains("Unknown key"), "{}", stderr(&o));
    }
}

/// An adopted certificate in a hardened deployment: `check` judges it as a public one, `harden`
/// keeps it, `certs renew` goes back to the private CA (and `check` is back to the private chain).
#[test]
fn adopted_certificate_in_check_harden_and_back() {
    let tmp = hardened();
    let d = tmp.path();
    let pki = pgtest::Pki::new();
    let leaf = pki.leaf("db.example.com", "DNS:db.example.com", 90);
    let scratch = tempfile::tempdir().unwrap();
    let (crt, key) = (
        scratch.path().join("full.pem"),
        scratch.path().join("key.pem"),
    );
    std::fs::write(&crt, &leaf.cert).unwrap();
    std::fs::write(&key, &leaf.key).unwrap();
    let served_before = std::fs::read(d.join("volumes/tls/server.crt")).unwrap();
    let o = run(&[
        "certs",
        "adopt",
        d.to_str().unwrap(),
        "--cert",
        crt.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("(dry run: nothing was written)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(d.join("volumes/tls/server.crt")).unwrap(),
        served_before
    );
    assert!(!d.join("volumes/tls/.pgtls-adopted").exists());
    let o = run(&[
        "certs",
        "adopt",
        d.to_str().unwrap(),
        "--cert",
        crt.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--domain",
        "db.example.com",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("only the server certificate"),
        "{}",
        stdout(&o)
    );
    let check = || {
        let o = run(&[
            "check",
            d.to_str().unwrap(),
            "--domain",
            "db.example.com",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    (
                        i["verdict"].as_str().unwrap().to_owned(),
                        i["detail"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let items = check();
    assert_eq!(items["certificate-chain"].0, "warn", "{items:?}");
    assert!(
        items["certificate-chain"]
            .1
            .contains("not in this host's store"),
        "{items:?}"
    );
    assert_eq!(items["certificate-sans"].0, "pass", "{items:?}");
    assert_eq!(items["ca-key"].0, "pass", "{items:?}");
    assert_eq!(items["certificate-expiry"].0, "pass", "{items:?}");
    assert!(
        items["certificate-expiry"]
            .1
            .starts_with("adopted certificate: "),
        "{items:?}"
    );
    let served = std::fs::read(d.join("volumes/tls/server.crt")).unwrap();
    let o = run(&[
        "harden",
        d.to_str().unwrap(),
        "--pg-owner",
        "105:106",
        "--domain",
        "db.example.com",
        // the step's notes are the long form since the one-screen report (#23)
        "--verbose",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("adopted certificate kept"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(d.join("volumes/tls/server.crt")).unwrap(),
        served
    );
    let o = run(&[
        "certs",
        "renew",
        "--dir",
        &p(d, "volumes/tls"),
        "--ca-dir",
        &p(d, "volumes/tls-ca"),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("back to the private CA"),
        "{}",
        stdout(&o)
    );
    assert!(!d.join("volumes/tls/.pgtls-adopted").exists());
    let items = check();
    assert_eq!(items["certificate-chain"].0, "pass", "{items:?}");
    assert_eq!(
        items["certificate-chain"].1, "server certificate chains to the CA",
        "{items:?}"
    );
}

/// `renew-timer --textfile DIR`: the printed service and cron line carry `--textfile
/// DIR/NAME.prom`; the service's `ExecStart` run by hand (the clock moved with `--now`) writes the
/// certificate's metrics and the run's outcome there, clean for `promtool check metrics`: a run
/// outside the window succeeds (1), one inside it that cannot reload (no engine here) fails (0).
#[test]
fn renew_timer_textfile_records_each_run() {
    let tmp = hardened();
    let d = tmp.path();
    let prom_dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "certs",
        "renew-timer",
        d.to_str().unwrap(),
        "--print",
        "--pgtls",
        crate::support::bin(),
        "--textfile",
        prom_dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart in {text}"))
        .to_owned();
    let tail = exec
        .split_whitespace()
        .skip_while(|w| *w != "--textfile")
        .nth(1);
    let prom = tail
        .unwrap_or_else(|| panic!("no --textfile in {exec}"))
        .to_owned();
    assert!(
        prom.starts_with(prom_dir.path().to_str().unwrap())
            && Path::new(&prom).extension().is_some_and(|e| e == "prom"),
        "{prom}"
    );
    let cron = text.lines().find(|l| l.contains(" root sleep ")).unwrap();
    assert!(cron.contains(&format!("--textfile {prom} ")), "{cron}");
    let service_run = |days: i64| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + u64::try_from(days * 86_400).unwrap();
        let at = stdout(
            &Command::new("date")
                .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
                .output()
                .unwrap(),
        )
        .trim()
        .to_owned();
        let words: Vec<&str> = exec.split_whitespace().collect();
        let o = Command::new(words[0])
            .args(&words[1..])
            .args(["--now", &at])
            .env("PGTLS_DOCKER", "0")
            .output()
            .unwrap();
        (o, std::fs::read_to_string(&prom).unwrap())
    };
    let crt = d.join("volumes/tls/server.crt");
    let served = std::fs::read(&crt).unwrap();
    // a day on: not due, nothing renewed, the run succeeded
    let (o, metrics) = service_run(1);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(std::fs::read(&crt).unwrap(), served);
    crate::textfile::promtool_clean(&metrics);
    assert!(
        metrics.contains(&format!(
            "pgtls_renewal_last_success{{dir=\"{}\"}} 1\n",
            d.join("volumes/tls").display()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("pgtls_renewal_last_run_timestamp_seconds{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pgtls_certificate_expiry_timestamp_seconds{file="),
        "{metrics}"
    );
    let first_fp = metrics
        .lines()
        .find(|l| l.starts_with("pgtls_certificate_info{"))
        .unwrap()
        .to_owned();
    // 600 days on: inside the window, renewed, but the reload cannot be done: the run failed
    let (o, metrics) = service_run(600);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert_ne!(std::fs::read(&crt).unwrap(), served);
    crate::textfile::promtool_clean(&metrics);
    assert!(
        metrics.contains("pgtls_renewal_last_success{dir=") && metrics.contains("} 0\n"),
        "{metrics}"
    );
    let second_fp = metrics
        .lines()
        .find(|l| l.starts_with("pgtls_certificate_info{"))
        .unwrap();
    assert_ne!(
        first_fp, second_fp,
        "the metrics name the renewed certificate"
    );
    // no temporary file left beside it (atomic write)
    let left: Vec<_> = std::fs::read_dir(prom_dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

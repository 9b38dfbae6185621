//! `harden` and `check` without servers: dry run, idempotence, interrupted writes, Coolify bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::*;

/// Every file under `dir` with its bytes and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let mode = e.metadata().unwrap().permissions().mode();
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (std::fs::read(&p).unwrap(), mode),
                );
            }
        }
    }
    out
}

/// The uid:gid for `--pg-owner`: the user the test servers run as (`postgres` when the tests run
/// as root, else the current user, who can own files without root). Never root: PostgreSQL
/// never runs as root, and harden refuses `--pg-owner 0:...`.
fn my_owner(_dir: &Path) -> String {
    let u = pgtest::server_user();
    format!("{}:{}", u.uid, u.gid)
}

fn upstream_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    tmp
}

#[test]
fn dry_run_writes_nothing() {
    let tmp = upstream_copy();
    let before = snapshot(tmp.path());
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(Path::new("/")).as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("dry run: nothing will be written"), "{s}");
    assert!(
        s.contains("+        \"ssl=on\","),
        "the diff shows the db command edit:\n{s}"
    );
    assert!(!s.contains("BEGIN PRIVATE KEY"), "keys are never printed");
    assert_eq!(snapshot(tmp.path()), before, "a dry run changed files");
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(Path::new("/")).as_ref(),
        "--dry-run".as_ref(),
        "--san".as_ref(),
        "supabase-supavisor".as_ref(),
        "--verbose".as_ref(),
    ]);
    assert!(
        stdout(&o).contains("W-SAN-UNREACHABLE")
            && stdout(&o).contains("`supabase-supavisor` is not a service or container name"),
        "{}",
        stdout(&o)
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn second_run_changes_no_byte_and_says_so() {
    let tmp = upstream_copy();
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(tmp.path()).as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Wrote "), "{}", stdout(&o));
    let after_first = snapshot(tmp.path());
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(tmp.path()).as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("Nothing to do"), "{s}");
    assert!(!s.contains("~ "), "no step may report a change:\n{s}");
    assert!(
        s.contains("pg_hba.conf already follows the TLS policy"),
        "{s}"
    );
    assert!(!s.contains("pg_hba.conf edited"), "{s}");
    assert_eq!(
        snapshot(tmp.path()),
        after_first,
        "the second run changed bytes or modes"
    );
    // and the first run kept backups of what it replaced
    let backups = tmp.path().join(".pgtls-backups");
    assert!(backups.is_dir());
    let o = pgtls(["check".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 0, "check after harden: {}", stdout(&o));
}

#[test]
fn second_run_into_the_same_out_dir_is_a_no_op() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("demo");
    let src = examples_dir().join("supabase");
    let owner = my_owner(Path::new("/"));
    let args = [
        "harden".as_ref(),
        src.as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
        "--out".as_ref(),
        dest.as_os_str(),
        "--json".as_ref(),
    ];
    let o = pgtls(args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layout"], "upstream");
    assert_eq!(v["changed"], true);
    let ids: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "copy",
            "certificates",
            "pg-hba",
            "db-service",
            "pooler-service",
            "pooler-tenant"
        ]
    );
    assert_eq!(v["checklist"]["verdict"], "pass");
    let first = snapshot(&dest);
    assert!(
        dest.join("volumes/db/data").is_dir(),
        "PGDATA exists in the copy"
    );
    assert!(
        !dest.join("volumes/db/data/README.md").exists(),
        "PGDATA is created empty"
    );
    let o = pgtls(args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["changed"], false, "{v:#}");
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "unchanged")
    );
    assert_eq!(snapshot(&dest), first);
}

// Interrupted writes (every failure point of a run, then a rerun) are tested in the library
// through its `Sink` seam: crates/pgtls-harden/tests/it/faults.rs.

#[test]
fn coolify_harden_keeps_every_other_byte() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("coolify"), tmp.path());
    let compose = tmp.path().join("docker-compose.yml");
    let before = std::fs::read_to_string(&compose).unwrap();
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(tmp.path()).as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Coolify rewrites docker-compose.yml from its own copy: the hardened compose goes into a
    // file to paste into Coolify, and the output says so and does not claim to be done
    assert_eq!(std::fs::read_to_string(&compose).unwrap(), before);
    let paste = tmp.path().join("docker-compose.pgtls.yml");
    let after = std::fs::read_to_string(&paste).unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("NOT DONE YET") && text.contains("\"Edit Compose File\""),
        "{text}"
    );
    assert!(
        text.contains("A deploy or restart before pasting rewrites docker-compose.yml"),
        "{text}"
    );
    let diff = similar::TextDiff::from_lines(&before, &after);
    let removed: Vec<&str> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value())
        .collect();
    let added: String = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value())
        .collect();
    // edits add lines and change none but the two certificate paths (now inside the mounted
    // TLS folder): the new map entry is a line of its own, with a comma
    assert_eq!(
        removed,
        [
            "      - GLOBAL_DOWNSTREAM_CERT_PATH=/etc/ssl/server.crt\n",
            "      - GLOBAL_DOWNSTREAM_KEY_PATH=/etc/ssl/server.key\n"
        ],
        "unexpected removals"
    );
    assert!(
        added.contains("            \"enforce_ssl\" => true,\n"),
        "{added}"
    );
    assert!(
        added.contains("ssl=on")
            && added.contains("      - GLOBAL_DOWNSTREAM_CERT_PATH=/etc/pooler-tls/server.crt\n"),
        "{added}"
    );
    // the typed view: the inline pooler.exs has enforce_ssl, the db command has ssl=on
    let services = pgtls_harden::layout::parse_services(&after).unwrap();
    let pooler = services
        .iter()
        .find(|s| s.key == "supabase-supavisor")
        .unwrap();
    let script = pooler
        .mount_for("/etc/pooler/pooler.exs")
        .unwrap()
        .content
        .clone()
        .unwrap();
    assert!(script.contains("\"enforce_ssl\" => true"));
    // the host copy Coolify wrote on the last deploy is kept in step with the inline content
    let host_copy = std::fs::read_to_string(tmp.path().join("volumes/pooler/pooler.exs")).unwrap();
    assert_eq!(host_copy, script);
    let db = services.iter().find(|s| s.key == "supabase-db").unwrap();
    assert_eq!(db.pg_settings().get("ssl").map(String::as_str), Some("on"));
    let check = |dir: &std::path::Path| {
        pgtls([
            "check".as_ref(),
            dir.as_os_str(),
            "--pg-owner".as_ref(),
            my_owner(dir).as_ref(),
        ])
    };
    // before the paste, the compose on disk is not hardened
    assert_eq!(code(&check(tmp.path())), 1);
    // what Coolify writes after the paste and a restart
    std::fs::copy(&paste, &compose).unwrap();
    let o = check(tmp.path());
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn coolify_without_owner_refuses_with_exit_1() {
    let o = pgtls([
        "harden".as_ref(),
        examples_dir().join("coolify").as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("--pg-owner") && err.contains("id postgres"),
        "{err}"
    );
}

#[test]
fn check_exit_codes() {
    let o = pgtls([
        "check".as_ref(),
        examples_dir().join("supabase").as_os_str(),
    ]);
    assert_eq!(code(&o), 1, "the unhardened example fails the checklist");
    assert!(stdout(&o).contains("✗ db-command"), "{}", stdout(&o));
    let o = pgtls([
        "check".as_ref(),
        examples_dir().join("supabase").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "pooler-enforce-ssl" && i["verdict"] == "fail")
    );
    let o = pgtls(["check", "/definitely/not/here"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn check_names_coolifys_self_signed_pooler_certificate() {
    let o = pgtls([
        "check".as_ref(),
        examples_dir().join("coolify").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "pooler-tls")
        .cloned()
        .unwrap();
    assert_eq!(item["verdict"], "fail");
    let detail = item["detail"].as_str().unwrap();
    assert!(detail.contains("self-signed certificate"), "{detail}");
    assert!(!detail.contains("crash-loops"), "{detail}");
}

#[test]
fn unknown_layout_says_what_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("docker-compose.yml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(Path::new("/")).as_ref(),
        "--dry-run".as_ref(),
    ]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("no supported deployment layout"), "{err}");
    assert!(
        err.contains("supabase-supavisor")
            && err.contains("has services: web")
            && err.contains("--layout"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let o = pgtls(["check".as_ref(), empty.path().as_os_str()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no compose file found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn create_only_trap_is_named_and_upsert_fixes_it() {
    let tmp = upstream_copy();
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(Path::new("/")).as_ref(),
        "--dry-run".as_ref(),
        "--verbose".as_ref(),
    ]);
    let s = stdout(&o);
    assert!(
        s.contains("W-TENANT-CREATE-ONLY")
            && s.contains("CREATE-ONLY TRAP")
            && s.contains("--pooler-upsert")
            && s.contains("/api/tenants/"),
        "{s}"
    );
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        my_owner(Path::new("/")).as_ref(),
        "--pooler-upsert".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let script = std::fs::read_to_string(tmp.path().join("volumes/pooler/pooler.exs")).unwrap();
    assert!(script.contains("update_tenant(tenant, params)"), "{script}");
    let o = pgtls([
        "pooler".as_ref(),
        "inspect".as_ref(),
        tmp.path().join("volumes/pooler/pooler.exs").as_os_str(),
        "--json".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tenant_logic"], "upsert");
    assert_eq!(v["enforce_ssl"], "true");
}

#[test]
fn giving_the_key_away_without_root_is_refused_before_writing() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let dest = tmp.path().join("out");
    let src = examples_dir().join("supabase");
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    let o = if me == 0 {
        // as root, run the binary as `nobody` asking for a key owned by another uid
        std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", bin(), "harden"])
            .arg(&src)
            .arg("--out")
            .arg(&dest)
            .args(["--pg-owner", "105:106"])
            .output()
            .unwrap()
    } else {
        let other = format!("{}:{}", me + 1, me + 1);
        pgtls([
            "harden".as_ref(),
            src.as_os_str(),
            "--out".as_ref(),
            dest.as_os_str(),
            "--pg-owner".as_ref(),
            other.as_ref(),
        ])
    };
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("only root can give files away"),
        "{}",
        stderr(&o)
    );
    assert!(!dest.exists(), "nothing may be written");
}

#[test]
fn an_explicit_key_type_reissues_and_the_default_keeps_what_exists() {
    let tmp = upstream_copy();
    let run = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "harden".into(),
            tmp.path().into(),
            "--json".into(),
            "--pg-owner".into(),
            my_owner(tmp.path()).into(),
        ];
        args.extend(extra.iter().map(Into::into));
        let o = pgtls(args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "certificates")
            .unwrap()
            .clone()
    };
    assert_eq!(run(&[])["status"], "changed");
    let step = run(&["--key-type", "rsa2048"]);
    assert_eq!(step["status"], "changed");
    assert!(
        step["notes"]
            .to_string()
            .contains("its key is ECDSA P-256 and --key-type asks for RSA 2048"),
        "{step}"
    );
    let crt = tmp.path().join("volumes/tls/server.crt");
    let o = pgtls([
        "certs".as_ref(),
        "inspect".as_ref(),
        crt.as_os_str(),
        "--json".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["key"], "RSA 2048");
    assert_eq!(
        run(&[])["status"],
        "unchanged",
        "without --key-type the RSA certificate stays"
    );
    assert_eq!(run(&["--key-type", "rsa2048"])["status"], "unchanged");
}

/// `openssl`'s view of a public key (of a key file, or of a certificate).
fn public_key(path: &Path, cert: bool) -> Vec<u8> {
    let p = path.to_str().unwrap();
    let args: &[&str] = if cert {
        &["x509", "-in", p, "-pubkey", "-noout"]
    } else {
        &["pkey", "-in", p, "-pubout"]
    };
    let o = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (scripts/deps)");
    assert!(o.status.success(), "openssl cannot read {p}");
    o.stdout
}

/// Two `harden` processes on one fresh folder at once, `PGTLS_RACE_ROUNDS` rounds (50 by
/// default, what CI runs): every exit 0 means a complete, consistent folder (judged by openssl),
/// and the second run, which waits for the first one's lock, finds nothing to do.
#[test]
fn two_concurrent_runs_never_corrupt_the_pki() {
    let rounds: usize = std::env::var("PGTLS_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    for round in 1..=rounds {
        let tmp = upstream_copy();
        let owner = my_owner(tmp.path());
        let spawn = || {
            std::process::Command::new(bin())
                .args(["harden".as_ref(), tmp.path().as_os_str()])
                .args(["--pg-owner", &owner])
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        for o in [&a, &b] {
            assert_eq!(code(o), 0, "round {round}: {}", stderr(o));
            assert!(
                !stderr(o).contains("os error"),
                "round {round}: {}",
                stderr(o)
            );
        }
        let nothing = [&a, &b]
            .iter()
            .filter(|o| stdout(o).contains("Nothing to do"))
            .count();
        assert_eq!(
            nothing, 1,
            "round {round}: exactly one run finds nothing to do"
        );
        let d = tmp.path().join("volumes");
        assert_eq!(
            public_key(&d.join("tls-ca/ca.key"), false),
            public_key(&d.join("tls-ca/ca.crt"), true),
            "round {round}: ca.key does not match ca.crt"
        );
        assert_eq!(
            public_key(&d.join("tls/server.key"), false),
            public_key(&d.join("tls/server.crt"), true),
            "round {round}: server.key does not match server.crt"
        );
        let verify = std::process::Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(d.join("tls-ca/ca.crt"))
            .arg(d.join("tls/server.crt"))
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "round {round}: server.crt does not chain to the CA"
        );
        assert_eq!(
            std::fs::read(d.join("tls/ca.crt")).unwrap(),
            std::fs::read(d.join("tls-ca/ca.crt")).unwrap(),
            "round {round}: the db's CA is not the CA clients are given"
        );
        let o = pgtls([
            "check".as_ref(),
            tmp.path().as_os_str(),
            "--pg-owner".as_ref(),
            owner.as_ref(),
        ]);
        assert_eq!(code(&o), 0, "round {round}: check: {}", stdout(&o));
    }
}

/// A symlinked `volumes/tls-ca` is refused (naming the link and its target) unless
/// `--follow-symlinks`; nothing is written through it.
#[test]
fn a_symlinked_ca_folder_is_refused() {
    let tmp = upstream_copy();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("volumes/tls-ca")).unwrap();
    let owner = my_owner(tmp.path());
    let args = [
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
    ];
    let o = pgtls(args);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("volumes/tls-ca\" is a symbolic link to"),
        "{err}"
    );
    assert!(err.contains(&outside.path().display().to_string()), "{err}");
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    let o = pgtls(args.into_iter().chain(["--follow-symlinks".as_ref()]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(outside.path().join("ca.key").is_file());
}

/// A hand-added `host all all 0.0.0.0/0 trust` survives hardening as `hostssl ... trust`:
/// the checklist fails, so harden exits 1 with the reason, unless `--allow-failed-checks`.
#[test]
fn a_failing_checklist_after_harden_is_exit_1() {
    let tmp = upstream_copy();
    let owner = my_owner(tmp.path());
    let args = [
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
    ];
    assert_eq!(code(&pgtls(args)), 0);
    let hba = tmp.path().join("volumes/db/hba/pg_hba.conf");
    let mut text = std::fs::read_to_string(&hba).unwrap();
    text.push_str("host all all 0.0.0.0/0 trust\n");
    std::fs::write(&hba, text).unwrap();
    let o = pgtls(args);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("The checklist of the hardened deployment fails: hba-lint"),
        "{}",
        stdout(&o)
    );
    let o = pgtls(args.into_iter().chain(["--allow-failed-checks".as_ref()]));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

/// A world-readable CA key: harden says it was exposed, check fails on it.
#[test]
fn an_exposed_ca_key_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = upstream_copy();
    let owner = my_owner(tmp.path());
    let harden = [
        "harden".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
    ];
    assert_eq!(code(&pgtls(harden)), 0);
    let key = tmp.path().join("volumes/tls-ca/ca.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let check = [
        "check".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
    ];
    let o = pgtls(check);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the CA key was exposed"),
        "{}",
        stdout(&o)
    );
    let o = pgtls(harden);
    assert!(stdout(&o).contains("W-CA-KEY-EXPOSED"), "{}", stdout(&o));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Under umask 000 the backup folders are still 0700.
#[test]
fn backups_are_private_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = upstream_copy();
    let owner = my_owner(tmp.path());
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" harden \"$1\" --pg-owner \"$2\"")
        .arg(bin())
        .arg(tmp.path())
        .arg(&owner)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let root = tmp.path().join(".pgtls-backups");
    let mut dirs = vec![root.clone()];
    dirs.extend(std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()));
    assert!(dirs.len() >= 2, "a backup folder was made");
    for d in dirs {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
}

/// Invalid UTF-8 and NUL bytes: the error names the file, line and column.
#[test]
fn bad_bytes_are_reported_with_line_and_column() {
    for (file, bad, problem) in [
        ("docker-compose.yml", &b"\xff"[..], "invalid UTF-8"),
        ("docker-compose.yml", &b"\0"[..], "NUL byte"),
        ("volumes/pooler/pooler.exs", &b"\xff"[..], "invalid UTF-8"),
        ("volumes/pooler/pooler.exs", &b"\0"[..], "NUL byte"),
        ("volumes/db/hba/pg_hba.conf", &b"\xff"[..], "invalid UTF-8"),
        ("volumes/db/hba/pg_hba.conf", &b"\0"[..], "NUL byte"),
    ] {
        let tmp = upstream_copy();
        let path = tmp.path().join(file);
        let owner = my_owner(tmp.path());
        if !path.exists() {
            // pg_hba.conf is made by a first harden
            let o = pgtls([
                "harden".as_ref(),
                tmp.path().as_os_str(),
                "--pg-owner".as_ref(),
                owner.as_ref(),
            ]);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
        let text = std::fs::read(&path).unwrap();
        // line 3, column 2
        let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        lines[2].splice(1..1, bad.iter().copied());
        std::fs::write(&path, lines.join(&b'\n')).unwrap();
        for cmd in ["harden", "check"] {
            let o = pgtls([
                cmd.as_ref(),
                tmp.path().as_os_str(),
                "--pg-owner".as_ref(),
                owner.as_ref(),
            ]);
            // harden stops (exit 2); check reports the pooler.exs as a failed item (exit 1)
            let err = format!("{}{}", stdout(&o), stderr(&o));
            assert_ne!(code(&o), 0, "{cmd} {file}: {err}");
            assert!(
                err.contains(&format!("\"{file}\" line 3, column 2: {problem}")),
                "{cmd} {file}: {err}"
            );
        }
    }
}

/// A compose file over the documented limit is refused with a clear error, quickly.
#[test]
fn an_oversized_compose_is_refused() {
    let tmp = upstream_copy();
    let path = tmp.path().join("docker-compose.yml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&"# padding\n".repeat(120_000));
    std::fs::write(&path, text).unwrap();
    let o = pgtls([
        "check".as_ref(),
        tmp.path().as_os_str(),
        "--pg-owner".as_ref(),
        "0:0".as_ref(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("pgtls reads compose files of at most 1048576 bytes"),
        "{}",
        stderr(&o)
    );
}

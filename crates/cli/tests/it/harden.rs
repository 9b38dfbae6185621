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

fn my_owner(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir).unwrap();
    format!("{}:{}", m.uid(), m.gid())
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
        "--dry-run".as_ref(),
        "--san".as_ref(),
        "supabase-supavisor".as_ref(),
    ]);
    assert!(
        stdout(&o).contains("`supabase-supavisor` is not a service or container name"),
        "{}",
        stdout(&o)
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn second_run_changes_no_byte_and_says_so() {
    let tmp = upstream_copy();
    let o = pgtls(["harden".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Wrote "), "{}", stdout(&o));
    let after_first = snapshot(tmp.path());
    let o = pgtls(["harden".as_ref(), tmp.path().as_os_str()]);
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
    let args = [
        "harden".as_ref(),
        src.as_os_str(),
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

#[test]
fn interrupted_write_leaves_the_original_intact() {
    let tmp = upstream_copy();
    let compose = tmp.path().join("docker-compose.yml");
    let pooler = tmp.path().join("volumes/pooler/pooler.exs");
    let original_compose = std::fs::read(&compose).unwrap();
    let original_pooler = std::fs::read(&pooler).unwrap();
    // changes are written in path order: docker-compose.yml, volumes/db/pg_hba.conf,
    // volumes/pooler/pooler.exs, ...; fail right after the third temp file is written
    let o = std::process::Command::new(bin())
        .args(["harden".as_ref(), tmp.path().as_os_str()])
        .env("NO_COLOR", "1")
        .env("PGTLS_TEST_FAIL_AFTER_TEMP", "3")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("pooler.exs") && err.contains("failed"),
        "{err}"
    );
    assert!(
        err.contains("already written") && err.contains("docker-compose.yml"),
        "{err}"
    );
    assert!(err.contains("backups of replaced files are in"), "{err}");
    assert!(
        err.contains("simulated failure"),
        "the cause is printed: {err}"
    );
    assert_eq!(
        std::fs::read(&pooler).unwrap(),
        original_pooler,
        "the interrupted file changed"
    );
    assert_ne!(
        std::fs::read(&compose).unwrap(),
        original_compose,
        "files before it were written"
    );
    let backup_root = tmp.path().join(".pgtls-backups");
    let stamp = std::fs::read_dir(&backup_root)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read(stamp.join("docker-compose.yml")).unwrap(),
        original_compose
    );
    let leftovers: Vec<_> = snapshot(tmp.path())
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("pgtls-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    // a rerun completes the job
    let o = pgtls(["harden".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_ne!(std::fs::read(&pooler).unwrap(), original_pooler);
}

#[test]
fn failure_on_the_first_file_writes_nothing() {
    let tmp = upstream_copy();
    let before = snapshot(tmp.path());
    let o = std::process::Command::new(bin())
        .args(["harden".as_ref(), tmp.path().as_os_str()])
        .env("PGTLS_TEST_FAIL_AFTER_TEMP", "1")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no file had been written yet"),
        "{}",
        stderr(&o)
    );
    let after = snapshot(tmp.path());
    // only the folders/backups may appear; every original file is byte-identical
    for (path, content) in &before {
        assert_eq!(after.get(path), Some(content), "{} changed", path.display());
    }
}

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
    // edits add lines and change none: the new map entry is a line of its own, with a comma
    assert!(removed.is_empty(), "unexpected removals: {removed:?}");
    assert!(
        added.contains("            \"enforce_ssl\" => true,\n"),
        "{added}"
    );
    assert!(
        added.contains("ssl=on") && !added.contains("GLOBAL_DOWNSTREAM"),
        "{added}"
    );
    // the typed view: the inline pooler.exs has enforce_ssl, the db command has ssl=on
    let services = pgtls::layout::parse_services(&after).unwrap();
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
        "--dry-run".as_ref(),
    ]);
    let s = stdout(&o);
    assert!(
        s.contains("CREATE-ONLY TRAP")
            && s.contains("--pooler-upsert")
            && s.contains("/api/tenants/"),
        "{s}"
    );
    let o = pgtls([
        "harden".as_ref(),
        tmp.path().as_os_str(),
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
        // as root, run the binary as `nobody` asking for a root-owned key
        std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", bin(), "harden"])
            .arg(&src)
            .arg("--out")
            .arg(&dest)
            .args(["--pg-owner", "0:0"])
            .output()
            .unwrap()
    } else {
        pgtls([
            "harden".as_ref(),
            src.as_os_str(),
            "--out".as_ref(),
            dest.as_os_str(),
            "--pg-owner".as_ref(),
            "0:0".as_ref(),
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
        let mut args: Vec<std::ffi::OsString> =
            vec!["harden".into(), tmp.path().into(), "--json".into()];
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

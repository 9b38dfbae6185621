//! `pgtls harden --coolify-url` against `pgtest::CoolifyStandIn`, a stand-in built from
//! Coolify's sources (Coolify itself cannot run here; see `crates/pgtest/src/coolify.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtest::{Abilities, CoolifyStandIn};

use crate::support::{bin, code, copy_dir, examples_dir, stderr, stdout};

const UUID: &str = "k4c8sgw0okw4s8kc0kc4o8gs";
const TOKEN: &str = "3|pgtls-test-token-never-printed";

/// A Coolify service folder `/data/coolify/services/<uuid>` modelled in a temp dir.
struct Service {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn service_from(example: &Path) -> Service {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(UUID);
    copy_dir(example, &dir);
    Service { _tmp: tmp, dir }
}

fn fixture_2024() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coolify-2024")
}

/// The db user the key is given to: the test server's user (never root: harden refuses 0).
fn owner(_dir: &Path) -> String {
    let u = pgtest::server_user();
    format!("{}:{}", u.uid, u.gid)
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            // the run lock: an empty file harden keeps in the deployment folder (flock), not
            // a change to the deployment
            if e.file_name() == ".pgtls.lock" {
                continue;
            }
            let mode = e.metadata().unwrap().permissions().mode();
            if e.file_type().unwrap().is_dir() {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (Vec::new(), mode),
                );
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (std::fs::read(&p).unwrap(), mode),
                );
            }
        }
    }
    out
}

/// `pgtls harden DIR --coolify-url URL --pg-owner ...` with `COOLIFY_TOKEN` set to `token`.
fn harden(dir: &Path, url: &str, token: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("harden")
        .arg(dir)
        .args(["--coolify-url", url, "--pg-owner", &owner(dir)])
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("COOLIFY_TOKEN");
    if let Some(t) = token {
        cmd.env("COOLIFY_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn check(dir: &Path) -> Output {
    Command::new(bin())
        .arg("check")
        .arg(dir)
        // every item, passes included: the tests read the whole checklist
        .arg("--verbose")
        .args(["--pg-owner", &owner(dir)])
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn assert_token_not_printed(o: &Output) {
    for text in [stdout(o), stderr(o)] {
        assert!(
            !text.contains("pgtls-test-token"),
            "the token was printed:\n{text}"
        );
    }
}

fn methods(c: &CoolifyStandIn) -> Vec<String> {
    c.requests()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

#[test]
fn patched_compose_passes_the_same_checks_as_the_file_edit() {
    let svc = service_from(&examples_dir().join("coolify"));
    let raw = std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap();
    let coolify = CoolifyStandIn::start();
    coolify.token(TOKEN, Abilities::ROOT).service(UUID, &raw);

    let o = harden(&svc.dir, coolify.url(), Some(TOKEN), &["--coolify-restart"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    assert_token_not_printed(&o);
    assert_eq!(
        methods(&coolify),
        [
            format!("GET /api/v1/services/{UUID} 200"),
            format!("PATCH /api/v1/services/{UUID} 200"),
            format!("GET /api/v1/services/{UUID}/storages 200"),
            format!("POST /api/v1/services/{UUID}/restart 200"),
        ]
    );
    assert!(
        stdout(&o).contains("Coolify lists no file storage at /etc/pooler/pooler.exs"),
        "{}",
        stdout(&o)
    );
    let reqs = coolify.requests();
    assert!(
        reqs.iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    // the PATCH body is {"docker_compose_raw": base64}; the stand-in stored the decoded text
    let body: serde_json::Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let stored = coolify.compose(UUID).unwrap();
    assert_ne!(stored, raw);
    assert_eq!(coolify.restarts(), [UUID]);
    let text = stdout(&o);
    assert!(
        text.contains("comments and formatting in its copy do not survive"),
        "{text}"
    );
    assert!(
        text.contains("Service restarting request queued."),
        "{text}"
    );

    // pgtls left Coolify's docker-compose.yml alone; Coolify writes it from the stored copy
    // at the restart: do that, then the same checklist as after the file edit must pass
    assert_eq!(
        std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap(),
        raw
    );
    let failing = check(&svc.dir);
    assert_eq!(code(&failing), 1, "before Coolify writes the new compose");
    std::fs::write(svc.dir.join("docker-compose.yml"), &stored).unwrap();
    let ok = check(&svc.dir);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    let report = stdout(&ok);
    for id in ["db-command", "pooler-enforce-ssl"] {
        assert!(report.contains(&format!("✓ {id}")), "{id}: {report}");
    }
    // check says what it looked at, and that Coolify's copy is unknown from here
    assert!(report.contains("coolify-compose"), "{report}");
    assert!(
        report.contains("that copy may differ: unknown here"),
        "{report}"
    );
    assert!(!report.contains("All checks passed."), "{report}");
    // a second run finds nothing to do and sends no PATCH
    let again = harden(&svc.dir, coolify.url(), Some(TOKEN), &[]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already hardened"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        coolify
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        1
    );
}

#[test]
fn dry_run_sends_only_the_get_and_writes_nothing() {
    let svc = service_from(&examples_dir().join("coolify"));
    let raw = std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap();
    let coolify = CoolifyStandIn::start();
    coolify.token(TOKEN, Abilities::ROOT).service(UUID, &raw);
    let before = snapshot(&svc.dir);
    let o = harden(&svc.dir, coolify.url(), Some(TOKEN), &["--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        methods(&coolify),
        [format!("GET /api/v1/services/{UUID} 200")]
    );
    assert_eq!(snapshot(&svc.dir), before);
    assert_eq!(coolify.compose(UUID).unwrap(), raw);
    assert!(stdout(&o).contains("+      - 'ssl=on'") || stdout(&o).contains("ssl=on"));
    assert!(
        stdout(&o).contains("only that GET was sent"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn api_errors_change_no_file() {
    let svc = service_from(&examples_dir().join("coolify"));
    let raw = std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap();
    let coolify = CoolifyStandIn::start();
    coolify
        .token(TOKEN, Abilities::ROOT)
        .token("reader", Abilities::NO_SENSITIVE)
        .token(
            "no-write",
            Abilities {
                read_sensitive: true,
                write: false,
                deploy: false,
            },
        )
        .service(UUID, &raw);
    let before = snapshot(&svc.dir);
    let cases: [(Option<&str>, &[&str], i32, &str); 5] = [
        (
            Some("3|wrong"),
            &[],
            1,
            "Coolify answered 401 to GET /api/v1/services/",
        ),
        (None, &[], 1, "COOLIFY_TOKEN"),
        (Some("reader"), &[], 1, "allowed to read sensitive data"),
        (
            Some(TOKEN),
            &["--coolify-service", "nope"],
            1,
            "404 to GET /api/v1/services/nope: Service not found.",
        ),
        // the PATCH is refused after the host files were written: they are put back
        (
            Some("no-write"),
            &[],
            1,
            "403 to PATCH /api/v1/services/k4c8sgw0okw4s8kc0kc4o8gs: Missing required permissions: write",
        ),
    ];
    for (token, extra, exit, message) in cases {
        let o = harden(&svc.dir, coolify.url(), token, extra);
        assert_eq!(code(&o), exit, "{token:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{token:?}: {}", stderr(&o));
        assert_token_not_printed(&o);
        assert_eq!(snapshot(&svc.dir), before, "{token:?} changed a file");
    }
    assert!(
        stderr(&harden(&svc.dir, coolify.url(), Some("3|wrong"), &[])).contains("Unauthenticated.")
    );
    let refused = harden(&svc.dir, coolify.url(), Some("no-write"), &[]);
    assert!(
        stderr(&refused).contains("were put back"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(coolify.compose(UUID).unwrap(), raw, "nothing stored");
    assert!(
        coolify
            .requests()
            .iter()
            .all(|r| r.method != "PATCH" || r.status == 403)
    );
}

#[test]
fn unreachable_url_and_bad_urls() {
    let svc = service_from(&examples_dir().join("coolify"));
    let before = snapshot(&svc.dir);
    // a loopback port with nothing listening
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = harden(
        &svc.dir,
        &format!("http://127.0.0.1:{port}"),
        Some(TOKEN),
        &[],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot reach Coolify at"),
        "{}",
        stderr(&o)
    );
    assert_token_not_printed(&o);
    let o = harden(&svc.dir, "127.0.0.1:8000", Some(TOKEN), &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not an http:// or https:// URL"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&svc.dir), before);
}

#[test]
fn services_that_are_not_a_supabase_stack_are_refused() {
    let svc = service_from(&examples_dir().join("coolify"));
    let before = snapshot(&svc.dir);
    let coolify = CoolifyStandIn::start();
    coolify.token(TOKEN, Abilities::ROOT);
    let cases = [
        (
            "services:\n  web:\n    image: nginx\n",
            "is not a Supabase stack pgtls can harden",
        ),
        (
            "services:\n  supabase-db:\n    image: supabase/postgres:15.8.1.048\n    volumes:\n      - db:/var/lib/postgresql/data\n",
            "\"docker-compose.yml\" has services: supabase-db",
        ),
    ];
    for (compose, message) in cases {
        coolify.service(UUID, compose);
        let o = harden(&svc.dir, coolify.url(), Some(TOKEN), &[]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(message), "{}", stderr(&o));
        assert_eq!(snapshot(&svc.dir), before);
        assert_eq!(coolify.compose(UUID).unwrap(), compose);
    }
}

#[test]
fn entrypoint_sh_with_explicit_false_ends_with_true() {
    let svc = service_from(&fixture_2024());
    let raw = std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap();
    // check fails before the fix, and says why an API call alone would not last
    let o = check(&svc.dir);
    assert_eq!(code(&o), 1);
    let report = stdout(&o);
    assert!(report.contains("✗ pooler-enforce-ssl"), "{report}");
    assert!(
        report.contains("would be reverted at the next start"),
        "{report}"
    );

    let coolify = CoolifyStandIn::start();
    coolify.token(TOKEN, Abilities::ROOT).service(UUID, &raw);
    // the step's every note: --verbose
    let o = harden(&svc.dir, coolify.url(), Some(TOKEN), &["--verbose"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("through Supavisor's API alone would be reverted at the next start"),
        "{}",
        stdout(&o)
    );
    let stored = coolify.compose(UUID).unwrap();
    let services = pgtls_harden::layout::parse_services(&stored).unwrap();
    let pooler = services
        .iter()
        .find(|s| s.key == "supabase-supavisor")
        .unwrap();
    let script = pooler
        .mount_for("/home/entrypoint.sh")
        .and_then(|m| m.content.clone())
        .unwrap();
    assert!(
        script.contains("    \"enforce_ssl\" => true,\n"),
        "{script}"
    );
    assert!(!script.contains("\"enforce_ssl\" => false"));
    // the host file Coolify wrote is edited the same way: one line differs
    let host = std::fs::read_to_string(svc.dir.join("volumes/supavisor/entrypoint.sh")).unwrap();
    assert_eq!(host, script);
    let original =
        std::fs::read_to_string(fixture_2024().join("volumes/supavisor/entrypoint.sh")).unwrap();
    let changed: Vec<_> = original
        .lines()
        .zip(host.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    // once Coolify writes the stored compose, check passes the tenant item
    std::fs::write(svc.dir.join("docker-compose.yml"), &stored).unwrap();
    let o = check(&svc.dir);
    assert!(
        stdout(&o).contains("✓ pooler-enforce-ssl"),
        "{}",
        stdout(&o)
    );
}

/// The compose as Coolify returns it since v4.0.0-beta.439: `content:` removed from every
/// volume after parsing (the files' contents live in Coolify's file storages).
fn without_content(compose: &str) -> String {
    let mut out = String::new();
    let mut skip_deeper_than: Option<usize> = None;
    for line in compose.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        if let Some(d) = skip_deeper_than {
            if line.trim().is_empty() || indent > d {
                continue;
            }
            skip_deeper_than = None;
        }
        if line.trim_start().starts_with("content: |") {
            skip_deeper_than = Some(indent);
            continue;
        }
        out.push_str(line);
    }
    out
}

#[test]
fn compose_without_content_edits_the_host_tenant_script() {
    let svc = service_from(&examples_dir().join("coolify"));
    let on_disk = std::fs::read_to_string(svc.dir.join("docker-compose.yml")).unwrap();
    let raw = without_content(&on_disk);
    assert!(!raw.contains("content:"));
    let script_path = svc.dir.join("volumes/pooler/pooler.exs");
    let script_before = std::fs::read_to_string(&script_path).unwrap();
    let coolify = CoolifyStandIn::start();
    coolify
        .token(TOKEN, Abilities::ROOT)
        .service(UUID, &raw)
        .file_storage(
            UUID,
            pgtest::FileStorage {
                uuid: "st1".into(),
                mount_path: "/etc/pooler/pooler.exs".into(),
                content: script_before.clone(),
                read_only: false,
            },
        );
    let mut cmd = Command::new(bin());
    let o = cmd
        .arg("harden")
        .arg(&svc.dir)
        .args([
            "--coolify-url",
            coolify.url(),
            "--pg-owner",
            &owner(&svc.dir),
            "--json",
        ])
        .env("NO_COLOR", "1")
        .env("COOLIFY_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_token_not_printed(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["coolify"]["patched"], true, "{v:#}");
    assert_eq!(v["coolify"]["service"], UUID);
    let notes = v["coolify_notes"].to_string();
    assert!(
        notes.contains("Coolify keeps its own copy of volumes/pooler/pooler.exs"),
        "{notes}"
    );
    // the tenant script on the host gained one line and lost none
    let script_after = std::fs::read_to_string(&script_path).unwrap();
    let old: Vec<&str> = script_before.lines().collect();
    let new: Vec<&str> = script_after.lines().collect();
    assert_eq!(new.len(), old.len() + 1);
    let mut it = new.iter();
    assert!(old.iter().all(|l| it.any(|n| n == l)), "{script_after}");
    assert!(script_after.contains("\"enforce_ssl\" => true,"));
    // Coolify's stored copy (its file storage) got the same content
    assert_eq!(coolify.file_storages(UUID)[0].content, script_after);
    assert!(
        notes.contains("Coolify's stored copy of /etc/pooler/pooler.exs now matches"),
        "{notes}"
    );
    // what Coolify writes at the restart, with the host files, passes the checklist
    std::fs::write(
        svc.dir.join("docker-compose.yml"),
        coolify.compose(UUID).unwrap(),
    )
    .unwrap();
    let ok = check(&svc.dir);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("✓ pooler-enforce-ssl"),
        "{}",
        stdout(&ok)
    );
}

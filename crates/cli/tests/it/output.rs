//! Output conventions: broken pipe is success, colour only when asked and never with `NO_COLOR`.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::*;

#[test]
fn broken_pipe_is_success() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    let mut text = String::new();
    for i in 0..40_000u32 {
        let _ = writeln!(
            text,
            "host all all 10.{}.{}.0/24 scram-sha-256",
            i / 256 % 256,
            i % 256
        );
    }
    std::fs::write(&file, text).unwrap();
    // far more than a pipe buffer: the writer sees EPIPE once `head` exits
    let script = format!(
        "'{}' hba fmt '{}' | head -c 10 >/dev/null; exit ${{PIPESTATUS[0]}}",
        bin(),
        file.display()
    );
    let o = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(code(&o), 0, "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).is_empty(),
        "nothing is reported for a closed pipe: {}",
        stderr(&o)
    );
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let run = |no_color: Option<&str>, color: &str| {
        let mut cmd = Command::new(bin());
        cmd.args([
            "--color", color, "connstr", "--host", "h", "--client", "libpq",
        ]);
        cmd.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        stdout(&cmd.output().unwrap())
    };
    assert!(
        run(None, "always").contains("\x1b["),
        "--color always colours"
    );
    assert!(!run(Some("1"), "always").contains("\x1b["), "NO_COLOR wins");
    // auto: stdout is a pipe here, not a terminal
    assert!(!run(None, "auto").contains("\x1b["), "no colour on a pipe");
}

#[test]
fn errors_print_the_whole_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    std::fs::write(&file, "local all all trust\nhots all all 0.0.0.0/0 trust\n").unwrap();
    let o = pgtls(["hba".as_ref(), "apply-policy".as_ref(), file.as_os_str()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.starts_with("error: applying the policy to"), "{err}");
    assert!(
        err.contains("caused by:") && err.contains("line 2") && err.contains("\"hots\""),
        "{err}"
    );
    let o = pgtls([
        "hba".as_ref(),
        "check".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["line"], 2);
}

#[test]
fn hba_explain_and_lint_follow_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    std::fs::write(&file, "local all all trust\nhost all all 0.0.0.0/0 md5\n").unwrap();
    let o = pgtls([
        "hba".as_ref(),
        "lint".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1, "weak method and public plaintext are findings");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"weak-method") && codes.contains(&"plaintext-public"),
        "{codes:?}"
    );
    let explain = |addr: &str, enc: &str| {
        pgtls([
            "hba".as_ref(),
            "explain".as_ref(),
            file.as_os_str(),
            "--user".as_ref(),
            "app".as_ref(),
            "--database".as_ref(),
            "app".as_ref(),
            "--addr".as_ref(),
            addr.as_ref(),
            enc.as_ref(),
            "--json".as_ref(),
        ])
    };
    let o = explain("203.0.113.9", "--plain");
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "allow");
    assert_eq!(v["line"], 2);
    assert_eq!(v["method"], "md5");
    let o = explain("2001:db8::1", "--ssl");
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "no-match");
    assert_eq!(
        v["message"],
        "no pg_hba.conf entry for host \"2001:db8::1\", user \"app\", database \"app\", SSL encryption"
    );
}

#[test]
fn certs_init_inspect_and_needs_renewal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tls");
    let o = pgtls([
        "certs".as_ref(),
        "init".as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--san".as_ref(),
        "db.example.com".as_ref(),
        "--days".as_ref(),
        "20".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mode = std::fs::metadata(dir.join("server.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let o = pgtls([
        "certs".as_ref(),
        "init".as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(
        code(&o),
        1,
        "existing server files are not replaced without --force"
    );
    let crt = dir.join("server.crt");
    let ca = dir.join("ca.crt");
    let o = pgtls([
        "certs".as_ref(),
        "inspect".as_ref(),
        crt.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
        "--host".as_ref(),
        "db.example.com".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "subject",
        "issuer",
        "serial",
        "sans",
        "not_before",
        "not_after",
        "days_left",
        "key",
        "signature",
        "is_ca",
        "sha256",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["host_covered"], true);
    let o = pgtls([
        "certs".as_ref(),
        "inspect".as_ref(),
        crt.as_os_str(),
        "--host".as_ref(),
        "other.example.com".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let o = pgtls(["certs".as_ref(), "needs-renewal".as_ref(), crt.as_os_str()]);
    assert_eq!(code(&o), 1, "a 20-day certificate is due: {}", stdout(&o));
    let o = pgtls([
        "certs".as_ref(),
        "renew".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = pgtls(["certs".as_ref(), "needs-renewal".as_ref(), crt.as_os_str()]);
    assert_eq!(code(&o), 0, "renewed for 825 days: {}", stdout(&o));
}

#[test]
fn certs_init_ca_key_type_differs_from_the_server_key_type() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tls");
    let o = pgtls([
        "certs".as_ref(),
        "init".as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--ca-key-type".as_ref(),
        "rsa2048".as_ref(),
        "--key-type".as_ref(),
        "ecdsa-p256".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = |file: &str| {
        let o = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(dir.join(file))
            .output()
            .unwrap();
        assert!(o.status.success());
        stdout(&o)
    };
    assert!(
        text("ca.crt").contains("Public-Key: (2048 bit)"),
        "{}",
        text("ca.crt")
    );
    assert!(
        text("server.crt").contains("prime256v1"),
        "{}",
        text("server.crt")
    );
    assert!(text("server.crt").contains("Signature Algorithm: sha256WithRSAEncryption"));
    let o = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(dir.join("ca.crt"))
        .arg(dir.join("server.crt"))
        .output()
        .unwrap();
    assert!(stdout(&o).contains(": OK"), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn pooler_set_edits_coolify_inline_content_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("coolify"), tmp.path());
    let compose = tmp.path().join("docker-compose.yml");
    let before = std::fs::read_to_string(&compose).unwrap();
    let args = [
        "pooler".as_ref(),
        "set".as_ref(),
        "--compose".as_ref(),
        compose.as_os_str(),
        "--enforce-ssl".as_ref(),
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run".as_ref());
    let o = pgtls(&dry);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("+            \"enforce_ssl\" => true"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&compose).unwrap(),
        before,
        "with --dry-run nothing is written"
    );
    // writing is the default; `--write` is still accepted as a no-op alias
    let mut write = args.to_vec();
    write.push("--write".as_ref());
    let o = pgtls(args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_ne!(
        std::fs::read_to_string(&compose).unwrap(),
        before,
        "the default writes"
    );
    std::fs::write(&compose, &before).unwrap();
    let o = pgtls(&write);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let after = std::fs::read_to_string(&compose).unwrap();
    assert!(after.contains("\"enforce_ssl\" => true"));
    let o = pgtls(&write);
    assert!(
        stdout(&o).contains("nothing to change"),
        "idempotent: {}",
        stdout(&o)
    );
    let o = pgtls([
        "pooler".as_ref(),
        "inspect".as_ref(),
        "--compose".as_ref(),
        compose.as_os_str(),
        "--json".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["enforce_ssl"], "true");
    assert_eq!(v["enforce_ssl_reaches_existing_tenant"], true);
}

#[test]
fn hba_apply_policy_writes_with_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    let original = "# mine\nlocal all all trust\nhost all all 0.0.0.0/0 scram-sha-256 # public\n";
    std::fs::write(&file, original).unwrap();
    let o = pgtls([
        "hba".as_ref(),
        "apply-policy".as_ref(),
        file.as_os_str(),
        "--write".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.starts_with("# mine\nlocal all all trust\n"),
        "untouched lines stay:\n{after}"
    );
    assert!(after.contains("hostnossl"), "{after}");
    let backups = tmp.path().join(".pgtls-backups");
    let stamp = std::fs::read_dir(&backups)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read_to_string(stamp.join("pg_hba.conf")).unwrap(),
        original
    );
    let o = pgtls(["hba".as_ref(), "lint".as_ref(), file.as_os_str()]);
    assert_eq!(
        code(&o),
        0,
        "the policy output is lint-clean: {}",
        stdout(&o)
    );
}

#[test]
fn verify_exit_codes_without_a_server() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = pgtls([
        "verify".to_owned(),
        format!("127.0.0.1:{closed}"),
        "--timeout".into(),
        "2".into(),
        "--json".into(),
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["targets"][0]["target"], format!("127.0.0.1:{closed}"));
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("targets.txt");
    std::fs::write(
        &list,
        format!("# endpoints\n\n127.0.0.1:{closed}  # the closed one\n"),
    )
    .unwrap();
    let o = pgtls([
        "verify".as_ref(),
        "--targets-file".as_ref(),
        list.as_os_str(),
        "--timeout".as_ref(),
        "2".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["targets"].as_array().unwrap().len(),
        1,
        "comments and blank lines are skipped"
    );
    let o = pgtls(["verify"]);
    assert_eq!(code(&o), 2, "no targets is a usage error");
    assert!(stderr(&o).contains("no targets"), "{}", stderr(&o));
}

#[test]
fn hba_writes_by_default_and_dry_run_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    let original = "local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n";
    std::fs::write(&file, original).unwrap();
    for cmd in ["apply-policy", "fmt"] {
        let o = pgtls([
            "hba".as_ref(),
            cmd.as_ref(),
            file.as_os_str(),
            "--dry-run".as_ref(),
        ]);
        assert_eq!(code(&o), 0, "{cmd}: {}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            original,
            "{cmd} --dry-run"
        );
    }
    let o = pgtls(["hba".as_ref(), "fmt".as_ref(), file.as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let aligned = std::fs::read_to_string(&file).unwrap();
    assert_ne!(aligned, original, "fmt writes by default");
    assert!(aligned.starts_with("local   all     all"), "{aligned}");
    let o = pgtls(["hba".as_ref(), "apply-policy".as_ref(), file.as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("hostnossl")
    );
}

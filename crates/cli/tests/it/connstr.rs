use crate::support::*;

#[test]
fn connstr_prints_verified_strings_for_every_client() {
    let o = pgtls([
        "connstr",
        "--host",
        "db.example.com",
        "--tenant",
        "acme",
        "--ca",
        "/ca.crt",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = stdout(&o);
    for client in [
        "libpq",
        "jdbc",
        "prisma",
        "node-postgres",
        "asyncpg",
        "npgsql",
    ] {
        assert!(s.contains(client), "{client} missing:\n{s}");
    }
    assert!(s.contains("postgres.acme"));
    assert!(s.contains("sslaccept=strict"));
    assert!(!s.contains("\x1b["), "no colour with NO_COLOR");
}

#[test]
fn connstr_json_has_both_ports() {
    let o = pgtls(["connstr", "--host", "h", "--client", "libpq", "--json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["clients"][0];
    assert!(c["direct"].as_str().unwrap().contains(":5432/"));
    assert!(c["pooled"].as_str().unwrap().contains(":6543/"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let o = pgtls(["connstr"]);
    assert_eq!(code(&o), 2);
    let o = pgtls(["harden", "--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Exit codes"));
    let o = pgtls(["no-such-command"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn bad_values_exit_2_with_the_flag_named() {
    for (args, flag) in [
        (&["--tenant", ""][..], "--tenant"),
        (&["--host", "db/evil?x="][..], "--host"),
        (&["--port", "0"][..], "--port"),
        (&["--pooler-port", "0"][..], "--pooler-port"),
        (&["--password", "a\u{1b}b"][..], "--password"),
        (&["--user", "x\ny"][..], "--user"),
    ] {
        let mut all = vec!["connstr"];
        if flag != "--host" {
            all.extend(["--host", "db.example.com"]);
        }
        all.extend_from_slice(args);
        let o = pgtls(&all);
        assert_eq!(code(&o), 2, "{args:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!("for {flag}:")),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "nothing printed for {args:?}");
    }
}

#[test]
fn json_names_versions_notes_and_both_prisma_forms() {
    let o = pgtls([
        "connstr",
        "--host",
        "db.example.com",
        "--tenant",
        "acme",
        "--password",
        "[abc]",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_id = |id: &str| {
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    let prisma = by_id("prisma");
    assert!(
        prisma["direct"]
            .as_str()
            .unwrap()
            .contains("sslmode=verify-full&sslrootcert=")
    );
    assert!(prisma["applies_to"].as_str().unwrap().contains("Prisma 7"));
    let prisma6 = by_id("prisma6");
    assert!(
        prisma6["pooled"]
            .as_str()
            .unwrap()
            .ends_with("&sslaccept=strict&pgbouncer=true")
    );
    let asyncpg = by_id("asyncpg");
    assert!(
        asyncpg["notes"]
            .to_string()
            .contains("statement_cache_size=0")
    );
    // a password that looks like the placeholder is encoded like any other
    assert!(
        by_id("libpq")["direct"]
            .as_str()
            .unwrap()
            .contains(":%5Babc%5D@")
    );
}

#[test]
fn password_env_keeps_the_password_out_of_argv() {
    let o = std::process::Command::new(bin())
        .args([
            "connstr",
            "--host",
            "h",
            "--client",
            "libpq",
            "--password-env",
            "PGTLS_TEST_PW",
        ])
        .env("PGTLS_TEST_PW", "p@ss #1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(":p%40ss%20%231@h:5432/"),
        "{}",
        stdout(&o)
    );
    let o = std::process::Command::new(bin())
        .args([
            "connstr",
            "--host",
            "h",
            "--password-env",
            "PGTLS_UNSET_VAR_X",
        ])
        .env_remove("PGTLS_UNSET_VAR_X")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--password-env"), "{}", stderr(&o));
}

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

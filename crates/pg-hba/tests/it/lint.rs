//! Each lint code: one input that triggers it and one that does not.

use pg_hba::{Document, LINT_CODES, LintOptions, ParseOptions, lint};

fn codes(text: &str, opts: &LintOptions) -> Vec<&'static str> {
    let doc = Document::parse(text, ParseOptions::default());
    lint(&doc, opts).into_iter().map(|f| f.code).collect()
}

fn check(code: &str, triggers: &str, clean: &str, opts: &LintOptions) {
    let hit = codes(triggers, opts);
    assert!(
        hit.contains(&code),
        "{code} not raised for {triggers:?}: {hit:?}"
    );
    let miss = codes(clean, opts);
    assert!(
        !miss.contains(&code),
        "{code} raised for {clean:?}: {miss:?}"
    );
}

#[test]
fn trust_non_loopback() {
    let o = LintOptions::default();
    check(
        "trust-non-loopback",
        "host all all 10.0.0.0/8 trust\n",
        "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust\n",
        &o,
    );
    check(
        "trust-non-loopback",
        "host all all all trust\n",
        "host all all 127.0.0.0/8 trust\n",
        &o,
    );
}

#[test]
fn weak_method() {
    let o = LintOptions::default();
    check(
        "weak-method",
        "host all all 10.0.0.0/8 md5\n",
        "host all all 10.0.0.0/8 scram-sha-256\n",
        &o,
    );
    check(
        "weak-method",
        "local all all password\n",
        "local all all peer\n",
        &o,
    );
}

#[test]
fn plaintext_public() {
    let o = LintOptions::default();
    check(
        "plaintext-public",
        "host all all 0.0.0.0/0 scram-sha-256\n",
        "hostssl all all 0.0.0.0/0 scram-sha-256\nhost all all 10.0.0.0/8 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n",
        &o,
    );
    check(
        "plaintext-public",
        "hostnossl all all 203.0.113.0/24 scram-sha-256\n",
        "host all all 192.168.1.0/24 scram-sha-256\n",
        &o,
    );
}

#[test]
fn tls_without_nossl_reject() {
    let o = LintOptions::default();
    check(
        "tls-without-nossl-reject",
        "hostssl all all 0.0.0.0/0 scram-sha-256\n",
        "hostssl all all 0.0.0.0/0 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n",
        &o,
    );
}

#[test]
fn shadowed() {
    let o = LintOptions::default();
    check(
        "shadowed",
        "host all all 10.0.0.0/8 scram-sha-256\nhost db1 u1 10.1.0.0/16 trust\n",
        "host db1 u1 10.1.0.0/16 trust\nhost all all 10.0.0.0/8 scram-sha-256\n",
        &o,
    );
    // `all` does not match replication connections, so a replication rule is not shadowed.
    check(
        "shadowed",
        "host all all all reject\nhostssl all all 10.0.0.0/8 scram-sha-256\n",
        "host all all all reject\nhost replication all 10.0.0.0/8 scram-sha-256\n",
        &o,
    );
}

#[test]
fn duplicate() {
    let o = LintOptions::default();
    let d = Document::parse(
        "local \"db1\" all trust\nlocal db1 all trust\n",
        ParseOptions::default(),
    );
    let f = lint(&d, &o);
    assert_eq!((f[0].code, f[0].line), ("duplicate", 2), "{f:?}");
    check(
        "duplicate",
        "local all all peer\n# again\nlocal   all   all   peer\nlocal \"db1\" all trust\nlocal db1 all trust\n",
        "local all all peer\nlocal all all peer map=x\n",
        &o,
    );
}

#[test]
fn missing_family_counterpart() {
    let o = LintOptions::default();
    check(
        "missing-family-counterpart",
        "hostssl all all 0.0.0.0/0 scram-sha-256\n",
        "hostssl all all 0.0.0.0/0 scram-sha-256\nhostssl all all ::/0 scram-sha-256\n",
        &o,
    );
    check(
        "missing-family-counterpart",
        "hostnossl all all ::/0 reject\n",
        "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::0/0 reject\n",
        &o,
    );
}

#[test]
fn hostssl_ssl_off() {
    let off = LintOptions { ssl: Some(false) };
    check(
        "hostssl-ssl-off",
        "hostssl all all 0.0.0.0/0 scram-sha-256\n",
        "host all all 10.0.0.0/8 scram-sha-256\n",
        &off,
    );
    let unknown = LintOptions::default();
    assert!(
        !codes("hostssl all all 0.0.0.0/0 scram-sha-256\n", &unknown).contains(&"hostssl-ssl-off")
    );
    let on = LintOptions { ssl: Some(true) };
    assert!(!codes("hostssl all all 0.0.0.0/0 scram-sha-256\n", &on).contains(&"hostssl-ssl-off"));
}

#[test]
fn every_code_is_tested_and_hardened_default_is_clean() {
    assert_eq!(LINT_CODES.len(), 8);
    let (text, _) = pg_hba::supabase_default_hardened().unwrap();
    let findings = codes(&text, &LintOptions { ssl: Some(true) });
    // The hardened image default keeps loopback trust and is otherwise clean.
    assert!(findings.is_empty(), "{findings:?}");
    let json = serde_json::to_value(lint(
        &Document::parse("host all all 0.0.0.0/0 md5\n", ParseOptions::default()),
        &LintOptions::default(),
    ))
    .unwrap();
    assert_eq!(json[0]["severity"], "warning");
    assert!(json[0]["hint"].is_string() && json[0]["file"] == "pg_hba.conf");
}

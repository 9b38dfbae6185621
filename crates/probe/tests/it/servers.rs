//! Against real PostgreSQL and PgBouncer servers started by `pgtest`.

use std::time::Duration;

use pgtest::{Pg, PgBouncer, SUPERUSER_PASSWORD};
use pgtls_probe::{
    CheckId, ProbeOptions, Refusal, Target, TargetReport, TargetVerdict, Verdict, probe,
};

use crate::certs::{Leaf, Pki};

fn opts(pki: Option<&Pki>) -> ProbeOptions {
    let o = ProbeOptions::default()
        .with_timeout(Duration::from_secs(5))
        .with_deep(true);
    match pki {
        Some(p) => o.with_ca_pem(&p.ca_pem(), "ca.crt").unwrap(),
        None => o,
    }
}

const REJECT_HBA: &str = "local all all trust\n\
hostnossl all all 127.0.0.1/32 reject\n\
hostssl all all 127.0.0.1/32 scram-sha-256\n";

fn pg_with_tls(leaf: &Leaf, hba: &str, extra: &[(&str, &str)]) -> Pg {
    let mut b = Pg::builder().tls(&leaf.cert, &leaf.key).hba(hba);
    for (k, v) in extra {
        b = b.setting(k, *v);
    }
    b.start().unwrap_or_else(|e| panic!("{e}"))
}

fn run(port: u16, o: &ProbeOptions) -> TargetReport {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(probe(&Target::new("127.0.0.1", port), o))
}

fn check(r: &TargetReport, id: CheckId) -> &pgtls_probe::Check {
    r.check(id).unwrap_or_else(|| panic!("no {id}"))
}

fn json_check(r: &TargetReport, id: &str) -> serde_json::Value {
    let v = serde_json::to_value(r).unwrap();
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

#[test]
fn hardened_postgres_passes_everything() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(&leaf, REJECT_HBA, &[]);
    let mut o = opts(Some(&pki));
    o = o.with_password(Some(SUPERUSER_PASSWORD.into()));
    let r = run(pg.port(), &o);
    let text = pgtls_probe::render_target(&r, false);
    eprintln!("{text}");
    for id in [
        CheckId::TlsOffered,
        CheckId::NoBufferedBytes,
        CheckId::Handshake,
        CheckId::Certificate,
        CheckId::Chain,
        CheckId::Hostname,
        CheckId::Expiry,
        CheckId::TlsVersions,
        CheckId::PlaintextRefused,
        CheckId::PipelinedData,
        CheckId::Authenticated,
    ] {
        assert_eq!(check(&r, id).verdict, Verdict::Pass, "{id}:\n{text}");
    }
    // PostgreSQL 15 has no direct TLS.
    assert_eq!(
        check(&r, CheckId::DirectTls).verdict,
        Verdict::Skipped,
        "{text}"
    );
    assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
    let pt = json_check(&r, "plaintext-refused");
    assert_eq!(pt["sqlstate"], "28000");
    assert_eq!(pt["refusal"], Refusal::HbaReject.as_str());
    assert!(
        pt["server_message"]
            .as_str()
            .unwrap()
            .starts_with("pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\""),
        "{pt}"
    );
    let pipe = json_check(&r, "pipelined-data");
    assert_eq!(pipe["sqlstate"], "08P01", "{pipe}");
    assert_eq!(
        pipe["server_message"],
        "received unencrypted data after SSL request"
    );
    let hs = json_check(&r, "handshake");
    assert_eq!(hs["protocol"], "TLSv1.3");
    assert!(hs["alpn"].is_null());
    let auth = json_check(&r, "authenticated");
    assert_eq!(auth["ssl"], true, "{auth}");
    assert_eq!(auth["verified"], true);
    let versions = json_check(&r, "tls-versions");
    assert_eq!(
        versions["accepted"],
        serde_json::json!(["TLSv1.2", "TLSv1.3"]),
        "{versions}"
    );
}

#[test]
fn host_rule_without_reject_accepts_plaintext() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(
        &leaf,
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        &[],
    );
    let r = run(pg.port(), &opts(Some(&pki)));
    let pt = check(&r, CheckId::PlaintextRefused);
    assert_eq!(pt.verdict, Verdict::Fail, "{}", pt.detail);
    assert!(pt.detail.contains("SCRAM-SHA-256"), "{}", pt.detail);
    assert!(pt.fix.as_deref().unwrap().contains("hostnossl"));
    assert_eq!(check(&r, CheckId::Handshake).verdict, Verdict::Pass);
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[test]
fn ssl_off_fails_tls() {
    let pg = Pg::builder()
        .setting("ssl", "off")
        .hba("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(pg.port(), &opts(None));
    let tls = check(&r, CheckId::TlsOffered);
    assert_eq!(tls.verdict, Verdict::Fail);
    assert!(tls.detail.contains("answered N"), "{}", tls.detail);
    assert_eq!(check(&r, CheckId::Handshake).verdict, Verdict::Skipped);
    assert_eq!(check(&r, CheckId::TlsVersions).verdict, Verdict::Skipped);
    assert_eq!(check(&r, CheckId::PlaintextRefused).verdict, Verdict::Fail);
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[test]
fn missing_entry_is_refused_and_distinguished_from_reject() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(
        &leaf,
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        &[],
    );
    let r = run(pg.port(), &opts(Some(&pki)));
    let pt = check(&r, CheckId::PlaintextRefused);
    assert_eq!(pt.verdict, Verdict::Pass, "{}", pt.detail);
    assert!(
        pt.detail.contains("no pg_hba.conf line matches"),
        "{}",
        pt.detail
    );
    let j = json_check(&r, "plaintext-refused");
    assert_eq!(j["refusal"], "hba-no-entry");
    assert!(
        j["server_message"]
            .as_str()
            .unwrap()
            .starts_with("no pg_hba.conf entry for host")
    );
    assert_eq!(
        r.verdict,
        TargetVerdict::Pass,
        "{}",
        pgtls_probe::render_target(&r, false)
    );
}

#[test]
fn min_protocol_tls13_agrees_with_tls_versions() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(
        &leaf,
        REJECT_HBA,
        &[("ssl_min_protocol_version", "TLSv1.3")],
    );
    let r = run(pg.port(), &opts(Some(&pki)));
    let v = json_check(&r, "tls-versions");
    assert_eq!(v["accepted"], serde_json::json!(["TLSv1.3"]), "{v}");
    assert_eq!(v["verdict"], "pass");
    let shown = pg.query("show ssl_min_protocol_version");
    assert_eq!(shown, "TLSv1.3");
}

fn bouncer(pg: &Pg, leaf: Option<&Leaf>, mode: &str) -> PgBouncer {
    let mut b = PgBouncer::builder(pg);
    let dir = b.dir().to_path_buf();
    b = b.setting("client_tls_sslmode", mode);
    if let Some(leaf) = leaf {
        b = b
            .file("server.crt", &leaf.cert, 0o644)
            .file("server.key", &leaf.key, 0o600)
            .setting(
                "client_tls_cert_file",
                dir.join("server.crt").display().to_string(),
            )
            .setting(
                "client_tls_key_file",
                dir.join("server.key").display().to_string(),
            );
    }
    b.start().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pgbouncer_require_passes() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = Pg::builder().start().unwrap_or_else(|e| panic!("{e}"));
    let bnc = bouncer(&pg, Some(&leaf), "require");
    let mut o = opts(Some(&pki));
    o = o.with_password(Some(SUPERUSER_PASSWORD.into()));
    let r = run(bnc.port(), &o);
    let text = pgtls_probe::render_target(&r, false);
    eprintln!("{text}\n{}", serde_json::to_string_pretty(&r).unwrap());
    let pt = json_check(&r, "plaintext-refused");
    assert_eq!(pt["verdict"], "pass", "{text}");
    assert_eq!(pt["refusal"], "pgbouncer-ssl-required");
    assert_eq!(pt["sqlstate"], "08P01");
    assert_eq!(pt["server_message"], "SSL required");
    assert_eq!(check(&r, CheckId::Chain).verdict, Verdict::Pass, "{text}");
    // PgBouncer answers an SSLRequest with pipelined bytes by an ErrorResponse instead of `S`.
    let pipe = json_check(&r, "pipelined-data");
    assert_eq!(pipe["verdict"], "pass", "{pipe}");
    assert_eq!(
        pipe["server_message"],
        "received unencrypted data after SSL request"
    );
    // The backend PostgreSQL has ssl off: pg_stat_ssl shows the pooler-to-server link.
    let auth = check(&r, CheckId::Authenticated);
    assert_eq!(auth.verdict, Verdict::Pass, "{text}");
    assert!(auth.detail.contains("pooler-to-server"), "{}", auth.detail);
    assert_eq!(json_check(&r, "authenticated")["ssl"], false);
    assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
}

#[test]
fn pgbouncer_disable_fails() {
    let pg = Pg::builder().start().unwrap_or_else(|e| panic!("{e}"));
    let bnc = bouncer(&pg, None, "disable");
    let r = run(bnc.port(), &opts(None));
    let text = pgtls_probe::render_target(&r, false);
    assert_eq!(
        check(&r, CheckId::TlsOffered).verdict,
        Verdict::Fail,
        "{text}"
    );
    assert_eq!(
        check(&r, CheckId::PlaintextRefused).verdict,
        Verdict::Fail,
        "{text}"
    );
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[test]
fn wrong_ca_fails_chain_and_the_authenticated_login() {
    let pki = Pki::new();
    let other = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(&leaf, REJECT_HBA, &[]);
    let mut o = opts(Some(&other));
    o = o.with_password(Some(SUPERUSER_PASSWORD.into()));
    let r = run(pg.port(), &o);
    let text = pgtls_probe::render_target(&r, false);
    assert_eq!(check(&r, CheckId::Chain).verdict, Verdict::Fail, "{text}");
    // Like libpq, no credentials are sent to a server whose certificate does not verify.
    let auth = check(&r, CheckId::Authenticated);
    assert_eq!(auth.verdict, Verdict::Skipped, "{text}");
    assert!(
        auth.detail.contains("credentials not sent"),
        "{}",
        auth.detail
    );
    assert_eq!(check(&r, CheckId::PlaintextRefused).verdict, Verdict::Pass);
    assert_eq!(r.verdict, TargetVerdict::Fail);
}

#[test]
fn server_name_checks_the_name_clients_use_while_connecting_to_the_address() {
    let pki = Pki::new();
    // The certificate names only the DNS name, not the address we connect to.
    let leaf = pki.leaf("db.example.test", "DNS:db.example.test", 30);
    let pg = pg_with_tls(&leaf, REJECT_HBA, &[]);

    let mut o = opts(Some(&pki));
    o = o.with_password(Some(SUPERUSER_PASSWORD.into()));
    let by_address = run(pg.port(), &o);
    assert_eq!(check(&by_address, CheckId::Hostname).verdict, Verdict::Fail);
    assert_eq!(
        check(&by_address, CheckId::Authenticated).verdict,
        Verdict::Skipped,
        "verify-full by address must refuse a certificate without that address"
    );

    o = o.with_server_name(Some("db.example.test".into()));
    let by_name = run(pg.port(), &o);
    let text = pgtls_probe::render_target(&by_name, false);
    assert_eq!(
        check(&by_name, CheckId::Hostname).verdict,
        Verdict::Pass,
        "{text}"
    );
    assert!(
        check(&by_name, CheckId::Hostname)
            .detail
            .contains("\"db.example.test\""),
        "{text}"
    );
    assert_eq!(
        check(&by_name, CheckId::Authenticated).verdict,
        Verdict::Pass,
        "{text}"
    );
    assert_eq!(by_name.verdict, TargetVerdict::Pass, "{text}");

    o = o.with_server_name(Some("other.example.test".into()));
    let wrong = run(pg.port(), &o);
    assert_eq!(check(&wrong, CheckId::Hostname).verdict, Verdict::Fail);
    assert_eq!(
        check(&wrong, CheckId::Authenticated).verdict,
        Verdict::Skipped
    );
}

fn deep(pki: &Pki) -> ProbeOptions {
    opts(Some(pki)).with_deep(true)
}

#[test]
fn a_server_accepting_anonymous_suites_fails_ciphers() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    // Anonymous (ADH/AECDH) suites first, at security level 0 so OpenSSL lets them through.
    let pg = pg_with_tls(
        &leaf,
        REJECT_HBA,
        &[("ssl_ciphers", "aNULL:HIGH:@SECLEVEL=0")],
    );
    let r = run(pg.port(), &deep(&pki));
    let text = pgtls_probe::render_target(&r, false);
    let c = check(&r, CheckId::Ciphers);
    assert_eq!(c.verdict, Verdict::Fail, "{text}");
    assert!(c.detail.contains("anonymous"), "{}", c.detail);
    let j = json_check(&r, "ciphers");
    let tls12: Vec<&str> = j["tls12"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        tls12
            .iter()
            .any(|n| n.starts_with("ADH-") || n.starts_with("AECDH-")),
        "{j}"
    );
    assert!(!j["tls13"].as_array().unwrap().is_empty(), "{j}");
    assert_eq!(r.verdict, TargetVerdict::Fail);
    // The default server list has no anonymous suite: ciphers passes and lists TLS 1.3.
    let pg2 = pg_with_tls(&leaf, REJECT_HBA, &[]);
    let r = run(pg2.port(), &deep(&pki));
    let c = check(&r, CheckId::Ciphers);
    assert_eq!(
        c.verdict,
        Verdict::Pass,
        "{}",
        pgtls_probe::render_target(&r, false)
    );
    let j = json_check(&r, "ciphers");
    assert!(
        j["tls13"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "TLS_AES_256_GCM_SHA384"),
        "{j}"
    );
}

#[test]
fn client_certificate_request_is_reported_and_cert_login_passes() {
    use crate::differential::{LEAF_EXT, P256, Spec, ca, cert_dir, leaf};
    let dir = cert_dir("clientcert");
    ca(&dir.0, "root");
    let base = Spec {
        name: "server",
        cn: "localhost",
        san: Some("DNS:localhost,IP:127.0.0.1"),
        newkey: P256,
        digest: "sha256",
        eku: "serverAuth",
        days: "30",
        issuer: "root",
        ext: LEAF_EXT,
    };
    let (cert, key) = leaf(&dir.0, &base);
    let (client_pem, client_key_pem) = leaf(
        &dir.0,
        &Spec {
            name: "client",
            cn: "postgres",
            san: None,
            eku: "clientAuth",
            ..base
        },
    );
    let (wrong_pem, wrong_key_pem) = leaf(
        &dir.0,
        &Spec {
            name: "wrongrole",
            cn: "nobody",
            san: None,
            eku: "clientAuth",
            ..base
        },
    );
    let root = std::fs::read(dir.0.join("root.crt")).unwrap();
    let b = Pg::builder()
        .tls(&cert, &key)
        .file("root.crt", &root, 0o644);
    let ca_path = b.dir().join("root.crt").display().to_string();
    let pg = b
        .setting("ssl_ca_file", ca_path)
        .hba("local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 cert\n")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let o = ProbeOptions::default()
        .with_ca_pem(&root, "root.crt")
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    // Deep: the CertificateRequest and its CA names are reported.
    let r = run(pg.port(), &o.clone().with_deep(true));
    let text = pgtls_probe::render_target(&r, false);
    let j = json_check(&r, "client-certificate");
    assert_eq!(j["requested"], true, "{text}");
    assert_eq!(j["ca_names"], serde_json::json!(["CN=root"]), "{j}");
    // Without a client certificate, the authenticated check does not run.
    assert_eq!(check(&r, CheckId::Authenticated).verdict, Verdict::Skipped);
    // With one whose CN is the role, the `cert` rule lets it in (no password).
    let with = o
        .clone()
        .with_client_cert_pem(&client_pem, &client_key_pem, "client.crt", "client.key")
        .unwrap();
    let r = run(pg.port(), &with);
    let text = pgtls_probe::render_target(&r, false);
    let auth = check(&r, CheckId::Authenticated);
    assert_eq!(auth.verdict, Verdict::Pass, "{text}");
    assert!(
        auth.detail.contains("client certificate"),
        "{}",
        auth.detail
    );
    assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
    // A certificate for another role is a classified cert-auth refusal.
    let wrong = o
        .with_client_cert_pem(&wrong_pem, &wrong_key_pem, "wrong.crt", "wrong.key")
        .unwrap();
    let r = run(pg.port(), &wrong);
    let auth = check(&r, CheckId::Authenticated);
    assert_eq!(
        auth.verdict,
        Verdict::Fail,
        "{}",
        pgtls_probe::render_target(&r, false)
    );
    assert!(
        auth.detail
            .contains("client-certificate authentication refused"),
        "{}",
        auth.detail
    );
    assert!(
        auth.detail
            .contains("certificate authentication failed for user"),
        "{}",
        auth.detail
    );
}

/// Counts backends PostgreSQL forked (`log_connections`) and FATAL lines it logged.
fn costs(log: &str) -> (usize, usize) {
    (
        log.lines()
            .filter(|l| l.contains("connection received:"))
            .count(),
        log.lines().filter(|l| l.contains("FATAL:")).count(),
    )
}

#[test]
fn the_default_probe_costs_two_connections_and_one_fatal_line() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pg_with_tls(&leaf, REJECT_HBA, &[("log_connections", "on")]);
    // pgtest's own readiness connection may still be on its way to the log.
    std::thread::sleep(Duration::from_millis(500));
    let before = costs(&pg.log());
    let o = opts(Some(&pki))
        .with_deep(false)
        .with_password(Some(SUPERUSER_PASSWORD.into()));
    let r = run(pg.port(), &o);
    let text = pgtls_probe::render_target(&r, false);
    assert_eq!(r.verdict, TargetVerdict::Pass, "{text}");
    assert_eq!(
        check(&r, CheckId::Authenticated).verdict,
        Verdict::Pass,
        "{text}"
    );
    for id in [
        CheckId::TlsVersions,
        CheckId::Ciphers,
        CheckId::PipelinedData,
        CheckId::DirectTls,
    ] {
        assert!(check(&r, id).detail.contains("--deep"), "{id}: {text}");
    }
    std::thread::sleep(Duration::from_millis(300)); // let the backends' last lines reach the log
    let after = costs(&pg.log());
    assert_eq!(after.0 - before.0, 2, "connections:\n{}", pg.log());
    assert_eq!(after.1 - before.1, 1, "FATAL lines:\n{}", pg.log());
    // JSON says which mode ran and which checks.
    let report = pgtls_probe::Report::new(vec![r]).with_deep(false);
    let j: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(j["mode"], "default");
    assert!(
        !j["checks_run"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ciphers"),
        "{j}"
    );
    // Deep costs more, and says so.
    let before = costs(&pg.log());
    let r = run(pg.port(), &o.with_deep(true));
    std::thread::sleep(Duration::from_millis(300));
    let after = costs(&pg.log());
    eprintln!(
        "deep: {} connections, {} FATAL lines",
        after.0 - before.0,
        after.1 - before.1
    );
    assert!(after.0 - before.0 > 2);
    assert_eq!(
        r.verdict,
        TargetVerdict::Pass,
        "{}",
        pgtls_probe::render_target(&r, false)
    );
}

/// Issue #17: a fleet of 1,000 targets at concurrency 256 against healthy PostgreSQL 15 servers
/// gives no `fail`. Two clusters (`max_connections` 300: 256 probes in flight, two connections
/// each, share them) take the targets in turn. A timeout under this load is retried once and
/// then reported inconclusive, never fail; the test also requires nearly all of them to pass so
/// that a probe that times out everywhere cannot pass it.
#[test]
fn a_thousand_targets_at_concurrency_256_give_no_fail_on_healthy_servers() {
    let pki = Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let servers: Vec<Pg> = (0..2)
        .map(|_| pg_with_tls(&leaf, REJECT_HBA, &[("max_connections", "300")]))
        .collect();
    let targets: Vec<Target> = (0..1000)
        .map(|i| Target::new("127.0.0.1", servers[i % servers.len()].port()))
        .collect();
    let o = ProbeOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_ca_pem(&pki.ca_pem(), "ca.crt")
        .unwrap()
        .with_concurrency(256);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let reports = rt.block_on(pgtls_probe::probe_many(&targets, &o));
    let took = started.elapsed();
    assert_eq!(reports.len(), 1000);
    let count = |v: TargetVerdict| reports.iter().filter(|r| r.verdict == v).count();
    let (pass, fail, inconclusive, error) = (
        count(TargetVerdict::Pass),
        count(TargetVerdict::Fail),
        count(TargetVerdict::Inconclusive),
        count(TargetVerdict::Error),
    );
    let retried = reports.iter().filter(|r| r.attempts > 1).count();
    eprintln!(
        "1,000 targets in {took:?}: {pass} pass, {fail} fail, {inconclusive} inconclusive, \
         {error} error, {retried} retried"
    );
    if let Some(bad) = reports
        .iter()
        .find(|r| matches!(r.verdict, TargetVerdict::Fail | TargetVerdict::Error))
    {
        panic!(
            "a healthy server was reported {:?}:\n{}",
            bad.verdict,
            pgtls_probe::render_target(bad, false)
        );
    }
    assert!(
        pass >= 990,
        "{pass} of 1,000 passed ({inconclusive} inconclusive)"
    );
}

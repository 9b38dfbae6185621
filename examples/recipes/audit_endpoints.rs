//! Recipe: audit several endpoints at once, the way `pgtls verify` does.
//!
//! Starts three local endpoints (test harness): PostgreSQL with TLS and explicit `hostnossl
//! ... reject` lines, PgBouncer in front of it requiring TLS, and a PostgreSQL left as the
//! supabase/postgres image ships it (`ssl = off`, plaintext allowed). Probes all three
//! concurrently with pgtls-probe and prints the checklist: the first two pass, the last fails.

use pgtls_certs::{Ca, CaParams, ServerParams};
use pgtls_examples::heading;
use pgtls_probe::{OverallVerdict, ProbeOptions, Target, TargetVerdict, verify_blocking};

fn main() {
    let ca = Ca::create(&CaParams::default()).expect("CA");
    let server = ca
        .issue_server(&ServerParams::new(["localhost", "127.0.0.1"]))
        .expect("server certificate");

    let hardened = pgtest::Pg::builder()
        .tls(&server.cert_pem, &server.key_pem)
        .hba("local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n")
        .start()
        .expect("hardened PostgreSQL");
    let bouncer_builder = pgtest::PgBouncer::builder(&hardened);
    let bdir = bouncer_builder.dir().to_path_buf();
    let bouncer = bouncer_builder
        .file("server.crt", &server.cert_pem, 0o644)
        .file("server.key", &server.key_pem, 0o600)
        .setting("client_tls_sslmode", "require")
        .setting(
            "client_tls_cert_file",
            bdir.join("server.crt").display().to_string(),
        )
        .setting(
            "client_tls_key_file",
            bdir.join("server.key").display().to_string(),
        )
        .start()
        .expect("PgBouncer with TLS");
    let legacy = pgtest::Pg::builder()
        .hba("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        .start()
        .expect("plaintext PostgreSQL");

    let targets = [
        Target::new("127.0.0.1", hardened.port()),
        Target::new("127.0.0.1", bouncer.port()),
        Target::new("127.0.0.1", legacy.port()),
    ];
    let opts = ProbeOptions::default()
        .with_ca_pem(ca.cert_pem().as_bytes(), "ca.crt")
        .expect("CA");
    let report = verify_blocking(&targets, &opts.clone().with_concurrency(3)).expect("probe");

    heading("checklist");
    print!("{}", report.render(false));
    let verdicts: Vec<TargetVerdict> = report.targets.iter().map(|t| t.verdict).collect();
    assert_eq!(
        verdicts,
        [
            TargetVerdict::Pass,
            TargetVerdict::Pass,
            TargetVerdict::Fail
        ]
    );
    assert_eq!(report.verdict, OverallVerdict::Fail);
    heading("the same as JSON (first target, abbreviated)");
    let json = report.to_json();
    println!("{}", json.lines().take(12).collect::<Vec<_>>().join("\n"));
}

#[cfg(test)]
#[test]
fn recipe_runs() {
    main();
}

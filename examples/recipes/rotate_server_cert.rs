//! Recipe: rotate PostgreSQL's server certificate without a restart.
//!
//! Starts a real PostgreSQL 15 (test harness) with a short-lived certificate from pgtls-certs,
//! sees `needs_renewal` say so, renews the files in place (same subject and SANs, same CA, mode
//! and owner kept), runs `SELECT pg_reload_conf()` and proves on the wire, with pgtls-probe,
//! that the server now presents the new certificate: same server process, new validity.

use pgtls_certs::{
    Ca, CaParams, RenewOptions, RenewalPolicy, ServerParams, file_meta, inspect, renewal_reason,
};
use pgtls_examples::heading;
use pgtls_probe::{CheckData, CheckId, ProbeOptions, Target, verify_blocking};

/// The `days_left` the server's certificate shows on the wire.
fn served_days_left(port: u16, ca_pem: &str) -> i64 {
    let opts = ProbeOptions::default()
        .with_ca_pem(ca_pem.as_bytes(), "ca.crt")
        .expect("CA");
    let report = verify_blocking(&[Target::new("127.0.0.1", port)], &opts).expect("probe");
    let target = report.targets.first().expect("one target");
    match target.check(CheckId::Certificate).map(|c| &c.data) {
        Some(CheckData::Certificate(info)) => info.days_left,
        other => panic!("no certificate on the wire: {other:?}"),
    }
}

fn main() {
    let ca = Ca::create(&CaParams::default()).expect("CA");
    let mut params = ServerParams::new(["localhost", "127.0.0.1"]);
    params.days = 20;
    let short = ca.issue_server(&params).expect("server certificate");

    let builder = pgtest::Pg::builder();
    let dir = builder.dir().to_path_buf();
    let pg = builder
        .tls(&short.cert_pem, &short.key_pem)
        .file("ca.crt", ca.cert_pem(), 0o644)
        .setting("ssl_ca_file", dir.join("ca.crt").display().to_string())
        .start()
        .expect("PostgreSQL with TLS");
    let pid_before = pg.query("select pg_postmaster_start_time()");

    heading("before");
    let info = inspect(&short.cert_pem).expect("inspect");
    let reason = renewal_reason(&info, &RenewalPolicy::default());
    println!(
        "serial {} , {} days left; renewal due: {reason:?}",
        info.serial, info.days_left
    );
    assert!(
        reason.is_some(),
        "a 20-day certificate is due under the default policy"
    );
    let days_before = served_days_left(pg.port(), ca.cert_pem());
    println!("served on the wire: {days_before} days left");

    heading("renew in place, then SELECT pg_reload_conf()");
    let meta_before = file_meta(&dir.join("server.key")).expect("stat");
    let outcome = pgtls_certs::renew_files(
        &ca,
        &dir.join("server.crt"),
        &dir.join("server.key"),
        &RenewOptions {
            reuse_key: false,
            days: Some(825),
        },
    )
    .expect("renew");
    println!("serial {} -> {}", outcome.old_serial, outcome.new_serial);
    assert_eq!(
        file_meta(&dir.join("server.key")).expect("stat"),
        meta_before,
        "mode and owner kept"
    );
    pg.reload();

    heading("after");
    let days_after = served_days_left(pg.port(), ca.cert_pem());
    println!("served on the wire: {days_after} days left");
    assert!(
        days_before < 30 && days_after > 800,
        "the server presents the renewed certificate"
    );
    assert_eq!(
        pg.query("select pg_postmaster_start_time()"),
        pid_before,
        "no restart happened"
    );
    let out = pg.psql(
        &format!(
            "host=localhost sslmode=verify-full sslrootcert={}",
            dir.join("ca.crt").display()
        ),
        "\\conninfo",
    );
    assert!(out.success, "{}", out.stderr);
    println!("{}", out.stdout);
}

#[cfg(test)]
#[test]
fn recipe_runs() {
    main();
}

//! One full `pgtls-probe` run (every check but `authenticated`) against a local PostgreSQL
//! with TLS on and plaintext rejected, started by `pgtest`; plus the pure wire decoder.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pgtls_probe::{ProbeOptions, Target, TargetVerdict, probe, wire};

fn bench_probe(c: &mut Criterion) {
    let pki = pgtest::Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = pgtest::Pg::builder()
        .tls(&leaf.cert, &leaf.key)
        .hba("local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = ProbeOptions::default()
        .with_ca_pem(&pki.ca_pem(), "ca.crt")
        .expect("ca");
    opts = opts.with_timeout(Duration::from_secs(5));
    let target = Target::new("127.0.0.1", pg.port());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let first = rt.block_on(probe(&target, &opts));
    assert_eq!(
        first.verdict,
        TargetVerdict::Pass,
        "{}",
        pgtls_probe::render_target(&first, false)
    );

    let mut g = c.benchmark_group("probe");
    g.sample_size(20).measurement_time(Duration::from_secs(15));
    g.bench_function("full_probe_local_postgres", |b| {
        b.iter(|| rt.block_on(probe(&target, &opts)));
    });
    g.finish();
    drop(pg);
}

fn bench_wire(c: &mut Criterion) {
    let mut body = b"SFATAL\0VFATAL\0C28000\0M".to_vec();
    body.extend_from_slice(
        b"pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption",
    );
    body.extend_from_slice(b"\0Fauth.c\0L543\0RClientAuthentication\0\0");
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&u32::try_from(body.len() + 4).expect("len").to_be_bytes());
    msg.extend_from_slice(&body);
    c.bench_function("wire/decode_error_response", |b| {
        b.iter(|| wire::decode_message(std::hint::black_box(&msg)));
    });
}

criterion_group!(benches, bench_wire, bench_probe);
criterion_main!(benches);

//! pgtls-certs: cost of creating a CA plus a server certificate per key type (what
//! `pgtls certs init` does), and of the read-side checks (`inspect`, `verify_chain`,
//! `covers_host`).
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pgtls_certs::{Ca, CaParams, KeyType, ServerParams, covers_host, inspect, verify_chain};

const SANS: [&str; 5] = [
    "db",
    "supabase-db",
    "supabase-pooler",
    "localhost",
    "127.0.0.1",
];

fn ca_and_server(kt: KeyType) -> String {
    let ca = Ca::create(&CaParams {
        key_type: kt,
        ..CaParams::default()
    })
    .expect("CA");
    let mut sp = ServerParams::new(SANS);
    sp.key_type = kt;
    ca.issue_server(&sp).expect("server certificate").cert_pem
}

fn create(c: &mut Criterion) {
    let mut fast = c.benchmark_group("ca+server");
    fast.sample_size(30);
    for kt in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Ed25519] {
        fast.bench_with_input(BenchmarkId::from_parameter(kt), &kt, |b, &kt| {
            b.iter(|| black_box(ca_and_server(kt)));
        });
    }
    fast.finish();

    // RSA key generation is slow and its time varies a lot (prime search): few samples
    let mut rsa = c.benchmark_group("ca+server-rsa");
    rsa.sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for kt in [KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096] {
        rsa.bench_with_input(BenchmarkId::from_parameter(kt), &kt, |b, &kt| {
            b.iter(|| black_box(ca_and_server(kt)));
        });
    }
    rsa.finish();
}

fn read_side(c: &mut Criterion) {
    let ca = Ca::create(&CaParams::default()).expect("CA");
    let leaf = ca
        .issue_server(&ServerParams::new(SANS))
        .expect("leaf")
        .cert_pem;
    let ca_pem = ca.cert_pem().to_string();
    let mut g = c.benchmark_group("read");
    g.bench_function("inspect", |b| {
        b.iter(|| black_box(inspect(black_box(&leaf)).expect("inspect")));
    });
    g.bench_function("verify_chain", |b| {
        b.iter(|| verify_chain(black_box(&leaf), black_box(&ca_pem)).expect("verify"));
    });
    g.bench_function("covers_host", |b| {
        b.iter(|| black_box(covers_host(black_box(&leaf), "supabase-pooler").expect("covers")));
    });
    g.finish();
}

criterion_group!(benches, create, read_side);
criterion_main!(benches);

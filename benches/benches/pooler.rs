//! Criterion benchmarks for pooler-exs: scanning, finding the parameters map, the full edit
//! (`enforce_ssl`, upstream TLS, upsert rewrite) and a large script.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pooler_exs::Script;

const UPSTREAM: &str =
    include_str!("../../crates/pooler-exs/tests/fixtures/valid/upstream-pooler.exs");
const COOLIFY: &str =
    include_str!("../../crates/pooler-exs/tests/fixtures/valid/coolify-pooler.exs");

/// A large script: the upstream fixture preceded by many unrelated maps, strings and sigils.
fn large() -> String {
    let mut s = String::new();
    for i in 0..500 {
        writeln!(
            s,
            "decoy_{i} = %{{\"k\" => \"#{{inspect(%{{a: {i}}})}} }} =>\", r: ~r/[a-z]+/i, h: ?}}}} # }} =>"
        )
        .unwrap();
    }
    s.push_str(UPSTREAM);
    s
}

fn full_edit(src: &str) -> String {
    let mut s = Script::parse(src).unwrap();
    s.set_bool("enforce_ssl", true).unwrap();
    s.set_upstream_tls("/etc/pooler/certs/ca.crt").unwrap();
    s.rewrite_to_upsert().unwrap();
    s.to_string()
}

fn benches(c: &mut Criterion) {
    let big = large();
    let mut g = c.benchmark_group("pooler");
    for (name, src) in [
        ("upstream", UPSTREAM),
        ("coolify", COOLIFY),
        ("large", big.as_str()),
    ] {
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| Script::parse(black_box(src)).unwrap());
        });
        let script = Script::parse(src).unwrap();
        g.bench_function(format!("params_map/{name}"), |b| {
            b.iter(|| black_box(&script).params_map().unwrap().keys().len());
        });
        g.bench_function(format!("inspect/{name}"), |b| {
            b.iter(|| black_box(&script).inspect().unwrap());
        });
    }
    for (name, src) in [("upstream", UPSTREAM), ("large", big.as_str())] {
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_function(format!("full_edit/{name}"), |b| {
            b.iter(|| full_edit(black_box(src)));
        });
    }
    g.finish();
}

criterion_group!(pooler, benches);
criterion_main!(pooler);

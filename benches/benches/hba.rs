//! pg-hba throughput: parse + validate + print a generated 100,000-record `pg_hba.conf`.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pg_hba::{Document, ParseOptions};

/// A realistic mix: comments, blank lines, local and host rules, IPv4 and IPv6, masks,
/// options, quoting, comma lists, trailing comments, and some invalid lines.
pub fn generate(records: usize) -> String {
    let mut out =
        String::from("# TYPE  DATABASE        USER            ADDRESS                 METHOD\n");
    for i in 0..records {
        let (a, b, c) = ((i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        match i % 10 {
            0 => {
                let _ = writeln!(out, "# block {i}");
                let _ = writeln!(
                    out,
                    "local   all             all                                     peer"
                );
            }
            1 => {
                let _ = writeln!(
                    out,
                    "host    db{i},db{a}        app{b}            10.{a}.{b}.{c}/32            scram-sha-256"
                );
            }
            2 => {
                let _ = writeln!(
                    out,
                    "hostssl all             +grp{c}           172.16.{b}.0/24          scram-sha-256 clientcert=verify-full"
                );
            }
            3 => {
                let _ = writeln!(
                    out,
                    "host    \"db {i}\"         all             192.168.{b}.{c} 255.255.255.255 md5 # legacy"
                );
            }
            4 => {
                let _ = writeln!(
                    out,
                    "hostnossl all           all             2001:db8:{a:x}:{b:x}::/64     reject"
                );
            }
            5 => {
                let _ = writeln!(
                    out,
                    "local   sameuser        u{i}                                      peer map=m{c}"
                );
            }
            6 => {
                let _ = writeln!(
                    out,
                    "host    all             all             .example{c}.com         scram-sha-256"
                );
            }
            7 => {
                let _ = writeln!(
                    out,
                    "hostssl all             all             0.0.0.0/0               cert map=certmap"
                );
            }
            8 => {
                let _ = writeln!(
                    out,
                    "host    all             all             10.0.{b}.{c}/33         trust"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "hostgssenc all          all             ::/0                    gss include_realm=0\n"
                );
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = generate(100_000);
    let mut group = c.benchmark_group("hba");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("parse_validate_print_100k", |b| {
        b.iter(|| {
            let doc = Document::parse(black_box(&text), ParseOptions::default());
            let diags = doc.validate();
            let printed = doc.to_string();
            assert_eq!(printed.len(), text.len());
            black_box((diags.len(), printed));
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

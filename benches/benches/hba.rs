//! pg-hba throughput on the realistic 100,000-record `pg_hba.conf` of
//! `pgtls_benches::hba_gen` (the file `benches/compare.sh` times against PostgreSQL's own
//! parse): the streaming check `hba check` runs, the full parse + validate + print, lint,
//! and column alignment (`hba fmt`).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pg_hba::{Document, LintOptions, ParseOptions, lint, validate_text};
use pgtls_benches::hba_gen::realistic_hba;

fn bench(c: &mut Criterion) {
    let text = realistic_hba(100_000, 7);
    let mut group = c.benchmark_group("hba");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("validate_text_100k", |b| {
        b.iter(|| {
            let v = validate_text(black_box(&text), &ParseOptions::default());
            assert_eq!(v.records, 100_000);
            black_box(v);
        });
    });
    group.bench_function("parse_validate_print_100k", |b| {
        b.iter(|| {
            let doc = Document::parse(black_box(&text), ParseOptions::default());
            let diags = doc.validate();
            let printed = doc.to_string();
            assert_eq!(printed.len(), text.len());
            black_box((diags.len(), printed));
        });
    });
    let doc = Document::parse(&text, ParseOptions::default());
    group.bench_function("lint_100k", |b| {
        b.iter(|| black_box(lint(black_box(&doc), &LintOptions::default()).len()));
    });
    group.bench_function("align_columns_100k", |b| {
        b.iter(|| {
            let mut d = doc.clone();
            d.align_columns();
            black_box(d);
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

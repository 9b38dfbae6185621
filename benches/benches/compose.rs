//! Criterion benchmarks for compose-patch: parsing the upstream Supabase compose
//! file, the full hardening edit set on it (with the per-edit verification), the
//! same edits re-applied (the idempotent no-op path) and override mode.
#![allow(missing_docs)]

use compose_patch::{ComposeFile, Edit, Selinux, VolumeMount};
use criterion::{Criterion, criterion_group, criterion_main};

const UPSTREAM: &str = include_str!("../../crates/compose-patch/tests/fixtures/valid/upstream.yml");

fn hardening_edits() -> Vec<Edit> {
    let settings = [
        ("hba_file", "/etc/postgresql/tls/pg_hba.conf"),
        ("ssl", "on"),
        ("ssl_cert_file", "/etc/postgresql/tls/server.crt"),
        ("ssl_key_file", "/etc/postgresql/tls/server.key"),
        ("ssl_ca_file", "/etc/postgresql/tls/ca.crt"),
    ];
    vec![
        Edit::CommandSettings {
            service: "db".into(),
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        },
        Edit::Volume {
            service: "db".into(),
            mount: VolumeMount::new("./volumes/db/tls", "/etc/postgresql/tls")
                .read_only()
                .with_selinux(Selinux::Private),
        },
        Edit::Volume {
            service: "supavisor".into(),
            mount: VolumeMount::new("./volumes/pooler/tls", "/etc/pooler/tls")
                .read_only()
                .with_selinux(Selinux::Shared),
        },
        Edit::Env {
            service: "supavisor".into(),
            key: "GLOBAL_DOWNSTREAM_CERT_PATH".into(),
            value: "/etc/pooler/tls/server.crt".into(),
        },
        Edit::Env {
            service: "supavisor".into(),
            key: "GLOBAL_DOWNSTREAM_KEY_PATH".into(),
            value: "/etc/pooler/tls/server.key".into(),
        },
    ]
}

fn bench(c: &mut Criterion) {
    let edits = hardening_edits();
    c.bench_function("compose/parse_upstream", |b| {
        b.iter(|| ComposeFile::parse(std::hint::black_box(UPSTREAM)).unwrap());
    });
    c.bench_function("compose/harden_upstream", |b| {
        b.iter(|| {
            let mut f = ComposeFile::parse(std::hint::black_box(UPSTREAM)).unwrap();
            f.apply_all(&edits).unwrap();
            f
        });
    });
    let mut hardened = ComposeFile::parse(UPSTREAM).unwrap();
    hardened.apply_all(&edits).unwrap();
    let hardened = hardened.text().to_owned();
    c.bench_function("compose/reapply_upstream_noop", |b| {
        b.iter(|| {
            let mut f = ComposeFile::parse(std::hint::black_box(&hardened)).unwrap();
            let changed = f.apply_all(&edits).unwrap();
            assert!(changed.iter().all(|c| !c.changed()));
        });
    });
    let base = ComposeFile::parse(UPSTREAM).unwrap();
    c.bench_function("compose/override_upstream", |b| {
        b.iter(|| base.override_file(std::hint::black_box(&edits)).unwrap());
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! One full `pgtls-probe` run (every check but `authenticated`) against a local PostgreSQL
//! with TLS on and plaintext rejected, started by `pgtest`; plus the pure wire decoder.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pgtls_probe::{ProbeOptions, Target, TargetVerdict, probe, wire};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a leaf for `localhost`/127.0.0.1, made with the openssl CLI in `dir`.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/CN=bench CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "30",
            "-extfile",
            "server.ext",
        ],
    );
}

fn bench_probe(c: &mut Criterion) {
    let certs = std::env::temp_dir().join(format!("pgtls-bench-probe-{}", std::process::id()));
    std::fs::create_dir_all(&certs).expect("cert dir");
    make_certs(&certs);
    let read = |n: &str| std::fs::read(certs.join(n)).expect("cert file");
    let b = pgtest::Pg::builder();
    let dir = b.dir().to_path_buf();
    let pg = b
        .file("server.crt", read("server.crt"), 0o644)
        .file("server.key", read("server.key"), 0o600)
        .setting("ssl", "on")
        .setting("ssl_cert_file", dir.join("server.crt").display().to_string())
        .setting("ssl_key_file", dir.join("server.key").display().to_string())
        .hba("local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = ProbeOptions::default()
        .with_ca_pem(&read("ca.crt"), "ca.crt")
        .expect("ca");
    opts.timeout = Duration::from_secs(5);
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
    let _ = std::fs::remove_dir_all(&certs);
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

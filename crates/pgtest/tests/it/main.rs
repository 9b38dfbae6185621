//! Proves the harness is real: TLS through psql, PostgreSQL's own `pg_hba.conf` refusal, PgBouncer's
//! TLS requirement, parallel clusters, and stop-by-PID.
#![allow(missing_docs)]

use pgtest::{Pg, PgBouncer, Pki};
use std::path::Path;

fn ssl_builder(hba: &str) -> pgtest::PgBuilder {
    let leaf = Pki::new().self_signed("localhost", "DNS:localhost");
    Pg::builder().tls(leaf.cert, leaf.key).hba(hba)
}

#[test]
fn ssl_cluster_accepts_require_and_conninfo_reports_ssl() {
    let pg = ssl_builder(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .start()
    .unwrap();
    let out = pg.psql("sslmode=require", "\\conninfo");
    assert!(out.success, "{}", out.stderr);
    assert!(
        out.stdout.contains("SSL connection (protocol: TLSv1."),
        "{}",
        out.stdout
    );
    assert_eq!(pg.query("show ssl"), "on");
}

#[test]
fn hostnossl_reject_refuses_plaintext_with_postgres_message() {
    let pg = ssl_builder(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .start()
    .unwrap();
    let out = pg.psql("sslmode=disable", "select 1");
    assert!(!out.success);
    assert!(
        out.stderr.contains(
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn pgbouncer_with_tls_required_refuses_plaintext() {
    let pg = Pg::builder().start().unwrap();
    let leaf = Pki::new().self_signed("localhost", "DNS:localhost");
    let b = PgBouncer::builder(&pg);
    let dir = b.dir().to_path_buf();
    let bouncer = b
        .file("server.crt", leaf.cert, 0o644)
        .file("server.key", leaf.key, 0o600)
        .setting("client_tls_sslmode", "require")
        .setting(
            "client_tls_cert_file",
            dir.join("server.crt").display().to_string(),
        )
        .setting(
            "client_tls_key_file",
            dir.join("server.key").display().to_string(),
        )
        .start()
        .unwrap();
    let plain = bouncer.psql("sslmode=disable", "select 1");
    assert!(!plain.success);
    assert!(plain.stderr.contains("SSL required"), "{}", plain.stderr);
    let tls = bouncer.psql("sslmode=require", "select 42");
    assert!(tls.success, "{}\n{}", tls.stderr, bouncer.log());
    assert_eq!(tls.stdout, "42");
}

#[test]
fn parallel_clusters_get_distinct_ports_and_stop_by_pid() {
    let handles: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(|| Pg::builder().start().unwrap()))
        .collect();
    let clusters: Vec<Pg> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut ports: Vec<u16> = clusters.iter().map(Pg::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for pg in &clusters {
        assert_eq!(pg.query("select 1"), "1");
    }
    let pids: Vec<u32> = clusters.iter().map(Pg::pid).collect();
    let dirs: Vec<_> = clusters.iter().map(|p| p.dir().to_path_buf()).collect();
    drop(clusters);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "postgres {pid} still running"
        );
    }
    for d in dirs {
        assert!(!d.exists(), "{} not removed", d.display());
    }
}

#[test]
fn refused_key_file_is_a_start_failure_with_the_log() {
    if !pgtest::running_as_root() {
        eprintln!("skipped: needs root to give the key file to another owner");
        return;
    }
    // A later file of the same name replaces the good key: a 0644 key owned by the server user.
    let err = ssl_builder("local all all trust\n")
        .file("server.key", b"not a key", 0o644)
        .start()
        .unwrap_err();
    match err {
        pgtest::HarnessError::StartFailed { what, log } => {
            assert_eq!(what, "postgres");
            assert!(log.contains("has group or world access"), "{log}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

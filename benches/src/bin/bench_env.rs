//! Starts the local servers `benches/compare.sh` measures against, and stops them by PID when
//! the script asks (or after a time limit), so the comparison never leaves a server running.
//!
//! `bench_env DIR [PG_COUNT] [BOUNCER_COUNT]` makes a CA (`DIR/ca.crt`) and a server certificate
//! with the `openssl` command line (`pgtest::Pki`, so the servers do not depend on the code being
//! measured), starts `PG_COUNT` PostgreSQL clusters (ssl on, `hostssl ... scram-sha-256`,
//! `hostnossl ... reject`) and `BOUNCER_COUNT` PgBouncer instances (`client_tls_sslmode =
//! require`) on 127.0.0.1, writes `DIR/endpoints.txt` (one `127.0.0.1:PORT` a line, PostgreSQL
//! first), the first cluster's `DIR/pg_socket_dir` and `DIR/pg_port`, and `DIR/ready`, then waits
//! for `DIR/stop` to appear.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const MAX_LIFETIME: Duration = Duration::from_secs(45 * 60);

fn run(dir: &Path, pg_count: usize, bouncer_count: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pki = pgtest::Pki::new();
    let leaf = pki.leaf("localhost", "DNS:localhost,IP:127.0.0.1", 30);
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).map_err(|e| e.to_string())?;
    let (crt, key) = (leaf.cert, leaf.key);
    let hba = "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n";
    let mut pgs = Vec::new();
    let mut endpoints = Vec::new();
    for _ in 0..pg_count {
        let pg = pgtest::Pg::builder()
            .tls(&crt, &key)
            .setting("max_connections", "200")
            .hba(hba)
            .start()
            .map_err(|e| e.to_string())?;
        endpoints.push(pg.addr());
        pgs.push(pg);
    }
    let mut bouncers = Vec::new();
    for i in 0..bouncer_count {
        let Some(pg) = pgs.get(i % pgs.len().max(1)) else {
            break;
        };
        let b = pgtest::PgBouncer::builder(pg);
        let d = b.dir().to_path_buf();
        let bouncer = b
            .file("server.crt", &crt, 0o644)
            .file("server.key", &key, 0o600)
            .setting("client_tls_sslmode", "require")
            .setting(
                "client_tls_cert_file",
                d.join("server.crt").display().to_string(),
            )
            .setting(
                "client_tls_key_file",
                d.join("server.key").display().to_string(),
            )
            .setting("max_client_conn", "500")
            .start()
            .map_err(|e| e.to_string())?;
        endpoints.push(bouncer.addr());
        bouncers.push(bouncer);
    }
    std::fs::write(dir.join("endpoints.txt"), endpoints.join("\n") + "\n")
        .map_err(|e| e.to_string())?;
    if let Some(pg) = pgs.first() {
        std::fs::write(
            dir.join("pg_socket_dir"),
            pg.socket_dir().display().to_string(),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("pg_port"), pg.port().to_string()).map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join("ready"), "").map_err(|e| e.to_string())?;
    let started = Instant::now();
    while !dir.join("stop").exists() && started.elapsed() < MAX_LIFETIME {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(bouncers);
    drop(pgs);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: bench_env DIR [PG_COUNT] [BOUNCER_COUNT]");
        return ExitCode::from(2);
    };
    let count =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match run(Path::new(dir), count(1, 4), count(2, 4)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_env: {e}");
            ExitCode::FAILURE
        }
    }
}

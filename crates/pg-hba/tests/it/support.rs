//! Shared helpers: a throwaway certificate and a TLS-enabled PostgreSQL 15.

use std::path::Path;
use std::process::Command;

/// A self-signed P-256 certificate and key (PEM) made with the openssl CLI.
pub fn self_signed() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("server.key");
    let crt = dir.path().join("server.crt");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (read(&crt), read(&key))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).expect("read generated file")
}

/// Start PostgreSQL 15 with `ssl=on` and the given startup `pg_hba.conf`.
pub fn start_pg(hba: &str, extra: &[(&str, &str)]) -> pgtest::Pg {
    let (crt, key) = self_signed();
    let b = pgtest::Pg::builder();
    let dir = b.dir().to_path_buf();
    let mut b = b
        .file("server.crt", crt, 0o644)
        .file("server.key", key, 0o600)
        .setting("ssl", "on")
        .setting(
            "ssl_cert_file",
            dir.join("server.crt").display().to_string(),
        )
        .setting("ssl_key_file", dir.join("server.key").display().to_string())
        .hba(hba);
    for (k, v) in extra {
        b = b.setting(k, *v);
    }
    match b.start() {
        Ok(pg) => pg,
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    }
}

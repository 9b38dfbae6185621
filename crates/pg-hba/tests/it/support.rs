//! Shared helpers: a throwaway certificate and a TLS-enabled PostgreSQL 15.

/// Start PostgreSQL 15 with `ssl=on` and the given startup `pg_hba.conf`.
pub fn start_pg(hba: &str, extra: &[(&str, &str)]) -> pgtest::Pg {
    let leaf = pgtest::Pki::new().self_signed("localhost", "DNS:localhost");
    let b = pgtest::Pg::builder();
    let dir = b.dir().to_path_buf();
    let mut b = b
        .file("server.crt", leaf.cert, 0o644)
        .file("server.key", leaf.key, 0o600)
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

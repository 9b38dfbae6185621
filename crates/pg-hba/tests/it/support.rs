//! Shared helpers: a throwaway certificate and a TLS-enabled PostgreSQL 15.

/// Start PostgreSQL 15 with `ssl=on` and the given startup `pg_hba.conf`.
pub fn start_pg(hba: &str, extra: &[(&str, &str)]) -> pgtest::Pg {
    let leaf = pgtest::Pki::new().self_signed("localhost", "DNS:localhost");
    let mut b = pgtest::Pg::builder().tls(leaf.cert, leaf.key).hba(hba);
    for (k, v) in extra {
        b = b.setting(k, *v);
    }
    match b.start() {
        Ok(pg) => pg,
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    }
}

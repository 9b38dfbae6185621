use super::*;

fn target() -> Target<'static> {
    Target {
        host: "db.example.com",
        tenant: Some("acme"),
        ca: "/etc/ssl/ca.crt",
        user: "postgres",
        database: "postgres",
        password: Some("p@ss word"),
        port: 5432,
        pooler_port: 6543,
        sni: false,
        pooler: crate::PoolerKind::Supavisor,
    }
}

#[test]
fn pgbouncer_pooled_users_carry_no_tenant() {
    let mut t = target();
    t.pooler = crate::PoolerKind::PgBouncer;
    let s = build(Client::Libpq, &t).unwrap();
    assert!(
        s.pooled
            .starts_with("postgresql://postgres:p%40ss%20word@db.example.com:6543/"),
        "{}",
        s.pooled
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("--tenant acme ignored")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.notes.iter().any(|n| n.contains("PgBouncer variant")),
        "{:?}",
        s.notes
    );
    let prisma = build(Client::Prisma6, &t).unwrap();
    assert!(
        prisma.pooled.contains("postgres:p%40ss%20word@")
            && prisma.pooled.ends_with("&pgbouncer=true"),
        "{}",
        prisma.pooled
    );
    t.tenant = None;
    let s = build(Client::Jdbc, &t).unwrap();
    assert!(!s.pooled.contains(TENANT_PLACEHOLDER), "{}", s.pooled);
    assert!(!s.warnings.iter().any(|w| w.contains("--tenant")));
    assert_eq!(pooled_user(&t), "postgres");
}

#[test]
fn libpq_is_verify_full_on_both_ports() {
    let s = build(Client::Libpq, &target()).unwrap();
    assert_eq!(
        s.direct,
        "postgresql://postgres:p%40ss%20word@db.example.com:5432/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/ca.crt"
    );
    assert_eq!(
        s.pooled,
        "postgresql://postgres.acme:p%40ss%20word@db.example.com:6543/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/ca.crt"
    );
    assert!(s.warnings.iter().any(|w| w.contains("man in the middle")));
}

#[test]
fn prisma_is_node_postgres_and_prisma6_is_the_engine_form() {
    let p = build(Client::Prisma, &target()).unwrap();
    assert!(
        p.direct
            .ends_with("?sslmode=verify-full&sslrootcert=/etc/ssl/ca.crt")
    );
    assert!(!p.pooled.contains("sslaccept") && !p.pooled.contains("sslcert="));
    assert!(p.notes.iter().any(|n| n.contains("prisma6")));
    let s = build(Client::Prisma6, &target()).unwrap();
    assert!(
        s.direct
            .ends_with("?sslmode=require&sslcert=/etc/ssl/ca.crt&sslaccept=strict")
    );
    assert!(s.pooled.contains(":6543/") && s.pooled.ends_with("&pgbouncer=true"));
    let mut rel = target();
    rel.ca = "ca.crt";
    let s = build(Client::Prisma6, &rel).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("relative")));
}

#[test]
fn only_the_own_placeholder_stays_unencoded() {
    let mut t = target();
    t.password = None;
    t.tenant = None;
    let s = build(Client::Libpq, &t).unwrap();
    assert!(
        s.pooled
            .starts_with("postgresql://postgres.<tenant-id>:[YOUR-PASSWORD]@db.example.com:6543/")
    );
    for pw in ["[p@ss#1]", "[abc]", "[YOUR-PASSWORD]x"] {
        t.password = Some(pw);
        let s = build(Client::Libpq, &t).unwrap();
        let expected = format!(":{}@db.example.com", encode(pw, false));
        assert!(s.direct.contains(&expected), "{pw}: {}", s.direct);
        assert!(!s.direct.contains('['), "{pw}: {}", s.direct);
    }
}

#[test]
fn jdbc_npgsql_and_ipv6() {
    let mut t = target();
    t.host = "::1";
    let j = build(Client::Jdbc, &t).unwrap();
    assert!(
        j.direct
            .starts_with("jdbc:postgresql://[::1]:5432/postgres?user=postgres&")
    );
    t.host = "[::1]";
    let l = build(Client::Libpq, &t).unwrap();
    assert!(l.direct.contains("@[::1]:5432/"), "{}", l.direct);
    let n = build(Client::Npgsql, &t).unwrap();
    assert!(n.direct.starts_with("Host=::1;"), "{}", n.direct);
    let n = build(Client::Npgsql, &target()).unwrap();
    assert!(
        n.direct
            .contains("SSL Mode=VerifyFull;Root Certificate=/etc/ssl/ca.crt")
    );
    assert!(n.pooled.contains("Username=postgres.acme;"));
    assert!(n.pooled.contains("Password=\"p@ss word\";"));
}

#[test]
fn npgsql_quotes_like_dbconnectionstringbuilder() {
    assert_eq!(npgsql_quote("a=b"), "\"a=b\"");
    assert_eq!(npgsql_quote(" lead"), "\" lead\"");
    assert_eq!(npgsql_quote("x'y"), "\"x'y\"");
    assert_eq!(npgsql_quote("x\"y"), "'x\"y'");
    assert_eq!(npgsql_quote("x\"'y"), "\"x\"\"'y\"");
    assert_eq!(npgsql_quote("p@ss#1[]"), "p@ss#1[]");
}

#[test]
fn bad_input_is_refused_with_the_flag_named() {
    let mut t = target();
    t.tenant = Some("");
    assert_eq!(build(Client::Libpq, &t).unwrap_err().flag, "--tenant");
    let mut t = target();
    t.host = "db/evil?x=";
    let e = build(Client::Libpq, &t).unwrap_err();
    assert_eq!(e.flag, "--host");
    assert!(e.to_string().contains("db/evil?x="), "{e}");
    for host in ["db:5432", "a b", "", "-x", "a..b", "db@x"] {
        let mut t = target();
        t.host = host;
        assert!(t.check().is_err(), "{host}");
    }
    for host in [
        "127.0.0.1",
        "db",
        "supabase-db",
        "db.example.com",
        "::1",
        "[fe80::1]",
    ] {
        let mut t = target();
        t.host = host;
        assert!(t.check().is_ok(), "{host}");
    }
    let mut t = target();
    t.port = 0;
    assert_eq!(t.check().unwrap_err().flag, "--port");
    let mut t = target();
    t.pooler_port = 0;
    assert_eq!(t.check().unwrap_err().flag, "--pooler-port");
    let mut t = target();
    t.password = Some("a\nb");
    let e = t.check().unwrap_err();
    assert!(
        e.to_string().contains("U+000A") && e.to_string().contains("a\\nb"),
        "{e}"
    );
    let mut t = target();
    t.user = "x\u{7f}";
    assert_eq!(t.check().unwrap_err().flag, "--user");
}

#[test]
fn node_postgres_warns_about_ip_hosts() {
    let mut t = target();
    t.host = "10.0.0.5";
    let s = build(Client::NodePostgres, &t).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("\"localhost\"")));
    assert!(!s.warnings.iter().any(|w| w.contains("IPv6")));
    t.host = "[2001:db8::5]";
    let s = build(Client::Prisma, &t).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("IPv6")));
    let s = build(Client::Libpq, &t).unwrap();
    assert!(
        !s.warnings
            .iter()
            .any(|w| w.contains("IPv6") || w.contains("\"localhost\""))
    );
}

#[test]
fn node_postgres_warns_about_database_names_it_cannot_decode() {
    let mut t = target();
    t.database = "a/b";
    let s = build(Client::NodePostgres, &t).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("decodeURI")));
    let s = build(Client::Libpq, &t).unwrap();
    assert!(s.direct.contains("/a%2Fb?"));
    assert!(!s.warnings.iter().any(|w| w.contains("decodeURI")));
}

#[test]
fn sni_routing_uses_the_plain_role_and_needs_a_host_name() {
    let mut t = target();
    t.sni = true;
    let s = build(Client::Libpq, &t).unwrap();
    assert_eq!(
        s.pooled,
        "postgresql://postgres:p%40ss%20word@db.example.com:6543/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/ca.crt"
    );
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("sni_hostname set to db.example.com"))
    );
    assert!(
        !s.warnings.iter().any(|w| w.contains("SNI")),
        "{:?}",
        s.warnings
    );
    let n = build(Client::Npgsql, &t).unwrap();
    assert!(n.pooled.contains("Username=postgres;"), "{}", n.pooled);
    t.host = "203.0.113.9";
    let s = build(Client::Libpq, &t).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("send SNI only for host names")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn missing_tenant_is_a_warning() {
    let mut t = target();
    t.tenant = None;
    let s = build(Client::Asyncpg, &t).unwrap();
    assert!(s.pooled.contains("postgres.<tenant-id>:"));
    assert!(s.warnings.iter().any(|w| w.contains("--tenant")));
    assert!(s.notes.iter().any(|n| n.contains("statement_cache_size=0")));
    assert_eq!(clients(None).len(), 7);
}

//! Verified connection strings per client (FACTS section 7): pure string building.

use std::fmt::Write as _;

use crate::Client as ClientArg;

/// What to connect to.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Host name (must be a certificate SAN).
    pub host: &'a str,
    /// Supavisor tenant.
    pub tenant: Option<&'a str>,
    /// CA path on the client machine.
    pub ca: &'a str,
    /// Role.
    pub user: &'a str,
    /// Database.
    pub database: &'a str,
    /// Password (or placeholder).
    pub password: &'a str,
    /// Direct port.
    pub port: u16,
    /// Pooled port.
    pub pooler_port: u16,
}

/// Strings for one client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientStrings {
    /// Client name as on the command line.
    pub client: &'static str,
    /// Direct connection (session, port 5432).
    pub direct: String,
    /// Pooled connection through Supavisor (transaction mode, port 6543).
    pub pooled: String,
    /// Caveats: where this client's `require` does not verify, and pooling notes.
    pub warnings: Vec<String>,
}

/// Every client when `All`, else the one asked for.
pub fn clients(choice: ClientArg) -> Vec<ClientArg> {
    match choice {
        ClientArg::All => vec![
            ClientArg::Libpq,
            ClientArg::Jdbc,
            ClientArg::Prisma,
            ClientArg::NodePostgres,
            ClientArg::Asyncpg,
            ClientArg::Npgsql,
        ],
        one => vec![one],
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `/` when `keep_slash`).
pub fn encode(text: &str, keep_slash: bool) -> String {
    let mut s = String::with_capacity(text.len());
    for b in text.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The pooled role: `<user>.<tenant>` (Supavisor needs the tenant suffix).
pub fn pooled_user(t: &Target<'_>) -> String {
    format!("{}.{}", t.user, t.tenant.unwrap_or("<tenant-id>"))
}

fn password_part(t: &Target<'_>) -> String {
    if t.password.starts_with('[') && t.password.ends_with(']') {
        // a visible placeholder, left as is so people notice and replace it
        t.password.to_owned()
    } else {
        encode(t.password, false)
    }
}

fn pg_url(t: &Target<'_>, user: &str, port: u16, query: &str) -> String {
    format!(
        "postgresql://{}:{}@{}:{port}/{}?{query}",
        encode(user, false),
        password_part(t),
        url_host(t.host),
        encode(t.database, false)
    )
}

/// Builds the strings for one client.
pub fn build(client: ClientArg, t: &Target<'_>) -> ClientStrings {
    let ca = encode(t.ca, true);
    let pooled_user = pooled_user(t);
    let verify = format!("sslmode=verify-full&sslrootcert={ca}");
    let mut warnings = Vec::new();
    let (name, direct, pooled) = match client {
        ClientArg::Libpq | ClientArg::All => {
            warnings.push("libpq `sslmode=require` encrypts but does not check the certificate: it does not stop a man in the middle (it acts like verify-ca only when ~/.postgresql/root.crt exists); use verify-full".to_owned());
            (
                "libpq",
                pg_url(t, t.user, t.port, &verify),
                pg_url(t, &pooled_user, t.pooler_port, &verify),
            )
        }
        ClientArg::Jdbc => {
            warnings.push("pgjdbc `sslmode=require` does not verify the server; verify-full with sslrootcert checks the chain and the host name".to_owned());
            warnings.push("port 6543 is transaction mode: prepareThreshold=0 turns off server-side prepared statements".to_owned());
            let base = |port: u16, user: &str, extra: &str| {
                format!(
                    "jdbc:postgresql://{}:{port}/{}?user={}&password={}&{verify}{extra}",
                    url_host(t.host),
                    encode(t.database, false),
                    encode(user, false),
                    password_part(t)
                )
            };
            (
                "jdbc",
                base(t.port, t.user, ""),
                base(t.pooler_port, &pooled_user, "&prepareThreshold=0"),
            )
        }
        ClientArg::Prisma => {
            warnings.push("Prisma: `sslcert` names the CA file relative to the prisma/ folder, and without `sslaccept=strict` nothing is verified".to_owned());
            let q = format!("sslmode=require&sslcert={ca}&sslaccept=strict");
            (
                "prisma",
                pg_url(t, t.user, t.port, &q),
                pg_url(
                    t,
                    &pooled_user,
                    t.pooler_port,
                    &format!("{q}&pgbouncer=true"),
                ),
            )
        }
        ClientArg::NodePostgres => {
            warnings.push("node-postgres: or pass `ssl: { ca: fs.readFileSync('ca.crt'), rejectUnauthorized: true }`; never `rejectUnauthorized: false`, which turns verification off".to_owned());
            (
                "node-postgres",
                pg_url(t, t.user, t.port, &verify),
                pg_url(t, &pooled_user, t.pooler_port, &verify),
            )
        }
        ClientArg::Asyncpg => {
            warnings.push(
                "asyncpg `sslmode=require` does not verify the server certificate; use verify-full"
                    .to_owned(),
            );
            warnings.push(
                "port 6543 is transaction mode: pass statement_cache_size=0 to asyncpg.connect"
                    .to_owned(),
            );
            (
                "asyncpg",
                pg_url(t, t.user, t.port, &verify),
                pg_url(t, &pooled_user, t.pooler_port, &verify),
            )
        }
        ClientArg::Npgsql => {
            warnings.push("Npgsql `SSL Mode=Require` does not validate the certificate; VerifyFull with Root Certificate does".to_owned());
            let cs = |port: u16, user: &str| {
                format!(
                    "Host={};Port={port};Database={};Username={user};Password={};SSL Mode=VerifyFull;Root Certificate={}",
                    t.host, t.database, t.password, t.ca
                )
            };
            (
                "npgsql",
                cs(t.port, t.user),
                cs(t.pooler_port, &pooled_user),
            )
        }
    };
    if t.tenant.is_none() {
        warnings.push(
            "no --tenant given: replace <tenant-id> in the pooled user with POOLER_TENANT_ID"
                .to_owned(),
        );
    }
    ClientStrings {
        client: name,
        direct,
        pooled,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target<'static> {
        Target {
            host: "db.example.com",
            tenant: Some("acme"),
            ca: "/etc/ssl/ca.crt",
            user: "postgres",
            database: "postgres",
            password: "p@ss word",
            port: 5432,
            pooler_port: 6543,
        }
    }

    #[test]
    fn libpq_is_verify_full_on_both_ports() {
        let s = build(ClientArg::Libpq, &target());
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
    fn prisma_uses_strict_and_pgbouncer_on_pooled() {
        let s = build(ClientArg::Prisma, &target());
        assert!(
            s.direct
                .ends_with("?sslmode=require&sslcert=/etc/ssl/ca.crt&sslaccept=strict")
        );
        assert!(s.pooled.contains(":6543/") && s.pooled.ends_with("&pgbouncer=true"));
    }

    #[test]
    fn jdbc_npgsql_and_ipv6() {
        let mut t = target();
        t.host = "::1";
        let j = build(ClientArg::Jdbc, &t);
        assert!(
            j.direct
                .starts_with("jdbc:postgresql://[::1]:5432/postgres?user=postgres&")
        );
        let n = build(ClientArg::Npgsql, &target());
        assert!(
            n.direct
                .contains("SSL Mode=VerifyFull;Root Certificate=/etc/ssl/ca.crt")
        );
        assert!(n.pooled.contains("Username=postgres.acme"));
    }

    #[test]
    fn missing_tenant_is_a_warning() {
        let mut t = target();
        t.tenant = None;
        let s = build(ClientArg::Asyncpg, &t);
        assert!(s.pooled.contains("postgres.%3Ctenant-id%3E"));
        assert!(s.warnings.iter().any(|w| w.contains("--tenant")));
        assert_eq!(clients(ClientArg::All).len(), 6);
    }
}

//! Connection strings per client that stop a man in the middle: pure string building.
//!
//! Every string names the CA file (`--ca`) and asks the client to check the certificate chain
//! *and* the host name; none relies on `sslmode=require`, which means different things in
//! different clients. Each client's rules were read in its own source (listed below) and the
//! strings are run by the test suite against real servers with the real libraries (libpq via
//! psql, psycopg 3, asyncpg, node-postgres, pgjdbc): they connect to a server with a
//! pgtls-made certificate and refuse one whose certificate comes from another CA, one whose
//! certificate names another host, and one with `ssl=off`.
//!
//! ```
//! use pgtls_harden::connstr::{Client, Target, build};
//! let t = Target {
//!     host: "db.example.com",
//!     tenant: Some("acme"),
//!     ca: "/etc/ssl/supabase-ca.crt",
//!     user: "postgres",
//!     database: "postgres",
//!     password: Some("p@ss#1"),
//!     port: 5432,
//!     pooler_port: 6543,
//!     sni: false,
//!     pooler: pgtls_harden::PoolerKind::Supavisor,
//! };
//! let s = build(Client::Libpq, &t).unwrap();
//! assert_eq!(
//!     s.pooled,
//!     "postgresql://postgres.acme:p%40ss%231@db.example.com:6543/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/supabase-ca.crt"
//! );
//! ```
//!
//! # Encoding
//! Everything the user passes is percent-encoded (all but RFC 3986 unreserved characters, and
//! `/` inside the CA path). Only pgtls's own placeholders, [`PASSWORD_PLACEHOLDER`] and
//! [`TENANT_PLACEHOLDER`], are printed as they are, so that people see and replace them; a
//! password that merely looks like one (`[p@ss#1]`) is encoded. Npgsql's `key=value;` strings are
//! quoted instead, with the rule of .NET's `DbConnectionStringBuilder`.
//!
//! Input is checked first ([`Target::check`]): an empty value, a control character, a host that is
//! not a host name or IP address (`db/evil?x=`), port 0 are errors naming the flag.
//!
//! # What each client does (verified in its source; rerun by the test suite)
//! - **libpq** (`postgres/postgres` `src/interfaces/libpq/fe-connect.c`, `fe-secure-openssl.c`):
//!   `sslmode=require` encrypts without checking the server (unless `~/.postgresql/root.crt`
//!   exists, then it acts like verify-ca); `verify-full` checks chain and name. The URI is
//!   percent-decoded in every part. psycopg 3 hands the string to libpq unchanged, so the libpq
//!   string is the psycopg string (tested).
//! - **pgjdbc** (`pgjdbc/pgjdbc` `pgjdbc/src/main/java/org/postgresql/Driver.java` `parseURL`):
//!   the part before `?` may hold one `/` only ("JDBC URL contains too many / characters"), the
//!   database and every query value go through `URLDecoder` (so `+` is a space: pgtls encodes it
//!   as `%2B`), the host is taken raw. `prepareThreshold=0` on the pooled port turns off named
//!   server-side statements, which transaction pooling cannot keep.
//! - **node-postgres** (`brianc/node-postgres` `packages/pg-connection-string/index.js`): any
//!   `sslmode` (or `sslrootcert`) makes `ssl = {}`, that is Node's TLS defaults, which check chain
//!   and host name; `sslrootcert` becomes `ssl.ca`. So `require`, `prefer` and `verify-ca` have
//!   meant verify-full against the system CAs since `sslmode` support came in (commit 6be3b902,
//!   pg-connection-string 2.4.0 / pg 8.4.0; Debian's node-pg 8.8.0 ships 2.5.0 and behaves so in the
//!   tests): the recipe's `require` refuses a private CA. 2.8.0 added `uselibpqcompat=true`
//!   (libpq meanings: `require` then checks nothing), 2.10.0 / pg 8.17.0 print a "SECURITY
//!   WARNING" for those modes saying that pg-connection-string v3 / pg v9 adopt libpq semantics.
//!   Only `sslmode=verify-full&sslrootcert=...` means the same in every version. The URL's ssl
//!   settings replace an `ssl: {...}` object given in code (`pg/lib/connection-parameters.js`:
//!   `Object.assign({}, config, parse(config.connectionString))`). The database path is decoded
//!   with `decodeURI`, which leaves `%2F`, `%3F`, `%23` and the other reserved escapes as they are:
//!   a database name with `; / ? : @ & = + $ , #` cannot be written in the URL. Before 2.6.0
//!   (commit f3054196, which moved to WHATWG `URL`; pg 8.11.0 requires it) the user info was
//!   decoded by `url.parse` and then split at the first `:`, so a `:` in the user (a tenant with
//!   `:`) cannot be written at all there (seen in the tests with Debian's node-pg). For an IP-address
//!   host `pg/lib/connection.js` passes no `servername` (nor `host`) to `tls.connect`, so Node
//!   checks the certificate against `localhost`: with an IP host any certificate of the CA that
//!   names localhost passes (seen in the tests with Debian's pg 8.8.0; unchanged in pg 8.23.0).
//!   From 2.6.0 the host is `URL.hostname`, which keeps an IPv6 address's brackets, and Node 20's
//!   `net.connect` cannot resolve `[::1]` (tried by hand: ENOTFOUND).
//! - **Prisma ≥ 7** (`prisma/prisma` `packages/adapter-pg/src/pg.ts`): the client runs through
//!   `@prisma/adapter-pg`, which passes its config to `new pg.Pool(config)`: node-postgres rules
//!   (there `sslcert` is a *client* certificate and `sslaccept` is ignored, so the old Prisma form
//!   cannot reach a private-CA server). But `prisma migrate`, `db push` and `db pull` still run the
//!   Rust schema engine (`packages/migrate/src/Migrate.ts` → `SchemaEngineCLI.ts` spawns
//!   `schema-engine --datasource <prisma.config.ts datasource>`, checked at tag 7.9.1), which
//!   parses `datasource.url` with the engine rules below: give it the `prisma6` direct string.
//! - **Prisma ≤ 6 engine, and the schema engine of every version**
//!   (`prisma/prisma-engines` `quaint/src/connector/postgres/url.rs` and `.../native/mod.rs`):
//!   `sslmode` knows only `disable`, `prefer`, `require`; anything else (`verify-full`) is logged
//!   at debug level and becomes `prefer`. `sslaccept` defaults to `accept_invalid_certs`
//!   (`danger_accept_invalid_certs(true)`: nothing verified); `strict` verifies chain and host name
//!   (native-tls defaults). `sslcert` is the CA file, which Prisma resolves relative to the folder
//!   of the schema file (Prisma's data-sources documentation); pgtls recommends an absolute path.
//!   `pgbouncer=true` turns off the statement cache for transaction pooling. The user and password
//!   are percent-decoded, the database path segment is not (`dbname()`). Prisma's engines cannot
//!   be installed here (no npm): the tests run these strings through a stand-in built from those
//!   two files (quaint's URL rules over the same tokio-postgres + native-tls), which connects to
//!   the real server, refuses the impostors, and shows that `verify-full`, or `require` without
//!   `sslaccept=strict`, reaches a server with another CA's certificate.
//! - **asyncpg** (`MagicStack/asyncpg` `asyncpg/connect_utils.py`): `verify-full` loads
//!   `sslrootcert` and checks the host name; `require` without a root file checks nothing. Query
//!   keys it does not know are sent to the server as settings (`server_settings`), so
//!   `statement_cache_size=0`, which transaction pooling needs, cannot go in the DSN (the server
//!   refuses an unknown parameter): pass it to `asyncpg.connect()` / `create_pool()`.
//! - **Npgsql** (`npgsql/npgsql` `src/Npgsql/NpgsqlConnectionStringBuilder.cs`, on .NET's
//!   `DbConnectionStringBuilder`, `dotnet/runtime` `System.Data.Common` `DbConnectionOptions`):
//!   a value matching `^[^"'=;\s\p{Cc}]*$` is written bare; one with a `"` and no `'` is put in
//!   single quotes; any other in double quotes with `"` doubled. An IPv6 host is written without
//!   brackets (`TrySplitHostPort` keeps `::1` whole). Npgsql cannot run on this machine (no .NET):
//!   the tests check the quoting with a parser ported from `DbConnectionOptions.GetKeyValuePair`.
//!
//! Supavisor's pooled user is `<user>.<tenant>`; its port 6543 is transaction mode.
//!
//! # Limitations
//! - One host per string (no multi-host failover lists).
//! - The CA path is the path on the client machine; pgtls does not check that it exists there.

use std::fmt::Write as _;

mod target;
#[cfg(test)]
mod tests;

use self::target::host_bare;
pub use self::target::{
    Client, ClientStrings, InputError, PASSWORD_PLACEHOLDER, TENANT_PLACEHOLDER, Target, clients,
};

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

/// Quotes a value for an Npgsql (.NET `DbConnectionStringBuilder`) connection string, as
/// `DbConnectionOptions.AppendKeyValuePairBuilder` does without ODBC rules.
///
/// ```
/// use pgtls_harden::connstr::npgsql_quote;
/// assert_eq!(npgsql_quote("plain"), "plain");
/// assert_eq!(npgsql_quote("a;b"), "\"a;b\"");
/// assert_eq!(npgsql_quote("say \"hi\""), "'say \"hi\"'");
/// assert_eq!(npgsql_quote("it's \"x\""), "\"it's \"\"x\"\"\"");
/// ```
pub fn npgsql_quote(value: &str) -> String {
    let bare = value
        .chars()
        .all(|c| !matches!(c, '"' | '\'' | '=' | ';') && !c.is_whitespace() && !c.is_control());
    if bare {
        value.to_owned()
    } else if value.contains('"') && !value.contains('\'') {
        format!("'{value}'")
    } else {
        format!("\"{}\"", value.replace('"', "\"\""))
    }
}

/// The pooled role: `<user>.<tenant>` for Supavisor (it finds the tenant by the suffix), the
/// plain role with Supavisor 2.9's SNI routing ([`Target::sni`]) and for PgBouncer (which has
/// no tenants).
pub fn pooled_user(t: &Target<'_>) -> String {
    if t.sni || t.pooler == crate::PoolerKind::PgBouncer {
        return t.user.to_owned();
    }
    format!("{}.{}", t.user, t.tenant.unwrap_or(TENANT_PLACEHOLDER))
}

fn url_host(bare: &str) -> String {
    if bare.contains(':') {
        format!("[{bare}]")
    } else {
        bare.to_owned()
    }
}

/// The user for a URL: encoded, except pgtls's own tenant placeholder.
fn url_user(t: &Target<'_>, pooled: bool) -> String {
    let user = encode(t.user, false);
    if !pooled || t.sni || t.pooler == crate::PoolerKind::PgBouncer {
        return user;
    }
    match t.tenant {
        Some(tenant) => format!("{user}.{}", encode(tenant, false)),
        None => format!("{user}.{TENANT_PLACEHOLDER}"),
    }
}

fn url_password(t: &Target<'_>) -> String {
    t.password
        .map_or_else(|| PASSWORD_PLACEHOLDER.to_owned(), |p| encode(p, false))
}

fn pg_url(t: &Target<'_>, host: &str, pooled: bool, query: &str) -> String {
    let port = if pooled { t.pooler_port } else { t.port };
    format!(
        "postgresql://{}:{}@{}:{port}/{}?{query}",
        url_user(t, pooled),
        url_password(t),
        url_host(host),
        encode(t.database, false)
    )
}

/// `--ca system`: the server's certificate is from a public CA (`pgtls certs adopt`), clients
/// verify it with the system's roots.
pub const SYSTEM_CA: &str = "system";

/// The system's bundle of roots on Debian and Ubuntu (ca-certificates), for clients that need a
/// file (libpq 15 and older, asyncpg).
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The strings for a server whose certificate chains to a root in the system's store.
fn build_system(client: Client, t: &Target<'_>, host: &str) -> ClientStrings {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let bundle_q = format!("sslmode=verify-full&sslrootcert={SYSTEM_BUNDLE}");
    let urls = |q: &str| (pg_url(t, host, false, q), pg_url(t, host, true, q));
    let (direct, pooled) = match client {
        Client::Libpq => {
            notes.push(format!("libpq 16 and later: sslrootcert=system loads OpenSSL's default store (SSL_CERT_FILE and SSL_CERT_DIR honoured) and refuses any sslmode weaker than verify-full; libpq 15 and older read `system` as a file name and fail (\"could not read root certificate file\"): there use sslrootcert={SYSTEM_BUNDLE} (Debian, Ubuntu; /etc/pki/tls/certs/ca-bundle.crt on RHEL): {}", pg_url(t, host, false, &bundle_q)));
            notes.push("psycopg 3 and psycopg2 take this string as it is; `system` needs the libpq they load to be 16+ (psycopg.pq.version() >= 160000)".to_owned());
            urls("sslmode=verify-full&sslrootcert=system")
        }
        Client::Jdbc => {
            notes.push("DefaultJavaSSLFactory verifies with the JVM's default trust store (Debian and Ubuntu: /etc/ssl/certs/java/cacerts, rebuilt from the system store by update-ca-certificates through ca-certificates-java); verify-full still checks the host name".to_owned());
            let base = |pooled: bool| {
                let (port, user, extra) = if pooled {
                    (t.pooler_port, url_user(t, true), "&prepareThreshold=0")
                } else {
                    (t.port, url_user(t, false), "")
                };
                format!(
                    "jdbc:postgresql://{}:{port}/{}?user={user}&password={}&sslmode=verify-full&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory{extra}",
                    url_host(host),
                    encode(t.database, false),
                    url_password(t)
                )
            };
            (base(false), base(true))
        }
        Client::NodePostgres | Client::Prisma => {
            notes.push("no sslrootcert: Node checks chain and host name against its own bundled Mozilla roots (tls.rootCertificates), not the OS store (tested with NodeSource's Node 20): a public CA's certificate passes; a root only in the OS store needs node --use-openssl-ca or NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt (both tested)".to_owned());
            notes.push("pg-connection-string 2.7+ treats sslmode=require like verify-full against these roots too (unless uselibpqcompat=true): with a public certificate that no longer breaks".to_owned());
            if client == Client::Prisma {
                notes.push("use: new PrismaPg({ connectionString: process.env.DATABASE_URL }); prisma migrate reads the `prisma6` direct string".to_owned());
            }
            urls("sslmode=verify-full")
        }
        Client::Prisma6 => {
            notes.push("no sslcert: the engine's native-tls verifies with OpenSSL's default store (the system's roots); keep sslaccept=strict, without it nothing is checked".to_owned());
            let q = "sslmode=require&sslaccept=strict";
            (
                pg_url(t, host, false, q),
                pg_url(t, host, true, &format!("{q}&pgbouncer=true")),
            )
        }
        Client::Asyncpg => {
            notes.push(format!("asyncpg reads sslrootcert as a file (it has no `system` value; without one it wants ~/.postgresql/root.crt): the system bundle {SYSTEM_BUNDLE}, or in code ssl=ssl.create_default_context()"));
            notes.push(
                "port 6543 is transaction mode: pass statement_cache_size=0 in code".to_owned(),
            );
            urls(&bundle_q)
        }
        Client::Npgsql => {
            notes.push(
                "no Root Certificate: .NET validates the chain with the operating system's store"
                    .to_owned(),
            );
            let cs = |pooled: bool| {
                let (port, user) = if pooled {
                    (t.pooler_port, pooled_user(t))
                } else {
                    (t.port, t.user.to_owned())
                };
                format!(
                    "Host={};Port={port};Database={};Username={};Password={};SSL Mode=VerifyFull",
                    npgsql_quote(host),
                    npgsql_quote(t.database),
                    npgsql_quote(&user),
                    npgsql_quote(t.password.unwrap_or(PASSWORD_PLACEHOLDER))
                )
            };
            (cs(false), cs(true))
        }
    };
    if t.tenant.is_none() {
        warnings.push(format!(
            "no --tenant given: replace {TENANT_PLACEHOLDER} in the pooled user with POOLER_TENANT_ID (percent-encoded in URLs)"
        ));
    }
    if t.password.is_none() {
        notes.push(format!(
            "replace {PASSWORD_PLACEHOLDER} with the password, percent-encoded in URLs (or run with --password)"
        ));
    }
    ClientStrings {
        client: client.id(),
        applies_to: client.applies_to(),
        direct,
        pooled,
        warnings,
        notes,
    }
}

const MITM_REQUIRE: &str = "sslmode=require does not stop a man in the middle here; use only the verify-full strings above";
const NAME_LIMIT: usize = 63;

/// Builds the strings for one client.
///
/// # Errors
/// A bad value in `t` (see [`Target::check`]).
pub fn build(client: Client, t: &Target<'_>) -> Result<ClientStrings, InputError> {
    t.check()?;
    let host = host_bare(t.host)?;
    if t.ca == SYSTEM_CA {
        return Ok(build_system(client, t, host));
    }
    let ca = encode(t.ca, true);
    let verify = format!("sslmode=verify-full&sslrootcert={ca}");
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let (direct, pooled) = match client {
        Client::Libpq => {
            warnings.push(format!("libpq: {MITM_REQUIRE} (require checks nothing unless ~/.postgresql/root.crt exists, then acts like verify-ca)"));
            notes.push(
                "psycopg 3 and psycopg2 take this string as it is (psycopg.connect(url))"
                    .to_owned(),
            );
            (
                pg_url(t, host, false, &verify),
                pg_url(t, host, true, &verify),
            )
        }
        Client::Jdbc => {
            warnings.push(format!("pgjdbc: {MITM_REQUIRE}"));
            notes.push("port 6543 is transaction mode: prepareThreshold=0 (in the pooled string) turns off server-side prepared statements".to_owned());
            let base = |pooled: bool| {
                let (port, user, extra) = if pooled {
                    (t.pooler_port, url_user(t, true), "&prepareThreshold=0")
                } else {
                    (t.port, url_user(t, false), "")
                };
                format!(
                    "jdbc:postgresql://{}:{port}/{}?user={user}&password={}&{verify}{extra}",
                    url_host(host),
                    encode(t.database, false),
                    url_password(t)
                )
            };
            (base(false), base(true))
        }
        Client::Prisma => {
            node_postgres_warnings(t, host, &mut warnings);
            warnings.push("Prisma 7: the old `sslmode=require&sslcert=<ca>&sslaccept=strict` form fails here: node-postgres takes sslcert for a client certificate and ignores sslaccept".to_owned());
            notes.push("use: new PrismaPg({ connectionString: process.env.DATABASE_URL }) with the direct or pooled string".to_owned());
            notes.push("prisma migrate / db push / db pull run Prisma's schema engine on datasource.url in prisma.config.ts, which reads the engine form: put the `prisma6` direct string there (pgtls connstr --client prisma6), never the pooled one".to_owned());
            (
                pg_url(t, host, false, &verify),
                pg_url(t, host, true, &verify),
            )
        }
        Client::Prisma6 => {
            warnings.push("Prisma engine: sslmode knows only disable/prefer/require (verify-full silently becomes prefer) and without sslaccept=strict no certificate is checked: keep all three parameters".to_owned());
            if !t.ca.starts_with('/') {
                warnings.push(format!(
                    "sslcert \"{}\" is relative: Prisma resolves it from the folder of schema.prisma; an absolute path avoids surprises",
                    t.ca
                ));
            }
            if encode(t.database, false) != t.database {
                warnings.push(format!(
                    "the database name \"{}\" needs percent-encoding, and Prisma's engine takes the database path as written (quaint's dbname() does not decode it): use a database name of letters, digits, '-', '.', '_', '~'",
                    t.database
                ));
            }
            notes.push("Prisma 6 and earlier: DATABASE_URL (datasource url) takes the pooled string with pgbouncer=true and directUrl the direct one; Prisma 7: datasource.url in prisma.config.ts takes the direct string (for migrate)".to_owned());
            let q = format!("sslmode=require&sslcert={ca}&sslaccept=strict");
            (
                pg_url(t, host, false, &q),
                pg_url(t, host, true, &format!("{q}&pgbouncer=true")),
            )
        }
        Client::NodePostgres => {
            node_postgres_warnings(t, host, &mut warnings);
            notes.push("the URL's sslmode/sslrootcert replace an ssl: {...} object given next to connectionString; or drop them from the URL and pass ssl: { ca: fs.readFileSync('ca.crt'), rejectUnauthorized: true }".to_owned());
            (
                pg_url(t, host, false, &verify),
                pg_url(t, host, true, &verify),
            )
        }
        Client::Asyncpg => {
            warnings.push(format!("asyncpg: {MITM_REQUIRE}"));
            notes.push("port 6543 is transaction mode: pass statement_cache_size=0 in code, await asyncpg.connect(url, statement_cache_size=0) or asyncpg.create_pool(url, statement_cache_size=0); it cannot go in the URL (asyncpg sends unknown URL parameters to the server as settings)".to_owned());
            (
                pg_url(t, host, false, &verify),
                pg_url(t, host, true, &verify),
            )
        }
        Client::Npgsql => {
            warnings.push("Npgsql: SSL Mode=Require does not validate the certificate; VerifyFull with Root Certificate does".to_owned());
            let cs = |pooled: bool| {
                let (port, user) = if pooled {
                    (t.pooler_port, pooled_user(t))
                } else {
                    (t.port, t.user.to_owned())
                };
                let password = t.password.unwrap_or(PASSWORD_PLACEHOLDER);
                format!(
                    "Host={};Port={port};Database={};Username={};Password={};SSL Mode=VerifyFull;Root Certificate={}",
                    npgsql_quote(host),
                    npgsql_quote(t.database),
                    npgsql_quote(&user),
                    npgsql_quote(password),
                    npgsql_quote(t.ca)
                )
            };
            (cs(false), cs(true))
        }
    };
    if t.sni {
        if host.parse::<std::net::IpAddr>().is_ok() {
            warnings.push(format!(
                "--sni with the IP address {host}: TLS clients send SNI only for host names (libpq never for an IP literal), so Supavisor cannot find the tenant; use a DNS name that is a SAN of the certificate"
            ));
        }
        notes.push(format!(
            "SNI routing needs Supavisor 2.9.0 or later and the tenant's sni_hostname set to {host}; the pooled user is the plain role (no .tenant suffix)"
        ));
    }
    match (t.pooler, t.tenant) {
        (crate::PoolerKind::PgBouncer, Some(tenant)) => warnings.push(format!(
            "--tenant {tenant} ignored: PgBouncer has no tenants, its pooled user is the role itself ({})",
            t.user
        )),
        (crate::PoolerKind::Supavisor, None) if !t.sni => warnings.push(format!(
            "no --tenant given: replace {TENANT_PLACEHOLDER} in the pooled user with POOLER_TENANT_ID (percent-encoded in URLs)"
        )),
        _ => {}
    }
    if t.pooler == crate::PoolerKind::PgBouncer {
        notes.push(format!(
            "PgBouncer variant: the pooled port {} is PgBouncer in transaction mode (upstream publishes ${{POOLER_PROXY_PORT_TRANSACTION}} -> 6432); it publishes no session port, so the direct string reaches the db only where its port {} is reachable",
            t.pooler_port, t.port
        ));
    }
    if t.password.is_none() {
        notes.push(format!(
            "replace {PASSWORD_PLACEHOLDER} with the password, percent-encoded in URLs (or run with --password)"
        ));
    }
    for name in [t.user.to_owned(), pooled_user(t)] {
        if name.len() > NAME_LIMIT {
            warnings.push(format!(
                "the role name \"{name}\" is longer than {NAME_LIMIT} bytes: PostgreSQL truncates names to {NAME_LIMIT} bytes"
            ));
        }
    }
    Ok(ClientStrings {
        client: client.id(),
        applies_to: client.applies_to(),
        direct,
        pooled,
        warnings,
        notes,
    })
}

fn node_postgres_warnings(t: &Target<'_>, host: &str, warnings: &mut Vec<String>) {
    if host.contains(':') {
        warnings.push("node-postgres cannot reach an IPv6 address in a URL: pg-connection-string 2.6 and later take URL.hostname, which keeps the brackets, and Node cannot resolve \"[...]\" (ENOTFOUND); use a DNS name, or host: '...' in the config object".to_owned());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        warnings.push(format!(
            "node-postgres checks the certificate against the name \"localhost\" when the host is an IP address ({host}): it passes no server name to Node's TLS for IP hosts, so any certificate from your CA that names localhost is accepted; connect by a DNS name that is in the certificate"
        ));
    }
    warnings.push("node-postgres: sslmode=require (and prefer, verify-ca) means verify-full against the system CAs in pg 8.x, so it refuses a private CA, while pg v9 (pg-connection-string v3) and uselibpqcompat=true give it libpq's meaning (no check at all without sslrootcert, no host-name check with it): use only the verify-full + sslrootcert strings above".to_owned());
    if t.user.contains(':') || t.tenant.is_some_and(|x| x.contains(':')) {
        warnings.push("the user (or tenant) contains ':': pg-connection-string before 2.6.0 (pg before 8.11, Debian 12's node-pg 8.8.0) decodes the user info and then splits it at the first ':', so these strings fail there (authentication fails); with such a pg pass user, password, host, port, database and ssl as separate config fields instead of a connectionString".to_owned());
    }
    if let Some(c) = t.database.chars().find(|c| {
        matches!(
            c,
            ';' | '/' | '?' | ':' | '@' | '&' | '=' | '+' | '$' | ',' | '#'
        )
    }) {
        warnings.push(format!(
            "the database name \"{}\" contains '{c}': node-postgres decodes the database path with decodeURI, which leaves %-escapes of ; / ? : @ & = + $ , # undecoded, so this name cannot be written in its URL; pass database: '...' in the config object instead",
            t.database
        ));
    }
}

//! The strings `pgtls connstr` prints, run by the real client libraries against real servers.
//!
//! One PostgreSQL with a pgtls-made certificate, one with a certificate from another CA, one whose
//! certificate (from the pgtls CA) names another host, one with `ssl=off`; in front of the good
//! server four `PgBouncer`s in transaction mode with the same four TLS set-ups, standing in for
//! Supavisor's port 6543 (the pooled user `app.<tenant>` is a role of that name in PostgreSQL).
//! The password and the tenant are full of URL-special characters. For every client (libpq via
//! psql, psycopg 3, asyncpg, node-postgres, Prisma 7's node-postgres string, pgjdbc) the direct and
//! the pooled string must connect with TLS to the good pair and be refused by the three others.
//! Each library runs once over all its cases (one Python, one Node.js, one JVM process).
//!
//! Needs the libraries `scripts/deps` installs; a missing one fails the test with the command to
//! run. Npgsql cannot run here (no .NET): its quoting is checked in `npgsql.rs` with a parser
//! ported from .NET's `DbConnectionOptions`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgtest::{Pg, PgBouncer, Pki};

use crate::support::*;

const USER: &str = "app";
const TENANT: &str = "t@:/#%+&=?;'\"\\[] x";
/// The same without ':', which pg-connection-string before 2.6.0 cannot carry in a user name.
const TENANT_NO_COLON: &str = "t@/#%+&=?;'\"\\[] x";
/// Looks like pgtls's placeholder (brackets) and carries every URL-special character.
const PASSWORD: &str = "[p@ss:/#%+&=?;'\"\\ w]";

struct Libs {
    python: PathBuf,
    node_path: PathBuf,
    jdbc_jar: PathBuf,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn libs() -> Libs {
    let base = std::env::var_os("PGTLS_CLIENT_LIBS")
        .map_or_else(|| workspace().join("target/client-libs"), PathBuf::from);
    let python = base.join("venv/bin/python");
    let node_path = if Path::new("/usr/share/nodejs/pg/package.json").is_file() {
        PathBuf::from("/usr/share/nodejs")
    } else {
        base.join("node/usr/share/nodejs")
    };
    let jdbc_jar = PathBuf::from("/usr/share/java/postgresql.jar");
    let hint = "run scripts/deps (it installs psycopg/asyncpg into target/client-libs/venv, node-pg, libpostgresql-jdbc-java)";
    assert!(python.is_file(), "missing {}: {hint}", python.display());
    assert!(
        node_path.join("pg/package.json").is_file(),
        "missing node-pg in {}: {hint}",
        node_path.display()
    );
    assert!(jdbc_jar.is_file(), "missing {}: {hint}", jdbc_jar.display());
    for tool in ["node", "java", "psql", "openssl"] {
        assert!(
            Command::new(tool).arg("--version").output().is_ok(),
            "missing {tool} on PATH: {hint}"
        );
    }
    Libs {
        python,
        node_path,
        jdbc_jar,
    }
}

/// Whether the node-pg found bundles a pg-connection-string older than 2.6.0.
fn node_pg_connection_string_before_2_6(node_path: &Path) -> bool {
    let text = std::fs::read_to_string(node_path.join("pg-connection-string/package.json"))
        .expect("pg-connection-string/package.json next to node-pg");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let version = v["version"].as_str().unwrap();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) < (2, 6)
}

/// A stand-in for Prisma's Rust engines (the query engine of Prisma 6, the schema engine that
/// `prisma migrate` runs in every version), which cannot be installed here (no npm): the URL read
/// with quaint's rules (prisma/prisma-engines `quaint/src/connector/postgres/url.rs`
/// `parse_query_params`, `username`, `password`, `host`, `dbname`) and the TLS set-up of
/// `quaint/src/connector/postgres/native/mod.rs` (`SslParams::into_auth`, `PostgreSql::new`:
/// native-tls with the `sslcert` file as root certificate and
/// `danger_accept_invalid_certs(sslaccept != strict)`), over the tokio-postgres + native-tls quaint
/// uses. Only the simple query protocol is used, so no `pgbouncer=true` handling is needed.
async fn quaint_connect(url_text: &str) -> Outcome {
    use percent_encoding::percent_decode_str;
    use tokio_postgres::config::SslMode;
    let refused = |e: String| Outcome::Refused(e.lines().next().unwrap_or("").to_owned());
    let url = match url::Url::parse(url_text) {
        Ok(u) => u,
        Err(e) => return refused(format!("url: {e}")),
    };
    let mut ssl_mode = SslMode::Prefer;
    let mut certificate_file = None;
    let mut accept_invalid = true;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "sslmode" => match v.as_ref() {
                "disable" => ssl_mode = SslMode::Disable,
                "prefer" => ssl_mode = SslMode::Prefer,
                "require" => ssl_mode = SslMode::Require,
                _ => {} // quaint: "Unsupported SSL mode, defaulting to `prefer`"
            },
            "sslcert" => certificate_file = Some(v.to_string()),
            "sslaccept" => accept_invalid = v == "accept_invalid_certs",
            _ => {}
        }
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let host = url.host_str().unwrap_or("localhost");
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let dbname = url
        .path_segments()
        .and_then(|mut s| s.next())
        .unwrap_or("postgres")
        .to_owned();
    let mut config = tokio_postgres::Config::new();
    config
        .user(decode(url.username()))
        .password(decode(url.password().unwrap_or("")))
        .host(host)
        .port(url.port().unwrap_or(5432))
        .dbname(&dbname)
        .ssl_mode(ssl_mode)
        .connect_timeout(std::time::Duration::from_secs(5));
    let mut tls = native_tls::TlsConnector::builder();
    if let Some(file) = certificate_file {
        let pem = match std::fs::read(&file) {
            Ok(p) => p,
            Err(e) => return refused(format!("cert file not found ({e})")),
        };
        match native_tls::Certificate::from_pem(&pem) {
            Ok(c) => {
                tls.add_root_certificate(c);
            }
            Err(e) => return refused(format!("{e}")),
        }
    }
    tls.danger_accept_invalid_certs(accept_invalid);
    let connector = match tls.build() {
        Ok(c) => postgres_native_tls::MakeTlsConnector::new(c),
        Err(e) => return refused(format!("{e}")),
    };
    let (client, conn) = match config.connect(connector).await {
        Ok(x) => x,
        Err(e) => return refused(format!("{e}: {:?}", std::error::Error::source(&e))),
    };
    let task = tokio::spawn(conn);
    let sql = "select current_user::text, coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)::text";
    let rows = match client.simple_query(sql).await {
        Ok(r) => r,
        Err(e) => return refused(format!("{e}")),
    };
    drop(client);
    let _ = task.await;
    let row = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    match row {
        Some(r) => {
            let server_ssl = r.get(1) == Some("true");
            Outcome::Ok {
                user: r.get(0).unwrap_or("").to_owned(),
                server_ssl,
                // tokio-postgres gives no TLS flag: sslmode=require fails without TLS, and on a
                // direct connection the server's pg_stat_ssl tells.
                client_tls: server_ssl || ssl_mode == SslMode::Require,
            }
        }
        None => refused("no row".to_owned()),
    }
}

fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn pg(tls: Option<&(Vec<u8>, Vec<u8>)>) -> Pg {
    let b = Pg::builder();
    let b = match tls {
        Some((cert, key)) => b.tls(cert, key),
        None => b,
    };
    b.start().expect("starting PostgreSQL")
}

/// PgBouncer in transaction mode in front of `pg`, knowing the pooled role and password.
fn bouncer(pg: &Pg, tls: Option<&(Vec<u8>, Vec<u8>)>) -> PgBouncer {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let users = format!(
        "{} {}\n{} {}\n{} {}\n{} {}\n",
        quote(pgtest::SUPERUSER),
        quote(pgtest::SUPERUSER_PASSWORD),
        quote(USER),
        quote(PASSWORD),
        quote(&format!("{USER}.{TENANT}")),
        quote(PASSWORD),
        quote(&format!("{USER}.{TENANT_NO_COLON}")),
        quote(PASSWORD)
    );
    let b = PgBouncer::builder(pg).file("users.txt", users, 0o600);
    let dir = b.dir().to_path_buf();
    let b = b
        .setting("auth_file", dir.join("users.txt").display().to_string())
        .setting("pool_mode", "transaction")
        .setting("ignore_startup_parameters", "extra_float_digits");
    let b = match tls {
        Some((cert, key)) => b
            .file("tls.crt", cert, 0o644)
            .file("tls.key", key, 0o600)
            .setting("client_tls_sslmode", "require")
            .setting(
                "client_tls_cert_file",
                dir.join("tls.crt").display().to_string(),
            )
            .setting(
                "client_tls_key_file",
                dir.join("tls.key").display().to_string(),
            ),
        None => b.setting("client_tls_sslmode", "disable"),
    };
    b.start().expect("starting PgBouncer")
}

/// What one connection attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok {
        user: String,
        server_ssl: bool,
        client_tls: bool,
    },
    Refused(String),
}

fn parse_results(text: &str) -> BTreeMap<String, Outcome> {
    let mut m = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let outcome = match f.get(1) {
            Some(&"ok") if f.len() == 5 => Outcome::Ok {
                user: f[2].to_owned(),
                server_ssl: f[3] == "true" || f[3] == "t",
                client_tls: f[4] == "true",
            },
            Some(&"refused") => Outcome::Refused(f[2..].join(" ")),
            _ => panic!("unexpected client output line {line:?}"),
        };
        m.insert(f[0].to_owned(), outcome);
    }
    m
}

struct Case {
    id: String,
    lib: &'static str,
    pooled: bool,
    url: String,
    /// `Some(user)`: must connect with TLS as this user; `None`: must be refused.
    connects_as: Option<String>,
}

fn run_psql_case(url: &str) -> Outcome {
    let sql = "select current_user, coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)";
    let o = Command::new("psql")
        .arg(url)
        .args(["-X", "-A", "-t", "-F", "\t", "-c", sql, "-c", "\\conninfo"])
        .env("PGCONNECT_TIMEOUT", "5")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .output()
        .unwrap();
    if !o.status.success() {
        return Outcome::Refused(stderr(&o).lines().next().unwrap_or("").to_owned());
    }
    let out = stdout(&o);
    let first = out.lines().next().unwrap_or("");
    let (user, ssl) = first.split_once('\t').unwrap_or((first, ""));
    Outcome::Ok {
        user: user.to_owned(),
        server_ssl: ssl == "t",
        client_tls: out.contains("SSL connection"),
    }
}

fn run_batch(libs: &Libs, dir: &Path, lib: &str, cases: &[&Case]) -> BTreeMap<String, Outcome> {
    if cases.is_empty() {
        return BTreeMap::new();
    }
    let list = dir.join(format!("{lib}.tsv"));
    let mut tsv = String::new();
    for c in cases {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}",
            c.id,
            c.lib,
            u8::from(c.pooled),
            c.url
        );
    }
    std::fs::write(&list, tsv).unwrap();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let o = match lib {
        "python" => Command::new(&libs.python)
            .arg(scripts.join("connect.py"))
            .arg(&list)
            .output(),
        "node" => Command::new("node")
            .arg(scripts.join("connect.js"))
            .arg(&list)
            .env("NODE_PATH", &libs.node_path)
            .output(),
        "java" => Command::new("java")
            .arg("-cp")
            .arg(&libs.jdbc_jar)
            .arg(scripts.join("Connect.java"))
            .arg(&list)
            .output(),
        other => panic!("unknown batch {other}"),
    }
    .unwrap();
    assert!(
        o.status.success(),
        "{lib} runner failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    parse_results(&stdout(&o))
}

fn connstr_json(
    host: &str,
    tenant: &str,
    ca: &Path,
    port: u16,
    pooler_port: u16,
) -> BTreeMap<String, (String, String)> {
    let o = pgtls([
        "connstr",
        "--json",
        "--host",
        host,
        "--port",
        &port.to_string(),
        "--pooler-port",
        &pooler_port.to_string(),
        "--user",
        USER,
        "--tenant",
        tenant,
        "--password",
        PASSWORD,
        "--ca",
        &ca.display().to_string(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut m = BTreeMap::new();
    for c in v["clients"].as_array().unwrap() {
        m.insert(
            c["client"].as_str().unwrap().to_owned(),
            (
                c["direct"].as_str().unwrap().to_owned(),
                c["pooled"].as_str().unwrap().to_owned(),
            ),
        );
    }
    m
}

#[test]
fn connstr_strings_connect_in_real_clients_and_refuse_impostors() {
    let libs = libs();
    let work = tempfile::tempdir().unwrap();
    let certs = work.path().join("certs");
    let o = pgtls([
        "certs",
        "init",
        "--out",
        &certs.display().to_string(),
        "--san",
        "localhost",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let read_pem = |n: &str| std::fs::read(certs.join(n)).unwrap();
    let good = (read_pem("server.crt"), read_pem("server.key"));
    let other_host = Pki::adopt(&certs).leaf("other-host", "DNS:other.example", 30);
    let other_host = (other_host.cert, other_host.key);
    let other_pki = Pki::new();
    let other = other_pki.leaf("impostor", "DNS:localhost,IP:127.0.0.1", 30);
    let other_ca = (other.cert, other.key);
    let ca = certs.join("ca.crt");

    let real = pg(Some(&good));
    let pooled_user = format!("{USER}.{TENANT}");
    let pooled_user_no_colon = format!("{USER}.{TENANT_NO_COLON}");
    for role in [USER, &pooled_user, &pooled_user_no_colon] {
        real.query(&format!(
            "create role {} login password {}",
            sql_ident(role),
            sql_literal(PASSWORD)
        ));
    }
    let servers = [
        ("real", real, Some(&good), true),
        ("other-ca", pg(Some(&other_ca)), Some(&other_ca), false),
        (
            "other-host",
            pg(Some(&other_host)),
            Some(&other_host),
            false,
        ),
        ("ssl-off", pg(None), None, false),
    ];
    // The impostor knows the role too (a man in the middle relays the password): a client that
    // skips the certificate check gets all the way in.
    servers[1].1.query(&format!(
        "create role {USER} login password {}",
        sql_literal(PASSWORD)
    ));
    let bouncers: Vec<PgBouncer> = servers
        .iter()
        .map(|(_, _, tls, _)| bouncer(&servers[0].1, *tls))
        .collect();
    // Precondition for "pooled connects => TLS": the pooler in front of the real server refuses
    // plaintext.
    let plain = bouncers[0].psql("sslmode=disable", "select 1");
    assert!(
        !plain.success && plain.stderr.contains("SSL required"),
        "the TLS pooler must refuse plaintext: {}",
        plain.stderr
    );

    // Which printed string each library runs: psycopg takes the libpq string, Prisma 7 the
    // node-postgres string through @prisma/adapter-pg (both run by the same library here).
    let runs: [(&str, &str, &str); 7] = [
        ("psql", "libpq", "psql"),
        ("prisma-engine-standin", "prisma6", "engine"),
        ("psycopg", "libpq", "python"),
        ("asyncpg", "asyncpg", "python"),
        ("node-postgres", "node-postgres", "node"),
        ("prisma-adapter-pg", "prisma", "node"),
        ("pgjdbc", "jdbc", "java"),
    ];
    // pg-connection-string before 2.6.0 (Debian 12's node-pg) splits the decoded user info at its
    // first ':', so a tenant with ':' cannot be written for it (pgtls warns); those cases must
    // then fail, and the same strings with a tenant without ':' must work.
    let old_node_url_parser = node_pg_connection_string_before_2_6(&libs.node_path);
    let mut cases = Vec::new();
    for ((name, server, _, connects), bouncer) in servers.iter().zip(&bouncers) {
        let strings = connstr_json("localhost", TENANT, &ca, server.port(), bouncer.port());
        let no_colon = connstr_json(
            "localhost",
            TENANT_NO_COLON,
            &ca,
            server.port(),
            bouncer.port(),
        );
        for (lib_case, client, runner) in runs {
            let (direct, pooled) = &strings[client];
            let lib = if lib_case == "psycopg" || lib_case == "asyncpg" {
                lib_case
            } else {
                runner
            };
            let node_limit = runner == "node" && old_node_url_parser;
            let mut variants = vec![
                ("direct", false, direct.clone(), USER.to_owned(), false),
                (
                    "pooled",
                    true,
                    pooled.clone(),
                    pooled_user.clone(),
                    node_limit,
                ),
            ];
            if node_limit {
                let url = no_colon[client].1.clone();
                variants.push((
                    "pooled-no-colon",
                    true,
                    url,
                    pooled_user_no_colon.clone(),
                    false,
                ));
            }
            for (kind, pooled_flag, url, user, limited) in variants {
                cases.push(Case {
                    id: format!("{lib_case}/{name}/{kind}"),
                    lib,
                    pooled: pooled_flag,
                    url,
                    connects_as: (*connects && !limited).then_some(user),
                });
            }
        }
    }
    // The claims behind the warnings, run in the real library against the real server:
    // node-postgres's `require` refuses a private CA, and Prisma 6's engine string cannot reach it
    // through node-postgres (Prisma 7's adapter).
    // And with an IP-address host, node-postgres checks the certificate (which names only
    // localhost) against "localhost" and connects, where libpq refuses it.
    let strings = connstr_json(
        "localhost",
        TENANT,
        &ca,
        servers[0].1.port(),
        bouncers[0].port(),
    );
    let direct = &strings["libpq"].0;
    let require_only = direct.split('?').next().unwrap().to_owned() + "?sslmode=require";
    let other_ca_strings = connstr_json(
        "localhost",
        TENANT,
        &ca,
        servers[1].1.port(),
        bouncers[1].port(),
    );
    let by_ip = connstr_json(
        "127.0.0.1",
        TENANT,
        &ca,
        servers[0].1.port(),
        bouncers[0].port(),
    );
    let claims = [
        (
            "claim/node-postgres-require-refuses-private-ca",
            "node",
            require_only,
            false,
        ),
        (
            "claim/prisma6-string-fails-in-adapter-pg",
            "node",
            strings["prisma6"].0.clone(),
            false,
        ),
        (
            "claim/node-postgres-ip-host-checks-localhost",
            "node",
            by_ip["node-postgres"].0.clone(),
            true,
        ),
        (
            "claim/libpq-ip-host-refuses-localhost-cert",
            "psql",
            by_ip["libpq"].0.clone(),
            false,
        ),
        // Prisma's engine: verify-full silently becomes prefer and without sslaccept=strict
        // nothing is checked, so both of these reach the impostor with another CA.
        (
            "claim/prisma-engine-verify-full-reaches-impostor",
            "engine",
            other_ca_strings["libpq"].0.clone(),
            true,
        ),
        (
            "claim/prisma-engine-without-sslaccept-reaches-impostor",
            "engine",
            other_ca_strings["prisma6"]
                .0
                .replace("&sslaccept=strict", ""),
            true,
        ),
        // asyncpg sends URL parameters it does not know to the server as settings.
        (
            "claim/asyncpg-statement-cache-size-cannot-go-in-the-url",
            "asyncpg",
            strings["asyncpg"].0.clone() + "&statement_cache_size=0",
            false,
        ),
    ];
    for (id, lib, url, connects) in claims {
        cases.push(Case {
            id: id.to_owned(),
            lib,
            pooled: false,
            url,
            connects_as: connects.then(|| USER.to_owned()),
        });
    }

    // pgtls names both node-postgres limits the cases below run into.
    let o = pgtls([
        "connstr",
        "--json",
        "--client",
        "node-postgres",
        "--host",
        "127.0.0.1",
        "--tenant",
        TENANT,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = v["clients"][0]["warnings"].to_string();
    assert!(
        warnings.contains("before 2.6.0")
            && warnings.contains("against the name \\\"localhost\\\""),
        "{warnings}"
    );

    // The Python, Node.js and Java runners are separate processes: run them side by side while
    // psql and the engine stand-in run here.
    let mut results = BTreeMap::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = [
            ("python", &["psycopg", "asyncpg"][..]),
            ("node", &["node"][..]),
            ("java", &["java"][..]),
        ]
        .into_iter()
        .map(|(runner, libs_in)| {
            let batch: Vec<&Case> = cases.iter().filter(|c| libs_in.contains(&c.lib)).collect();
            let (libs, dir) = (&libs, work.path());
            scope.spawn(move || run_batch(libs, dir, runner, &batch))
        })
        .collect();
        for c in cases.iter().filter(|c| c.lib == "psql") {
            results.insert(c.id.clone(), run_psql_case(&c.url));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for c in cases.iter().filter(|c| c.lib == "engine") {
            results.insert(c.id.clone(), runtime.block_on(quaint_connect(&c.url)));
        }
        for h in handles {
            results.extend(h.join().expect("a runner thread panicked"));
        }
    });

    let mut failures = Vec::new();
    let mut table = String::new();
    for c in &cases {
        let got = results.get(&c.id);
        let fine = match got {
            Some(Outcome::Ok {
                user,
                server_ssl,
                client_tls,
            }) => {
                c.connects_as.as_ref() == Some(user)
                    && (c.pooled || *server_ssl)
                    // pgjdbc reports no client-side TLS flag ("unknown"); its direct cases are
                    // checked by pg_stat_ssl, its pooled ones by the TLS-only pooler.
                    && (*client_tls || c.lib == "java")
            }
            Some(Outcome::Refused(_)) => c.connects_as.is_none(),
            None => false,
        };
        let mark = if fine { "ok  " } else { "FAIL" };
        let _ = writeln!(table, "{mark} {:<45} {got:?}", c.id);
        if !fine {
            failures.push(format!("{}: {:?}\n    {}", c.id, got, c.url));
        }
    }
    eprintln!("{table}");
    if let Some(Outcome::Refused(e)) =
        results.get("claim/asyncpg-statement-cache-size-cannot-go-in-the-url")
    {
        assert!(
            e.contains("statement_cache_size"),
            "asyncpg refused for another reason: {e}"
        );
    }
    // node-postgres refuses the private CA for the reason named in the warning.
    if let Some(Outcome::Refused(e)) = results.get("claim/node-postgres-require-refuses-private-ca")
    {
        assert!(
            e.contains("certificate") || e.contains("CERT"),
            "node-postgres require refused for another reason: {e}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}\n\n{table}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A test root in the system store (`/usr/local/share/ca-certificates` + `update-ca-certificates`,
/// which also rebuilds Java's cacerts through ca-certificates-java's hook); removed on drop.
struct SystemRoot(PathBuf);

impl SystemRoot {
    fn install(pem: &[u8]) -> SystemRoot {
        assert!(
            pgtest::running_as_root(),
            "needs root: installs a test root into the system store and removes it after"
        );
        let path = PathBuf::from(format!(
            "/usr/local/share/ca-certificates/pgtls-test-root-{}.crt",
            std::process::id()
        ));
        std::fs::write(&path, pem).unwrap();
        let guard = SystemRoot(path);
        let o = Command::new("update-ca-certificates").output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        guard
    }
}

impl Drop for SystemRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = Command::new("update-ca-certificates")
            .arg("--fresh")
            .output();
    }
}

/// `pgtls connstr --ca system` for a server whose certificate chains to a root that is only in
/// the system store: each client's string verifies with the system roots once the root is
/// installed, and is refused before; where a client needs more than the string (libpq 15,
/// Node's own root bundle) the printed note says what, and that is run too.
#[test]
fn connstr_ca_system_strings_verify_with_the_system_store() {
    let libs = libs();
    let pki = Pki::new();
    let leaf = pki.leaf("public", "DNS:localhost", 30);
    let server = pg(Some(&(leaf.cert.clone(), leaf.key.clone())));
    let o = pgtls([
        "connstr",
        "--json",
        "--host",
        "localhost",
        "--port",
        &server.port().to_string(),
        "--user",
        pgtest::SUPERUSER,
        "--password",
        pgtest::SUPERUSER_PASSWORD,
        "--tenant",
        "t",
        "--ca",
        "system",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let get = |client: &str| {
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == client)
            .unwrap_or_else(|| panic!("no {client} in {v}"))
            .clone()
    };
    let libpq = get("libpq");
    let libpq_direct = libpq["direct"].as_str().unwrap().to_owned();
    assert!(
        libpq_direct.ends_with("sslmode=verify-full&sslrootcert=system"),
        "{libpq_direct}"
    );
    // the note's string for libpq 15 and older, as printed
    let older = libpq_direct.replace(
        "sslrootcert=system",
        "sslrootcert=/etc/ssl/certs/ca-certificates.crt",
    );
    assert!(
        libpq["notes"].to_string().contains(&older),
        "{}",
        libpq["notes"]
    );
    let asyncpg = get("asyncpg")["direct"].as_str().unwrap().to_owned();
    let node = get("node-postgres")["direct"].as_str().unwrap().to_owned();
    assert!(node.ends_with("?sslmode=verify-full"), "{node}");
    let jdbc = get("jdbc")["direct"].as_str().unwrap().to_owned();
    assert!(
        jdbc.contains("sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory"),
        "{jdbc}"
    );
    let work = tempfile::tempdir().unwrap();
    let case = |id: &str, lib: &'static str, url: &str| Case {
        id: id.to_owned(),
        lib,
        pooled: false,
        url: url.to_owned(),
        connects_as: None,
    };
    let run_node = |url: &str, use_openssl_ca: bool| -> Outcome {
        let list = work.path().join("node-system.tsv");
        std::fs::write(&list, format!("n\tnode\t0\t{url}\n")).unwrap();
        let mut cmd = Command::new("node");
        if use_openssl_ca {
            cmd.arg("--use-openssl-ca");
        }
        let o = cmd
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/connect.js"))
            .arg(&list)
            .env("NODE_PATH", &libs.node_path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        parse_results(&stdout(&o)).remove("n").unwrap()
    };
    let all = |label: &str| -> BTreeMap<String, Outcome> {
        let mut m = BTreeMap::new();
        m.insert("libpq-system".to_owned(), run_psql_case(&libpq_direct));
        m.insert("libpq-bundle".to_owned(), run_psql_case(&older));
        let py = [
            case("psycopg", "psycopg", &older),
            case("asyncpg", "asyncpg", &asyncpg),
        ];
        m.extend(run_batch(
            &libs,
            work.path(),
            "python",
            &py.iter().collect::<Vec<_>>(),
        ));
        let java = [case("jdbc", "jdbc", &jdbc)];
        m.extend(run_batch(
            &libs,
            work.path(),
            "java",
            &java.iter().collect::<Vec<_>>(),
        ));
        m.insert("node-own-roots".to_owned(), run_node(&node, false));
        m.insert("node-use-openssl-ca".to_owned(), run_node(&node, true));
        eprintln!("{label}: {m:#?}");
        m
    };
    let ok = |o: &Outcome| {
        matches!(
            o,
            Outcome::Ok {
                client_tls: true,
                server_ssl: true,
                ..
            }
        )
    };

    let before = all("root not installed");
    for (id, o) in &before {
        assert!(
            !ok(o),
            "{id} connected before the root was installed: {o:?}"
        );
    }
    let root = SystemRoot::install(&pki.ca_pem());
    let after = all("root installed");
    drop(root);
    // libpq 15 (this host's psql) reads `system` as a file name, as the note says
    match &after["libpq-system"] {
        Outcome::Refused(e) => assert!(e.contains("root certificate file \"system\""), "{e}"),
        o @ Outcome::Ok { .. } => panic!("libpq 15 accepted sslrootcert=system: {o:?}"),
    }
    // Debian's and Ubuntu's nodejs use OpenSSL's system store even without --use-openssl-ca
    // (an upstream Node build uses its bundled Mozilla roots instead: the printed note says so)
    for id in [
        "libpq-bundle",
        "psycopg",
        "asyncpg",
        "node-own-roots",
        "node-use-openssl-ca",
    ] {
        assert!(ok(&after[id]), "{id}: {:?}", after[id]);
    }
    // pgjdbc reports no client-side TLS flag; the server side (pg_stat_ssl) says TLS
    assert!(
        matches!(&after["jdbc"], Outcome::Ok { server_ssl: true, user, .. } if user == pgtest::SUPERUSER),
        "{:?}",
        after["jdbc"]
    );
}

/// The PgBouncer variant (`--pooler pgbouncer`): the pooled user is the role itself, no tenant
/// suffix; the libpq string and Prisma's engine string (with `pgbouncer=true`) reach a real
/// PgBouncer (`client_tls_sslmode = require`) over verified TLS as that role.
#[test]
fn connstr_pgbouncer_variant_connects_as_the_role_itself() {
    let work = tempfile::tempdir().unwrap();
    let certs = work.path().join("certs");
    let o = pgtls([
        "certs",
        "init",
        "--out",
        &certs.display().to_string(),
        "--san",
        "localhost",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let read_pem = |n: &str| std::fs::read(certs.join(n)).unwrap();
    let good = (read_pem("server.crt"), read_pem("server.key"));
    let real = pg(Some(&good));
    real.query(&format!(
        "create role {} login password {}",
        sql_ident(USER),
        sql_literal(PASSWORD)
    ));
    let b = bouncer(&real, Some(&good));
    let o = pgtls([
        "connstr",
        "--json",
        "--pooler",
        "pgbouncer",
        "--host",
        "localhost",
        "--port",
        &real.port().to_string(),
        "--pooler-port",
        &b.port().to_string(),
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--ca",
        &certs.join("ca.crt").display().to_string(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pooler"], "pgbouncer");
    let pooled = |client: &str| {
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == client)
            .unwrap()["pooled"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let libpq = pooled("libpq");
    assert!(!libpq.contains("app."), "no tenant suffix: {libpq}");
    // (server_ssl is PgBouncer's own hop to the db, not the client's)
    match run_psql_case(&libpq) {
        Outcome::Ok {
            user, client_tls, ..
        } => {
            assert_eq!(user, USER, "{libpq}");
            assert!(client_tls, "{libpq}");
        }
        other @ Outcome::Refused(_) => panic!("{libpq}: {other:?}"),
    }
    let prisma = pooled("prisma6");
    assert!(prisma.ends_with("&pgbouncer=true"), "{prisma}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(quaint_connect(&prisma)) {
        Outcome::Ok { user, .. } => assert_eq!(user, USER, "{prisma}"),
        other @ Outcome::Refused(_) => panic!("{prisma}: {other:?}"),
    }
}

//! Explain differential: real connections from different loopback source addresses, with
//! and without TLS, right and wrong passwords, against PostgreSQL 15; our predicted outcome
//! must match what the server answers in every case.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use pg_hba::{Connection, Document, Encryption, Explanation, Outcome, ParseOptions, explain_with};
use tokio_postgres::config::SslMode;

use crate::support::start_pg;

const HBA: &str = "\
local     all       all                     trust
host      db1       alice   127.0.0.2/32    reject
hostssl   all       alice   127.0.0.2/32    scram-sha-256
hostnossl all       +grp    127.0.0.3/32    trust
host      all       bob     127.0.0.4/31    scram-sha-256
hostnossl all       all     127.0.0.6/32    reject
host      sameuser  all     127.0.0.7/32    trust
hostssl   all       all     127.0.0.8/29    md5
host      db1       all     127.0.0.16/28   password
hostnossl all       dave    127.0.0.0/24    scram-sha-256
host      postgres  postgres 127.0.0.1/32   scram-sha-256
hostssl   all       all     127.0.0.0/8     scram-sha-256
hostnossl db1,alice all     127.0.0.0/8     reject
";

const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "postgres"];
const DBS: [&str; 3] = ["postgres", "db1", "alice"];
const SOURCES: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 20, 31, 32, 40, 200];

fn password(user: &str) -> String {
    format!("{user}-pw")
}

fn is_member(user: &str, role: &str) -> bool {
    user == role || (user == "carol" && role == "grp")
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Connected,
    Refused { code: String, message: String },
    Other(String),
}

async fn attempt(port: u16, src: Ipv4Addr, tls: bool, user: &str, db: &str, pw: &str) -> Reply {
    let socket = match tokio::net::TcpSocket::new_v4() {
        Ok(s) => s,
        Err(e) => return Reply::Other(format!("socket: {e}")),
    };
    if let Err(e) = socket.bind(SocketAddr::new(IpAddr::V4(src), 0)) {
        return Reply::Other(format!("bind {src}: {e}"));
    }
    let stream = match socket
        .connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
        .await
    {
        Ok(s) => s,
        Err(e) => return Reply::Other(format!("connect: {e}")),
    };
    let mut config = tokio_postgres::Config::new();
    config.user(user).dbname(db).password(pw);
    let result = if tls {
        config.ssl_mode(SslMode::Require);
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .expect("tls connector");
        let tls = postgres_native_tls::TlsConnector::new(connector, "localhost");
        config.connect_raw(stream, tls).await.map(|_| ())
    } else {
        config.ssl_mode(SslMode::Disable);
        config
            .connect_raw(stream, tokio_postgres::NoTls)
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => Reply::Connected,
        Err(e) => match e.as_db_error() {
            Some(db) => Reply::Refused {
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
            },
            None => Reply::Other(e.to_string()),
        },
    }
}

fn predict(e: &Explanation, user: &str, right_password: bool) -> Reply {
    match e.outcome {
        Outcome::Allow => {
            let method = e.method.as_deref().unwrap_or_default();
            if method == "trust" || right_password {
                Reply::Connected
            } else {
                Reply::Refused {
                    code: "28P01".to_owned(),
                    message: format!("password authentication failed for user \"{user}\""),
                }
            }
        }
        Outcome::Reject | Outcome::NoMatch => Reply::Refused {
            code: "28000".to_owned(),
            message: e.message.clone().unwrap_or_default(),
        },
        // Every file here is readable: explain always has a verdict.
        Outcome::Unknown => Reply::Other("explain gave no verdict".to_owned()),
    }
}

#[test]
fn explain_matches_real_connections() {
    let pg = start_pg(HBA, &[("password_encryption", "scram-sha-256")]);
    let mut sql = String::from("create role grp nologin;");
    for u in USERS {
        let verb = if u == "postgres" { "alter" } else { "create" };
        sql += &[verb, " role ", u, " login password '", &password(u), "';"].concat();
    }
    sql.push_str("grant grp to carol;");
    pg.query(&sql);
    pg.query("create database db1");
    pg.query("create database alice");

    let doc = Document::parse(HBA, ParseOptions::default());
    assert!(doc.validate().is_empty());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut cases = 0;
    let mut mismatches = Vec::new();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (i, last) in SOURCES.iter().enumerate() {
        let src = Ipv4Addr::new(127, 0, 0, *last);
        for (j, user) in USERS.iter().enumerate() {
            for tls in [false, true] {
                let db = DBS[(i + j + usize::from(tls)) % DBS.len()];
                let right = (i + j) % 3 != 0;
                let pw = if right {
                    password(user)
                } else {
                    "wrong".to_owned()
                };
                let conn = Connection::host(IpAddr::V4(src), db, user).with_encryption(if tls {
                    Encryption::Ssl
                } else {
                    Encryption::None
                });
                let e = explain_with(&doc, &conn, &is_member);
                let want = predict(&e, user, right);
                let got = rt.block_on(attempt(pg.port(), src, tls, user, db, &pw));
                cases += 1;
                let key = match &want {
                    Reply::Connected => "connected".to_owned(),
                    Reply::Refused { code, .. } => format!("{:?} {code}", e.outcome),
                    Reply::Other(_) => "other".to_owned(),
                };
                *seen.entry(key).or_default() += 1;
                if want != got {
                    mismatches.push(format!(
                        "{src} tls={tls} user={user} db={db} right_pw={right}: line {:?}\n want {want:?}\n got  {got:?}",
                        e.line
                    ));
                }
            }
        }
    }
    println!("explain differential: {cases} cases, outcomes {seen:?}");
    assert!(
        mismatches.is_empty(),
        "{} of {cases} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(cases >= 60);
    assert!(seen.len() >= 4, "too few distinct outcomes: {seen:?}");
}

/// The hardening policy's output, loaded by a real server: the trusted network still
/// connects without TLS, everything else needs TLS and gets PostgreSQL's reject message.
#[test]
fn hardened_file_behaves_as_explained() {
    let original = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n";
    let policy = pg_hba::Policy::with_trusted(["127.0.0.2/32"]).unwrap();
    let (hardened, warnings) = policy
        .apply(&Document::parse(original, ParseOptions::default()))
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let pg = start_pg(&hardened.to_string(), &[]);
    pg.query("alter role postgres password 'postgres-pw'");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut cases = 0;
    for last in [1u8, 2, 3, 9] {
        for tls in [false, true] {
            for right in [true, false] {
                let src = Ipv4Addr::new(127, 0, 0, last);
                let conn = Connection::host(IpAddr::V4(src), "postgres", "postgres")
                    .with_encryption(if tls {
                        Encryption::Ssl
                    } else {
                        Encryption::None
                    });
                let e = pg_hba::explain(&hardened, &conn);
                let want = predict(&e, "postgres", right);
                let pw = if right { "postgres-pw" } else { "nope" };
                let got = rt.block_on(attempt(pg.port(), src, tls, "postgres", "postgres", pw));
                assert_eq!(want, got, "{src} tls={tls} right={right}\n{hardened}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 16);
}

/// Gateway and proxy exclusions, loaded by a real PostgreSQL 15: the excluded addresses are
/// refused without TLS and admitted with it, the rest of the trusted network keeps plaintext,
/// an outside address needs TLS; `explain` predicts every answer.
#[test]
fn excluded_addresses_behave_as_explained() {
    let original = "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n";
    let policy = pg_hba::Policy::with_trusted(["127.0.0.8/29"])
        .unwrap()
        .excluding([
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)),
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10)),
        ]);
    let (hardened, warnings) = policy
        .apply(&Document::parse(original, ParseOptions::default()))
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let pg = start_pg(&hardened.to_string(), &[]);
    pg.query("alter role postgres password 'postgres-pw'");
    // the server parses every line the policy wrote
    assert_eq!(
        pg.query("select count(*) from pg_hba_file_rules where error is not null"),
        "0"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // (source, plaintext expected to connect)
    for (last, plain_ok) in [(9u8, false), (10, false), (11, true), (20, false)] {
        for tls in [false, true] {
            let src = Ipv4Addr::new(127, 0, 0, last);
            let conn =
                Connection::host(IpAddr::V4(src), "postgres", "postgres").with_encryption(if tls {
                    Encryption::Ssl
                } else {
                    Encryption::None
                });
            let e = pg_hba::explain(&hardened, &conn);
            assert_eq!(
                e.outcome == Outcome::Allow,
                tls || plain_ok,
                "{src} tls={tls}\n{hardened}"
            );
            let want = predict(&e, "postgres", true);
            let got = rt.block_on(attempt(
                pg.port(),
                src,
                tls,
                "postgres",
                "postgres",
                "postgres-pw",
            ));
            assert_eq!(want, got, "{src} tls={tls}\n{hardened}");
        }
    }
}

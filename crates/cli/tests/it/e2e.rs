//! End to end: harden the bundled upstream deployment, start a real PostgreSQL 15 with exactly
//! the produced `-c` settings, `pg_hba.conf` and certificate files, then prove the result with
//! psql, tokio-postgres from bound loopback source addresses, PgBouncer as a stand-in TLS pooler,
//! and `pgtls verify`.
//!
//! Loopback stand-ins: 127.0.0.2/32 is passed as the trusted CIDR (a Docker network), 127.0.0.3
//! is an untrusted client. 127.0.0.1 plays the container's own loopback, which the image's
//! policy (kept by harden) trusts; so `pgtls verify`, which connects from 127.0.0.1, reaches the
//! server through a small relay whose upstream socket is bound to 127.0.0.3, as an outside
//! client would.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pgtest::{Pg, PgBouncer, SUPERUSER, SUPERUSER_PASSWORD, server_user};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;

use crate::support::*;

const TRUSTED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const UNTRUSTED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

struct Hardened {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    settings: Vec<(String, String)>,
}

/// Runs `pgtls harden examples/<bundle> --out TMP/out` and maps the db command's settings to
/// host paths through the produced compose file's mounts.
fn harden() -> Hardened {
    harden_bundle("supabase", "db")
}

fn harden_bundle(bundle: &str, db_service: &str) -> Hardened {
    let tmp = tempfile::tempdir().unwrap();
    // the server user must be able to traverse into the copy
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tmp.path().join("out");
    let user = server_user();
    let owner = format!("{}:{}", user.uid, user.gid);
    let src = examples_dir().join(bundle);
    let o = pgtls([
        "harden".as_ref(),
        src.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--pg-owner".as_ref(),
        owner.as_ref(),
        "--trusted-cidr".as_ref(),
        "127.0.0.2/32".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "harden failed: {}\n{}", stdout(&o), stderr(&o));
    let settings = produced_settings(&out, db_service);
    Hardened {
        _tmp: tmp,
        out,
        settings,
    }
}

/// The `-c` settings of the db service in the deployment at `dir`, TLS recipe only, with
/// container paths mapped to host paths through the compose file's bind mounts.
pub fn produced_settings(dir: &Path, db_service: &str) -> Vec<(String, String)> {
    let compose = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    let services = pgtls_harden::layout::parse_services(&compose).unwrap();
    let db = services.iter().find(|s| s.key == db_service).unwrap();
    let mut settings = Vec::new();
    for (name, value) in db.pg_settings() {
        // config_file is the image's own postgresql.conf (not a mounted file), and
        // log_min_messages=fatal would hide the "ready to accept connections" line the harness
        // waits for; neither is part of the TLS recipe
        if name == "config_file" || name == "log_min_messages" {
            continue;
        }
        let mapped = match pgtls_harden::harden::host_path_in(db, &value) {
            Some(host) => dir.join(host).display().to_string(),
            None => value,
        };
        settings.push((name, mapped));
    }
    let names: Vec<&str> = settings.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "hba_file",
            "ssl",
            "ssl_ca_file",
            "ssl_cert_file",
            "ssl_key_file"
        ]
    );
    settings
}

fn start_pg(h: &Hardened, ssl: &str) -> Pg {
    let mut b = Pg::builder();
    for (name, value) in &h.settings {
        let value = if name == "ssl" {
            ssl.to_owned()
        } else {
            value.clone()
        };
        b = b.setting(name, value);
    }
    match b.start() {
        Ok(pg) => pg,
        Err(e) => panic!("PostgreSQL refused the produced configuration: {e:?}"),
    }
}

async fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

fn config() -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.user(SUPERUSER)
        .password(SUPERUSER_PASSWORD)
        .dbname("postgres");
    c.ssl_mode(tokio_postgres::config::SslMode::Disable);
    c
}

/// A TCP relay on 127.0.0.1 whose upstream connections come from `source`.
fn relay(rt: &Runtime, upstream: u16, source: Ipv4Addr) -> u16 {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = connect_from(source, upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

fn verify(targets: &[String], ca: &Path) -> std::process::Output {
    let mut args: Vec<String> = vec!["verify".into()];
    args.extend(targets.iter().cloned());
    args.extend([
        "--ca".into(),
        ca.display().to_string(),
        "--json".into(),
        "--timeout".into(),
        "5".into(),
    ]);
    pgtls(args)
}

/// `psql "host=localhost sslmode=verify-full sslrootcert=CA"` connects and `\\conninfo` reports SSL.
fn assert_verify_full_ssl(pg: &Pg, ca: &Path) {
    let out = pg.psql(
        &format!(
            "host=localhost sslmode=verify-full sslrootcert={}",
            ca.display()
        ),
        "\\conninfo",
    );
    assert!(out.success, "psql verify-full failed: {}", out.stderr);
    assert!(
        out.stdout.contains("SSL connection (protocol: TLSv1."),
        "{}",
        out.stdout
    );
}

#[test]
fn hardened_deployment_works_against_real_postgres_and_pgbouncer() {
    let h = harden();
    let ca = h.out.join("volumes/tls-ca/ca.crt");
    let pg = start_pg(&h, "on");

    // 1. verify-full over TLS with the produced CA, by host name
    assert_verify_full_ssl(&pg, &ca);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // 2. plaintext from an untrusted source: refused with PostgreSQL's own message
    let err = rt
        .block_on(async {
            let stream = connect_from(UNTRUSTED, pg.port()).await.unwrap();
            config()
                .connect_raw(stream, tokio_postgres::NoTls)
                .await
                .map(|_| ())
        })
        .expect_err("plaintext from 127.0.0.3 must be refused");
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {err}"));
    assert_eq!(db.code().code(), "28000");
    assert_eq!(
        db.message(),
        "pg_hba.conf rejects connection for host \"127.0.0.3\", user \"postgres\", database \"postgres\", no encryption"
    );

    // 3. plaintext from inside the trusted CIDR still works (Docker-internal services)
    let (ssl, client) = rt.block_on(async {
        let stream = connect_from(TRUSTED, pg.port()).await.unwrap();
        let (client, conn) = config().connect_raw(stream, tokio_postgres::NoTls).await.expect("trusted plaintext");
        tokio::spawn(conn);
        let row = client
            .query_one("select ssl, host(inet_client_addr()) from pg_stat_ssl where pid = pg_backend_pid()", &[])
            .await
            .unwrap();
        (row.get::<_, bool>(0), row.get::<_, String>(1))
    });
    assert!(!ssl, "the trusted connection is plaintext");
    assert_eq!(client, "127.0.0.2");

    // 4. PgBouncer as the stand-in pooler with the produced certificate refuses plaintext
    let bouncer = PgBouncer::builder(&pg)
        .setting("client_tls_sslmode", "require")
        .setting(
            "client_tls_cert_file",
            h.out.join("volumes/tls/server.crt").display().to_string(),
        )
        .setting(
            "client_tls_key_file",
            h.out.join("volumes/tls/server.key").display().to_string(),
        )
        .start()
        .unwrap_or_else(|e| panic!("pgbouncer: {e:?}"));
    let err = rt
        .block_on(async {
            let stream = connect_from(UNTRUSTED, bouncer.port()).await.unwrap();
            config()
                .connect_raw(stream, tokio_postgres::NoTls)
                .await
                .map(|_| ())
        })
        .expect_err("the pooler must refuse plaintext");
    assert_eq!(
        err.as_db_error()
            .map(tokio_postgres::error::DbError::message),
        Some("SSL required"),
        "{err}"
    );

    // 5. pgtls verify says all of this and exits 0
    let via_untrusted = relay(&rt, pg.port(), UNTRUSTED);
    let o = verify(
        &[
            format!("127.0.0.1:{via_untrusted}"),
            format!("127.0.0.1:{}", bouncer.port()),
        ],
        &ca,
    );
    let report: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stdout(&o)));
    assert_eq!(code(&o), 0, "verify should pass:\n{report:#}");
    assert_eq!(report["verdict"], "pass");
    let plaintext = |t: usize| {
        report["targets"][t]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "plaintext-refused")
            .cloned()
            .unwrap()
    };
    let pg_check = plaintext(0);
    assert_eq!(pg_check["verdict"], "pass");
    assert!(
        pg_check
            .to_string()
            .contains("pg_hba.conf rejects connection for host"),
        "{pg_check:#}"
    );
    let bouncer_check = plaintext(1);
    assert_eq!(bouncer_check["verdict"], "pass");
    assert!(
        bouncer_check.to_string().contains("SSL required"),
        "{bouncer_check:#}"
    );
    // --host-name: the certificate is checked against the name clients use, here a name
    // the harden step put in the SANs (`supabase-db`) and one it did not
    let by_name = |name: &str| {
        pgtls([
            "verify",
            &format!("127.0.0.1:{via_untrusted}"),
            "--ca",
            &ca.display().to_string(),
            "--host-name",
            name,
            "--json",
        ])
    };
    let o = by_name("supabase-db");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = by_name("not-in-the-sans.example");
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let host = v["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "hostname")
        .cloned()
        .unwrap();
    assert_eq!(host["verdict"], "fail", "{host:#}");
    assert_eq!(host["host"], "not-in-the-sans.example", "{host:#}");
    drop(bouncer);
    drop(pg);

    // 6. after turning ssl off (same files and settings, ssl=off) verify exits 1
    let pg = start_pg(&h, "off");
    let o = verify(&[format!("127.0.0.1:{}", pg.port())], &ca);
    assert_eq!(
        code(&o),
        1,
        "verify must fail with ssl=off:\n{}",
        stdout(&o)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["verdict"], "fail");
    let tls = report["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tls-offered")
        .cloned()
        .unwrap();
    assert_eq!(tls["verdict"], "fail", "{tls:#}");
}

#[test]
fn hardened_coolify_bundle_runs_on_real_postgres() {
    let h = harden_bundle("coolify", "supabase-db");
    let ca = h.out.join("volumes/tls-ca/ca.crt");
    let pg = start_pg(&h, "on");
    assert_verify_full_ssl(&pg, &ca);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(async {
            let stream = connect_from(UNTRUSTED, pg.port()).await.unwrap();
            config()
                .connect_raw(stream, tokio_postgres::NoTls)
                .await
                .map(|_| ())
        })
        .expect_err("plaintext from 127.0.0.3 must be refused");
    let message = err
        .as_db_error()
        .map(tokio_postgres::error::DbError::message);
    assert_eq!(
        message,
        Some(
            "pg_hba.conf rejects connection for host \"127.0.0.3\", user \"postgres\", database \"postgres\", no encryption"
        )
    );
}

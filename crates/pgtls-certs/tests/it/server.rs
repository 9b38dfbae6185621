//! Against a real PostgreSQL 15 started by `pgtest`: our files make a server that libpq trusts
//! with `sslmode=verify-full`, our key-file rule matches the server's, client certificates pass
//! `cert` authentication, and renewal is picked up by a reload.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pgtest::{HarnessError, Pg, PgBuilder, server_user};
use pgtls_certs::{
    Ca, CaParams, CertAndKey, ClientParams, KeyFileFacts, KeyFileVerdict, KeyReader, KeyType,
    Owner, RenewOptions, ServerParams, WriteOptions, covers_host, file_meta, inspect,
    key_file_verdict, postgres_key_file_check, renew_files, write_atomic,
};

use crate::text;

/// A builder with our CA and server files in its directory and TLS switched on.
fn tls_builder(ca: &Ca, server: &CertAndKey) -> (PgBuilder, PathBuf) {
    let b = Pg::builder();
    let dir = b.dir().to_path_buf();
    let b = b
        .tls(&server.cert_pem, &server.key_pem)
        .file("ca.crt", ca.cert_pem(), 0o644);
    (b, dir)
}

fn verify_full(root: &Path, host: &str) -> String {
    format!(
        "host={host} hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={}",
        root.display()
    )
}

fn start(b: PgBuilder) -> Pg {
    match b.start() {
        Ok(pg) => pg,
        Err(e) => panic!("server did not start: {e}"),
    }
}

#[test]
fn every_key_type_serves_verify_full_clients() {
    for kt in KeyType::ALL {
        let ca = Ca::create(&CaParams {
            key_type: kt,
            ..CaParams::default()
        })
        .unwrap();
        let mut sp = ServerParams::new(["localhost", "127.0.0.1"]);
        sp.key_type = kt;
        let server = ca.issue_server(&sp).unwrap();
        let (b, dir) = tls_builder(&ca, &server);
        let pg = start(b);
        let root = dir.join("ca.crt");
        if kt == KeyType::Ed25519 {
            // libpq 15 cannot hash an Ed25519 certificate for SCRAM channel binding
            // (KeyType::warning says so): observe the failure, then connect without binding
            let out = pg.psql(&verify_full(&root, "localhost"), "select 1");
            assert!(!out.success);
            assert!(
                out.stderr.contains("could not find digest for NID UNDEF"),
                "{}",
                out.stderr
            );
        }
        let binding = if kt == KeyType::Ed25519 {
            " channel_binding=disable"
        } else {
            ""
        };
        for host in ["localhost", "127.0.0.1"] {
            let out = pg.psql(
                &format!("{}{binding}", verify_full(&root, host)),
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            );
            assert!(out.success, "{kt} host={host}: {}", out.stderr);
            assert_eq!(out.stdout, "t", "{kt} host={host}");
        }
        let out = pg.psql(
            &format!("{}{binding}", verify_full(&root, "db.example.com")),
            "select 1",
        );
        assert!(
            !out.success,
            "{kt}: a name outside the SANs must be refused"
        );
        assert!(
            out.stderr
                .contains("does not match host name \"db.example.com\""),
            "{kt}: {}",
            out.stderr
        );
    }
}

/// `covers_host` against libpq itself, wildcards and IPv4/IPv6 included.
#[test]
fn covers_host_agrees_with_libpq() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let server = ca
        .issue_server(&ServerParams::new([
            "db.test",
            "*.pool.test",
            "127.0.0.1",
            "::1",
        ]))
        .unwrap();
    let (b, dir) = tls_builder(&ca, &server);
    let pg = start(b);
    let root = dir.join("ca.crt");
    for host in [
        "db.test",
        "DB.Test",
        "eu.pool.test",
        "a.eu.pool.test",
        "pool.test",
        "other.test",
        "127.0.0.1",
        "localhost",
        "::1",
        "127.0.0.2",
    ] {
        let ours = covers_host(&server.cert_pem, host).unwrap();
        let out = pg.psql(&verify_full(&root, host), "select 1");
        assert_eq!(
            out.success, ours,
            "host {host}: libpq says {}, covers_host says {ours}: {}",
            out.success, out.stderr
        );
        if !out.success {
            assert!(
                out.stderr.contains("does not match host name"),
                "{host}: {}",
                out.stderr
            );
        }
    }
}

/// Make a directory that the server user can traverse, for key files with chosen owners.
fn shared_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// The first `FATAL:` line of a log and the `DETAIL:` line after it.
fn fatal_and_detail(log: &str) -> (Option<String>, Option<String>) {
    let mut lines = log.lines();
    while let Some(line) = lines.next() {
        if let Some(at) = line.find("FATAL:  ") {
            let fatal = line[at + 8..].to_string();
            let detail = lines
                .next()
                .and_then(|l| l.find("DETAIL:  ").map(|i| l[i + 9..].to_string()));
            return (Some(fatal), detail);
        }
    }
    (None, None)
}

/// Starts a TLS server whose `ssl_key_file` is `key_path`.
fn start_with_key(server: &CertAndKey, key_path: &Path) -> Result<Pg, HarnessError> {
    let b = Pg::builder();
    let dir = b.dir().to_path_buf();
    b.file("server.crt", &server.cert_pem, 0o644)
        .setting("ssl", "on")
        .setting(
            "ssl_cert_file",
            dir.join("server.crt").display().to_string(),
        )
        .setting("ssl_key_file", key_path.display().to_string())
        .start()
}

/// `key_file_verdict` against the real server over owners {server, root, other} x groups
/// {server's, other} x modes {0600, 0640, 0644}: loads or not, and PostgreSQL's message and
/// detail, in all 18 cases; and every suggested fix, applied to the file, makes the server start.
#[test]
fn key_file_rule_matches_the_server() {
    assert!(
        pgtest::running_as_root(),
        "the key-file differential gives files to postgres, root and another uid: run the tests as root (CI does)"
    );
    let su = server_user();
    assert!(su.switched);
    let reader = KeyReader::new(su.uid, su.gid);
    let (stranger, strange_group) = (4242, 4343);
    let ca = Ca::create(&CaParams::default()).unwrap();
    let server = ca.issue_server(&ServerParams::new(["localhost"])).unwrap();
    let mut checked = 0;
    let mut outcomes = std::collections::BTreeMap::new();
    for (owner_name, uid) in [("server", su.uid), ("root", 0), ("other", stranger)] {
        for (group_name, gid) in [("server", su.gid), ("other", strange_group)] {
            for mode in [0o600, 0o640, 0o644] {
                let case = format!("owner {owner_name}, group {group_name}, mode {mode:04o}");
                let keydir = shared_dir();
                let key_path = keydir.path().join("server.key");
                write_atomic(
                    &key_path,
                    server.key_pem.as_bytes(),
                    &WriteOptions {
                        mode,
                        owner: Some(Owner { uid, gid }),
                        backup: false,
                        protect_existing: false,
                    },
                )
                .unwrap();
                let facts = KeyFileFacts::of(&key_path).unwrap();
                assert_eq!(
                    (facts.uid, facts.gid, facts.mode),
                    (uid, gid, mode),
                    "{case}"
                );
                let shown = key_path.display().to_string();
                let verdict = key_file_verdict(&shown, facts, reader);
                match (&verdict, start_with_key(&server, &key_path)) {
                    (KeyFileVerdict::Loads, Ok(pg)) => {
                        let out = pg.psql("sslmode=require", "select 1");
                        assert!(out.success, "{case}: {}", out.stderr);
                    }
                    (
                        KeyFileVerdict::Refused {
                            message, detail, ..
                        },
                        Err(HarnessError::StartFailed { log, .. }),
                    ) => {
                        let (fatal, server_detail) = fatal_and_detail(&log);
                        assert_eq!(fatal.as_deref(), Some(message.as_str()), "{case}: {log}");
                        assert_eq!(&server_detail, detail, "{case}: {log}");
                    }
                    (
                        KeyFileVerdict::PassesCheckButUnreadable { message, .. },
                        Err(HarnessError::StartFailed { log, .. }),
                    ) => {
                        let (fatal, _) = fatal_and_detail(&log);
                        assert_eq!(fatal.as_deref(), Some(message.as_str()), "{case}: {log}");
                    }
                    (v, s) => panic!("{case}: our verdict {v:?} but the server start gave {s:?}"),
                }
                if let Some(fix) = verdict.fix() {
                    std::os::unix::fs::chown(&key_path, Some(fix.uid), Some(fix.gid)).unwrap();
                    fs::set_permissions(&key_path, fs::Permissions::from_mode(fix.mode)).unwrap();
                    let after = KeyFileFacts::of(&key_path).unwrap();
                    assert!(key_file_verdict(&shown, after, reader).loads(), "{case}");
                    let pg = start_with_key(&server, &key_path)
                        .unwrap_or_else(|e| panic!("{case}: fix {fix:?} did not load: {e}"));
                    assert!(pg.psql("sslmode=require", "select 1").success, "{case}");
                }
                let kind = match &verdict {
                    KeyFileVerdict::Loads => "loads",
                    KeyFileVerdict::Refused { .. } => "refused",
                    _ => "passes check, unreadable",
                };
                eprintln!("{case}: {kind}: {}", verdict.message().unwrap_or("-"));
                *outcomes.entry(kind).or_insert(0) += 1;
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 18);
    // all three outcomes occur: server 0600 and root 0640 with the server's group load;
    // root 0600 and root 0640 with another group pass the check and cannot be read
    assert_eq!(outcomes.get("loads"), Some(&3), "{outcomes:?}");
    assert_eq!(
        outcomes.get("passes check, unreadable"),
        Some(&3),
        "{outcomes:?}"
    );
    assert_eq!(outcomes.get("refused"), Some(&12), "{outcomes:?}");
}

/// The path-level wrapper agrees with the pure rule for the host's `postgres` user, whose groups
/// it reads from `/etc/group`.
#[test]
fn path_check_reads_the_servers_groups() {
    assert!(
        pgtest::running_as_root(),
        "needs root to give the key to root"
    );
    let su = server_user();
    let keydir = shared_dir();
    let key_path = keydir.path().join("server.key");
    write_atomic(
        &key_path,
        b"key",
        &WriteOptions {
            mode: 0o600,
            owner: Some(Owner {
                uid: 0,
                gid: su.gid,
            }),
            backup: false,
            protect_existing: false,
        },
    )
    .unwrap();
    let e = postgres_key_file_check(&key_path, su.uid).unwrap_err();
    assert!(e.message.ends_with(": Permission denied"), "{}", e.message);
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(postgres_key_file_check(&key_path, su.uid), Ok(()));
}

#[test]
fn client_certificate_passes_a_cert_rule() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let server = ca.issue_server(&ServerParams::new(["localhost"])).unwrap();
    let good = ca.issue_client(&ClientParams::new("postgres")).unwrap();
    let wrong_user = ca.issue_client(&ClientParams::new("someone_else")).unwrap();
    let other_ca = Ca::create(&CaParams::default()).unwrap();
    let foreign = other_ca
        .issue_client(&ClientParams::new("postgres"))
        .unwrap();

    let (b, dir) = tls_builder(&ca, &server);
    let b = b
        .setting("ssl_ca_file", dir.join("ca.crt").display().to_string())
        .hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n");
    let pg = start(b);
    let root = dir.join("ca.crt");

    // client files live with the test (psql runs as this user; libpq wants the key 0600)
    let cdir = tempfile::tempdir().unwrap();
    let conn = |name: &str, c: &CertAndKey| {
        let crt = cdir.path().join(format!("{name}.crt"));
        let key = cdir.path().join(format!("{name}.key"));
        write_atomic(&crt, c.cert_pem.as_bytes(), &WriteOptions::cert()).unwrap();
        write_atomic(&key, c.key_pem.as_bytes(), &WriteOptions::key()).unwrap();
        let extra = format!(
            "{} sslcert={} sslkey={} password=wrong",
            verify_full(&root, "localhost"),
            crt.display(),
            key.display()
        );
        pg.psql(&extra, "select current_user")
    };

    let out = conn("good", &good);
    assert!(out.success, "{}\n{}", out.stderr, pg.log());
    assert_eq!(out.stdout, "postgres");

    let out = conn("wrong_user", &wrong_user);
    assert!(!out.success);
    assert!(
        out.stderr
            .contains("certificate authentication failed for user \"postgres\""),
        "{}",
        out.stderr
    );

    let out = conn("foreign", &foreign);
    assert!(
        !out.success,
        "a client certificate from another CA must be refused"
    );

    // and without any client certificate
    let out = pg.psql(&verify_full(&root, "localhost"), "select 1");
    assert!(!out.success);
}

/// The certificate the server presents, as PEM, read with `openssl s_client -starttls postgres`.
fn served_certificate(port: u16) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-starttls", "postgres", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client runs");
    let t = text(&out);
    let start = t
        .find("-----BEGIN CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate: {t}"));
    let end = t
        .find("-----END CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate: {t}"));
    t[start..end + "-----END CERTIFICATE-----".len()].to_string()
}

#[test]
fn renewal_keeps_mode_and_owner_and_a_reload_serves_the_new_certificate() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let server = ca
        .issue_server(&ServerParams::new(["localhost", "127.0.0.1"]))
        .unwrap();
    let (b, dir) = tls_builder(&ca, &server);
    let pg = start(b);
    let crt = dir.join("server.crt");
    let key = dir.join("server.key");
    let old_serial = inspect(&server.cert_pem).unwrap().serial;
    assert_eq!(
        inspect(served_certificate(pg.port())).unwrap().serial,
        old_serial
    );

    let crt_meta = file_meta(&crt).unwrap();
    let key_meta = file_meta(&key).unwrap();
    let out = renew_files(&ca, &crt, &key, &RenewOptions::default()).unwrap();
    assert_eq!(out.old_serial, old_serial);
    assert_eq!(file_meta(&crt).unwrap(), crt_meta);
    assert_eq!(file_meta(&key).unwrap(), key_meta);
    assert_eq!(key_meta.uid, server_user().uid);
    assert_eq!(key_meta.mode, 0o600);

    // not yet reloaded: still the old certificate
    assert_eq!(
        inspect(served_certificate(pg.port())).unwrap().serial,
        old_serial
    );
    let pid = pg.pid();
    pg.reload();
    assert_eq!(
        inspect(served_certificate(pg.port())).unwrap().serial,
        out.new_serial
    );
    assert_eq!(pg.pid(), pid, "no restart");
    let out = pg.psql(&verify_full(&dir.join("ca.crt"), "localhost"), "select 1");
    assert!(out.success, "{}", out.stderr);
}

/// Ed25519 breaks SCRAM channel binding in libpq 15, but `cert` authentication has no channel
/// binding: an all-Ed25519 setup works there without any client setting.
#[test]
fn ed25519_works_with_cert_authentication() {
    let ca = Ca::create(&CaParams {
        key_type: KeyType::Ed25519,
        ..CaParams::default()
    })
    .unwrap();
    let mut sp = ServerParams::new(["localhost"]);
    sp.key_type = KeyType::Ed25519;
    let server = ca.issue_server(&sp).unwrap();
    let mut cp = ClientParams::new("postgres");
    cp.key_type = KeyType::Ed25519;
    let client = ca.issue_client(&cp).unwrap();
    let (b, dir) = tls_builder(&ca, &server);
    let pg = start(
        b.setting("ssl_ca_file", dir.join("ca.crt").display().to_string())
            .hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n"),
    );
    let cdir = tempfile::tempdir().unwrap();
    let crt = cdir.path().join("c.crt");
    let key = cdir.path().join("c.key");
    write_atomic(&crt, client.cert_pem.as_bytes(), &WriteOptions::cert()).unwrap();
    write_atomic(&key, client.key_pem.as_bytes(), &WriteOptions::key()).unwrap();
    let extra = format!(
        "{} sslcert={} sslkey={}",
        verify_full(&dir.join("ca.crt"), "localhost"),
        crt.display(),
        key.display()
    );
    let out = pg.psql(&extra, "select current_user");
    assert!(out.success, "{}", out.stderr);
    assert_eq!(out.stdout, "postgres");
}

/// PgBouncer (OpenSSL, like Supavisor's Erlang/OpenSSL stack) serves our files to verify-full
/// clients.
#[test]
fn pgbouncer_serves_our_certificates() {
    let pg = start(Pg::builder());
    for kt in [KeyType::EcdsaP256, KeyType::Rsa2048, KeyType::Ed25519] {
        let ca = Ca::create(&CaParams {
            key_type: kt,
            ..CaParams::default()
        })
        .unwrap();
        let mut sp = ServerParams::new(["localhost", "127.0.0.1"]);
        sp.key_type = kt;
        let server = ca.issue_server(&sp).unwrap();
        let b = pgtest::PgBouncer::builder(&pg);
        let dir = b.dir().to_path_buf();
        let bouncer = b
            .file("server.crt", &server.cert_pem, 0o644)
            .file("server.key", &server.key_pem, 0o600)
            .file("ca.crt", ca.cert_pem(), 0o644)
            .setting("client_tls_sslmode", "require")
            .setting(
                "client_tls_cert_file",
                dir.join("server.crt").display().to_string(),
            )
            .setting(
                "client_tls_key_file",
                dir.join("server.key").display().to_string(),
            )
            .start()
            .unwrap_or_else(|e| panic!("{kt}: {e}"));
        let out = bouncer.psql(&verify_full(&dir.join("ca.crt"), "localhost"), "select 1");
        assert!(out.success, "{kt}: {}\n{}", out.stderr, bouncer.log());
        assert_eq!(out.stdout, "1");
    }
}

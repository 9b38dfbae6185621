//! Certificates from a real ACME CA (issue #28): Debian's `pebble` (validation switched off for
//! loopback with `PEBBLE_VA_ALWAYS_VALID=1`, listening on 127.0.0.1 only), `certbot` and `lego`
//! as clients, `pgtls certs adopt` as their hook, and a real PostgreSQL 15 serving the result to
//! a verify-full client that trusts only pebble's root.
//!
//! These tests need the `pebble`, `certbot` and `lego` binaries (scripts/deps installs them):
//! without them they fail, they do not skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const DOMAIN: &str = "db.pgtls.test";

fn need(bin: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(bin);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{bin}` is not installed: scripts/deps installs pebble, certbot and lego (Debian packages); these tests fail without them"
    )
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// A pebble on 127.0.0.1 with its own HTTPS certificate; killed (by its pid) on drop.
struct Pebble {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
    /// The CA of pebble's HTTPS listener (not of the certificates it issues).
    https_ca: PathBuf,
    /// Pebble's issuing root (from its management interface), PEM file.
    root: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pebble {
    fn start() -> Pebble {
        let bin = need("pebble");
        let dir = tempfile::tempdir().unwrap();
        let https = dir.path().join("https");
        ok(
            &pgtls([
                "certs",
                "init",
                "--out",
                https.to_str().unwrap(),
                "--san",
                "127.0.0.1",
            ]),
            "certs init for pebble's HTTPS",
        );
        let (port, mgmt) = (pgtest::free_port(), pgtest::free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": https.join("server.crt"),
            "privateKey": https.join("server.key"),
            "httpPort": pgtest::free_port(),
            "tlsPort": pgtest::free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        let cfg = dir.path().join("pebble.json");
        std::fs::write(&cfg, config.to_string()).unwrap();
        let log = std::fs::File::create(dir.path().join("pebble.log")).unwrap();
        let child = Command::new(bin)
            .arg("-config")
            .arg(&cfg)
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            // no deliberately rejected nonces: the clients retry them, but a run should not depend on it
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting pebble");
        let p = Pebble {
            child,
            url: format!("https://127.0.0.1:{port}/dir"),
            https_ca: https.join("ca.crt"),
            root: dir.path().join("pebble-root.pem"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", mgmt)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "pebble did not listen: {}",
                std::fs::read_to_string(p.dir.path().join("pebble.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // pebble's issuing root, from its management interface (GET /roots/0)
        let o = Command::new("python3")
            .args([
                "-c",
                "import ssl,sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())",
                &format!("https://127.0.0.1:{mgmt}/roots/0"),
                p.https_ca.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let root = ok(&o, "fetching pebble's root");
        assert!(root.contains("BEGIN CERTIFICATE"), "{root}");
        std::fs::write(&p.root, root).unwrap();
        p
    }

    fn certbot(&self, state: &Path, args: &[&str]) -> Output {
        Command::new(need("certbot"))
            .args(args)
            .args(["--non-interactive", "--server", &self.url])
            .arg("--config-dir")
            .arg(state.join("config"))
            .arg("--work-dir")
            .arg(state.join("work"))
            .arg("--logs-dir")
            .arg(state.join("logs"))
            .env("REQUESTS_CA_BUNDLE", &self.https_ca)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn lego(&self, state: &Path, args: &[&str]) -> Output {
        Command::new(need("lego"))
            .args([
                "--server",
                &self.url,
                "--accept-tos",
                "--email",
                "admin@pgtls.test",
                "--domains",
                DOMAIN,
                "--http",
                "--http.port",
                &format!("127.0.0.1:{}", pgtest::free_port()),
                "--key-type",
                "ec256",
                "--path",
            ])
            .arg(state)
            .args(args)
            .env("LEGO_CA_CERTIFICATES", &self.https_ca)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

/// A PostgreSQL 15 whose `ssl_cert_file` and `ssl_key_file` are in `<dir>/tls`, starting with a
/// leaf of a private CA made by `pgtls certs init` (key owned by the server user).
fn postgres() -> (pgtest::Pg, PathBuf) {
    let b = pgtest::Pg::builder();
    let tls = b.dir().join("tls");
    let su = pgtest::server_user();
    ok(
        &pgtls([
            "certs",
            "init",
            "--out",
            tls.to_str().unwrap(),
            "--san",
            "localhost",
            "--owner",
            &format!("{}:{}", su.uid, su.gid),
        ]),
        "certs init",
    );
    let pg = b
        .setting("ssl", "on")
        .setting(
            "ssl_cert_file",
            tls.join("server.crt").display().to_string(),
        )
        .setting("ssl_key_file", tls.join("server.key").display().to_string())
        .start()
        .expect("starting PostgreSQL");
    (pg, tls)
}

/// `select 1` over verify-full to `db.pgtls.test` (at 127.0.0.1), trusting only `root`.
fn verify_full(pg: &pgtest::Pg, root: &Path) -> pgtest::PsqlOutput {
    pgtest::run_psql(
        &format!(
            "host={DOMAIN} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
            pg.port(),
            root.display()
        ),
        "select 'verified'",
        &[],
    )
}

/// The SHA-256 fingerprint of the certificate the server sends now (a fresh handshake).
fn served(pg: &pgtest::Pg) -> String {
    let o = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", pg.port()),
            "-starttls",
            "postgres",
            "-servername",
            DOMAIN,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fingerprint(&stdout(&o))
}

fn fingerprint(pem: &str) -> String {
    let mut c = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), pem.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    ok(&o, "openssl x509 -fingerprint").trim().to_owned()
}

fn file_fp(path: &Path) -> String {
    fingerprint(&std::fs::read_to_string(path).unwrap())
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn certbot_issues_its_deploy_hook_adopts_and_renewal_is_served() {
    let pebble = Pebble::start();
    let (pg, tls) = postgres();
    // the private leaf is served: a client trusting only pebble's root refuses it
    let before = verify_full(&pg, &pebble.root);
    assert!(!before.success, "{}", before.stdout);
    let state = tempfile::tempdir().unwrap();
    let hook = format!("{} certs adopt {}", bin(), tls.display());
    let o = pebble.certbot(
        state.path(),
        &[
            "certonly",
            "--agree-tos",
            "--register-unsafely-without-email",
            "--standalone",
            "--http-01-address",
            "127.0.0.1",
            "--http-01-port",
            &pgtest::free_port().to_string(),
            "--key-type",
            "ecdsa",
            "-d",
            DOMAIN,
            "--deploy-hook",
            &hook,
        ],
    );
    let text = ok(&o, "certbot certonly") + &stderr(&o);
    assert!(
        text.contains("certbot deploy hook ($RENEWED_LINEAGE)"),
        "{text}"
    );
    let live = state.path().join("config/live").join(DOMAIN);
    assert_eq!(
        file_fp(&tls.join("server.crt")),
        file_fp(&live.join("cert.pem"))
    );
    pg.reload();
    let after = verify_full(&pg, &pebble.root);
    assert!(after.success, "{}", after.stderr);
    assert_eq!(after.stdout, "verified");
    let first = served(&pg);
    assert_eq!(first, file_fp(&live.join("cert.pem")));

    // the same certificate again: a no-op
    let o = Command::new(bin())
        .args(["certs", "adopt", tls.to_str().unwrap()])
        .env("RENEWED_LINEAGE", &live)
        .output()
        .unwrap();
    assert!(
        ok(&o, "adopt again").starts_with("unchanged: "),
        "{}",
        stdout(&o)
    );

    // certbot renew --force-renewal runs the hook; after the reload the renewed one is served
    let o = pebble.certbot(
        state.path(),
        &[
            "renew",
            "--force-renewal",
            "--no-random-sleep-on-renew",
            "--deploy-hook",
            &hook,
        ],
    );
    let text = ok(&o, "certbot renew") + &stderr(&o);
    assert!(text.contains("adopted db.pgtls.test"), "{text}");
    pg.reload();
    let renewed = served(&pg);
    assert_ne!(renewed, first);
    assert_eq!(renewed, file_fp(&live.join("cert.pem")));
    assert!(verify_full(&pg, &pebble.root).success);

    // check: an adopted certificate, chained to pebble's root (not in this host's store)
    let note = std::fs::read_to_string(tls.join(".pgtls-adopted")).unwrap();
    assert!(note.contains("RENEWED_LINEAGE"), "{note}");
}

#[test]
fn lego_hooks_adopt_and_refusals_change_nothing() {
    let pebble = Pebble::start();
    let (pg, tls) = postgres();
    let state = tempfile::tempdir().unwrap();
    let hook = format!("{} certs adopt {}", bin(), tls.display());
    let o = pebble.lego(state.path(), &["run", "--run-hook", &hook]);
    let text = ok(&o, "lego run") + &stderr(&o);
    assert!(
        text.contains("lego hook ($LEGO_CERT_PATH, $LEGO_CERT_KEY_PATH)"),
        "{text}"
    );
    let crt = state
        .path()
        .join("certificates")
        .join(format!("{DOMAIN}.crt"));
    let key = state
        .path()
        .join("certificates")
        .join(format!("{DOMAIN}.key"));
    pg.reload();
    let first = served(&pg);
    assert_eq!(first, file_fp(&crt));
    assert!(verify_full(&pg, &pebble.root).success);

    let o = pebble.lego(
        state.path(),
        &[
            "renew",
            "--days",
            "100000",
            "--no-random-sleep",
            "--renew-hook",
            &hook,
        ],
    );
    ok(&o, "lego renew");
    pg.reload();
    let renewed = served(&pg);
    assert_ne!(renewed, first);
    assert_eq!(renewed, file_fp(&crt));

    // refusals: exit 1, nothing in the folder changed, the server still serves the same
    let before = snapshot(&tls);
    let pki = pgtest::Pki::new();
    let expired = pki.leaf("expired", &format!("DNS:{DOMAIN}"), -1);
    let scratch = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: &[u8]| {
        let p = scratch.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let chain = std::fs::read_to_string(&crt).unwrap();
    let split: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|s| s.contains("BEGIN"))
        .collect();
    assert_eq!(split.len(), 2, "lego bundles the leaf and the intermediate");
    let reversed = w(
        "reversed.pem",
        format!("{}{}", split[1], split[0]).as_bytes(),
    );
    let foreign_chain = w(
        "foreign.pem",
        format!("{}{}", split[0], String::from_utf8_lossy(&pki.ca_pem())).as_bytes(),
    );
    let (other_key, expired_crt, expired_key) = (
        w("other.key", &expired.key),
        w("expired.crt", &expired.cert),
        w("expired.key", &expired.key),
    );
    let cases = [
        (
            vec!["--cert", crt.to_str().unwrap(), "--key", &other_key],
            "the private key does not match the certificate",
        ),
        (
            vec!["--cert", &expired_crt, "--key", &expired_key],
            "expired on",
        ),
        (
            vec!["--cert", &reversed, "--key", key.to_str().unwrap()],
            "the chain is out of order: the key belongs to certificate 2",
        ),
        (
            vec!["--cert", &foreign_chain, "--key", key.to_str().unwrap()],
            "the chain is out of order: certificate 1 was issued by",
        ),
    ];
    for (args, says) in cases {
        let o = pgtls(
            ["certs", "adopt", tls.to_str().unwrap()]
                .into_iter()
                .chain(args.iter().copied()),
        );
        assert_eq!(code(&o), 1, "{args:?}: {}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains("refused, nothing changed: "),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
        assert_eq!(snapshot(&tls), before, "{args:?} changed the folder");
    }
    assert_eq!(served(&pg), renewed);
}

/// Traefik's acme.json as Traefik 3 writes it (traefik/traefik v3.7.9
/// `pkg/provider/acme/local_store.go`: `json.MarshalIndent(storedData, "", "  ")`, a map of
/// resolver name to `{Account, Certificates}`; `CertAndStore` embeds `Certificate` (`domain`,
/// `certificate`, `key`: Go `[]byte`, so base64) and adds `Store`), and as Traefik 2.11 writes
/// it (the same, plus the account's `KeyType`).
fn acme_json(v3: bool, cert: &str, key: &str) -> String {
    use base64::Engine as _;
    // Go's encoding/json writes []byte as standard base64
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut account = serde_json::json!({
        "Email": "admin@pgtls.test",
        "Registration": {"body": {"status": "valid", "contact": ["mailto:admin@pgtls.test"]}, "uri": "https://127.0.0.1:14000/my-account/1"},
        "PrivateKey": "MIIJKQIBAAKCAgEA",
    });
    if !v3 {
        account["KeyType"] = serde_json::json!("4096");
    }
    let doc = serde_json::json!({
        "letsencrypt": {
            "Account": account,
            "Certificates": [
                {"domain": {"main": "other.pgtls.test"}, "certificate": b64("x"), "key": b64("y"), "Store": "default"},
                {"domain": {"main": "pgtls.test", "sans": [DOMAIN]}, "certificate": b64(cert), "key": b64(key), "Store": "default"}
            ]
        }
    });
    // Traefik indents with two spaces (MarshalIndent), as to_string_pretty does
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn traefik_acme_json_v2_and_v3_are_read_and_unchanged_is_a_no_op() {
    let pebble = Pebble::start();
    let (pg, tls) = postgres();
    let state = tempfile::tempdir().unwrap();
    ok(&pebble.lego(state.path(), &["run"]), "lego run");
    let crt = std::fs::read_to_string(
        state
            .path()
            .join("certificates")
            .join(format!("{DOMAIN}.crt")),
    )
    .unwrap();
    let key = std::fs::read_to_string(
        state
            .path()
            .join("certificates")
            .join(format!("{DOMAIN}.key")),
    )
    .unwrap();
    for v3 in [true, false] {
        let file = state
            .path()
            .join(format!("acme-v{}.json", if v3 { 3 } else { 2 }));
        std::fs::write(&file, acme_json(v3, &crt, &key)).unwrap();
        let o = pgtls([
            "certs",
            "adopt",
            tls.to_str().unwrap(),
            "--from-traefik-acme",
            file.to_str().unwrap(),
            "--domain",
            DOMAIN,
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&ok(&o, "adopt from acme.json")).unwrap();
        assert_eq!(v["status"], if v3 { "adopted" } else { "unchanged" }, "{v}");
        assert!(
            v["source"]
                .as_str()
                .unwrap()
                .contains("resolver `letsencrypt`, domain `pgtls.test`"),
            "{v}"
        );
    }
    pg.reload();
    assert!(verify_full(&pg, &pebble.root).success);
    assert_eq!(served(&pg), fingerprint(&crt));
    // a name acme.json does not hold
    let file = state.path().join("acme-v3.json");
    let o = pgtls([
        "certs",
        "adopt",
        tls.to_str().unwrap(),
        "--from-traefik-acme",
        file.to_str().unwrap(),
        "--domain",
        "nope.pgtls.test",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no certificate for `nope.pgtls.test`"),
        "{}",
        stderr(&o)
    );
}

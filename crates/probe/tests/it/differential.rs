//! The verdict a libpq verify-full client reaches, side by side with ours: for each server
//! certificate below, a real PostgreSQL 15 serves it and `psql sslmode=verify-full` (same CA,
//! same host name) is asked to connect. `pgtls verify --ca` must pass (exit 0) exactly when
//! psql connects and plaintext is refused. Certificates are made with the openssl CLI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use openssl::pkey::PKey;
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::X509;

use pgtest::{Pg, run_psql};
use pgtls_probe::{CheckId, ProbeOptions, Target, TargetVerdict, Verdict, probe};

const HBA: &str = "local all all trust\n\
hostnossl all all 127.0.0.1/32 reject\n\
hostssl all all 127.0.0.1/32 scram-sha-256\n";

pub(crate) struct Dir(pub(crate) PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

pub(crate) fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

pub(crate) struct Spec<'a> {
    pub(crate) name: &'a str,
    pub(crate) cn: &'a str,
    pub(crate) san: Option<&'a str>,
    pub(crate) newkey: &'a [&'a str],
    pub(crate) digest: &'a str,
    pub(crate) eku: &'a str,
    pub(crate) days: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) ext: &'a str,
}

pub(crate) const LEAF_EXT: &str =
    "basicConstraints=critical,CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

/// A fresh directory for certificates, removed on drop.
pub(crate) fn cert_dir(tag: &str) -> Dir {
    let dir = std::env::temp_dir().join(format!("pgtls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Dir(dir)
}

pub(crate) const P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

pub(crate) fn leaf(dir: &Path, s: &Spec<'_>) -> (Vec<u8>, Vec<u8>) {
    let mut ext = String::new();
    if let Some(san) = s.san {
        let _ = writeln!(ext, "subjectAltName={san}");
    }
    ext.push_str(s.ext);
    let _ = writeln!(ext, "extendedKeyUsage={}", s.eku);
    std::fs::write(dir.join(format!("{}.ext", s.name)), ext).unwrap();
    let mut req = vec!["req"];
    req.extend(s.newkey);
    let (key, csr, crt, extf) = (
        format!("{}.key", s.name),
        format!("{}.csr", s.name),
        format!("{}.crt", s.name),
        format!("{}.ext", s.name),
    );
    let subj = format!("/CN={}", s.cn);
    req.extend(["-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj]);
    openssl(dir, &req);
    let (ca_crt, ca_key) = (format!("{}.crt", s.issuer), format!("{}.key", s.issuer));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            s.days,
            &format!("-{}", s.digest),
            "-extfile",
            &extf,
        ],
    );
    (
        std::fs::read(dir.join(&crt)).unwrap(),
        std::fs::read(dir.join(&key)).unwrap(),
    )
}

async fn ours(port: u16, host: &str, ca_pem: &[u8]) -> pgtls_probe::TargetReport {
    let opts = ProbeOptions::default()
        .with_ca_pem(ca_pem, "root.crt")
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    probe(&Target::new(host, port), &opts).await
}

/// A stand-in for a server PostgreSQL itself will not run: PostgreSQL on this host refuses
/// to load a key or signature below its own OpenSSL security level (`ee key too small`,
/// `ca md too weak`), so this serves
/// the certificate at security level 0 behind SSLRequest, and refuses plaintext with
/// PostgreSQL's own message.
async fn stand_in(cert: &[u8], key: &[u8]) -> u16 {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_security_level(0);
    b.set_certificate(&X509::from_pem(cert).unwrap()).unwrap();
    b.set_private_key(&PKey::private_key_from_pem(key).unwrap())
        .unwrap();
    crate::hostile::tls_server_with(
        Arc::new(b.build()),
        b"",
        crate::hostile::error_response(
            "28000",
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption",
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_match_psql_verify_full() {
    let dir = std::env::temp_dir().join(format!("pgtls-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _guard = Dir(dir.clone());
    ca(&dir, "root");
    ca(&dir, "other");
    // An intermediate CA signed by root.
    std::fs::write(dir.join("inter.ext"), CA_EXT).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "inter.key",
            "-out",
            "inter.csr",
            "-subj",
            "/CN=inter",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "inter.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "inter.crt",
            "-days",
            "30",
            "-extfile",
            "inter.ext",
        ],
    );
    let root_pem = std::fs::read(dir.join("root.crt")).unwrap();
    let leaf_ext = "basicConstraints=critical,CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
    let base = Spec {
        name: "good",
        cn: "localhost",
        san: Some("DNS:localhost,IP:127.0.0.1"),
        newkey: P256,
        digest: "sha256",
        eku: "serverAuth",
        days: "30",
        issuer: "root",
        ext: leaf_ext,
    };
    let cases: Vec<(Spec<'_>, &str)> = vec![
        (Spec { ..base }, "127.0.0.1"),
        (
            Spec {
                name: "rsa1024",
                newkey: &["-newkey", "rsa:1024"],
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "sha1",
                digest: "sha1",
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "clientauth",
                eku: "clientAuth",
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "ipsan-cn-localhost",
                cn: "localhost",
                san: Some("IP:127.0.0.1"),
                ..base
            },
            "localhost",
        ),
        (
            Spec {
                name: "dnssan-cn-ip",
                cn: "127.0.0.1",
                san: Some("DNS:localhost"),
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "expired",
                days: "-1",
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "wrong-ca",
                issuer: "other",
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "missing-intermediate",
                issuer: "inter",
                ..base
            },
            "127.0.0.1",
        ),
        (
            Spec {
                name: "name-mismatch",
                cn: "db",
                san: Some("DNS:db.example.test"),
                ..base
            },
            "127.0.0.1",
        ),
    ];
    let mut table = String::new();
    let mut mismatches = Vec::new();
    let mut outcomes = Vec::new();
    for (spec, host) in &cases {
        let (cert, key) = leaf(&dir, spec);
        let (pg, port, server) = match Pg::builder().tls(&cert, &key).hba(HBA).start() {
            Ok(pg) => {
                let port = pg.port();
                (Some(pg), port, "postgres")
            }
            Err(e)
                if e.to_string().contains("key too small")
                    || e.to_string().contains("md too weak") =>
            {
                (None, stand_in(&cert, &key).await, "stand-in")
            }
            Err(e) => panic!("{}: {e}", spec.name),
        };
        let conninfo = format!(
            "host={host} port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
            dir.join("root.crt").display()
        );
        let (psql, plain) = tokio::task::block_in_place(|| {
            (
                run_psql(&conninfo, "select 1", &[]),
                run_psql(
                    &format!(
                        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
                    ),
                    "select 1",
                    &[],
                ),
            )
        });
        let libpq_ok = psql.success && !plain.success;
        let r = ours(port, host, &root_pem).await;
        let ours_ok = r.verdict == TargetVerdict::Pass;
        let failing: Vec<String> = r
            .checks
            .iter()
            .filter(|c| c.verdict != Verdict::Pass && c.verdict != Verdict::Skipped)
            .map(|c| format!("{} {}: {}", c.id, c.verdict, c.detail))
            .collect();
        let _ = writeln!(
            table,
            "{:22} {:8} as {:10} psql {:5} pgtls {:5}  psql: {}  pgtls: {}",
            spec.name,
            server,
            host,
            libpq_ok,
            ours_ok,
            psql.stderr.lines().last().unwrap_or(""),
            failing.join(" | ")
        );
        if libpq_ok != ours_ok {
            mismatches.push(spec.name);
        }
        outcomes.push((spec.name, libpq_ok, r));
        if let Some(pg) = pg {
            pg.stop();
        }
    }
    eprintln!("{table}");
    assert!(
        mismatches.is_empty(),
        "pgtls and psql disagree on {mismatches:?}:\n{table}"
    );
    // The verdicts themselves, as observed on this host's OpenSSL, so the test also pins
    // what each certificate does (a host with another security level changes the first two).
    let get = |n: &str| outcomes.iter().find(|o| o.0 == n).unwrap();
    for ok in ["good", "ipsan-cn-localhost", "dnssan-cn-ip"] {
        assert!(get(ok).1, "{ok} must connect:\n{table}");
    }
    for bad in [
        "sha1",
        "clientauth",
        "expired",
        "wrong-ca",
        "missing-intermediate",
        "name-mismatch",
    ] {
        assert!(!get(bad).1, "{bad} must be refused:\n{table}");
    }
    // CN-only matches carry the RFC 6125 warning.
    for n in ["ipsan-cn-localhost", "dnssan-cn-ip"] {
        let h = get(n).2.check(CheckId::Hostname).unwrap();
        assert!(
            h.warnings.iter().any(|w| w.contains("RFC 6125")),
            "{n}: {:?}",
            h.warnings
        );
    }
    // The leaf facts are reported.
    let c = serde_json::to_value(get("sha1").2.check(CheckId::Certificate).unwrap()).unwrap();
    assert_eq!(c["digest"], "SHA1", "{c}");
    let c = serde_json::to_value(get("rsa1024").2.check(CheckId::Certificate).unwrap()).unwrap();
    assert_eq!(c["key_bits"], 1024, "{c}");
    let c = serde_json::to_value(get("clientauth").2.check(CheckId::Certificate).unwrap()).unwrap();
    assert_eq!(c["eku"], serde_json::json!(["clientAuth"]), "{c}");
    assert_eq!(c["aki"], true);
}

//! Library behaviour: loading foreign CAs, checks, inspection JSON and renewal.

use std::fs;

use pgtls_certs::{
    Ca, CaParams, CertKit, ClientParams, Error, KeyType, RenewOptions, RenewalPolicy, San,
    ServerParams, covers_host, inspect, inspect_chain, key_matches_cert, needs_renewal,
    renewal_reason, verify_chain, verify_chain_at,
};
use proptest::prelude::*;

use crate::{openssl, text};

/// Make a CA with openssl in `dir` whose key is in `ca.key` in the format the commands give.
fn openssl_ca(dir: &std::path::Path, keygen: &[&str]) {
    let out = openssl(dir, keygen);
    assert!(out.status.success(), "{}", text(&out));
    let out = openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/CN=recipe CA/O=Acme",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn loads_openssl_cas_in_every_key_format() {
    let cases: [(&[&str], &str, KeyType); 4] = [
        (
            &["genrsa", "-traditional", "-out", "ca.key", "2048"],
            "BEGIN RSA PRIVATE KEY",
            KeyType::Rsa2048,
        ),
        (
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                "ca.key",
            ],
            "BEGIN EC PRIVATE KEY",
            KeyType::EcdsaP256,
        ),
        (
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                "ca.key",
            ],
            "BEGIN PRIVATE KEY",
            KeyType::EcdsaP384,
        ),
        (
            &["genpkey", "-algorithm", "ed25519", "-out", "ca.key"],
            "BEGIN PRIVATE KEY",
            KeyType::Ed25519,
        ),
    ];
    for (keygen, marker, kt) in cases {
        let dir = tempfile::tempdir().unwrap();
        openssl_ca(dir.path(), keygen);
        let crt = fs::read(dir.path().join("ca.crt")).unwrap();
        let key = fs::read(dir.path().join("ca.key")).unwrap();
        assert!(String::from_utf8_lossy(&key).contains(marker));
        let ca = Ca::load(&crt, &key).unwrap_or_else(|e| panic!("{kt}: {e}"));
        assert_eq!(ca.key_type(), kt);
        assert_eq!(ca.subject(), "CN=recipe CA, O=Acme");
        // the PEM is kept verbatim so rewriting the CA is a no-op
        assert_eq!(ca.key_pem().as_bytes(), key.as_slice());
        let server = ca.issue_server(&ServerParams::new(["db"])).unwrap();
        fs::write(dir.path().join("server.crt"), &server.cert_pem).unwrap();
        let out = openssl(
            dir.path(),
            &["verify", "-x509_strict", "-CAfile", "ca.crt", "server.crt"],
        );
        assert_eq!(text(&out).trim(), "server.crt: OK", "{kt}");
        verify_chain(&server.cert_pem, &crt).unwrap();
        // the authority key id points at openssl's subject key id
        let out = openssl(
            dir.path(),
            &[
                "x509",
                "-in",
                "ca.crt",
                "-noout",
                "-ext",
                "subjectKeyIdentifier",
            ],
        );
        let ski = text(&out)
            .lines()
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string();
        let out = openssl(
            dir.path(),
            &[
                "x509",
                "-in",
                "server.crt",
                "-noout",
                "-ext",
                "authorityKeyIdentifier",
            ],
        );
        assert!(
            text(&out).contains(&ski),
            "{kt}: {ski} not in {}",
            text(&out)
        );
    }
}

#[test]
fn load_refuses_mismatched_keys_and_non_cas() {
    let a = Ca::create(&CaParams::default()).unwrap();
    let b = Ca::create(&CaParams::default()).unwrap();
    assert_eq!(
        Ca::load(a.cert_pem(), b.key_pem()).unwrap_err(),
        Error::KeyMismatch {
            subject: "CN=pgtls private CA".into()
        }
    );
    let leaf = a.issue_server(&ServerParams::new(["db"])).unwrap();
    assert_eq!(
        Ca::load(&leaf.cert_pem, &leaf.key_pem).unwrap_err(),
        Error::NotCa {
            subject: "CN=db".into()
        }
    );
    assert_eq!(
        Ca::load("", a.key_pem()).unwrap_err(),
        Error::NoPem {
            what: "certificate"
        }
    );
    assert_eq!(
        Ca::load(a.cert_pem(), "junk").unwrap_err(),
        Error::NoPem {
            what: "private key"
        }
    );
    assert!(key_matches_cert(a.key_pem(), a.cert_pem()).unwrap());
    assert!(!key_matches_cert(b.key_pem(), a.cert_pem()).unwrap());
    assert!(key_matches_cert(&leaf.key_pem, &leaf.cert_pem).unwrap());
}

#[test]
fn verify_chain_rejects_other_cas_and_expired_leaves() {
    let a = Ca::create(&CaParams::default()).unwrap();
    let b = Ca::create(&CaParams {
        common_name: "other".into(),
        ..CaParams::default()
    })
    .unwrap();
    let same_name = Ca::create(&CaParams::default()).unwrap();
    let leaf = a.issue_server(&ServerParams::new(["db"])).unwrap();
    verify_chain(&leaf.cert_pem, a.cert_pem()).unwrap();
    // a bundle holding the right CA among others verifies
    let bundle = format!("{}{}", b.cert_pem(), a.cert_pem());
    verify_chain(&leaf.cert_pem, &bundle).unwrap();
    assert!(matches!(
        verify_chain(&leaf.cert_pem, b.cert_pem()),
        Err(Error::NotIssuedBy { ref reason, .. }) if reason.contains("the issuer is")
    ));
    // same subject, different key: the signature check catches it
    assert!(matches!(
        verify_chain(&leaf.cert_pem, same_name.cert_pem()),
        Err(Error::NotIssuedBy { ref reason, .. }) if reason.contains("signature")
    ));
    let info = inspect(&leaf.cert_pem).unwrap();
    assert!(matches!(
        verify_chain_at(&leaf.cert_pem, a.cert_pem(), info.not_after_unix + 1),
        Err(Error::NotValidNow { ref reason, .. }) if reason.starts_with("expired on")
    ));
}

#[test]
fn host_coverage_follows_libpq() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let leaf = ca
        .issue_server(&ServerParams::new([
            "db.example.com",
            "*.pool.example.com",
            "127.0.0.1",
            "::1",
        ]))
        .unwrap();
    let c = &leaf.cert_pem;
    assert!(covers_host(c, "db.example.com").unwrap());
    assert!(covers_host(c, "DB.EXAMPLE.COM").unwrap());
    assert!(covers_host(c, "eu.pool.example.com").unwrap());
    assert!(!covers_host(c, "a.eu.pool.example.com").unwrap());
    assert!(!covers_host(c, "pool.example.com").unwrap());
    assert!(covers_host(c, "127.0.0.1").unwrap());
    assert!(covers_host(c, "::1").unwrap());
    assert!(!covers_host(c, "127.0.0.2").unwrap());
    assert!(!covers_host(c, "localhost").unwrap());
    // the CN is ignored once SANs of the host's type exist, and used when none do
    let ip_only = ca
        .issue_server(&ServerParams {
            common_name: Some("legacy.example.com".into()),
            ..ServerParams::new(["10.0.0.1"])
        })
        .unwrap();
    assert!(covers_host(&ip_only.cert_pem, "legacy.example.com").unwrap());
    assert!(!covers_host(&ip_only.cert_pem, "10.0.0.2").unwrap());
}

#[test]
fn inspect_json_has_the_contract_keys() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let leaf = ca.issue_server(&ServerParams::new(["db"])).unwrap();
    let chain = format!("{}{}", leaf.cert_pem, ca.cert_pem());
    let infos = inspect_chain(&chain).unwrap();
    assert_eq!(infos.len(), 2);
    assert!(!infos[0].is_ca && infos[1].is_ca);
    let json = serde_json::to_value(&infos[0]).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "subject",
        "issuer",
        "serial",
        "sans",
        "not_before",
        "not_after",
        "days_left",
        "key",
        "signature",
        "is_ca",
        "sha256",
    ] {
        assert!(keys.contains(&k), "missing {k} in {json}");
    }
    assert_eq!(json["sans"], serde_json::json!(["db"]));
    assert_eq!(json["key"], "ECDSA P-256");
    // one spelling with `verify --json`: the key type and the typed SANs
    assert_eq!(json["key_type"], "ECDSA P-256");
    assert_eq!(json["sans_typed"], serde_json::json!(["DNS:db"]));
    assert_eq!(json["is_ca"], false);
    assert!(json["not_after"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn input_errors_name_the_input() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    assert_eq!(
        ca.issue_server(&ServerParams::new(Vec::<String>::new()))
            .unwrap_err(),
        Error::NoSans
    );
    assert_eq!(
        ca.issue_server(&ServerParams::new(["bad name"]))
            .unwrap_err()
            .to_string(),
        "invalid subject alternative name \"bad name\": character ' ' is not allowed in a DNS name"
    );
    let mut p = ServerParams::new(["db"]);
    p.days = 0;
    assert_eq!(
        ca.issue_server(&p).unwrap_err(),
        Error::InvalidDays { days: 0 }
    );
    assert!(matches!(
        ca.issue_client(&ClientParams::new("")),
        Err(Error::InvalidUser { .. })
    ));
    assert_eq!(
        "dsa".parse::<KeyType>().unwrap_err().to_string(),
        "unknown key type \"dsa\": expected one of ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096, ed25519"
    );
}

#[test]
fn renewal_keeps_names_and_changes_serial() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let mut p = ServerParams::new(["db", "supabase-db", "127.0.0.1"]);
    p.days = 90;
    p.key_type = KeyType::EcdsaP384;
    let old = ca.issue_server(&p).unwrap();
    let before = inspect(&old.cert_pem).unwrap();

    let new = ca
        .renew(&old.cert_pem, None, &RenewOptions::default())
        .unwrap();
    let after = inspect(&new.cert_pem).unwrap();
    assert_eq!(after.subject, before.subject);
    assert_eq!(after.sans, before.sans);
    assert_eq!(after.key, "ECDSA P-384");
    assert_eq!(after.ext_key_usage, ["serverAuth"]);
    assert_ne!(after.serial, before.serial);
    assert!((89..=90).contains(&after.days_left), "{}", after.days_left);
    assert_ne!(new.key_pem, old.key_pem);
    verify_chain(&new.cert_pem, ca.cert_pem()).unwrap();

    let reused = ca
        .renew(
            &old.cert_pem,
            Some(old.key_pem.as_bytes()),
            &RenewOptions {
                reuse_key: true,
                days: Some(10),
            },
        )
        .unwrap();
    assert_eq!(reused.key_pem, old.key_pem);
    assert!(key_matches_cert(&old.key_pem, &reused.cert_pem).unwrap());
    assert_ne!(inspect(&reused.cert_pem).unwrap().serial, before.serial);

    // a client certificate stays a client certificate
    let client = ca.issue_client(&ClientParams::new("app")).unwrap();
    let renewed = ca
        .renew(&client.cert_pem, None, &RenewOptions::default())
        .unwrap();
    assert_eq!(
        inspect(&renewed.cert_pem).unwrap().ext_key_usage,
        ["clientAuth"]
    );

    // only our own leaves
    let other = Ca::create(&CaParams::default()).unwrap();
    assert!(matches!(
        other.renew(&old.cert_pem, None, &RenewOptions::default()),
        Err(Error::NotIssuedBy { .. })
    ));
}

#[test]
fn renewal_policy_on_real_certificates() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let fresh = inspect(
        ca.issue_server(&ServerParams::new(["db"]))
            .unwrap()
            .cert_pem,
    )
    .unwrap();
    assert!(!needs_renewal(&fresh, &RenewalPolicy::default()));
    assert!(needs_renewal(&fresh, &RenewalPolicy::within_days(900)));
    let mut p = ServerParams::new(["db"]);
    p.days = 20;
    let short = inspect(ca.issue_server(&p).unwrap().cert_pem).unwrap();
    let reason = renewal_reason(&short, &RenewalPolicy::default()).unwrap();
    assert!(
        reason == "19 days left, fewer than the 30 day threshold"
            || reason == "20 days left, fewer than the 30 day threshold",
        "{reason}"
    );
}

#[test]
fn cert_kit_reuses_a_given_ca() {
    let ca = Ca::create(&CaParams::default()).unwrap();
    let ca_pem = ca.cert_pem().to_string();
    let kit =
        CertKit::generate(&CaParams::default(), &ServerParams::new(["db"]), Some(ca)).unwrap();
    assert!(!kit.ca_created);
    assert_eq!(kit.ca.cert_pem(), ca_pem);
    let files = kit.files();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["ca.crt", "ca.key", "server.crt", "server.key"]);
    let modes: Vec<u32> = files.iter().map(|f| f.mode).collect();
    assert_eq!(modes, [0o644, 0o600, 0o644, 0o600]);
    assert!(files[1].protect_existing && files[1].secret);
    assert!(!format!("{:?}", files[3]).contains("PRIVATE KEY"));
    assert!(!format!("{:?}", kit.server).contains("PRIVATE KEY"));
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9_-]{0,10}[a-z0-9])?"
}

proptest! {
    #[test]
    fn san_display_parses_back(labels in proptest::collection::vec(label(), 1..4), wildcard: bool, v4: [u8; 4]) {
        let mut name = labels.join(".");
        if wildcard { name = format!("*.{name}"); }
        let san: San = name.parse().unwrap();
        prop_assert_eq!(san.to_string().parse::<San>().unwrap(), san.clone());
        prop_assert_eq!(san.to_string(), name);
        let ip = San::Ip(std::net::IpAddr::from(v4));
        prop_assert_eq!(ip.to_string().parse::<San>().unwrap(), ip);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever SANs go in come back out of `inspect`, in order, and each one is covered.
    #[test]
    fn issued_sans_round_trip_and_are_covered(
        names in proptest::collection::vec(proptest::collection::vec(label(), 1..4), 1..5),
        ips in proptest::collection::vec(any::<[u8; 4]>(), 0..3),
        v6 in proptest::option::of(any::<[u8; 16]>()),
    ) {
        let mut sans: Vec<String> = names.iter().map(|l| l.join(".")).collect();
        sans.extend(ips.iter().map(|ip| std::net::IpAddr::from(*ip).to_string()));
        sans.extend(v6.map(|ip| std::net::IpAddr::from(ip).to_string()));
        let mut unique = Vec::new();
        for s in sans {
            if !unique.contains(&s) { unique.push(s); }
        }
        let ca = Ca::create(&CaParams::default()).unwrap();
        let leaf = ca.issue_server(&ServerParams::new(unique.clone())).unwrap();
        let info = inspect(&leaf.cert_pem).unwrap();
        prop_assert_eq!(&info.sans, &unique);
        for s in &unique {
            prop_assert!(covers_host(&leaf.cert_pem, s).unwrap(), "{} not covered", s);
        }
    }

    /// Arbitrary bytes, bare or inside PEM armour, give an error or a value, never a panic.
    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = inspect(&bytes);
        let _ = Ca::load(&bytes, &bytes);
        let armoured = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64_encode(&bytes)
        );
        let _ = inspect(&armoured);
        let _ = covers_host(&armoured, "db");
        let key = armoured.replace("CERTIFICATE", "PRIVATE KEY");
        let _ = key_matches_cert(&key, &armoured);
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The common recipe: `openssl req -new -x509 -nodes -text` writes a text dump before the PEM
/// block and an RSA PKCS#8 key; that CA must be reusable as it is.
#[test]
fn loads_a_recipe_ca_with_a_text_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-x509",
            "-days",
            "365",
            "-nodes",
            "-text",
            "-out",
            "ca.crt",
            "-keyout",
            "ca.key",
            "-newkey",
            "rsa:2048",
            "-subj",
            "/CN=root.example.com",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let crt = fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    assert!(crt.starts_with("Certificate:"), "{crt}");
    let ca = Ca::load(&crt, fs::read(dir.path().join("ca.key")).unwrap()).unwrap();
    assert_eq!(ca.key_type(), KeyType::Rsa2048);
    let leaf = ca
        .issue_server(&ServerParams::new(["supabase-db"]))
        .unwrap();
    fs::write(dir.path().join("server.crt"), &leaf.cert_pem).unwrap();
    let out = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "server.crt"]);
    assert_eq!(text(&out).trim(), "server.crt: OK");
    assert_eq!(inspect(&crt).unwrap().subject, "CN=root.example.com");
}

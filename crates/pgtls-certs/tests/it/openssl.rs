//! Our certificates checked by OpenSSL, the library libpq uses.

use std::fs;

use pgtls_certs::{Ca, CaParams, ClientParams, KeyType, ServerParams, inspect};

use crate::{openssl, text};

const SANS: [&str; 5] = [
    "db.example.com",
    "*.pool.example.com",
    "supabase-db",
    "127.0.0.1",
    "::1",
];

#[test]
fn every_key_type_verifies_and_shows_the_extensions() {
    for kt in KeyType::ALL {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::create(&CaParams {
            key_type: kt,
            ..CaParams::default()
        })
        .unwrap();
        let mut sp = ServerParams::new(SANS);
        sp.key_type = kt;
        let server = ca.issue_server(&sp).unwrap();
        fs::write(dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
        fs::write(dir.path().join("server.crt"), &server.cert_pem).unwrap();
        fs::write(dir.path().join("server.key"), &server.key_pem).unwrap();

        let out = openssl(
            dir.path(),
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslserver",
                "-CAfile",
                "ca.crt",
                "server.crt",
            ],
        );
        assert_eq!(text(&out).trim(), "server.crt: OK", "{kt}: {}", text(&out));

        let out = openssl(
            dir.path(),
            &["x509", "-in", "server.crt", "-noout", "-text"],
        );
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(t.contains("CA:FALSE"), "{kt}: {t}");
        assert!(t.contains("TLS Web Server Authentication"), "{kt}: {t}");
        assert!(
            t.contains(
                "DNS:db.example.com, DNS:*.pool.example.com, DNS:supabase-db, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
            ),
            "{kt}: {t}"
        );
        assert!(t.contains("Subject: CN = db.example.com"), "{kt}: {t}");
        assert!(t.contains("X509v3 Authority Key Identifier"), "{kt}: {t}");

        let out = openssl(dir.path(), &["x509", "-in", "ca.crt", "-noout", "-text"]);
        let t = text(&out);
        assert!(t.contains("CA:TRUE, pathlen:0"), "{kt}: {t}");
        assert!(t.contains("Certificate Sign, CRL Sign"), "{kt}: {t}");
        assert!(t.contains("X509v3 Subject Key Identifier"), "{kt}: {t}");

        // the key file is one OpenSSL reads, and it matches the certificate
        let out = openssl(dir.path(), &["pkey", "-in", "server.key", "-pubout"]);
        assert!(out.status.success(), "{kt}: {}", text(&out));
        let from_key = String::from_utf8_lossy(&out.stdout).into_owned();
        let out = openssl(
            dir.path(),
            &["x509", "-in", "server.crt", "-noout", "-pubkey"],
        );
        assert_eq!(from_key, String::from_utf8_lossy(&out.stdout), "{kt}");

        // the key description matches OpenSSL's idea of the key size
        let info = inspect(&server.cert_pem).unwrap();
        assert_eq!(info.key, kt.description());
        assert_eq!(info.key_type(), Some(kt));
    }
}

#[test]
fn inspect_agrees_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::create(&CaParams::default()).unwrap();
    let server = ca
        .issue_server(&ServerParams::new(["db", "10.0.0.5"]))
        .unwrap();
    fs::write(dir.path().join("server.crt"), &server.cert_pem).unwrap();
    let info = inspect(&server.cert_pem).unwrap();
    let out = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "server.crt",
            "-noout",
            "-serial",
            "-fingerprint",
            "-sha256",
            "-enddate",
        ],
    );
    let t = text(&out);
    assert!(
        t.contains(&format!("serial={}", info.serial)),
        "{t} vs {}",
        info.serial
    );
    assert!(
        t.contains(&format!("Fingerprint={}", info.sha256)),
        "{t} vs {}",
        info.sha256
    );
    assert_eq!(info.sans, ["db", "10.0.0.5"]);
    assert_eq!(info.issuer, "CN=pgtls private CA");
    assert_eq!(info.signature, "ecdsa-with-SHA256");
    assert!((824..=825).contains(&info.days_left), "{}", info.days_left);
    assert_eq!(info.ext_key_usage, ["serverAuth"]);
}

#[test]
fn client_certificate_has_client_auth_and_the_role_as_cn() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::create(&CaParams::default()).unwrap();
    let client = ca.issue_client(&ClientParams::new("app_user")).unwrap();
    fs::write(dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
    fs::write(dir.path().join("client.crt"), &client.cert_pem).unwrap();
    let out = openssl(
        dir.path(),
        &[
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            "ca.crt",
            "client.crt",
        ],
    );
    assert_eq!(text(&out).trim(), "client.crt: OK");
    let out = openssl(
        dir.path(),
        &[
            "x509",
            "-in",
            "client.crt",
            "-noout",
            "-subject",
            "-ext",
            "extendedKeyUsage",
        ],
    );
    let t = text(&out);
    assert!(t.contains("subject=CN = app_user"), "{t}");
    assert!(t.contains("TLS Web Client Authentication"), "{t}");
    // and it is not usable as a server certificate
    let out = openssl(
        dir.path(),
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.crt",
            "client.crt",
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn name_constraints_are_enforced_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::create(&CaParams {
        permitted: vec![
            "example.com".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ],
        ..CaParams::default()
    })
    .unwrap();
    fs::write(dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
    let out = openssl(dir.path(), &["x509", "-in", "ca.crt", "-noout", "-text"]);
    let t = text(&out);
    assert!(t.contains("X509v3 Name Constraints: critical"), "{t}");
    assert!(t.contains("DNS:example.com"), "{t}");
    assert!(t.contains("IP:10.0.0.0/255.0.0.0"), "{t}");

    let good = ca
        .issue_server(&ServerParams::new(["db.example.com", "10.1.2.3"]))
        .unwrap();
    fs::write(dir.path().join("good.crt"), &good.cert_pem).unwrap();
    let out = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "good.crt"]);
    assert_eq!(text(&out).trim(), "good.crt: OK");

    // we refuse to issue outside the constraints ...
    let err = ca
        .issue_server(&ServerParams::new(["db.other.org"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "subject alternative name \"db.other.org\" is outside the CA's name constraints (example.com, 10.0.0.0/8)"
    );
    // ... and a reloaded CA remembers them
    let reloaded = Ca::load(ca.cert_pem(), ca.key_pem()).unwrap();
    assert_eq!(reloaded.name_constraints(), ca.name_constraints());
    assert!(
        reloaded
            .issue_server(&ServerParams::new(["192.168.0.1"]))
            .is_err()
    );

    // and OpenSSL agrees that such a leaf would be bad: sign one with openssl itself
    fs::write(dir.path().join("ca.key"), ca.key_pem()).unwrap();
    let out = openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "bad.key",
            "-out",
            "bad.crt",
            "-subj",
            "/CN=db.other.org",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-addext",
            "subjectAltName=DNS:db.other.org",
            "-days",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = openssl(dir.path(), &["verify", "-CAfile", "ca.crt", "bad.crt"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("permitted subtree violation"),
        "{}",
        text(&out)
    );
}

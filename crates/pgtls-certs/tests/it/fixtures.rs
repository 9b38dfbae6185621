//! Fixed inputs: a certificate made by openssl, and broken inputs that must give clear errors.

use std::fs;
use std::path::PathBuf;

use pgtls_certs::{Ca, CaParams, Error, inspect, key_matches_cert};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn openssl_self_signed_certificate_is_described_like_openssl_does() {
    let info = inspect(fixture("valid/openssl-selfsigned.crt")).unwrap();
    assert_eq!(info.subject, "CN=supabase-db, O=Example");
    assert_eq!(info.issuer, info.subject);
    assert_eq!(info.serial, "7E0DBDD542810E2D471E6B85E8D1C73CC6ABD03D");
    assert_eq!(
        info.sha256,
        "05:3A:5A:45:25:44:37:CB:12:33:A8:13:69:47:64:FB:4A:B2:E0:65:12:67:B9:26:EC:1F:A1:31:20:FC:B4:87"
    );
    assert_eq!(info.sans, ["supabase-db", "*.example.com", "10.0.0.5"]);
    assert_eq!(info.not_before, "2026-11-27T08:38:58Z");
    assert_eq!(info.not_after, "2126-11-03T08:38:58Z");
    assert_eq!(info.key, "RSA 3072");
    assert_eq!(info.signature, "sha256WithRSAEncryption");
    // openssl req -x509 marks its self-signed certificates CA:TRUE: the webpki trap of FACTS 8
    assert!(info.is_ca);
}

#[test]
fn broken_inputs_give_clear_errors() {
    assert!(matches!(
        inspect(fixture("invalid/truncated.crt")),
        Err(Error::Pem { .. } | Error::Certificate { .. })
    ));
    assert_eq!(
        inspect(fixture("invalid/not-pem.txt")).unwrap_err(),
        Error::NoPem {
            what: "certificate"
        }
    );
    let ca = Ca::create(&CaParams::default()).unwrap();
    let err = key_matches_cert(fixture("invalid/encrypted.key"), ca.cert_pem()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot use private key: the key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)"
    );
    // P-521 is parsed but not a key type we sign with
    let err = Ca::load(ca.cert_pem(), fixture("invalid/p521.key")).unwrap_err();
    assert!(
        matches!(err, Error::KeyMismatch { .. } | Error::Key { .. }),
        "{err}"
    );
}

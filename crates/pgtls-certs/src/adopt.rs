//! Certificates issued elsewhere (a public ACME CA through certbot, lego, Caddy or Traefik):
//! the checks that decide whether a full chain and its key can become the server certificate.
//!
//! Everything here is pure: PEM text in, a verdict out. Writing is the caller's (through the
//! one writer), so a refusal leaves every file as it was.

use base64::Engine as _;
use x509_parser::certificate::X509Certificate;

use crate::error::{Error, Result};
use crate::inspect::{CertInfo, cert_ders, info_from_der, parse_der};
use crate::key::load_key;

/// A full chain and key that passed [`check_adoptable`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Adoptable {
    /// The leaf (the first certificate of the chain).
    pub leaf: CertInfo,
    /// The certificates after the leaf, in file order (intermediates, maybe a root).
    pub chain: Vec<CertInfo>,
    /// The chain re-armoured: one `CERTIFICATE` block per certificate, 64 columns, nothing
    /// else (comments and stray text dropped), so the same certificate gives the same bytes
    /// whichever ACME client it came from.
    pub fullchain_pem: String,
    /// The key as given, ending in one newline.
    pub key_pem: String,
    /// What does not stop the adoption but needs saying (names not covered, key types some
    /// clients refuse, a chain without intermediates).
    pub warnings: Vec<String>,
}

/// PEM armour for one DER certificate.
pub(crate) fn cert_pem_of(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The chain re-armoured as [`Adoptable::fullchain_pem`] has it.
pub fn normalize_chain_pem(pem: impl AsRef<[u8]>) -> Result<String> {
    Ok(cert_ders(pem.as_ref())?
        .iter()
        .map(|d| cert_pem_of(d))
        .collect())
}

fn check_time_of(cert: &X509Certificate<'_>, now: i64, position: usize) -> Result<()> {
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    let fmt = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| t.to_string())
    };
    let which = if position == 0 {
        "the certificate".to_owned()
    } else {
        format!("chain certificate {}", position + 1)
    };
    let reason = if now < nb {
        format!("{which} is not valid before {}", fmt(nb))
    } else if now > na {
        format!("{which} expired on {}", fmt(na))
    } else {
        return Ok(());
    };
    Err(Error::NotValidNow {
        subject: cert.subject().to_string(),
        reason,
    })
}

/// Checks that each certificate in `pem` (a full chain) was issued by the next one: matching
/// names, a signature that verifies, an issuer with `CA:TRUE`. [`Error::ChainOrder`] otherwise.
pub fn check_chain_order(pem: impl AsRef<[u8]>) -> Result<()> {
    let ders = cert_ders(pem.as_ref())?;
    let certs: Vec<X509Certificate<'_>> =
        ders.iter().map(|d| parse_der(d)).collect::<Result<_>>()?;
    chain_order(&certs)
}

fn chain_order(certs: &[X509Certificate<'_>]) -> Result<()> {
    for (i, pair) in certs.windows(2).enumerate() {
        let [child, parent] = pair else { continue };
        let problem = if child.issuer().as_raw() != parent.subject().as_raw() {
            Some(format!(
                "certificate {} was issued by \"{}\" but certificate {} is \"{}\"",
                i + 1,
                child.issuer(),
                i + 2,
                parent.subject()
            ))
        } else if let Err(e) = child.verify_signature(Some(parent.public_key())) {
            Some(format!(
                "the signature of certificate {} does not verify with the key of certificate {} ({e})",
                i + 1,
                i + 2
            ))
        } else if !parent.is_ca() {
            Some(format!(
                "certificate {} (\"{}\") is not a CA (CA:TRUE missing)",
                i + 2,
                parent.subject()
            ))
        } else {
            None
        };
        if let Some(detail) = problem {
            return Err(Error::ChainOrder {
                detail: format!(
                    "{detail}; the file must hold the server certificate first, then the certificate that issued it, and so on (certbot's fullchain.pem, lego's <domain>.crt)"
                ),
            });
        }
    }
    Ok(())
}

/// Checks that `fullchain_pem` (the leaf first, then the certificates that issued it, in
/// order: certbot's `fullchain.pem`, lego's `<domain>.crt`, Traefik's `certificate`) and
/// `key_pem` can serve as PostgreSQL's and the pooler's certificate at Unix time `now`.
///
/// Refused ([`Error`]), in this order:
/// - a key that cannot be read (encrypted, not PEM, an algorithm the servers cannot load):
///   [`Error::Key`]; a key PostgreSQL's OpenSSL refuses to load (RSA under 2048 bits at
///   security level 2): [`Error::UnusableKey`];
/// - a key that does not belong to the first certificate: [`Error::KeyMismatch`];
/// - a leaf that is a CA or whose extended key usage lacks serverAuth: [`Error::NotServerCert`];
/// - a chain out of order (certificate N+1 did not issue certificate N): [`Error::ChainOrder`];
/// - a leaf expired or not yet valid: [`Error::NotValidNow`] (a certificate later in the chain
///   outside its validity is a warning: often an extra cross-sign clients skip).
///
/// Warned: each of `names` the leaf does not cover (verify-full against that name fails),
/// Ed25519 and P-521 keys (several clients refuse them), a chain holding only a leaf.
pub fn check_adoptable(
    fullchain_pem: impl AsRef<[u8]>,
    key_pem: impl AsRef<[u8]>,
    names: &[String],
    now: i64,
) -> Result<Adoptable> {
    let ders = cert_ders(fullchain_pem.as_ref())?;
    let certs: Vec<X509Certificate<'_>> =
        ders.iter().map(|d| parse_der(d)).collect::<Result<_>>()?;
    let (Some(leaf_der), Some(leaf)) = (ders.first(), certs.first()) else {
        return Err(Error::NoPem {
            what: "certificate",
        });
    };
    let leaf_info = info_from_der(leaf_der, now)?;
    let subject = leaf.subject().to_string();
    let mut warnings = Vec::new();

    // the key: readable, a type the servers load, and the leaf's
    let key_text = key_pem.as_ref();
    let key = load_key(key_text)?;
    let kind = leaf_info.key.clone();
    if let Some(bits) = kind
        .strip_prefix("RSA ")
        .and_then(|b| b.trim().parse::<u32>().ok())
        && bits < 2048
    {
        return Err(Error::UnusableKey {
            key: kind,
            reason: "PostgreSQL's OpenSSL (security level 2, the Debian and Ubuntu default) refuses to load a key under 2048 bits (\"ee key too small\"), and clients refuse it too (\"EE key too weak\"); ask the ACME client for ECDSA P-256 (certbot --key-type ecdsa, lego --key-type ec256) or RSA 2048+".into(),
        });
    }
    if !(kind.starts_with("RSA") || kind.starts_with("ECDSA") || kind == "Ed25519") {
        return Err(Error::UnusableKey {
            key: kind,
            reason: "not a key type PostgreSQL and the pooler serve to PostgreSQL clients (RSA 2048+, ECDSA P-256/P-384)".into(),
        });
    }
    if kind == "Ed25519" || kind == "ECDSA P-521" {
        warnings.push(format!(
            "the key is {kind}: PostgreSQL and the pooler load it, but several clients (pgjdbc, Npgsql, webpki-based ones) refuse such certificates; ECDSA P-256 or RSA 2048+ work everywhere"
        ));
    }
    if leaf.public_key().subject_public_key.data.as_ref() != rcgen::PublicKeyData::der_bytes(&key) {
        let matches_later = certs.iter().skip(1).position(|c| {
            c.public_key().subject_public_key.data.as_ref() == rcgen::PublicKeyData::der_bytes(&key)
        });
        if let Some(at) = matches_later {
            return Err(Error::ChainOrder {
                detail: format!(
                    "the key belongs to certificate {} (\"{}\"), but the server certificate must come first, then the certificates that issued it",
                    at + 2,
                    certs
                        .get(at + 1)
                        .map(|c| c.subject().to_string())
                        .unwrap_or_default()
                ),
            });
        }
        return Err(Error::KeyMismatch { subject });
    }

    // the leaf is a server certificate
    if leaf.is_ca() {
        return Err(Error::NotServerCert {
            subject,
            reason: "it is a CA certificate (CA:TRUE); webpki-based clients refuse a CA as the server's certificate".into(),
        });
    }
    if let Ok(Some(eku)) = leaf.extended_key_usage()
        && !eku.value.server_auth
        && !eku.value.any
    {
        return Err(Error::NotServerCert {
            subject,
            reason: "its extended key usage lacks serverAuth (libpq verify-full: \"unsuitable certificate purpose\")".into(),
        });
    }

    chain_order(&certs)?;
    // the leaf must be valid now; an expired certificate later in the chain is often an extra
    // cross-sign clients skip (Let's Encrypt's old long chain), so it is a warning
    check_time_of(leaf, now, 0)?;
    for (i, c) in certs.iter().enumerate().skip(1) {
        if let Err(e) = check_time_of(c, now, i) {
            warnings.push(format!(
                "{e}: clients whose path to a root goes through it refuse the server; ask the ACME client for the current chain"
            ));
        }
    }
    if certs.len() == 1 && leaf.issuer().as_raw() != leaf.subject().as_raw() {
        warnings.push(format!(
            "the file holds only the server certificate, not the intermediate that issued it (\"{}\"): clients that do not already hold that intermediate cannot build a path to their roots; use the full chain (certbot: fullchain.pem, not cert.pem)",
            leaf.issuer()
        ));
    }
    for name in names {
        if !crate::covers_host(fullchain_pem.as_ref(), name).unwrap_or(false) {
            warnings.push(format!(
                "the certificate does not cover `{name}` (its names: {}): clients connecting with verify-full to `{name}` will fail",
                leaf_info.sans.join(", ")
            ));
        }
    }

    let chain = ders
        .iter()
        .skip(1)
        .map(|d| info_from_der(d, now))
        .collect::<Result<_>>()?;
    let mut key_pem = String::from_utf8_lossy(key_text).trim_end().to_owned();
    key_pem.push('\n');
    Ok(Adoptable {
        leaf: leaf_info,
        chain,
        fullchain_pem: ders.iter().map(|d| cert_pem_of(d)).collect(),
        key_pem,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ca, ServerParams};

    const DAY: i64 = 86_400;

    fn now() -> i64 {
        crate::inspect::now_unix()
    }

    /// root -> intermediate -> leaf, as a public CA issues them (the root's path length
    /// allows one intermediate).
    fn chain() -> (Ca, String, String, String) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_params = |cn: &str, depth: u8| {
            let mut p = CertificateParams::default();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(depth));
            p.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("Test Root", 1);
        let root_cert = root_params.self_signed(&root_key).unwrap();
        let root = Ca::load(root_cert.pem(), root_key.serialize_pem()).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = KeyPair::generate().unwrap();
        let inter_cert = ca_params("Test Intermediate", 0)
            .signed_by(&inter_key, &root_issuer)
            .unwrap();
        let inter = Ca::load(inter_cert.pem(), inter_key.serialize_pem()).unwrap();
        let leaf = inter
            .issue_server(&ServerParams::new(["db.example.com"]))
            .unwrap();
        (
            root,
            inter.cert_pem().to_owned(),
            leaf.cert_pem,
            leaf.key_pem,
        )
    }

    #[test]
    fn a_full_chain_is_adoptable() {
        let (_, inter, leaf, key) = chain();
        let full = format!("{leaf}{inter}");
        let a = check_adoptable(&full, &key, &["db.example.com".into()], now()).unwrap();
        assert_eq!(a.chain.len(), 1);
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert_eq!(normalize_chain_pem(&full).unwrap(), a.fullchain_pem);
        assert_eq!(
            a.fullchain_pem, full,
            "rcgen's armour is already the normal form"
        );
    }

    #[test]
    fn names_not_covered_and_a_lone_leaf_warn() {
        let (_, _, leaf, key) = chain();
        let a = check_adoptable(&leaf, &key, &["other.example.com".into()], now()).unwrap();
        assert_eq!(a.warnings.len(), 2, "{:?}", a.warnings);
        assert!(a.warnings[0].contains("only the server certificate"));
        assert!(a.warnings[1].contains("does not cover `other.example.com`"));
    }

    fn root_key_of(ca: &Ca) -> &str {
        ca.key_pem()
    }

    #[test]
    fn a_ca_is_not_a_server_certificate() {
        let (root, ..) = chain();
        let e = check_adoptable(root.cert_pem(), root.key_pem(), &[], now()).unwrap_err();
        assert!(matches!(e, Error::NotServerCert { .. }), "{e}");
    }

    #[test]
    fn refusals() {
        let (root, inter, leaf, key) = chain();
        let other = root
            .issue_server(&ServerParams::new(["db.example.com"]))
            .unwrap();
        assert!(matches!(
            check_adoptable(format!("{leaf}{inter}"), &other.key_pem, &[], now()),
            Err(Error::KeyMismatch { .. })
        ));
        let e = check_adoptable(format!("{inter}{leaf}"), &key, &[], now()).unwrap_err();
        assert!(matches!(e, Error::ChainOrder { .. }), "{e}");
        assert!(e.to_string().contains("belongs to certificate 2"), "{e}");
        let e = check_adoptable(&inter, root_key_of(&root), &[], now()).unwrap_err();
        assert!(matches!(e, Error::KeyMismatch { .. }), "{e}");
        let e =
            check_adoptable(format!("{leaf}{}", root.cert_pem()), &key, &[], now()).unwrap_err();
        assert!(matches!(e, Error::ChainOrder { .. }), "{e}");
        assert!(e.to_string().contains("certificate 1 was issued by"), "{e}");
        let e =
            check_adoptable(format!("{leaf}{inter}"), &key, &[], now() + 900 * DAY).unwrap_err();
        assert!(matches!(e, Error::NotValidNow { .. }), "{e}");
        assert!(e.to_string().contains("expired on"), "{e}");
        let e = check_adoptable(format!("{leaf}{inter}"), &key, &[], now() - 2 * DAY).unwrap_err();
        assert!(e.to_string().contains("not valid before"), "{e}");
        let e = check_adoptable(
            format!("{leaf}{inter}"),
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMII=\n-----END ENCRYPTED PRIVATE KEY-----\n",
            &[],
            now(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
    }
}

//! Reading certificates: inspection, key matching, chain and host-name checks.

use std::net::IpAddr;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::error::{Error, Result};
use crate::key::{KeyType, load_key};
use crate::names::libpq_name_matches;

/// What `pgtls certs inspect` shows about one certificate. Serialises to the stable JSON of
/// `certs inspect --json`: `subject`, `issuer`, `serial`, `sans`, `not_before`, `not_after`,
/// `days_left`, `key`, `signature`, `is_ca`, `sha256` (plus `ext_key_usage`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CertInfo {
    /// Subject distinguished name, as in `CN=db.example.com`.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, uppercase hex without separators (as `openssl x509 -serial` prints it).
    pub serial: String,
    /// Subject alternative names: DNS names and IP addresses as text.
    pub sans: Vec<String>,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    /// Key algorithm and size: `ECDSA P-256`, `ECDSA P-384`, `RSA 2048`, `Ed25519`, ...
    pub key: String,
    /// The key type in the workspace's one spelling (the same as `key`, and as pgtls-probe's
    /// `key_type`): `ECDSA P-256`, `RSA 2048`, `Ed25519`.
    pub key_type: String,
    /// The SANs typed, in the workspace's one spelling (as pgtls-probe's `sans` and
    /// `sans_typed`, and OpenSSL): `DNS:db.example.com`, `IP:127.0.0.1`.
    pub sans_typed: Vec<String>,
    /// Signature algorithm, OpenSSL's name (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`, `ED25519`).
    pub signature: String,
    /// Whether basicConstraints says `CA:TRUE`.
    pub is_ca: bool,
    /// SHA-256 fingerprint of the DER certificate, uppercase hex pairs joined by colons.
    pub sha256: String,
    /// Extended key usages by OpenSSL short name (`serverAuth`, `clientAuth`, ...).
    pub ext_key_usage: Vec<String>,
    /// `not_before` as a Unix timestamp.
    #[serde(skip)]
    pub not_before_unix: i64,
    /// `not_after` as a Unix timestamp.
    #[serde(skip)]
    pub not_after_unix: i64,
}

impl CertInfo {
    /// Whole days left at Unix time `now`.
    pub fn days_left_at(&self, now_unix: i64) -> i64 {
        (self.not_after_unix - now_unix).div_euclid(86_400)
    }

    /// The key type, when it is one this crate generates.
    pub fn key_type(&self) -> Option<KeyType> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.description() == self.key)
    }
}

pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// All certificates in PEM text, as DER.
pub(crate) fn cert_ders(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        let der = item.map_err(|e| Error::Pem {
            detail: e.to_string(),
        })?;
        out.push(der.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(Error::NoPem {
            what: "certificate",
        });
    }
    Ok(out)
}

pub(crate) fn first_cert_der(pem: &[u8]) -> Result<Vec<u8>> {
    cert_ders(pem)?.into_iter().next().ok_or(Error::NoPem {
        what: "certificate",
    })
}

pub(crate) fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::Certificate {
            detail: "trailing bytes after the certificate".to_string(),
        }),
        Err(e) => Err(Error::Certificate {
            detail: e.to_string(),
        }),
    }
}

fn hex_upper(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        other => other,
    }
    .to_string()
}

fn key_description(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => match spki.parsed() {
            Ok(pk) => format!("RSA {}", pk.key_size()),
            Err(_) => "RSA".to_string(),
        },
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".to_string(),
                Some("1.3.132.0.34") => "ECDSA P-384".to_string(),
                Some("1.3.132.0.35") => "ECDSA P-521".to_string(),
                Some(other) => format!("ECDSA {other}"),
                None => "ECDSA".to_string(),
            }
        }
        "1.3.101.112" => "Ed25519".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        other => other.to_string(),
    }
}

fn san_strings(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => out.push((*d).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        out.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// `IP:` for an address, `DNS:` for a name (what `san_strings` returns is one or the other).
pub(crate) fn typed_san(san: &str) -> String {
    if san.parse::<IpAddr>().is_ok() {
        format!("IP:{san}")
    } else {
        format!("DNS:{san}")
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn eku_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(ext)) = cert.extended_key_usage() {
        let eku = ext.value;
        let flags = [
            (eku.any, "anyExtendedKeyUsage"),
            (eku.server_auth, "serverAuth"),
            (eku.client_auth, "clientAuth"),
            (eku.code_signing, "codeSigning"),
            (eku.email_protection, "emailProtection"),
            (eku.time_stamping, "timeStamping"),
            (eku.ocsp_signing, "OCSPSigning"),
        ];
        out.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| (*n).to_string()),
        );
        out.extend(
            eku.other
                .iter()
                .map(x509_parser::der_parser::oid::Oid::to_id_string),
        );
    }
    out
}

pub(crate) fn info_from_der(der: &[u8], now: i64) -> Result<CertInfo> {
    let cert = parse_der(der)?;
    let raw = cert.raw_serial();
    let trimmed = match raw.iter().position(|b| *b != 0) {
        Some(i) => raw.get(i..).unwrap_or(raw),
        None => &[0u8][..],
    };
    let not_before_unix = cert.validity().not_before.timestamp();
    let not_after_unix = cert.validity().not_after.timestamp();
    let sans = san_strings(&cert);
    let key = key_description(&cert);
    Ok(CertInfo {
        sans_typed: sans.iter().map(|s| typed_san(s)).collect(),
        key_type: key.clone(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: hex_upper(trimmed, ""),
        sans,
        not_before: rfc3339(not_before_unix),
        not_after: rfc3339(not_after_unix),
        days_left: (not_after_unix - now).div_euclid(86_400),
        key,
        signature: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: cert.is_ca(),
        sha256: hex_upper(&Sha256::digest(der), ":"),
        ext_key_usage: eku_names(&cert),
        not_before_unix,
        not_after_unix,
    })
}

/// Inspect the first certificate in PEM text.
pub fn inspect(pem: impl AsRef<[u8]>) -> Result<CertInfo> {
    inspect_at(pem, now_unix())
}

/// Inspect the first certificate in PEM text, computing `days_left` at Unix time `now_unix`.
pub fn inspect_at(pem: impl AsRef<[u8]>, now_unix: i64) -> Result<CertInfo> {
    let der = first_cert_der(pem.as_ref())?;
    info_from_der(&der, now_unix)
}

/// Inspect every certificate in PEM text (a chain or a bundle), in file order.
pub fn inspect_chain(pem: impl AsRef<[u8]>) -> Result<Vec<CertInfo>> {
    let now = now_unix();
    cert_ders(pem.as_ref())?
        .iter()
        .map(|der| info_from_der(der, now))
        .collect()
}

/// Whether the private key (PEM: PKCS#8, PKCS#1 or SEC1) belongs to the first certificate in
/// `cert_pem`.
pub fn key_matches_cert(key_pem: impl AsRef<[u8]>, cert_pem: impl AsRef<[u8]>) -> Result<bool> {
    let key = load_key(key_pem.as_ref())?;
    let der = first_cert_der(cert_pem.as_ref())?;
    let cert = parse_der(&der)?;
    Ok(cert.public_key().subject_public_key.data.as_ref() == rcgen::PublicKeyData::der_bytes(&key))
}

/// Verify that the first certificate in `leaf_pem` was issued by a CA certificate in `ca_pem`
/// (which may hold several): matching issuer name, a valid signature by the CA's key, a CA
/// certificate with `CA:TRUE`, and both certificates valid now.
///
/// This is one level of chain, which is what a private CA gives; intermediates are not followed.
pub fn verify_chain(leaf_pem: impl AsRef<[u8]>, ca_pem: impl AsRef<[u8]>) -> Result<()> {
    verify_chain_at(leaf_pem, ca_pem, now_unix())
}

/// [`verify_chain`] at Unix time `now_unix`.
pub fn verify_chain_at(
    leaf_pem: impl AsRef<[u8]>,
    ca_pem: impl AsRef<[u8]>,
    now_unix: i64,
) -> Result<()> {
    verify_inner(leaf_pem.as_ref(), ca_pem.as_ref(), Some(now_unix))
}

/// The chain check; `now` of `None` skips the validity-period checks (renewal of an expired leaf).
pub(crate) fn verify_inner(leaf_pem: &[u8], ca_pem: &[u8], now: Option<i64>) -> Result<()> {
    let leaf_der = first_cert_der(leaf_pem)?;
    let leaf = parse_der(&leaf_der)?;
    let subject = leaf.subject().to_string();
    if let Some(now) = now {
        check_time(&leaf, now)?;
    }
    let ca_ders = cert_ders(ca_pem)?;
    let mut last_reason = String::new();
    let mut last_ca = String::new();
    for ca_der in &ca_ders {
        let ca = parse_der(ca_der)?;
        last_ca = ca.subject().to_string();
        if ca.subject().as_raw() != leaf.issuer().as_raw() {
            last_reason = format!("the issuer is \"{}\"", leaf.issuer());
            continue;
        }
        if let Err(e) = leaf.verify_signature(Some(ca.public_key())) {
            last_reason = format!("the signature does not verify with the CA key ({e})");
            continue;
        }
        if !ca.is_ca() {
            return Err(Error::NotCa { subject: last_ca });
        }
        if let Some(now) = now {
            check_time(&ca, now)?;
        }
        return Ok(());
    }
    Err(Error::NotIssuedBy {
        subject,
        ca: last_ca,
        reason: last_reason,
    })
}

fn check_time(cert: &X509Certificate<'_>, now: i64) -> Result<()> {
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    let reason = if now < nb {
        format!("not valid before {}", rfc3339(nb))
    } else if now > na {
        format!("expired on {}", rfc3339(na))
    } else {
        return Ok(());
    };
    Err(Error::NotValidNow {
        subject: cert.subject().to_string(),
        reason,
    })
}

/// Whether libpq with `sslmode=verify-full` and `host=name_or_ip` would accept the first
/// certificate in `cert_pem` as naming that host (PostgreSQL 14+ rules).
///
/// A host that parses as an IP address is compared with the iPAddress SANs (and, like libpq,
/// textually with the dNSName SANs); a name with the dNSName SANs, exactly or through a
/// `*.domain` wildcard that matches one label. The common name is consulted only when the
/// certificate has no SAN of the host's type.
pub fn covers_host(cert_pem: impl AsRef<[u8]>, name_or_ip: &str) -> Result<bool> {
    let der = first_cert_der(cert_pem.as_ref())?;
    let cert = parse_der(&der)?;
    let host = name_or_ip.trim();
    let host_ip: Option<IpAddr> = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok();
    let mut check_cn = true;
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => {
                    if host_ip.is_none() {
                        check_cn = false;
                    }
                    if libpq_name_matches(d, host) {
                        return Ok(true);
                    }
                }
                GeneralName::IPAddress(bytes) => {
                    if host_ip.is_some() {
                        check_cn = false;
                    }
                    if host_ip.is_some() && ip_from_bytes(bytes) == host_ip {
                        return Ok(true);
                    }
                }
                _ => {}
            }
        }
    }
    if check_cn {
        for cn in cert.subject().iter_common_name() {
            if let Ok(cn) = cn.as_str()
                && libpq_name_matches(cn, host)
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// What `certs inspect --ca FILE --host NAME` asks of a certificate: whether it chains to a CA
/// (the verifier's reason when not) and whether it covers a host name or IP (libpq's
/// verify-full rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// `Some` when a CA was given: `Ok` when the certificate chains to it, else why not.
    pub chain: Option<std::result::Result<(), String>>,
    /// `Some((host, covered))` when a host was given.
    pub host: Option<(String, bool)>,
}

impl Coverage {
    /// Whether a given CA or host was not satisfied.
    pub fn failed(&self) -> bool {
        self.chain.as_ref().is_some_and(std::result::Result::is_err)
            || self.host.as_ref().is_some_and(|(_, ok)| !ok)
    }
}

/// [`verify_chain`] against `ca_pem` and [`covers_host`] for `host`, each when given.
///
/// # Errors
/// The certificate cannot be read for the host check (a chain failure is a result, not an
/// error).
pub fn check_against(pem: &str, ca_pem: Option<&str>, host: Option<&str>) -> Result<Coverage> {
    let chain = ca_pem.map(|ca| verify_chain(pem, ca).map_err(|e| e.to_string()));
    let host = host
        .map(|h| covers_host(pem, h).map(|ok| (h.to_owned(), ok)))
        .transpose()?;
    Ok(Coverage { chain, host })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_algorithms() {
        assert_eq!(signature_name("1.2.840.10045.4.3.2"), "ecdsa-with-SHA256");
        assert_eq!(signature_name("1.2.3"), "1.2.3");
        assert_eq!(hex_upper(&[0x0a, 0xff], ":"), "0A:FF");
    }

    #[test]
    fn no_certificate_is_an_error() {
        assert_eq!(
            inspect("nothing here").unwrap_err(),
            Error::NoPem {
                what: "certificate"
            }
        );
    }
}

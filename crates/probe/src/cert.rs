//! Certificate facts, chain verification, host-name matching and expiry (OpenSSL inside).

use std::net::IpAddr;

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::{X509, X509NameRef};

use crate::error::{Error, Result};
use crate::facts::{CertFacts, Names, San};
use crate::report::CertificateInfo;

/// Trusted certificates read from a CA file.
#[derive(Clone)]
pub(crate) struct CaBundle {
    pub(crate) certs: Vec<X509>,
    pub(crate) path: String,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("certs", &self.certs.len())
            .finish()
    }
}

impl CaBundle {
    pub(crate) fn from_pem(pem: &[u8], path: &str) -> Result<Self> {
        let bad = |reason: String| Error::CaFile {
            path: path.to_string(),
            reason,
        };
        let certs = X509::stack_from_pem(pem)
            .map_err(|e| bad(format!("not PEM certificates: {}", first_reason(&e))))?;
        if certs.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
        Ok(Self {
            certs,
            path: path.to_string(),
        })
    }
}

fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(openssl::error::Error::reason)
        .map_or_else(|| e.to_string(), str::to_string)
}

/// Formats an X.509 name as `CN=..., O=...` in certificate order.
pub(crate) fn name_to_string(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = e
                .data()
                .to_string()
                .unwrap_or_else(|_| String::from_utf8_lossy(e.data().as_slice()).into_owned());
            format!("{key}={val}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since the Unix epoch for an ASN.1 time.
fn unix_seconds(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The SANs as `DNS:name` / `IP:address`.
fn sans(cert: &X509) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in &names {
            if let Some(d) = n.dnsname() {
                out.push(format!("DNS:{d}"));
            } else if let Some(ip) = n.ipaddress().and_then(ip_from_bytes) {
                out.push(format!("IP:{ip}"));
            } else if let Some(e) = n.email() {
                out.push(format!("email:{e}"));
            } else if let Some(u) = n.uri() {
                out.push(format!("URI:{u}"));
            }
        }
    }
    out
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

fn key_description(cert: &X509) -> String {
    let Ok(key) = cert.public_key() else {
        return "unreadable".into();
    };
    let bits = key.bits();
    match key.id() {
        Id::RSA => format!("RSA {bits}"),
        Id::EC => {
            let curve = key
                .ec_key()
                .ok()
                .and_then(|k| k.group().curve_name())
                .map_or_else(
                    || "unknown curve".to_string(),
                    |nid| match nid {
                        Nid::X9_62_PRIME256V1 => "P-256".to_string(),
                        Nid::SECP384R1 => "P-384".to_string(),
                        Nid::SECP521R1 => "P-521".to_string(),
                        other => other.short_name().unwrap_or("unknown curve").to_string(),
                    },
                );
            format!("EC {curve}")
        }
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DSA => format!("DSA {bits}"),
        other => format!("key type {} ({bits} bits)", other.as_raw()),
    }
}

/// What the openssl crate has no accessor for, read from the DER with x509-parser:
/// basicConstraints CA, the extended key usages, whether an authority key identifier is there.
struct Extensions {
    is_ca: bool,
    eku: Option<Vec<String>>,
    aki: bool,
}

fn extensions(cert: &X509) -> Extensions {
    let none = Extensions {
        is_ca: false,
        eku: None,
        aki: false,
    };
    let Ok(der) = cert.to_der() else { return none };
    let Ok((_, c)) = x509_parser::parse_x509_certificate(&der) else {
        return none;
    };
    let is_ca = matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let eku = match c.extended_key_usage() {
        Ok(Some(e)) => {
            let e = e.value;
            let mut v = Vec::new();
            for (on, name) in [
                (e.any, "anyExtendedKeyUsage"),
                (e.server_auth, "serverAuth"),
                (e.client_auth, "clientAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "OCSPSigning"),
            ] {
                if on {
                    v.push(name.to_string());
                }
            }
            v.extend(e.other.iter().map(ToString::to_string));
            Some(v)
        }
        _ => None,
    };
    let aki = c
        .extensions()
        .iter()
        .any(|x| x.oid == x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER);
    Extensions { is_ca, eku, aki }
}

/// The digest of a signature algorithm, e.g. `SHA256` for `ecdsa-with-SHA256`.
fn signature_digest(cert: &X509) -> Option<String> {
    let nid = cert.signature_algorithm().object().nid();
    let algs = nid.signature_algorithms()?;
    if algs.digest == Nid::UNDEF {
        // Ed25519/Ed448 sign without a separate digest.
        return Some("none (built into the algorithm)".into());
    }
    algs.digest.short_name().ok().map(str::to_string)
}

/// Facts about the leaf (first) certificate of a presented chain.
pub(crate) fn certificate_info(chain: &[X509]) -> Option<CertificateInfo> {
    let leaf = chain.first()?;
    let not_after = unix_seconds(leaf.not_after()).unwrap_or(0);
    let not_before = unix_seconds(leaf.not_before()).unwrap_or(0);
    let ext = extensions(leaf);
    Some(CertificateInfo {
        subject: name_to_string(leaf.subject_name()),
        issuer: name_to_string(leaf.issuer_name()),
        sans: sans(leaf),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: (not_after - now_unix()).div_euclid(86_400),
        key: key_description(leaf),
        signature: leaf
            .signature_algorithm()
            .object()
            .nid()
            .short_name()
            .unwrap_or("unknown")
            .to_string(),
        is_ca: ext.is_ca,
        key_bits: leaf.public_key().map_or(0, |k| k.bits()),
        digest: signature_digest(leaf),
        eku: ext.eku,
        aki: ext.aki,
        chain: chain
            .iter()
            .map(|c| name_to_string(c.subject_name()))
            .collect(),
    })
}

/// Validity window of the leaf: `(not_before, not_after)` as Unix seconds.
pub(crate) fn validity(leaf: &X509) -> (i64, i64) {
    (
        unix_seconds(leaf.not_before()).unwrap_or(0),
        unix_seconds(leaf.not_after()).unwrap_or(0),
    )
}

pub(crate) fn now() -> i64 {
    now_unix()
}

/// Facts about the leaf: what [`certificate_info`] shows plus what the judges need.
pub(crate) fn cert_facts(chain: &[X509]) -> Option<CertFacts> {
    let leaf = chain.first()?;
    let info = certificate_info(chain)?;
    let (not_before_unix, not_after_unix) = validity(leaf);
    Some(CertFacts {
        info,
        names: names(leaf),
        not_before_unix,
        not_after_unix,
    })
}

fn names(cert: &X509) -> Names {
    let mut sans = Vec::new();
    if let Some(list) = cert.subject_alt_names() {
        for n in &list {
            if let Some(d) = n.dnsname() {
                sans.push(San::Dns(d.as_bytes().to_vec()));
            } else if let Some(ip) = n.ipaddress() {
                sans.push(San::Ip(ip.to_vec()));
            }
        }
    }
    let common_name = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .map(|e| e.data().as_slice().to_vec());
    Names { sans, common_name }
}

/// How libpq's verify-full host-name check (`pgtls_verify_peer_name_matches_certificate_guts`
/// in `fe-secure-openssl.c`, `pq_verify_peer_name_matches_certificate_name/_ip` in
/// `fe-secure-common.c`) decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostMatch {
    /// libpq accepts the name.
    pub(crate) matched: bool,
    /// The match came from the subject CN (no SAN of the host's type).
    pub(crate) via_cn: bool,
    /// The certificate has SANs (of any type) besides the CN that matched.
    pub(crate) has_sans: bool,
    /// libpq's error when the names could not be examined (embedded NUL, bad IP length).
    pub(crate) error: Option<String>,
    /// The first name examined and how many were, for libpq's mismatch message.
    pub(crate) first_name: Option<String>,
    pub(crate) names_examined: usize,
}

/// libpq's `is_ip_address`: `inet_aton` (which also takes `127.1`, `0x7f.1`, ...) or IPv6.
fn host_ip(host: &str) -> Option<Vec<u8>> {
    if let Ok(v6) = host.parse::<std::net::Ipv6Addr>() {
        return Some(v6.octets().to_vec());
    }
    inet_aton(host).map(|v4| v4.to_vec())
}

/// glibc `inet_aton`: 1-4 parts, each decimal, octal (leading 0) or hex (0x); the last part
/// fills the remaining bytes.
fn inet_aton(s: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        vals.push(v);
    }
    let last = *vals.last()?;
    let head = &vals[..vals.len() - 1];
    if head.iter().any(|v| *v > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 64 && last >> room != 0 {
        return None;
    }
    let mut n: u32 = 0;
    for (i, v) in head.iter().enumerate() {
        n |= (*v as u32) << (24 - 8 * i as u32);
    }
    n |= last as u32;
    Some(n.to_be_bytes())
}

/// `wildcard_certificate_match` in `fe-secure-common.c`, byte for byte.
fn wildcard_match(pattern: &[u8], host: &[u8]) -> bool {
    let (lp, ls) = (pattern.len(), host.len());
    if lp < 3 || pattern[0] != b'*' || pattern[1] != b'.' {
        return false;
    }
    if lp > ls {
        return false;
    }
    // pattern + 1 against string + lenstr - lenpat + 1
    let tail = &host[ls - lp + 1..];
    if !pattern[1..].eq_ignore_ascii_case(tail) {
        return false;
    }
    // a dot left of where the pattern started to match: no match
    let first_dot = host.iter().position(|b| *b == b'.');
    first_dot.is_none_or(|d| d >= ls - lp)
}

/// `pq_verify_peer_name_matches_certificate_name`: 1 match, 0 no match, error on a NUL.
fn name_match(name: &[u8], host: &str) -> Result<bool, String> {
    if name.contains(&0) {
        return Err("SSL certificate's name contains embedded null".into());
    }
    Ok(name.eq_ignore_ascii_case(host.as_bytes()) || wildcard_match(name, host.as_bytes()))
}

fn ip_match(ip: &[u8], host: &str) -> Result<bool, String> {
    match ip.len() {
        4 => Ok(inet_aton(host).is_some_and(|h| h[..] == *ip)),
        16 => Ok(host
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|h| h.octets()[..] == *ip)),
        n => Err(format!(
            "certificate contains IP address with invalid length {n}"
        )),
    }
}

fn ip_text(ip: &[u8]) -> String {
    ip_from_bytes(ip).map_or_else(
        || {
            ip.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        },
        |a| a.to_string(),
    )
}

/// libpq's verify-full host-name rule, exactly: every SAN is examined in order (DNS names by
/// string or wildcard, IP addresses by bytes); a SAN of the host's own type (IP for an IP
/// host, DNS for a name) rules out the CN; otherwise the first CN is compared as a name,
/// even for an IP host and even when SANs of the other type exist.
pub(crate) fn libpq_host_match(host: &str, names: &Names) -> HostMatch {
    let host_is_ip = host_ip(host).is_some();
    let mut m = HostMatch {
        matched: false,
        via_cn: false,
        has_sans: !names.sans.is_empty(),
        error: None,
        first_name: None,
        names_examined: 0,
    };
    let mut check_cn = true;
    for san in &names.sans {
        let (r, shown) = match san {
            San::Dns(d) => {
                if !host_is_ip {
                    check_cn = false;
                }
                (name_match(d, host), String::from_utf8_lossy(d).into_owned())
            }
            San::Ip(ip) => {
                if host_is_ip {
                    check_cn = false;
                }
                (ip_match(ip, host), ip_text(ip))
            }
        };
        m.names_examined += 1;
        if m.first_name.is_none() && r.is_ok() {
            m.first_name = Some(shown);
        }
        match r {
            Ok(false) => {}
            Ok(true) => {
                m.matched = true;
                return m;
            }
            Err(e) => {
                m.error = Some(e);
                return m;
            }
        }
    }
    if check_cn && let Some(cn) = &names.common_name {
        {
            m.names_examined += 1;
            match name_match(cn, host) {
                Ok(ok) => {
                    if m.first_name.is_none() {
                        m.first_name = Some(String::from_utf8_lossy(cn).into_owned());
                    }
                    m.matched = ok;
                    m.via_cn = ok;
                }
                Err(e) => m.error = Some(e),
            }
        }
    }
    m
}

/// libpq's message for a host-name mismatch (`pq_verify_peer_name_matches_certificate`).
pub(crate) fn libpq_mismatch_message(m: &HostMatch, host: &str) -> String {
    if let Some(e) = &m.error {
        return e.clone();
    }
    match (&m.first_name, m.names_examined) {
        (Some(first), n) if n > 1 => {
            let others = n - 1;
            let noun = if others == 1 { "name" } else { "names" };
            format!(
                "server certificate for \"{first}\" (and {others} other {noun}) does not match host name \"{host}\""
            )
        }
        (Some(first), _) => {
            format!("server certificate for \"{first}\" does not match host name \"{host}\"")
        }
        (None, _) => "could not get server's host name from server certificate".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sans: &[San], cn: Option<&str>) -> Names {
        Names {
            sans: sans.to_vec(),
            common_name: cn.map(|c| c.as_bytes().to_vec()),
        }
    }

    fn dns(d: &str) -> San {
        San::Dns(d.as_bytes().to_vec())
    }

    fn ip(a: &str) -> San {
        match a.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v) => San::Ip(v.octets().to_vec()),
            IpAddr::V6(v) => San::Ip(v.octets().to_vec()),
        }
    }

    #[test]
    fn wildcards_follow_libpq() {
        let n = names(&[dns("*.example.com")], None);
        assert!(libpq_host_match("db.example.com", &n).matched);
        assert!(libpq_host_match("DB.Example.COM", &n).matched);
        assert!(!libpq_host_match("a.b.example.com", &n).matched);
        assert!(!libpq_host_match("example.com", &n).matched);
        assert!(!libpq_host_match(".example.com", &n).matched);
        // libpq compares bytes: no trailing-dot folding
        assert!(!libpq_host_match("db.example.com.", &n).matched);
        let partial = names(&[dns("db*.example.com")], None);
        assert!(!libpq_host_match("db1.example.com", &partial).matched);
    }

    #[test]
    fn cn_fallback_only_without_a_san_of_the_hosts_type() {
        // IP-SAN only, CN=localhost, as `localhost`: libpq checks the CN.
        let n = names(&[ip("127.0.0.1")], Some("localhost"));
        let m = libpq_host_match("localhost", &n);
        assert!(m.matched && m.via_cn && m.has_sans);
        // DNS-SAN only, CN=127.0.0.1, as `127.0.0.1`: the CN is compared as text.
        let n = names(&[dns("localhost")], Some("127.0.0.1"));
        let m = libpq_host_match("127.0.0.1", &n);
        assert!(m.matched && m.via_cn);
        // a DNS SAN rules out the CN for a DNS host
        let n = names(&[dns("other")], Some("db.local"));
        assert!(!libpq_host_match("db.local", &n).matched);
        // an IP SAN rules out the CN for an IP host
        let n = names(&[ip("10.0.0.1")], Some("127.0.0.1"));
        assert!(!libpq_host_match("127.0.0.1", &n).matched);
        // CN only
        let n = names(&[], Some("db.local"));
        assert!(libpq_host_match("db.local", &n).via_cn);
    }

    #[test]
    fn ip_hosts_match_ip_sans_by_bytes() {
        let n = names(&[dns("localhost"), ip("127.0.0.1")], None);
        assert!(libpq_host_match("127.0.0.1", &n).matched);
        assert!(libpq_host_match("127.1", &n).matched, "inet_aton form");
        assert!(!libpq_host_match("127.0.0.2", &n).matched);
        assert!(libpq_host_match("localhost", &n).matched);
        let n6 = names(&[ip("::1")], None);
        assert!(libpq_host_match("::1", &n6).matched);
        assert!(libpq_host_match("0:0::1", &n6).matched);
    }

    #[test]
    fn malformed_names_are_errors_like_libpq() {
        let n = names(&[San::Dns(b"a\0b".to_vec())], None);
        let m = libpq_host_match("a", &n);
        assert!(!m.matched);
        assert_eq!(
            m.error.as_deref(),
            Some("SSL certificate's name contains embedded null")
        );
        let n = names(&[San::Ip(vec![1, 2, 3])], Some("x"));
        let m = libpq_host_match("x", &n);
        assert!(!m.matched, "an error stops before the CN");
        assert!(m.error.unwrap().contains("invalid length 3"));
    }

    #[test]
    fn mismatch_messages_are_libpqs() {
        let n = names(&[dns("a"), dns("b")], None);
        let m = libpq_host_match("c", &n);
        assert_eq!(
            libpq_mismatch_message(&m, "c"),
            "server certificate for \"a\" (and 1 other name) does not match host name \"c\""
        );
        let m = libpq_host_match("c", &Names::default());
        assert_eq!(
            libpq_mismatch_message(&m, "c"),
            "could not get server's host name from server certificate"
        );
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(inet_aton("127.0.0.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton("127.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton("0x7f.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton("2130706433"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton("256.0.0.1"), None);
        assert_eq!(inet_aton("localhost"), None);
        assert_eq!(inet_aton(""), None);
    }

    #[test]
    fn ca_file_errors_name_the_path() {
        let err = CaBundle::from_pem(b"not a cert", "/x/ca.crt").unwrap_err();
        assert!(
            err.to_string().starts_with("CA file \"/x/ca.crt\":"),
            "{err}"
        );
    }
}

//! Certificate facts, chain verification, host-name matching and expiry (OpenSSL inside).

use std::net::IpAddr;

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509NameRef, X509StoreContext};

use crate::error::{Error, Result};
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

fn is_ca(cert: &X509) -> bool {
    // The openssl crate has no accessor for basicConstraints (and its text dump is slow on
    // OpenSSL 3): read the extension from the DER with x509-parser.
    cert.to_der().is_ok_and(|der| {
        x509_parser::parse_x509_certificate(&der)
            .is_ok_and(|(_, c)| matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca))
    })
}

/// Facts about the leaf (first) certificate of a presented chain.
pub(crate) fn certificate_info(chain: &[X509]) -> Option<CertificateInfo> {
    let leaf = chain.first()?;
    let not_after = unix_seconds(leaf.not_after()).unwrap_or(0);
    let not_before = unix_seconds(leaf.not_before()).unwrap_or(0);
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
        is_ca: is_ca(leaf),
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

/// Verifies the presented chain against the CA bundle or, without one, the system roots.
///
/// Time is not checked here (the `expiry` check reports it on its own), so an expired but
/// otherwise trusted chain passes this step.
pub(crate) fn verify_chain(
    chain: &[X509],
    ca: Option<&CaBundle>,
) -> std::result::Result<(), String> {
    let leaf = chain.first().ok_or("the server presented no certificate")?;
    let inner =
        || -> std::result::Result<std::result::Result<(), String>, openssl::error::ErrorStack> {
            let mut b = X509StoreBuilder::new()?;
            match ca {
                Some(ca) => {
                    for c in &ca.certs {
                        b.add_cert(c.clone())?;
                    }
                }
                None => b.set_default_paths()?,
            }
            b.set_flags(X509VerifyFlags::NO_CHECK_TIME)?;
            let store = b.build();
            let mut untrusted = Stack::new()?;
            for c in chain.iter().skip(1) {
                untrusted.push(c.clone())?;
            }
            let mut ctx = X509StoreContext::new()?;
            ctx.init(&store, leaf, &untrusted, |c| {
                let ok = c.verify_cert()?;
                Ok(if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "{} (at depth {})",
                        c.error().error_string(),
                        c.error_depth()
                    ))
                })
            })
        };
    inner().map_err(|e| format!("verification could not run: {}", first_reason(&e)))?
}

/// Whether `host` matches the certificate with libpq's verify-full rules.
///
/// IP hosts match `iPAddress` SANs; names match `dNSName` SANs case-insensitively, where a
/// leading `*.` matches exactly one label. The subject CN is consulted only when the
/// certificate has no DNS or IP SAN at all.
pub(crate) fn host_matches(host: &str, cert: &X509) -> bool {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in &names {
            if let Some(d) = n.dnsname() {
                dns.push(d.to_string());
            } else if let Some(ip) = n.ipaddress().and_then(ip_from_bytes) {
                ips.push(ip);
            }
        }
    }
    let cn: Vec<String> = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .filter_map(|e| e.data().to_string().ok())
        .collect();
    name_matches(host, &dns, &ips, &cn)
}

/// The pure part of [`host_matches`].
pub(crate) fn name_matches(host: &str, dns: &[String], ips: &[IpAddr], cn: &[String]) -> bool {
    let host_ip: Option<IpAddr> = host.parse().ok();
    if dns.is_empty() && ips.is_empty() {
        return cn.iter().any(|c| match host_ip {
            Some(ip) => c.parse::<IpAddr>().is_ok_and(|cip| cip == ip),
            None => pattern_matches(c, host),
        });
    }
    match host_ip {
        Some(ip) => ips.contains(&ip),
        None => dns.iter().any(|d| pattern_matches(d, host)),
    }
}

fn pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        match host.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest == suffix,
            None => false,
        }
    } else {
        pattern == host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        let dns = vec!["*.example.com".to_string()];
        assert!(name_matches("db.example.com", &dns, &[], &[]));
        assert!(name_matches("DB.Example.COM", &dns, &[], &[]));
        assert!(!name_matches("a.b.example.com", &dns, &[], &[]));
        assert!(!name_matches("example.com", &dns, &[], &[]));
    }

    #[test]
    fn ip_hosts_match_ip_sans_only() {
        let ips = vec!["127.0.0.1".parse().unwrap()];
        let dns = vec!["localhost".to_string()];
        assert!(name_matches("127.0.0.1", &dns, &ips, &[]));
        assert!(!name_matches("127.0.0.2", &dns, &ips, &[]));
        assert!(!name_matches("127.0.0.1", &dns, &[], &[]));
        assert!(name_matches("localhost", &dns, &ips, &[]));
    }

    #[test]
    fn cn_only_without_sans() {
        let cn = vec!["db.local".to_string()];
        assert!(name_matches("db.local", &[], &[], &cn));
        assert!(!name_matches("db.local", &["other".to_string()], &[], &cn));
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

//! Expiry policy and renewal of leaf certificates.

use rcgen::{DistinguishedName, DnType, ExtendedKeyUsagePurpose};
use x509_parser::extensions::GeneralName;

use crate::ca::{Ca, CertAndKey, check_days};
use crate::error::{Error, Result};
use crate::inspect::{CertInfo, first_cert_der, now_unix, parse_der};
use crate::key::{KeyType, load_key};
use crate::names::San;

/// When a certificate is due for renewal.
///
/// Due when less than `percent_left` percent of the lifetime remains **or** fewer than
/// `days_left` days remain, whichever comes first. The default (33 %, 30 days) is the common
/// "renew at two thirds of the lifetime" rule with a floor for short-lived certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Renew when less than this percentage of the total lifetime remains (0 disables).
    pub percent_left: u8,
    /// Renew when fewer than this many days remain (0 disables).
    pub days_left: u32,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            percent_left: 33,
            days_left: 30,
        }
    }
}

impl RenewalPolicy {
    /// A policy that only looks at the remaining days: due when fewer than `days` remain
    /// (the CLI's `needs-renewal --within DAYS`).
    pub fn within_days(days: u32) -> Self {
        RenewalPolicy {
            percent_left: 0,
            days_left: days,
        }
    }

    /// Why the certificate is due at Unix time `now_unix`, or `None` when it is not.
    pub fn reason_at(&self, info: &CertInfo, now_unix: i64) -> Option<String> {
        let remaining = info.not_after_unix - now_unix;
        let lifetime = (info.not_after_unix - info.not_before_unix).max(1);
        let days = remaining.div_euclid(86_400);
        if remaining <= 0 {
            return Some(format!("expired on {}", info.not_after));
        }
        if self.days_left > 0 && remaining < i64::from(self.days_left) * 86_400 {
            return Some(format!(
                "{days} days left, fewer than the {} day threshold",
                self.days_left
            ));
        }
        if self.percent_left > 0
            && i128::from(remaining) * 100 < i128::from(lifetime) * i128::from(self.percent_left)
        {
            let pct = i128::from(remaining) * 100 / i128::from(lifetime);
            return Some(format!(
                "{pct}% of the lifetime left ({days} days), less than {}%",
                self.percent_left
            ));
        }
        None
    }
}

/// Whether `info` is due for renewal now under `policy`.
pub fn needs_renewal(info: &CertInfo, policy: &RenewalPolicy) -> bool {
    policy.reason_at(info, now_unix()).is_some()
}

/// Why `info` is due for renewal now under `policy`, or `None`.
pub fn renewal_reason(info: &CertInfo, policy: &RenewalPolicy) -> Option<String> {
    policy.reason_at(info, now_unix())
}

/// Options for [`Ca::renew`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenewOptions {
    /// Keep the existing private key instead of generating a new one of the same type.
    pub reuse_key: bool,
    /// Validity in days; `None` keeps the old certificate's lifetime (rounded to whole days).
    pub days: Option<u32>,
}

impl Ca {
    /// Issue a replacement for a leaf this CA signed: same subject, same SANs, same extended
    /// key usages, a new serial and validity period, and a new key of the same type (or the old
    /// key when `opts.reuse_key`; `old_key_pem` is then required and must match).
    ///
    /// Fails with [`Error::NotIssuedBy`] when `old_cert_pem` was not signed by this CA.
    pub fn renew(
        &self,
        old_cert_pem: impl AsRef<[u8]>,
        old_key_pem: Option<&[u8]>,
        opts: &RenewOptions,
    ) -> Result<CertAndKey> {
        // expiry is exactly why we renew: only the issuer relationship is checked here
        crate::inspect::verify_inner(old_cert_pem.as_ref(), self.cert_pem().as_bytes(), None)?;
        let der = first_cert_der(old_cert_pem.as_ref())?;
        let cert = parse_der(&der)?;
        let subject = cert.subject().to_string();

        let mut dn = DistinguishedName::new();
        for attr in cert.subject().iter_attributes() {
            let oid: Vec<u64> = attr
                .attr_type()
                .iter()
                .map(Iterator::collect)
                .unwrap_or_default();
            let Ok(value) = attr.as_str() else {
                return Err(Error::Certificate {
                    detail: format!(
                        "subject attribute {} of \"{subject}\" is not a string",
                        attr.attr_type()
                    ),
                });
            };
            dn.push(DnType::from_oid(&oid), value);
        }

        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push(d.parse::<San>()?),
                    GeneralName::IPAddress(bytes) => {
                        let ip = match bytes.len() {
                            4 => <[u8; 4]>::try_from(*bytes).ok().map(std::net::IpAddr::from),
                            16 => <[u8; 16]>::try_from(*bytes)
                                .ok()
                                .map(std::net::IpAddr::from),
                            _ => None,
                        };
                        if let Some(ip) = ip {
                            sans.push(San::Ip(ip));
                        }
                    }
                    _ => {}
                }
            }
        }

        let mut ekus = Vec::new();
        if let Ok(Some(ext)) = cert.extended_key_usage() {
            if ext.value.server_auth {
                ekus.push(ExtendedKeyUsagePurpose::ServerAuth);
            }
            if ext.value.client_auth {
                ekus.push(ExtendedKeyUsagePurpose::ClientAuth);
            }
        }
        if ekus.is_empty() {
            ekus.push(ExtendedKeyUsagePurpose::ServerAuth);
        }

        let days = opts.days.unwrap_or_else(|| {
            let secs =
                cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
            // rounded to whole days: the five minutes of back-dating are not part of the lifetime
            u32::try_from((secs + 43_200).div_euclid(86_400))
                .unwrap_or(1)
                .max(1)
        });
        check_days(days)?;

        let old_key_type = crate::inspect::inspect_at(old_cert_pem.as_ref(), 0)?
            .key_type()
            .ok_or_else(|| Error::Key {
                detail: format!("the key type of \"{subject}\" is not one this tool generates"),
            })?;
        let reuse = if opts.reuse_key {
            let key_pem = old_key_pem.ok_or_else(|| Error::Key {
                detail: "reusing the key needs the old private key".to_string(),
            })?;
            let key = load_key(key_pem)?;
            if cert.public_key().subject_public_key.data.as_ref()
                != rcgen::PublicKeyData::der_bytes(&key)
            {
                return Err(Error::KeyMismatch { subject });
            }
            let key_type = KeyType::of(&key)?;
            Some((key, String::from_utf8_lossy(key_pem).into_owned(), key_type))
        } else {
            None
        };
        let key_type = reuse.as_ref().map_or(old_key_type, |r| r.2);
        self.issue_leaf_ekus(
            dn,
            &sans,
            &ekus,
            key_type,
            days,
            reuse.map(|(k, p, _)| (k, p)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(nb: i64, na: i64) -> CertInfo {
        CertInfo {
            subject: String::new(),
            issuer: String::new(),
            serial: String::new(),
            sans: Vec::new(),
            not_before: nb.to_string(),
            not_after: na.to_string(),
            days_left: 0,
            key: String::new(),
            key_type: String::new(),
            sans_typed: Vec::new(),
            signature: String::new(),
            is_ca: false,
            sha256: String::new(),
            ext_key_usage: Vec::new(),
            not_before_unix: nb,
            not_after_unix: na,
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn default_policy_uses_the_earlier_trigger() {
        let p = RenewalPolicy::default();
        // 825-day cert: one third is 275 days, which comes before the 30-day floor
        let c = info(0, 825 * DAY);
        assert_eq!(p.reason_at(&c, 500 * DAY), None);
        assert!(
            p.reason_at(&c, 560 * DAY)
                .unwrap()
                .contains("% of the lifetime left")
        );
        // 60-day cert: one third is 20 days, the 30-day floor comes first
        let c = info(0, 60 * DAY);
        assert_eq!(p.reason_at(&c, 20 * DAY), None);
        assert_eq!(
            p.reason_at(&c, 31 * DAY).unwrap(),
            "29 days left, fewer than the 30 day threshold"
        );
        assert!(p.reason_at(&c, 61 * DAY).unwrap().starts_with("expired on"));
    }

    #[test]
    fn within_days_ignores_lifetime() {
        let p = RenewalPolicy::within_days(10);
        let c = info(0, 100 * DAY);
        assert_eq!(p.reason_at(&c, 89 * DAY), None);
        assert!(p.reason_at(&c, 91 * DAY).is_some());
    }
}

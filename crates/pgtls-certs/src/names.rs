//! Subject alternative names, CA name constraints and libpq's host-name matching.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{Error, Result};

/// One subject alternative name: a DNS name (wildcards such as `*.example.com` allowed) or an IP
/// address.
///
/// Parsing lowercases DNS names, drops one trailing dot and accepts IPv6 in brackets (`[::1]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum San {
    /// A DNS name, lowercase, possibly starting with `*.`.
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => f.write_str(name),
            San::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl FromStr for San {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let text = s.trim();
        let unbracketed = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(San::Ip(ip));
        }
        let invalid = |reason: &str| Error::InvalidSan {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let name = check_dns_name(text, true).map_err(|r| invalid(&r))?;
        Ok(San::Dns(name))
    }
}

/// Validate a DNS name (RFC 1123 labels; underscores allowed because Docker container names use
/// them) and return it lowercase without a trailing dot.
fn check_dns_name(text: &str, allow_wildcard: bool) -> std::result::Result<String, String> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    if name.is_empty() {
        return Err("empty name".to_string());
    }
    if name.len() > 253 {
        return Err("longer than 253 characters".to_string());
    }
    let mut labels = name.split('.').peekable();
    let mut first = true;
    while let Some(label) = labels.next() {
        if first && label == "*" {
            if !allow_wildcard {
                return Err("wildcards are not allowed here".to_string());
            }
            if labels.peek().is_none() {
                return Err("a wildcard needs a domain after it, as in *.example.com".to_string());
            }
            first = false;
            continue;
        }
        first = false;
        if label.is_empty() {
            return Err("empty label (two dots in a row or a leading dot)".to_string());
        }
        if label.len() > 63 {
            return Err(format!("label \"{label}\" is longer than 63 characters"));
        }
        if label.contains('*') {
            return Err(
                "a wildcard must be the whole leftmost label, as in *.example.com".to_string(),
            );
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("character '{bad}' is not allowed in a DNS name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label \"{label}\" starts or ends with a hyphen"));
        }
    }
    Ok(name)
}

/// A permitted subtree of a CA's name constraints: leaves may only name hosts inside these.
///
/// Parsed from `example.com` (that domain and every name below it), `.example.com` (only names
/// below it), `10.0.0.0/8` or `fd00::/8` (an address range) or a single address (`127.0.0.1`, a
/// /32 or /128 range).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameConstraint {
    /// A DNS subtree, lowercase; a leading dot excludes the domain itself.
    Dns(String),
    /// An address range.
    Ip {
        /// The network address (host bits cleared).
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
}

impl fmt::Display for NameConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameConstraint::Dns(d) => f.write_str(d),
            NameConstraint::Ip { addr, prefix } => write!(f, "{addr}/{prefix}"),
        }
    }
}

impl FromStr for NameConstraint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let text = s.trim();
        let invalid = |reason: String| Error::InvalidNameConstraint {
            value: s.to_string(),
            reason,
        };
        if let Some((addr, prefix)) = text.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| invalid(format!("\"{addr}\" is not an IP address")))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| invalid(format!("prefix length must be 0 to {max}")))?;
            return Ok(NameConstraint::Ip {
                addr: mask(addr, prefix),
                prefix,
            });
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(NameConstraint::Ip { addr, prefix });
        }
        let (dot, rest) = match text.strip_prefix('.') {
            Some(rest) => (".", rest),
            None => ("", text),
        };
        let name = check_dns_name(rest, false).map_err(invalid)?;
        Ok(NameConstraint::Dns(format!("{dot}{name}")))
    }
}

impl NameConstraint {
    /// Whether `san` lies inside this subtree. Names of the other type never do.
    pub fn permits(&self, san: &San) -> bool {
        match (self, san) {
            (NameConstraint::Dns(domain), San::Dns(name)) => {
                let name = name.to_ascii_lowercase();
                if let Some(sub) = domain.strip_prefix('.') {
                    name.len() > sub.len() + 1 && name.ends_with(domain.as_str())
                } else {
                    name == *domain || name.ends_with(&format!(".{domain}"))
                }
            }
            (NameConstraint::Ip { addr, prefix }, San::Ip(ip)) => {
                addr.is_ipv4() == ip.is_ipv4() && mask(*ip, *prefix) == *addr
            }
            _ => false,
        }
    }

    pub(crate) fn to_rcgen(&self) -> rcgen::GeneralSubtree {
        match self {
            NameConstraint::Dns(d) => rcgen::GeneralSubtree::DnsName(d.clone()),
            NameConstraint::Ip { addr, prefix } => rcgen::GeneralSubtree::IpAddress(
                rcgen::CidrSubnet::from_addr_prefix(*addr, *prefix),
            ),
        }
    }
}

/// Check a SAN against a set of permitted subtrees with RFC 5280 semantics: a name type with no
/// subtree in the set is unconstrained.
pub(crate) fn check_constraints(permitted: &[NameConstraint], san: &San) -> Result<()> {
    let same_type: Vec<&NameConstraint> = permitted
        .iter()
        .filter(|c| {
            matches!(
                (c, san),
                (NameConstraint::Dns(_), San::Dns(_)) | (NameConstraint::Ip { .. }, San::Ip(_))
            )
        })
        .collect();
    if same_type.is_empty() || same_type.iter().any(|c| c.permits(san)) {
        return Ok(());
    }
    Err(Error::NameConstraintViolation {
        san: san.to_string(),
        permitted: permitted
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// libpq's comparison of one certificate DNS name with the host name (PostgreSQL 14+
/// `pq_verify_peer_name_matches_certificate_name`): exact case-insensitive match, or a `*.rest`
/// wildcard matching exactly one non-empty leftmost label.
pub(crate) fn libpq_name_matches(pattern: &str, host: &str) -> bool {
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = pattern.strip_prefix('*') else {
        return false;
    };
    if !suffix.starts_with('.') || suffix.len() < 2 || host.len() < pattern.len() {
        return false;
    }
    let split = host.len() - suffix.len();
    let (Some(prefix), Some(host_suffix)) = (host.get(..split), host.get(split..)) else {
        return false;
    };
    host_suffix.eq_ignore_ascii_case(suffix) && !prefix.is_empty() && !prefix.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_parse() {
        assert_eq!(
            "DB.Example.com.".parse::<San>(),
            Ok(San::Dns("db.example.com".into()))
        );
        assert_eq!(
            "*.example.com".parse::<San>(),
            Ok(San::Dns("*.example.com".into()))
        );
        assert_eq!(
            "supabase_db".parse::<San>(),
            Ok(San::Dns("supabase_db".into()))
        );
        assert_eq!(
            "127.0.0.1".parse::<San>(),
            Ok(San::Ip("127.0.0.1".parse().unwrap()))
        );
        assert_eq!("[::1]".parse::<San>(), Ok(San::Ip("::1".parse().unwrap())));
        for bad in ["", "a..b", "*", "a.*.b", "f*o.com", "-a.com", "a b", "x.-y"] {
            assert!(
                matches!(bad.parse::<San>(), Err(Error::InvalidSan { ref value, .. }) if value == bad),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn invalid_san_message_quotes_input() {
        let err = "a b".parse::<San>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid subject alternative name \"a b\": character ' ' is not allowed in a DNS name"
        );
    }

    #[test]
    fn constraints_parse_and_match() {
        let dom: NameConstraint = "Example.com".parse().unwrap();
        assert_eq!(dom, NameConstraint::Dns("example.com".into()));
        assert!(dom.permits(&"example.com".parse().unwrap()));
        assert!(dom.permits(&"db.example.com".parse().unwrap()));
        assert!(dom.permits(&"*.example.com".parse().unwrap()));
        assert!(!dom.permits(&"badexample.com".parse().unwrap()));
        let sub: NameConstraint = ".example.com".parse().unwrap();
        assert!(!sub.permits(&"example.com".parse().unwrap()));
        assert!(sub.permits(&"a.example.com".parse().unwrap()));
        let net: NameConstraint = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.permits(&"10.200.0.1".parse().unwrap()));
        assert!(!net.permits(&"11.0.0.1".parse().unwrap()));
        assert!(!net.permits(&"::1".parse().unwrap()));
        let host: NameConstraint = "::1".parse().unwrap();
        assert_eq!(host.to_string(), "::1/128");
        assert!("10.0.0.0/33".parse::<NameConstraint>().is_err());
        assert!("*.example.com".parse::<NameConstraint>().is_err());
    }

    #[test]
    fn constraint_types_are_independent() {
        let only_dns = vec![NameConstraint::Dns("example.com".into())];
        assert!(check_constraints(&only_dns, &"127.0.0.1".parse().unwrap()).is_ok());
        assert_eq!(
            check_constraints(&only_dns, &"localhost".parse().unwrap()),
            Err(Error::NameConstraintViolation {
                san: "localhost".into(),
                permitted: "example.com".into()
            })
        );
    }

    #[test]
    fn libpq_wildcards() {
        assert!(libpq_name_matches("db.example.com", "DB.example.COM"));
        assert!(libpq_name_matches("*.example.com", "db.example.com"));
        assert!(libpq_name_matches("*.Example.com", "db.example.COM"));
        assert!(!libpq_name_matches("*.example.com", "a.db.example.com"));
        assert!(!libpq_name_matches("*.example.com", "example.com"));
        assert!(!libpq_name_matches("*.example.com", ".example.com"));
        assert!(!libpq_name_matches("*example.com", "db.example.com"));
        assert!(!libpq_name_matches("db.example.com", "db2.example.com"));
    }
}

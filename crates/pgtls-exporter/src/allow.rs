//! The target allowlist: which endpoints a `/probe` request may make the exporter connect to.
//!
//! Entries are CIDRs (`10.0.0.0/8`, `fd00::/8`), single IP addresses (`192.0.2.7`), host names
//! (`db.example.com`) and wildcard names (`*.db.example.com`: any name below it, not the name
//! itself). A target that is an IP literal is allowed when a CIDR or IP entry contains it. A
//! target that is a host name is allowed when a name entry matches it; otherwise, when CIDR
//! entries exist, the name is resolved once (within the probe's deadline) and the probe then
//! connects to that very address, with the name kept for the certificate check, so a second
//! lookup cannot point the probe elsewhere (DNS rebinding).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pgtls_probe::Target;

use crate::error::{Error, Result};

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The parsed allowlist. Empty means every target is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    nets: Vec<Net>,
    names: Vec<String>,
    suffixes: Vec<String>,
    entries: Vec<String>,
}

/// Where an allowed probe connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The endpoint to connect to (an address when the name was resolved here).
    pub connect: Target,
    /// The name the certificate is checked against when [`Allowed::connect`] is an address
    /// resolved from it.
    pub server_name: Option<String>,
}

/// Why a target was refused (the 403 body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Allowlist {
    /// Parses entries (`CIDR`, `IP`, `HOST` or `*.DOMAIN`); the error names the bad entry.
    ///
    /// ```
    /// use pgtls_exporter::Allowlist;
    /// let a = Allowlist::parse(["10.0.0.0/8", "db.example.com", "*.pg.example.com"])?;
    /// assert!(a.allows_ip("10.1.2.3".parse().unwrap()));
    /// assert!(!a.allows_ip("192.168.1.1".parse().unwrap()));
    /// assert!(a.allows_name("DB.example.com."));
    /// assert!(a.allows_name("eu.pg.example.com"));
    /// assert!(!a.allows_name("pg.example.com"));
    /// # Ok::<(), pgtls_exporter::Error>(())
    /// ```
    pub fn parse<I, S>(entries: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Self::default();
        for e in entries {
            out.add(e.as_ref())?;
        }
        Ok(out)
    }

    fn add(&mut self, input: &str) -> Result<()> {
        let bad = |reason: &str| Error::AllowTarget {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(bad("empty entry"));
        }
        if let Some((addr, prefix)) = s.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| bad("the part before '/' is not an IP address"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("prefix length must be a number in 0..={max}")))?;
            self.nets.push(Net {
                addr: addr.to_canonical(),
                prefix: if addr.is_ipv6() && addr.to_canonical().is_ipv4() {
                    prefix.saturating_sub(96)
                } else {
                    prefix
                },
            });
        } else if let Ok(addr) = s.parse::<IpAddr>() {
            let addr = addr.to_canonical();
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            self.nets.push(Net { addr, prefix });
        } else if let Some(domain) = s.strip_prefix("*.") {
            let domain = normal_name(domain);
            if !valid_name(&domain) {
                return Err(bad("not a host name after '*.'"));
            }
            self.suffixes.push(format!(".{domain}"));
        } else {
            let name = normal_name(s);
            if name.contains(':') {
                return Err(bad(
                    "ports are not part of an entry; write the host, CIDR or IP alone",
                ));
            }
            if !valid_name(&name) {
                return Err(bad("not a CIDR, an IP address, a host name or *.domain"));
            }
            self.names.push(name);
        }
        self.entries.push(s.to_string());
        Ok(())
    }

    /// Adds the entries of `other`.
    pub fn extend(&mut self, other: Allowlist) {
        self.nets.extend(other.nets);
        self.names.extend(other.names);
        self.suffixes.extend(other.suffixes);
        self.entries.extend(other.entries);
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as given.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether a CIDR or IP entry contains `ip`.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// Whether a name entry matches `host` (case-insensitive, trailing dot ignored).
    pub fn allows_name(&self, host: &str) -> bool {
        let h = normal_name(host);
        self.names.contains(&h) || self.suffixes.iter().any(|s| h.ends_with(s.as_str()))
    }

    /// Decides a target: where to connect, or why not. A host name that no name entry allows
    /// is resolved (bounded by `within`) only when CIDR entries exist, and allowed when its
    /// first address (the one a probe would use) is inside one.
    pub async fn decide(&self, target: &Target, within: Duration) -> Result<Allowed, Denied> {
        if let Some(ip) = target.ip() {
            return if self.allows_ip(ip) {
                Ok(Allowed {
                    connect: target.clone(),
                    server_name: None,
                })
            } else {
                Err(Denied(format!(
                    "target {target} is not in the exporter's allowlist"
                )))
            };
        }
        if self.allows_name(target.host()) {
            return Ok(Allowed {
                connect: target.clone(),
                server_name: None,
            });
        }
        if self.nets.is_empty() {
            return Err(Denied(format!(
                "target {target} is not in the exporter's allowlist"
            )));
        }
        let lookup = tokio::net::lookup_host((target.host(), target.port()));
        let first: Option<SocketAddr> = match tokio::time::timeout(within, lookup).await {
            Ok(Ok(mut addrs)) => addrs.next(),
            Ok(Err(_)) | Err(_) => None,
        };
        match first {
            Some(a) if self.allows_ip(a.ip()) => Ok(Allowed {
                connect: Target::new(a.ip().to_canonical().to_string(), target.port()),
                server_name: Some(target.host().to_string()),
            }),
            Some(a) => Err(Denied(format!(
                "target {target} resolves to {}, which is not in the exporter's allowlist",
                a.ip()
            ))),
            None => Err(Denied(format!(
                "target {target} is not in the exporter's allowlist by name and could not be resolved"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_and_addresses() {
        let a = Allowlist::parse(["10.0.0.0/8", "192.0.2.7", "fd00::/8", "0.0.0.0/0"]).unwrap();
        assert!(a.allows_ip(ip("10.255.0.1")));
        assert!(a.allows_ip(ip("::ffff:10.1.1.1")));
        assert!(a.allows_ip(ip("fd12::1")));
        assert!(!a.allows_ip(ip("fe80::1")));
        let b = Allowlist::parse(["192.0.2.7", "::1"]).unwrap();
        assert!(b.allows_ip(ip("192.0.2.7")));
        assert!(!b.allows_ip(ip("192.0.2.8")));
        assert!(b.allows_ip(ip("::1")));
        assert!(!b.allows_ip(ip("127.0.0.1")));
        let c = Allowlist::parse(["::ffff:10.0.0.0/104"]).unwrap();
        assert!(c.allows_ip(ip("10.9.9.9")));
        assert!(!c.allows_ip(ip("11.0.0.0")));
    }

    #[test]
    fn names_and_wildcards() {
        let a = Allowlist::parse(["Db.Example.com.", "*.pg.example.com"]).unwrap();
        assert!(a.allows_name("db.example.com"));
        assert!(!a.allows_name("xdb.example.com"));
        assert!(a.allows_name("a.b.pg.example.com"));
        assert!(!a.allows_name("pg.example.com"));
        assert!(!a.allows_name("evilpg.example.com"));
        assert!(!a.allows_ip(ip("127.0.0.1")));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "",
            "10.0.0.0/33",
            "x/8",
            "::/129",
            "db:5432",
            "a b",
            "*.",
            "a..b",
            "*.x y",
        ] {
            let e = Allowlist::parse([bad]).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid allow-target \"{bad}\"")),
                "{bad}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn decide_by_address_and_by_resolution() {
        let a = Allowlist::parse(["127.0.0.0/8"]).unwrap();
        let ok = a
            .decide(&Target::new("127.0.0.1", 5432), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(ok.connect, Target::new("127.0.0.1", 5432));
        let denied = a
            .decide(&Target::new("10.0.0.1", 5432), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(denied.0.contains("not in the exporter's allowlist"));
        // localhost resolves (from /etc/hosts) to a loopback address: allowed, pinned to it.
        let by_name = a
            .decide(&Target::new("localhost", 5432), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(by_name.server_name.as_deref(), Some("localhost"));
        assert!(by_name.connect.ip().is_some_and(|i| i.is_loopback()));
        let names_only = Allowlist::parse(["db.example.com"]).unwrap();
        assert!(
            names_only
                .decide(&Target::new("localhost", 5432), Duration::from_secs(1))
                .await
                .is_err()
        );
    }
}

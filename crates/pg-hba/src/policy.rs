//! The hardening policy: TLS from everywhere except loopback and trusted networks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

use crate::document::Document;
use crate::edit::Position;
use crate::error::{Error, Result};
use crate::model::{Address, ConnectionType, Encryption, Item, Method, ParseOptions, Rule, ip_in};

/// The `supabase/postgres` 15.x images' default `pg_hba.conf` (`pg_hba.conf_15.j2` in
/// supabase/postgres, commit d9f379ba; the 15.8 images ship it), used when a deployment does not
/// mount its own file.
pub const SUPABASE_DEFAULT_HBA: &str = "\
# trust local connections
local all  supabase_admin     scram-sha-256
local all  all                peer map=supabase_map
host  all  all  127.0.0.1/32  trust
host  all  all  ::1/128       trust

# IPv4 external connections
host  all  all  10.0.0.0/8  scram-sha-256
host  all  all  172.16.0.0/12  scram-sha-256
host  all  all  192.168.0.0/16  scram-sha-256
host  all  all  0.0.0.0/0     scram-sha-256

# IPv6 external connections
host  all  all  ::0/0     scram-sha-256
";

/// The `supabase/postgres` 17.x images' default `pg_hba.conf` (`pg_hba.conf.j2` in
/// supabase/postgres, commit 55e421ae, which `Dockerfile-17` copies to
/// `/etc/postgresql/pg_hba.conf`): no private-range `host` lines, `::/0` for IPv6.
pub const SUPABASE_DEFAULT_HBA_17: &str = "\
# trust local connections
local all  supabase_admin     scram-sha-256
local all  all                peer map=supabase_map
host  all  all  127.0.0.1/32  trust
host  all  all  ::1/128       trust

# IPv4 external connections
host  all  all  0.0.0.0/0     scram-sha-256
# IPv6 external connections
host  all  all  ::/0          scram-sha-256
";

/// The default `pg_hba.conf` of the `supabase/postgres` images of PostgreSQL `version`
/// (16 has no image: it gets the newer template, as 17).
pub fn supabase_default_hba(version: crate::PgVersion) -> &'static str {
    match version {
        crate::PgVersion::V15 => SUPABASE_DEFAULT_HBA,
        _ => SUPABASE_DEFAULT_HBA_17,
    }
}

/// An address range `IP/bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub bits: u8,
}

impl Cidr {
    fn address(self) -> Address {
        Address::Cidr {
            addr: self.addr,
            bits: self.bits,
        }
    }
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let err = |reason: &str| Error::InvalidCidr {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (ip, bits) = s.split_once('/').ok_or_else(|| err("expected IP/bits"))?;
        let addr: IpAddr = ip.parse().map_err(|_| err("not an IP address"))?;
        let bits: u8 = bits
            .parse()
            .map_err(|_| err("prefix length is not a number"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return Err(err(&format!("prefix length is above {max}")));
        }
        Ok(Self { addr, bits })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", crate::model::format_ip(self.addr), self.bits)
    }
}

/// Something the policy could not fix by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The record concerned, if any.
    pub line: Option<usize>,
    /// What and why.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The hardening policy.
///
/// Applied to a file it: keeps `local` and loopback rules and every other rule and comment;
/// makes sure each trusted CIDR has `host all all CIDR <method>` (plaintext allowed, for
/// Docker-internal services) placed before any rule that would shadow it; turns catch-all
/// `host` rules (`0.0.0.0/0`, `::/0`, `all`) into `hostssl`; makes sure
/// `hostssl all all 0.0.0.0/0 <method>` and `::/0` exist; and ends with
/// `hostnossl all all 0.0.0.0/0 reject` and `::/0`. Rules that still accept plaintext from
/// outside the trusted ranges before the reject lines are reported as warnings. Applying
/// the policy to its own output changes nothing.
///
/// Addresses inside a trusted network that must not get plaintext (the network's Docker
/// gateway, which is where the host's loopback and Docker's userland proxy come from, and proxy
/// containers that forward public clients without the PROXY protocol) are [`Policy::excluded`]:
/// each gets `hostnossl all all ADDR/32 reject` (`/128` for IPv6) placed before the first rule
/// that would admit it without TLS. TLS from them still matches the rules after it.
///
/// When the trusted networks are narrower than the private ranges, catch-all `host all all`
/// rules for exactly `10.0.0.0/8`, `172.16.0.0/12` or `192.168.0.0/16` (the supabase/postgres
/// image's defaults, and what earlier pgtls versions trusted) that are not trusted become
/// `hostssl`, so narrowing really narrows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Networks allowed without TLS (default: the Docker private ranges).
    pub trusted_cidrs: Vec<Cidr>,
    /// Addresses refused without TLS even inside a trusted network (gateways, proxies).
    pub excluded: Vec<IpAddr>,
    /// Method for the trusted and TLS rules (default `scram-sha-256`).
    pub method: Method,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            trusted_cidrs: vec![
                Cidr {
                    addr: IpAddr::from([10, 0, 0, 0]),
                    bits: 8,
                },
                Cidr {
                    addr: IpAddr::from([172, 16, 0, 0]),
                    bits: 12,
                },
                Cidr {
                    addr: IpAddr::from([192, 168, 0, 0]),
                    bits: 16,
                },
            ],
            excluded: Vec::new(),
            method: Method::ScramSha256,
        }
    }
}

/// The RFC 1918 ranges as the image's default file writes them.
fn private_range(addr: Option<&Address>) -> bool {
    Policy::default()
        .trusted_cidrs
        .iter()
        .any(|c| addr == Some(&c.address()))
}

fn any_v4() -> Address {
    Address::Cidr {
        addr: IpAddr::from([0, 0, 0, 0]),
        bits: 0,
    }
}

fn any_v6() -> Address {
    Address::Cidr {
        addr: IpAddr::from([0u16; 8]),
        bits: 0,
    }
}

fn all_all(rule: &Rule) -> bool {
    rule.databases == [Item::All] && rule.users == [Item::All]
}

/// Address covers the whole of a family (`v6` selects which); `all` covers both.
fn is_catch_all(addr: Option<&Address>, v6: bool) -> bool {
    match addr {
        Some(Address::All) => true,
        Some(Address::Cidr { addr, bits: 0 }) => addr.is_ipv6() == v6,
        Some(Address::Mask { addr, mask }) => addr.is_ipv6() == v6 && mask.is_unspecified(),
        _ => false,
    }
}

fn is_loopback(addr: Option<&Address>) -> bool {
    match addr.and_then(Address::network) {
        Some((net, mask)) => match (net, mask) {
            (IpAddr::V4(n), IpAddr::V4(m)) => n.octets()[0] == 127 && u32::from(m) >= 0xff00_0000,
            (IpAddr::V6(n), IpAddr::V6(m)) => n.is_loopback() && u128::from(m) == u128::MAX,
            _ => false,
        },
        None => false,
    }
}

impl Policy {
    /// A policy with these trusted networks.
    pub fn with_trusted<I, S>(cidrs: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let trusted_cidrs = cidrs
            .into_iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<Cidr>>>()?;
        Ok(Self {
            trusted_cidrs,
            ..Self::default()
        })
    }

    /// The same policy, also refusing plaintext from each of `addrs` (see [`Policy::excluded`]).
    #[must_use]
    pub fn excluding<I: IntoIterator<Item = IpAddr>>(mut self, addrs: I) -> Self {
        for a in addrs {
            if !self.excluded.contains(&a) {
                self.excluded.push(a);
            }
        }
        self
    }

    fn within_trusted(&self, addr: &Address) -> bool {
        let Some((net, mask)) = addr.network() else {
            return false;
        };
        self.trusted_cidrs.iter().any(|c| {
            let (cn, cm) = (c.addr, crate::model::mask_from_bits(c.addr, c.bits));
            match (mask, cm) {
                (IpAddr::V4(m), IpAddr::V4(tm)) => {
                    u32::from(m) & u32::from(tm) == u32::from(tm) && ip_in(net, cn, cm)
                }
                (IpAddr::V6(m), IpAddr::V6(tm)) => {
                    u128::from(m) & u128::from(tm) == u128::from(tm) && ip_in(net, cn, cm)
                }
                _ => false,
            }
        })
    }

    /// Apply the policy to `doc`, returning the edited document and warnings.
    pub fn apply(&self, doc: &Document) -> Result<(Document, Vec<Warning>)> {
        if let Some(d) = doc.validate().into_iter().next() {
            return Err(Error::InvalidDocument {
                file: d.file,
                line: d.line,
                message: d.message,
            });
        }
        let mut doc = doc.clone();
        let m = self.method;

        // 1. Catch-all plaintext-capable `host` rules become `hostssl`.
        let to_convert: Vec<usize> = doc
            .rules()
            .filter(|(_, r)| {
                r.connection == ConnectionType::Host
                    && r.method != Method::Reject
                    && (is_catch_all(r.address.as_ref(), false)
                        || is_catch_all(r.address.as_ref(), true)
                        || (all_all(r)
                            && private_range(r.address.as_ref())
                            && !r.address.as_ref().is_some_and(|a| self.within_trusted(a))))
            })
            .map(|(l, _)| l)
            .collect();
        doc.set_connection_types(&to_convert, ConnectionType::HostSsl)?;

        // 2. Trusted networks: plaintext allowed, placed before anything that would shadow them.
        for cidr in &self.trusted_cidrs {
            let addr = cidr.address();
            let rule = Rule::new(ConnectionType::Host, Some(addr.clone()), m);
            let satisfied = doc.rules().any(|(_, r)| {
                matches!(
                    r.connection,
                    ConnectionType::Host | ConnectionType::HostNoSsl
                ) && all_all(r)
                    && r.method != Method::Reject
                    && r.address.as_ref() == Some(&addr)
            });
            if satisfied {
                continue;
            }
            let shadow = doc
                .rules()
                .find(|(_, r)| {
                    r.connection.admits(Encryption::None)
                        && r.connection != ConnectionType::Local
                        && r.address.as_ref().is_some_and(|a| contains_cidr(a, *cidr))
                })
                .map(|(l, _)| l);
            if let Some(line) = shadow {
                doc.insert(Position::Before(line), &rule)?
            } else {
                // Before the TLS catch-alls if present, else at the end.
                let anchor = doc
                    .rules()
                    .find(|(_, r)| {
                        all_all(r)
                            && (is_catch_all(r.address.as_ref(), false)
                                || is_catch_all(r.address.as_ref(), true))
                    })
                    .map(|(l, _)| l);
                match anchor {
                    Some(line) => doc.insert(Position::Before(line), &rule)?,
                    None => doc.insert(Position::End, &rule)?,
                }
            };
        }

        // 2b. Excluded addresses (gateways, proxies): a plaintext reject before the first rule
        // that would let them in without TLS.
        for ip in &self.excluded {
            let host = Cidr {
                addr: *ip,
                bits: if ip.is_ipv4() { 32 } else { 128 },
            };
            let addr = host.address();
            let first_plain = doc
                .rules()
                .find(|(_, r)| {
                    r.connection.admits(Encryption::None)
                        && r.connection != ConnectionType::Local
                        && r.method != Method::Reject
                        && r.address.as_ref().is_some_and(|a| contains_cidr(a, host))
                })
                .map(|(l, _)| l);
            let Some(first_plain) = first_plain else {
                continue; // nothing admits it without TLS
            };
            let rejected_before = doc.rules().any(|(l, r)| {
                l < first_plain
                    && r.connection == ConnectionType::HostNoSsl
                    && all_all(r)
                    && r.method == Method::Reject
                    && r.address.as_ref().is_some_and(|a| contains_cidr(a, host))
            });
            if !rejected_before {
                let rule = Rule::new(ConnectionType::HostNoSsl, Some(addr), Method::Reject);
                doc.insert(Position::Before(first_plain), &rule)?;
            }
        }

        // 3. TLS catch-alls, then 4. the explicit plaintext rejects, for both families.
        for v6 in [false, true] {
            let any = if v6 { any_v6() } else { any_v4() };
            let has_ssl = doc.rules().any(|(_, r)| {
                r.connection == ConnectionType::HostSsl
                    && all_all(r)
                    && r.method != Method::Reject
                    && is_catch_all(r.address.as_ref(), v6)
            });
            if !has_ssl {
                let rule = Rule::new(ConnectionType::HostSsl, Some(any.clone()), m);
                let anchor = doc
                    .rules()
                    .find(|(_, r)| {
                        r.connection == ConnectionType::HostNoSsl
                            && r.method == Method::Reject
                            && is_catch_all(r.address.as_ref(), v6)
                    })
                    .map(|(l, _)| l);
                match anchor {
                    Some(line) => doc.insert(Position::Before(line), &rule)?,
                    None => doc.insert(Position::End, &rule)?,
                };
            }
        }
        for v6 in [false, true] {
            let any = if v6 { any_v6() } else { any_v4() };
            let has_reject = doc.rules().any(|(_, r)| {
                r.connection == ConnectionType::HostNoSsl
                    && all_all(r)
                    && r.method == Method::Reject
                    && is_catch_all(r.address.as_ref(), v6)
            });
            if !has_reject {
                let rule = Rule::new(ConnectionType::HostNoSsl, Some(any), Method::Reject);
                doc.insert(Position::End, &rule)?;
            }
        }

        // Warnings: earlier rules that still let plaintext through from untrusted places.
        let mut warnings = Vec::new();
        for (line, r) in doc.rules() {
            if r.connection == ConnectionType::Local
                || r.method == Method::Reject
                || !r.connection.admits(Encryption::None)
            {
                continue;
            }
            let Some(addr) = &r.address else { continue };
            if is_loopback(Some(addr)) || self.within_trusted(addr) {
                continue;
            }
            warnings.push(Warning {
                line: Some(line),
                message: format!(
                    "\"{r}\" still accepts connections without TLS from {} (it comes before the hostnossl reject rules); change it to hostssl or narrow it to a trusted network",
                    addr.to_fields().join(" ")
                ),
            });
        }
        Ok((doc, warnings))
    }

    /// Apply the policy to text (a convenience over [`Policy::apply`]).
    pub fn apply_text(&self, text: &str, options: ParseOptions) -> Result<(String, Vec<Warning>)> {
        let (doc, w) = self.apply(&Document::parse(text, options))?;
        Ok((doc.to_string(), w))
    }
}

/// Whether `addr` matches every address of `cidr` (so an earlier rule with it shadows a
/// rule for `cidr`).
fn contains_cidr(addr: &Address, cidr: Cidr) -> bool {
    match addr {
        Address::All => true,
        _ => match addr.network() {
            Some((net, mask)) => {
                let cm = crate::model::mask_from_bits(cidr.addr, cidr.bits);
                match (net, mask, cidr.addr, cm) {
                    (IpAddr::V4(n), IpAddr::V4(m), IpAddr::V4(c), IpAddr::V4(k)) => {
                        let (m, k) = (u32::from(m), u32::from(k));
                        m & k == m && (u32::from(n) ^ u32::from(c)) & m == 0
                    }
                    (IpAddr::V6(n), IpAddr::V6(m), IpAddr::V6(c), IpAddr::V6(k)) => {
                        let (m, k) = (u128::from(m), u128::from(k));
                        m & k == m && (u128::from(n) ^ u128::from(c)) & m == 0
                    }
                    _ => false,
                }
            }
            None => false,
        },
    }
}

/// The `supabase/postgres` image's default `pg_hba.conf` with the default [`Policy`] applied.
pub fn supabase_default_hardened() -> Result<(String, Vec<Warning>)> {
    Policy::default().apply_text(SUPABASE_DEFAULT_HBA, ParseOptions::default())
}

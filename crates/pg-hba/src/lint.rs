//! Security lint: findings with stable codes.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::document::Document;
use crate::model::{Address, ConnectionType, Item, Method, Rule, ip_in, mask_from_bits};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Weakens security or hides a mistake.
    Warning,
    /// Lets attackers in or cannot work.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code (see [`lint`] for the list).
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// File name from the parse options.
    pub file: String,
    /// The record's first physical line.
    pub line: usize,
    /// What is wrong, naming the rule.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// What the linter knows about the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// The server's `ssl` setting, when known (`Some(false)` enables `hostssl-ssl-off`).
    pub ssl: Option<bool>,
}

/// Every lint code, for documentation and tests.
pub const LINT_CODES: [&str; 8] = [
    "trust-non-loopback",
    "weak-method",
    "plaintext-public",
    "tls-without-nossl-reject",
    "shadowed",
    "duplicate",
    "missing-family-counterpart",
    "hostssl-ssl-off",
];

/// Lint the valid rules of `doc`. Codes:
///
/// - `trust-non-loopback` (error): `trust` on a TCP rule whose address is not loopback only.
/// - `weak-method` (warning): `md5` or `password`.
/// - `plaintext-public` (warning): a `host`/`hostnossl`/`hostnogssenc` rule that accepts
///   connections without TLS from addresses outside private and loopback ranges.
/// - `tls-without-nossl-reject` (warning): `hostssl` rules but no `hostnossl ... reject`.
/// - `shadowed` (warning): an earlier rule matches every connection this one would.
/// - `duplicate` (warning): the same rule appears earlier.
/// - `missing-family-counterpart` (info): a rule for all IPv4 (`0.0.0.0/0`) or all IPv6
///   (`::/0`) without the same rule for the other family.
/// - `hostssl-ssl-off` (error): `hostssl` rules while the server has `ssl = off`
///   (only when [`LintOptions::ssl`] says so).
pub fn lint(doc: &Document, options: &LintOptions) -> Vec<Finding> {
    let file = doc.options().file_name.clone();
    let rules: Vec<(usize, &Rule)> = doc.rules().collect();
    let mut out = Vec::new();
    let mut push = |code: &'static str, severity, line, message: String, hint: &str| {
        out.push(Finding {
            code,
            severity,
            file: file.clone(),
            line,
            message,
            hint: hint.to_owned(),
        });
    };
    for (i, (line, rule)) in rules.iter().enumerate() {
        let line = *line;
        let text = rule.to_string();
        let tcp = rule.connection != ConnectionType::Local;
        if tcp && rule.method == Method::Trust && !is_loopback_only(rule.address.as_ref()) {
            push(
                "trust-non-loopback",
                Severity::Error,
                line,
                format!(
                    "\"{text}\" lets anyone from {} in without a password",
                    addr_text(rule)
                ),
                "use scram-sha-256, or limit trust to 127.0.0.1/32 and ::1/128",
            );
        }
        if matches!(rule.method, Method::Md5 | Method::Password) {
            push(
                "weak-method",
                Severity::Warning,
                line,
                format!("\"{text}\" uses {}", rule.method),
                "use scram-sha-256 (set password_encryption = 'scram-sha-256' and reset the passwords)",
            );
        }
        if tcp
            && rule.method != Method::Reject
            && rule.connection.admits(crate::Encryption::None)
            && rule.address.as_ref().is_some_and(reaches_public)
        {
            push(
                "plaintext-public",
                Severity::Warning,
                line,
                format!(
                    "\"{text}\" accepts connections without TLS from public addresses ({})",
                    addr_text(rule)
                ),
                "use hostssl for public ranges and end with hostnossl ... reject lines",
            );
        }
        if options.ssl == Some(false) && rule.connection == ConnectionType::HostSsl {
            push(
                "hostssl-ssl-off",
                Severity::Error,
                line,
                format!("hostssl record cannot match because SSL is disabled: \"{text}\""),
                "set ssl = on (with ssl_cert_file and ssl_key_file) in postgresql.conf",
            );
        }
        if let Some((earlier, prev)) = rules[..i].iter().find(|(_, p)| covers(p, rule)) {
            if prev.method == rule.method && prev.options == rule.options && covers(rule, prev) {
                // Same connections, same method and options: a copy.
                push(
                    "duplicate",
                    Severity::Warning,
                    line,
                    format!("\"{text}\" repeats line {earlier}"),
                    "remove the later copy",
                );
            } else {
                push(
                    "shadowed",
                    Severity::Warning,
                    line,
                    format!(
                        "\"{text}\" can never match: line {earlier} (\"{prev}\") matches every connection it would"
                    ),
                    "move the rule above the broader one, or remove it",
                );
            }
        }
        if tcp && let Some(Address::Cidr { addr, bits: 0 }) = &rule.address {
            let want_v6 = addr.is_ipv4();
            let found = rules.iter().any(|(_, o)| {
                    o.connection == rule.connection
                        && o.databases == rule.databases
                        && o.users == rule.users
                        && o.method == rule.method
                        && matches!(&o.address, Some(Address::Cidr { addr: a, bits: 0 }) if a.is_ipv6() == want_v6)
                });
            if !found {
                let (this, other) = if want_v6 {
                    ("IPv4", "::/0")
                } else {
                    ("IPv6", "0.0.0.0/0")
                };
                push(
                    "missing-family-counterpart",
                    Severity::Info,
                    line,
                    format!("\"{text}\" covers all {this} but there is no matching {other} rule"),
                    "add the same rule for the other address family so both behave alike",
                );
            }
        }
    }
    let first_ssl = rules
        .iter()
        .find(|(_, r)| r.connection == ConnectionType::HostSsl)
        .map(|(l, _)| *l);
    let has_reject = rules
        .iter()
        .any(|(_, r)| r.connection == ConnectionType::HostNoSsl && r.method == Method::Reject);
    if let (Some(line), false) = (first_ssl, has_reject) {
        out.push(Finding {
            code: "tls-without-nossl-reject",
            severity: Severity::Warning,
            file: file.clone(),
            line,
            message: "hostssl rules but no \"hostnossl ... reject\" rule: a later or added host rule can still accept plaintext".to_owned(),
            hint: "end the file with \"hostnossl all all 0.0.0.0/0 reject\" and \"hostnossl all all ::/0 reject\"".to_owned(),
        });
    }
    out.sort_by_key(|f| f.line);
    out
}

fn addr_text(rule: &Rule) -> String {
    rule.address
        .as_ref()
        .map_or_else(|| "the socket".to_owned(), |a| a.to_fields().join(" "))
}

const PRIVATE: [(&str, u8); 7] = [
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("127.0.0.0", 8),
    ("169.254.0.0", 16),
    ("fc00::", 7),
    ("fe80::", 10),
];

fn range_of(addr: &Address) -> Option<(IpAddr, IpAddr)> {
    addr.network()
}

/// Whether `inner`'s range (net, mask) lies inside `outer`'s (contiguous masks only).
fn range_within(inner: (IpAddr, IpAddr), outer: (IpAddr, IpAddr)) -> bool {
    let (inet, imask) = inner;
    let (onet, omask) = outer;
    match (imask, omask) {
        (IpAddr::V4(im), IpAddr::V4(om)) => {
            let (im, om) = (u32::from(im), u32::from(om));
            im & om == om && ip_in(inet, onet, omask)
        }
        (IpAddr::V6(im), IpAddr::V6(om)) => {
            let (im, om) = (u128::from(im), u128::from(om));
            im & om == om && ip_in(inet, onet, omask)
        }
        _ => false,
    }
}

fn is_loopback_only(addr: Option<&Address>) -> bool {
    let Some(range) = addr.and_then(range_of) else {
        return false;
    };
    [("127.0.0.0", 8u8), ("::1", 128)].iter().any(|(n, b)| {
        n.parse::<IpAddr>()
            .is_ok_and(|net| range_within(range, (net, mask_from_bits(net, *b))))
    })
}

fn reaches_public(addr: &Address) -> bool {
    match range_of(addr) {
        None => !matches!(addr, Address::SameHost),
        Some(range) => {
            !PRIVATE.iter().any(|(n, b)| {
                n.parse::<IpAddr>()
                    .is_ok_and(|net| range_within(range, (net, mask_from_bits(net, *b))))
            }) && !is_ipv6_loopback(range)
        }
    }
}

fn is_ipv6_loopback(range: (IpAddr, IpAddr)) -> bool {
    "::1"
        .parse::<IpAddr>()
        .is_ok_and(|n| range_within(range, (n, mask_from_bits(n, 128))))
}

/// Whether rule `a` matches every connection `b` matches (conservatively: `false` when
/// unsure).
pub(crate) fn covers(a: &Rule, b: &Rule) -> bool {
    let types_ok = match (a.connection, b.connection) {
        (x, y) if x == y => true,
        (ConnectionType::Local, _) | (_, ConnectionType::Local) => false,
        (ConnectionType::Host, _)
        | (ConnectionType::HostNoSsl, ConnectionType::HostGssEnc)
        | (ConnectionType::HostNoGssEnc, ConnectionType::HostSsl) => true,
        _ => false,
    };
    if !types_ok {
        return false;
    }
    let addr_ok = match (&a.address, &b.address) {
        (None, None) | (Some(Address::All), Some(_)) => true,
        (Some(x), Some(y)) if x == y => true,
        (Some(x), Some(y)) => match (range_of(x), range_of(y)) {
            (Some(rx), Some(ry)) => range_within(ry, rx),
            _ => false,
        },
        _ => false,
    };
    addr_ok
        && items_cover(&a.databases, &b.databases, true)
        && items_cover(&a.users, &b.users, false)
}

fn items_cover(a: &[Item], b: &[Item], db: bool) -> bool {
    let opaque = |i: &Item| matches!(i, Item::File(_) | Item::Regex(_));
    if a.iter().any(opaque) || b.iter().any(opaque) {
        return a == b;
    }
    // Names match by value: `"db1"` and `db1` select the same database.
    let same = |x: &Item, y: &Item| {
        std::mem::discriminant(x) == std::mem::discriminant(y) && x.view_string() == y.view_string()
    };
    b.iter().all(|item| {
        a.iter().any(|x| same(x, item))
            || (a.contains(&Item::All) && !(db && *item == Item::Replication))
    })
}

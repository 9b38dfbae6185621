//! Security lint: findings with stable codes.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::document::Document;
use crate::model::{Address, ConnectionType, Item, Method, Rule, ip_in, mask_from_bits};
use crate::resolve::Resolved;

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
    let file = doc.options().file_name.as_str();
    let rules: Vec<Entry<'_>> = doc
        .rules()
        .map(|(line, rule)| Entry { file, line, rule })
        .collect();
    lint_entries(&rules, options)
}

/// Lint the effective rule list of a file and the files it includes ([`Document::resolve`]),
/// in the order PostgreSQL evaluates them: findings name the file and line each rule is in,
/// and a rule in one file can shadow a rule in another. The same codes as [`lint`].
/// Errors of the resolution itself ([`Resolved::diagnostics`]) are not repeated here.
pub fn lint_resolved(resolved: &Resolved, options: &LintOptions) -> Vec<Finding> {
    let rules: Vec<Entry<'_>> = resolved
        .rules
        .iter()
        .map(|r| Entry {
            file: r.file.as_str(),
            line: r.line,
            rule: &r.rule,
        })
        .collect();
    lint_entries(&rules, options)
}

/// FNV-1a: the index keys are short and not attacker-chosen in a way that matters (a
/// slow lint of one's own file), and `SipHash` was a tenth of the lint's time.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// One rule in evaluation order.
struct Entry<'a> {
    file: &'a str,
    line: usize,
    rule: &'a Rule,
}

fn lint_entries(rules: &[Entry<'_>], options: &LintOptions) -> Vec<Finding> {
    // (evaluation index, finding): sorted by the first at the end.
    let mut out: Vec<(usize, Finding)> = Vec::new();
    let mut push = |at: usize, code: &'static str, severity, message: String, hint: &str| {
        let e = &rules[at];
        out.push((
            at,
            Finding {
                code,
                severity,
                file: e.file.to_owned(),
                line: e.line,
                message,
                hint: hint.to_owned(),
            },
        ));
    };
    let mut shadow = ShadowIndex::default();
    let catch_alls: HashSet<FamilyKey<'_>, std::hash::BuildHasherDefault<Fnv>> = rules
        .iter()
        .filter_map(|e| family_key(e.rule, false))
        .collect();
    for (i, e) in rules.iter().enumerate() {
        let rule = e.rule;
        let text = rule; // formatted only when a finding names it
        let tcp = rule.connection != ConnectionType::Local;
        if tcp && rule.method == Method::Trust && !is_loopback_only(rule.address.as_ref()) {
            push(
                i,
                "trust-non-loopback",
                Severity::Error,
                format!(
                    "\"{text}\" lets anyone from {} in without a password",
                    addr_text(rule)
                ),
                "use scram-sha-256, or limit trust to 127.0.0.1/32 and ::1/128",
            );
        }
        if matches!(rule.method, Method::Md5 | Method::Password) {
            push(
                i,
                "weak-method",
                Severity::Warning,
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
                i,
                "plaintext-public",
                Severity::Warning,
                format!(
                    "\"{text}\" accepts connections without TLS from public addresses ({})",
                    addr_text(rule)
                ),
                "use hostssl for public ranges and end with hostnossl ... reject lines",
            );
        }
        if options.ssl == Some(false) && rule.connection == ConnectionType::HostSsl {
            push(
                i,
                "hostssl-ssl-off",
                Severity::Error,
                format!("hostssl record cannot match because SSL is disabled: \"{text}\""),
                "set ssl = on (with ssl_cert_file and ssl_key_file) in postgresql.conf",
            );
        }
        if let Some(j) = shadow.first_cover(rules, i) {
            let prev = rules[j].rule;
            let earlier = if rules[j].file == e.file {
                format!("line {}", rules[j].line)
            } else {
                format!("{}:{}", rules[j].file, rules[j].line)
            };
            if prev.method == rule.method && prev.options == rule.options && covers(rule, prev) {
                // Same connections, same method and options: a copy.
                push(
                    i,
                    "duplicate",
                    Severity::Warning,
                    format!("\"{text}\" repeats {earlier}"),
                    "remove the later copy",
                );
            } else {
                push(
                    i,
                    "shadowed",
                    Severity::Warning,
                    format!(
                        "\"{text}\" can never match: {earlier} (\"{prev}\") matches every connection it would"
                    ),
                    "move the rule above the broader one, or remove it",
                );
            }
        }
        shadow.add(rules, i);
        if let Some(key) = family_key(rule, true)
            && !catch_alls.contains(&key)
        {
            let (this, other) = if key.v6 {
                ("IPv4", "::/0")
            } else {
                ("IPv6", "0.0.0.0/0")
            };
            push(
                i,
                "missing-family-counterpart",
                Severity::Info,
                format!("\"{text}\" covers all {this} but there is no matching {other} rule"),
                "add the same rule for the other address family so both behave alike",
            );
        }
    }
    let first_ssl = rules
        .iter()
        .position(|e| e.rule.connection == ConnectionType::HostSsl);
    let has_reject = rules
        .iter()
        .any(|e| e.rule.connection == ConnectionType::HostNoSsl && e.rule.method == Method::Reject);
    if let (Some(at), false) = (first_ssl, has_reject) {
        push(
            at,
            "tls-without-nossl-reject",
            Severity::Warning,
            "hostssl rules but no \"hostnossl ... reject\" rule: a later or added host rule can still accept plaintext".to_owned(),
            "end the file with \"hostnossl all all 0.0.0.0/0 reject\" and \"hostnossl all all ::/0 reject\"",
        );
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, f)| f).collect()
}

/// What `missing-family-counterpart` compares: a TCP rule for a whole address family.
#[derive(Hash, PartialEq, Eq)]
struct FamilyKey<'a> {
    connection: ConnectionType,
    databases: &'a [Item],
    users: &'a [Item],
    method: Method,
    /// The family the key asks about.
    v6: bool,
}

/// The key of a `/0` TCP rule: its own family, or (`other`) the one its counterpart has.
fn family_key(rule: &Rule, other: bool) -> Option<FamilyKey<'_>> {
    let Some(Address::Cidr { addr, bits: 0 }) = &rule.address else {
        return None;
    };
    if rule.connection == ConnectionType::Local {
        return None;
    }
    Some(FamilyKey {
        connection: rule.connection,
        databases: &rule.databases,
        users: &rule.users,
        method: rule.method,
        v6: addr.is_ipv6() != other,
    })
}

/// An item as `covers` compares it: kind and value, not how it was quoted.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
enum ItemKey<'a> {
    All,
    Keyword(u8),
    Group(&'a str),
    File(&'a str),
    Regex(&'a str),
    Name(&'a str),
}

fn item_key(item: &Item) -> ItemKey<'_> {
    match item {
        Item::All => ItemKey::All,
        Item::SameUser => ItemKey::Keyword(0),
        Item::SameRole => ItemKey::Keyword(1),
        Item::SameGroup => ItemKey::Keyword(2),
        Item::Replication => ItemKey::Keyword(3),
        Item::Group(g) => ItemKey::Group(g),
        Item::File(f) => ItemKey::File(f),
        Item::Regex(r) => ItemKey::Regex(r),
        Item::Name { name, .. } => ItemKey::Name(name),
    }
}

/// Where a rule's address puts it: a rule can only cover rules under the keys
/// [`ShadowIndex::first_cover`] asks for.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
enum AddrKey<'a> {
    Local,
    All,
    /// A contiguous range: family, network masked to the prefix, prefix length.
    Net(bool, u128, u8),
    /// Names and keywords match only themselves.
    Exact(&'a Address),
}

/// A contiguous mask's prefix length, or `None` for masks PostgreSQL accepts but that are
/// not a prefix.
fn prefix_len(mask: IpAddr) -> Option<(bool, u8, u128)> {
    let (v6, bits, width) = match mask {
        IpAddr::V4(m) => (false, u128::from(u32::from(m)) << 96, 32u32),
        IpAddr::V6(m) => (true, u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 {
        return None;
    }
    Some((v6, u8::try_from(ones.min(width)).unwrap_or(0), bits))
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn prefix_mask(bits: u8) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits.min(128)))
    }
}

/// The earlier rules by connection type, address key and first-item keys, so finding the
/// first rule that covers a new one looks at a few candidates instead of every earlier
/// rule (which made `lint` quadratic in the file).
/// Rules (indices, in order) under their first database and user keys.
type ByItems<'a> = FastMap<(ItemKey<'a>, ItemKey<'a>), Vec<usize>>;

#[derive(Default)]
struct ShadowIndex<'a> {
    map: FastMap<(ConnectionType, AddrKey<'a>), ByItems<'a>>,
    /// Prefix lengths present, per family (IPv4, IPv6).
    prefixes: [Vec<u8>; 2],
    /// Rules the keys cannot place (non-contiguous masks, empty lists): always checked.
    always: Vec<usize>,
}

impl<'a> ShadowIndex<'a> {
    fn addr_key(rule: &'a Rule) -> Option<AddrKey<'a>> {
        Some(match &rule.address {
            None => AddrKey::Local,
            Some(Address::All) => AddrKey::All,
            Some(a @ (Address::Cidr { .. } | Address::Mask { .. })) => {
                let (net, mask) = a.network()?;
                let (v6, bits, m) = prefix_len(mask)?;
                AddrKey::Net(v6, ip_bits(net) & m, bits)
            }
            Some(a) => AddrKey::Exact(a),
        })
    }

    fn add(&mut self, rules: &[Entry<'a>], i: usize) {
        let rule = rules[i].rule;
        let Some(addr) = Self::addr_key(rule) else {
            self.always.push(i);
            return;
        };
        if rule.databases.is_empty() || rule.users.is_empty() {
            self.always.push(i);
            return;
        }
        if let AddrKey::Net(v6, _, bits) = addr {
            let list = &mut self.prefixes[usize::from(v6)];
            if !list.contains(&bits) {
                list.push(bits);
            }
        }
        let inner = self.map.entry((rule.connection, addr)).or_default();
        let mut seen = Vec::new();
        for d in &rule.databases {
            for u in &rule.users {
                let key = (item_key(d), item_key(u));
                if !seen.contains(&key) {
                    seen.push(key);
                    inner.entry(key).or_default().push(i);
                }
            }
        }
    }

    /// The first earlier rule that covers rule `i` (what a scan of every earlier rule with
    /// [`covers`] finds).
    fn first_cover(&self, rules: &[Entry<'a>], at: usize) -> Option<usize> {
        let target = rules[at].rule;
        let mut best: Option<usize> = None;
        let mut consider = |j: usize| {
            if best.is_none_or(|x| j < x) && covers(rules[j].rule, target) {
                best = Some(j);
            }
        };
        for &j in &self.always {
            consider(j);
        }
        let (Some(d0), Some(u0)) = (target.databases.first(), target.users.first()) else {
            // An empty list is covered by any rule: scan them all.
            for j in 0..at {
                consider(j);
            }
            return best;
        };
        let mut addrs: Vec<AddrKey<'_>> = Vec::new();
        match &target.address {
            None => addrs.push(AddrKey::Local),
            Some(address) => {
                addrs.push(AddrKey::All);
                match address.network() {
                    Some((net, mask)) => {
                        let v6 = net.is_ipv6();
                        let m = ip_bits(mask);
                        let ones = u8::try_from(m.leading_ones()).unwrap_or(u8::MAX);
                        let n = ip_bits(net);
                        for &p in &self.prefixes[usize::from(v6)] {
                            if p <= ones {
                                addrs.push(AddrKey::Net(v6, n & prefix_mask(p), p));
                            }
                        }
                    }
                    None => addrs.push(AddrKey::Exact(address)),
                }
            }
        }
        let types: &[ConnectionType] = match target.connection {
            ConnectionType::Local => &[ConnectionType::Local],
            ConnectionType::Host => &[ConnectionType::Host],
            ConnectionType::HostSsl => &[
                ConnectionType::HostSsl,
                ConnectionType::Host,
                ConnectionType::HostNoGssEnc,
            ],
            ConnectionType::HostNoSsl => &[ConnectionType::HostNoSsl, ConnectionType::Host],
            ConnectionType::HostGssEnc => &[
                ConnectionType::HostGssEnc,
                ConnectionType::Host,
                ConnectionType::HostNoSsl,
            ],
            ConnectionType::HostNoGssEnc => &[ConnectionType::HostNoGssEnc, ConnectionType::Host],
        };
        let (kd, ku) = (item_key(d0), item_key(u0));
        for t in types {
            for key in &addrs {
                let Some(inner) = self.map.get(&(*t, *key)) else {
                    continue;
                };
                for items in [
                    (kd, ku),
                    (ItemKey::All, ku),
                    (kd, ItemKey::All),
                    (ItemKey::All, ItemKey::All),
                ] {
                    if let Some(list) = inner.get(&items)
                        && let Some(&j) = list
                            .iter()
                            .take_while(|&&j| best.is_none_or(|x| j < x))
                            .find(|&&j| covers(rules[j].rule, target))
                    {
                        best = Some(j);
                    }
                }
            }
        }
        best
    }
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

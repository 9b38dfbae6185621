//! The typed tree: records, rules and their parts.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use serde::Serialize;

/// The PostgreSQL major version whose reading rules apply.
///
/// 15 is the version of the `supabase/postgres` image and the default. From 16 on, tokens
/// starting with `/` in the database and user fields are regular expressions and
/// `include`, `include_if_exists` and `include_dir` lines are records; in 15 `/x` is a plain
/// name and an include line is an invalid connection type, exactly as in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[non_exhaustive]
pub enum PgVersion {
    /// PostgreSQL 15.
    #[default]
    V15,
    /// PostgreSQL 16.
    V16,
    /// PostgreSQL 17.
    V17,
}

impl PgVersion {
    /// Parse `"15"`, `"16"` or `"17"`.
    pub fn from_major(major: &str) -> Option<Self> {
        match major.trim() {
            "15" => Some(Self::V15),
            "16" => Some(Self::V16),
            "17" => Some(Self::V17),
            _ => None,
        }
    }

    /// The major version number.
    pub fn major(self) -> u32 {
        match self {
            Self::V15 => 15,
            Self::V16 => 16,
            Self::V17 => 17,
        }
    }

    pub(crate) fn has_includes_and_regexes(self) -> bool {
        self >= Self::V16
    }
}

/// How to read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Which PostgreSQL's rules apply (default 15).
    pub version: PgVersion,
    /// The file name used in diagnostics (default `pg_hba.conf`); also the base for relative
    /// `@file` and include paths.
    pub file_name: String,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            version: PgVersion::V15,
            file_name: "pg_hba.conf".to_owned(),
        }
    }
}

/// The first field of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ConnectionType {
    /// `local`: Unix-domain socket.
    Local,
    /// `host`: TCP with or without encryption.
    Host,
    /// `hostssl`: TCP with SSL only.
    HostSsl,
    /// `hostnossl`: TCP without SSL.
    HostNoSsl,
    /// `hostgssenc`: TCP with GSSAPI encryption only.
    HostGssEnc,
    /// `hostnogssenc`: TCP without GSSAPI encryption.
    HostNoGssEnc,
}

impl ConnectionType {
    /// Every connection type, in PostgreSQL's order.
    pub const ALL: [Self; 6] = [
        Self::Local,
        Self::Host,
        Self::HostSsl,
        Self::HostNoSsl,
        Self::HostGssEnc,
        Self::HostNoGssEnc,
    ];

    /// The keyword as written in `pg_hba.conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Host => "host",
            Self::HostSsl => "hostssl",
            Self::HostNoSsl => "hostnossl",
            Self::HostGssEnc => "hostgssenc",
            Self::HostNoGssEnc => "hostnogssenc",
        }
    }

    /// Parse the keyword (case-sensitive, like PostgreSQL).
    pub fn from_keyword(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a connection with this encryption can match the type (`local` never matches
    /// a TCP connection).
    pub fn admits(self, encryption: Encryption) -> bool {
        match self {
            Self::Local => false,
            Self::Host => true,
            Self::HostSsl => encryption == Encryption::Ssl,
            Self::HostNoSsl => encryption != Encryption::Ssl,
            Self::HostGssEnc => encryption == Encryption::Gss,
            Self::HostNoGssEnc => encryption != Encryption::Gss,
        }
    }
}

impl fmt::Display for ConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport encryption of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Plaintext.
    #[default]
    None,
    /// SSL/TLS.
    Ssl,
    /// GSSAPI encryption.
    Gss,
}

impl Encryption {
    /// PostgreSQL's wording at the end of its FATAL messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "no encryption",
            Self::Ssl => "SSL encryption",
            Self::Gss => "GSS encryption",
        }
    }
}

/// One item of the database or user field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Item {
    /// Unquoted `all`.
    All,
    /// Unquoted `sameuser` (database field only).
    SameUser,
    /// Unquoted `samerole` (database field only).
    SameRole,
    /// Unquoted `samegroup` (database field only; an alias of `samerole`).
    SameGroup,
    /// Unquoted `replication` (database field only): physical replication connections.
    Replication,
    /// Unquoted `+role` (user field only): members of the role.
    Group(String),
    /// Unquoted `@file`: names listed in another file (not expanded by this crate).
    File(String),
    /// A token starting with `/` (PostgreSQL 16+): an unanchored regular expression. The
    /// string is the pattern without the slash.
    Regex(String),
    /// A database or role name; `quoted` remembers whether it began with a double quote.
    Name {
        /// The name, quotes removed.
        name: String,
        /// Whether the token began with a double quote.
        quoted: bool,
    },
}

impl Item {
    /// The token's value as `pg_hba_file_rules` shows it (quotes removed, prefixes kept).
    pub fn view_string(&self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::SameUser => "sameuser".to_owned(),
            Self::SameRole => "samerole".to_owned(),
            Self::SameGroup => "samegroup".to_owned(),
            Self::Replication => "replication".to_owned(),
            Self::Group(g) => format!("+{g}"),
            Self::File(f) => format!("@{f}"),
            Self::Regex(r) => format!("/{r}"),
            Self::Name { name, .. } => name.clone(),
        }
    }

    /// The item written as a `pg_hba.conf` token (quoting names that need it).
    pub fn to_token(&self) -> String {
        match self {
            Self::Name { name, quoted } => quote_if_needed(name, *quoted),
            Self::Group(g) => format!("+{}", quote_if_needed(g, false)),
            Self::File(f) => format!("@{}", quote_if_needed(f, false)),
            Self::Regex(r) => quote_if_needed(&format!("/{r}"), false),
            other => other.view_string(),
        }
    }
}

/// Quote `s` for `pg_hba.conf` when it would not survive as a bare token (or when `force`).
pub(crate) fn quote_if_needed(s: &str, force: bool) -> String {
    let needs = force
        || s.is_empty()
        || s.chars()
            .any(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | ',' | '#' | '"' | '\\'))
        || matches!(
            s,
            "all" | "sameuser" | "samerole" | "samegroup" | "replication" | "samehost" | "samenet"
        );
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The address field of a `host*` rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Address {
    /// Unquoted `all`: any address.
    All,
    /// Unquoted `samehost`: any of the server's own addresses.
    SameHost,
    /// Unquoted `samenet`: any address on a subnet the server is directly connected to.
    SameNet,
    /// `IP/bits`.
    Cidr {
        /// The address as written (not masked).
        addr: IpAddr,
        /// Prefix length.
        bits: u8,
    },
    /// `IP` followed by a separate mask field.
    Mask {
        /// The address.
        addr: IpAddr,
        /// The mask (PostgreSQL accepts non-contiguous masks).
        mask: IpAddr,
    },
    /// A host name, matched against the client's verified reverse DNS name.
    Host {
        /// The name.
        name: String,
    },
    /// A name starting with `.`: a suffix match on the client's verified reverse DNS name.
    HostSuffix {
        /// The suffix including the leading dot.
        suffix: String,
    },
}

impl Address {
    /// The network address and mask, for IP forms.
    pub fn network(&self) -> Option<(IpAddr, IpAddr)> {
        match self {
            Self::Cidr { addr, bits } => Some((*addr, mask_from_bits(*addr, *bits))),
            Self::Mask { addr, mask } => Some((*addr, *mask)),
            _ => None,
        }
    }

    /// Whether `ip` falls in this address's range (`None` when that depends on the server's
    /// interfaces or on DNS: `samehost`, `samenet`, host names).
    pub fn contains(&self, ip: IpAddr) -> Option<bool> {
        match self {
            Self::All => Some(true),
            Self::Cidr { .. } | Self::Mask { .. } => {
                let (net, mask) = self.network()?;
                Some(ip_in(ip, net, mask))
            }
            _ => None,
        }
    }

    /// The address written as `pg_hba.conf` field(s) (one string; a separate mask follows a space).
    pub fn to_fields(&self) -> Vec<String> {
        match self {
            Self::All => vec!["all".into()],
            Self::SameHost => vec!["samehost".into()],
            Self::SameNet => vec!["samenet".into()],
            Self::Cidr { addr, bits } => vec![format!("{}/{bits}", format_ip(*addr))],
            Self::Mask { addr, mask } => vec![format_ip(*addr), format_ip(*mask)],
            Self::Host { name } => vec![quote_if_needed(name, false)],
            Self::HostSuffix { suffix } => vec![quote_if_needed(suffix, false)],
        }
    }

    /// `(address, netmask)` as the `pg_hba_file_rules` view shows them.
    pub fn view_columns(&self) -> (String, Option<String>) {
        match self {
            Self::All => ("all".into(), None),
            Self::SameHost => ("samehost".into(), None),
            Self::SameNet => ("samenet".into(), None),
            Self::Cidr { addr, bits } => (
                format_ip(*addr),
                Some(format_ip(mask_from_bits(*addr, *bits))),
            ),
            Self::Mask { addr, mask } => (format_ip(*addr), Some(format_ip(*mask))),
            Self::Host { name } => (name.clone(), None),
            Self::HostSuffix { suffix } => (suffix.clone(), None),
        }
    }
}

/// The all-ones-prefix mask of `bits` bits in `addr`'s family.
pub(crate) fn mask_from_bits(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(_) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits.min(32)))
            };
            IpAddr::V4(m.into())
        }
        IpAddr::V6(_) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits.min(128)))
            };
            IpAddr::V6(m.into())
        }
    }
}

/// PostgreSQL's `pg_range_sockaddr`: same family and `(ip ^ net) & mask == 0`.
pub(crate) fn ip_in(ip: IpAddr, net: IpAddr, mask: IpAddr) -> bool {
    match (ip, net, mask) {
        (IpAddr::V4(i), IpAddr::V4(n), IpAddr::V4(m)) => {
            (u32::from(i) ^ u32::from(n)) & u32::from(m) == 0
        }
        (IpAddr::V6(i), IpAddr::V6(n), IpAddr::V6(m)) => {
            (u128::from(i) ^ u128::from(n)) & u128::from(m) == 0
        }
        _ => false,
    }
}

/// Format an address the way glibc's `inet_ntop` does (PostgreSQL's view and messages).
pub fn format_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let w = v6.segments();
            // Longest run of zero words (first on ties), at least two long.
            let (mut best_base, mut best_len) = (usize::MAX, 0);
            let mut i = 0;
            while i < 8 {
                if w[i] == 0 {
                    let start = i;
                    while i < 8 && w[i] == 0 {
                        i += 1;
                    }
                    if i - start > best_len {
                        best_base = start;
                        best_len = i - start;
                    }
                } else {
                    i += 1;
                }
            }
            if best_len < 2 {
                best_base = usize::MAX;
            }
            let mut out = String::new();
            let mut i = 0;
            while i < 8 {
                if i == best_base {
                    out.push(':');
                    i += best_len;
                    if i == 8 {
                        out.push(':');
                    }
                    continue;
                }
                if i != 0 {
                    out.push(':');
                }
                if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))
                {
                    let o = v6.octets();
                    let _ = write!(out, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
                    break;
                }
                let _ = write!(out, "{:x}", w[i]);
                i += 1;
            }
            out
        }
    }
}

/// Authentication method (case-sensitive keywords, like PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Method {
    /// `trust`.
    #[serde(rename = "trust")]
    Trust,
    /// `reject`.
    #[serde(rename = "reject")]
    Reject,
    /// `scram-sha-256`.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// `md5`.
    #[serde(rename = "md5")]
    Md5,
    /// `password` (cleartext).
    #[serde(rename = "password")]
    Password,
    /// `gss`.
    #[serde(rename = "gss")]
    Gss,
    /// `sspi` (Windows builds only).
    #[serde(rename = "sspi")]
    Sspi,
    /// `ident` (on `local` lines PostgreSQL turns it into `peer`).
    #[serde(rename = "ident")]
    Ident,
    /// `peer`.
    #[serde(rename = "peer")]
    Peer,
    /// `ldap`.
    #[serde(rename = "ldap")]
    Ldap,
    /// `radius`.
    #[serde(rename = "radius")]
    Radius,
    /// `cert`.
    #[serde(rename = "cert")]
    Cert,
    /// `pam`.
    #[serde(rename = "pam")]
    Pam,
    /// `bsd` (BSD builds only).
    #[serde(rename = "bsd")]
    Bsd,
}

impl Method {
    /// Every method.
    pub const ALL: [Self; 14] = [
        Self::Trust,
        Self::Reject,
        Self::ScramSha256,
        Self::Md5,
        Self::Password,
        Self::Gss,
        Self::Sspi,
        Self::Ident,
        Self::Peer,
        Self::Ldap,
        Self::Radius,
        Self::Cert,
        Self::Pam,
        Self::Bsd,
    ];

    /// The keyword as written in `pg_hba.conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Reject => "reject",
            Self::ScramSha256 => "scram-sha-256",
            Self::Md5 => "md5",
            Self::Password => "password",
            Self::Gss => "gss",
            Self::Sspi => "sspi",
            Self::Ident => "ident",
            Self::Peer => "peer",
            Self::Ldap => "ldap",
            Self::Radius => "radius",
            Self::Cert => "cert",
            Self::Pam => "pam",
            Self::Bsd => "bsd",
        }
    }

    /// Parse the keyword (case-sensitive).
    pub fn from_keyword(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether a client must prove a password to pass this method.
    pub fn is_password(self) -> bool {
        matches!(self, Self::ScramSha256 | Self::Md5 | Self::Password)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `name=value` option after the method.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AuthOption {
    /// The option name (before the first `=`).
    pub name: String,
    /// The value (after the first `=`), quotes removed.
    pub value: String,
}

impl AuthOption {
    /// Build an option.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A valid authentication rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rule {
    /// Connection type.
    pub connection: ConnectionType,
    /// Database items (a comma list).
    pub databases: Vec<Item>,
    /// User items (a comma list).
    pub users: Vec<Item>,
    /// Address (`None` for `local`).
    pub address: Option<Address>,
    /// Method. `ident` on a `local` line is stored as `peer`, as PostgreSQL does.
    pub method: Method,
    /// Options in source order.
    pub options: Vec<AuthOption>,
}

impl Rule {
    /// A rule for `connection` with `all` databases and users, the given address and method.
    pub fn new(connection: ConnectionType, address: Option<Address>, method: Method) -> Self {
        Self {
            connection,
            databases: vec![Item::All],
            users: vec![Item::All],
            address,
            method,
            options: Vec::new(),
        }
    }

    /// Whether the database or user field names an `@file` list.
    pub fn has_file_items(&self) -> bool {
        self.databases
            .iter()
            .chain(&self.users)
            .any(|i| matches!(i, Item::File(_)))
    }

    /// The rule's fields as `pg_hba.conf` text, one string per field.
    pub fn to_fields(&self) -> Vec<String> {
        let mut out = vec![self.connection.as_str().to_owned()];
        out.push(join_items(&self.databases));
        out.push(join_items(&self.users));
        if let Some(addr) = &self.address {
            out.extend(addr.to_fields());
        }
        out.push(self.method.as_str().to_owned());
        for o in &self.options {
            out.push(quote_if_needed(&format!("{}={}", o.name, o.value), false));
        }
        out
    }
}

fn join_items(items: &[Item]) -> String {
    items
        .iter()
        .map(Item::to_token)
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fields().join(" "))
    }
}

/// Which include directive (PostgreSQL 16+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncludeKind {
    /// `include FILE`.
    Include,
    /// `include_if_exists FILE`.
    IncludeIfExists,
    /// `include_dir DIRECTORY`.
    IncludeDir,
}

impl IncludeKind {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Include => "include",
            Self::IncludeIfExists => "include_if_exists",
            Self::IncludeDir => "include_dir",
        }
    }
}

/// An include record (PostgreSQL 16+).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Include {
    /// Which directive.
    pub kind: IncludeKind,
    /// The path as written (relative paths are relative to the including file's directory).
    pub path: String,
}

/// What a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// An authentication rule.
    Rule(Rule),
    /// An include directive.
    Include(Include),
    /// A line PostgreSQL rejects; [`crate::Record::error`] says why.
    Invalid,
}

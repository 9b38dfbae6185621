//! First-match evaluation of a connection, like `check_hba()` in PostgreSQL.

use std::net::IpAddr;

use serde::Serialize;

use crate::document::Document;
use crate::model::{Address, ConnectionType, Encryption, Item, Method, Rule, format_ip};
use crate::resolve::Resolved;

/// Where a connection comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A Unix-domain socket.
    Local,
    /// TCP from this client address.
    Host(IpAddr),
}

/// A connection attempt to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Socket or TCP address.
    pub origin: Origin,
    /// Transport encryption (ignored for `Local`).
    pub encryption: Encryption,
    /// Database name asked for.
    pub database: String,
    /// User name asked for.
    pub user: String,
    /// A physical replication connection (`replication=true`): only the `replication`
    /// keyword matches it in the database field.
    pub replication: bool,
    /// The client's verified reverse-DNS name, for host-name rules (`None`: such rules do
    /// not match).
    pub hostname: Option<String>,
    /// The server's interface addresses and prefix lengths, for `samehost`/`samenet`
    /// (empty: those rules do not match).
    pub server_interfaces: Vec<(IpAddr, u8)>,
}

impl Connection {
    /// A plain TCP connection from `addr`.
    pub fn host(addr: IpAddr, database: &str, user: &str) -> Self {
        Self {
            origin: Origin::Host(addr),
            encryption: Encryption::None,
            database: database.to_owned(),
            user: user.to_owned(),
            replication: false,
            hostname: None,
            server_interfaces: Vec::new(),
        }
    }

    /// A Unix-socket connection.
    pub fn local(database: &str, user: &str) -> Self {
        Self {
            origin: Origin::Local,
            ..Self::host(IpAddr::from([0, 0, 0, 0]), database, user)
        }
    }

    /// The same connection with another encryption.
    #[must_use]
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// The host text PostgreSQL puts in its messages.
    pub fn remote_host(&self) -> String {
        match self.origin {
            Origin::Local => "[local]".to_owned(),
            Origin::Host(ip) => format_ip(ip),
        }
    }
}

/// The result of [`explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A rule with a method other than `reject` matched: authentication proceeds with it.
    Allow,
    /// A `reject` rule matched.
    Reject,
    /// No rule matched (PostgreSQL's implicit reject).
    NoMatch,
    /// No verdict: a file the rules live in could not be read, or a rule that might match
    /// uses a regular expression pgtls cannot evaluate like PostgreSQL (see
    /// [`Explanation::reason`]).
    Unknown,
}

/// Which record decides a connection, and what the client hears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Allow, reject or no match.
    pub outcome: Outcome,
    /// The matching rule's file, when explaining a [`Resolved`] list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The matching record's first physical line.
    pub line: Option<usize>,
    /// The matching record's method.
    pub method: Option<String>,
    /// The FATAL text PostgreSQL sends for `reject` and no match.
    pub message: Option<String>,
    /// Why there is no verdict ([`Outcome::Unknown`]): the files that could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Explain `conn` against `doc` (invalid records are skipped). Group membership (`+role`,
/// `samerole`) is "the user is the role itself"; use [`explain_with`] to supply the
/// server's role graph.
pub fn explain(doc: &Document, conn: &Connection) -> Explanation {
    explain_with(doc, conn, &|user, role| user == role)
}

/// Explain with a membership oracle: `is_member(user, role)` answers whether `user` is
/// (directly or indirectly, not through superuser) a member of `role`.
pub fn explain_with(
    doc: &Document,
    conn: &Connection,
    is_member: &dyn Fn(&str, &str) -> bool,
) -> Explanation {
    first_match(doc.rules().map(|(l, r)| (None, l, r)), conn, is_member)
}

/// Explain against a [`Resolved`] rule list (includes and `@file` items expanded); the
/// explanation names the file of the matching rule. When a file could not be read
/// ([`Resolved::is_complete`] is false) the outcome is [`Outcome::Unknown`]: its rules might
/// decide the connection, so no rule found elsewhere is claimed as the answer.
pub fn explain_resolved(
    resolved: &Resolved,
    conn: &Connection,
    is_member: &dyn Fn(&str, &str) -> bool,
) -> Explanation {
    if !resolved.is_complete() {
        let files: Vec<String> = resolved.unread.iter().map(ToString::to_string).collect();
        return Explanation {
            outcome: Outcome::Unknown,
            file: None,
            line: None,
            method: None,
            message: None,
            reason: Some(format!(
                "not every file the rules live in could be read, so the first matching rule is unknown: {}",
                files.join("; ")
            )),
        };
    }
    first_match(
        resolved
            .rules
            .iter()
            .map(|r| (Some(r.file.as_str()), r.line, &r.rule)),
        conn,
        is_member,
    )
}

fn first_match<'a>(
    rules: impl Iterator<Item = (Option<&'a str>, usize, &'a Rule)>,
    conn: &Connection,
    is_member: &dyn Fn(&str, &str) -> bool,
) -> Explanation {
    for (file, line, rule) in rules {
        if let Some(pattern) = unevaluable_regex(rule, conn) {
            let place = file.map_or_else(|| format!("line {line}"), |f| format!("{f} line {line}"));
            return Explanation {
                outcome: Outcome::Unknown,
                file: file.map(str::to_owned),
                line: Some(line),
                method: Some(rule.method.as_str().to_owned()),
                message: None,
                reason: Some(format!(
                    "the rule at {place} uses the regular expression \"/{pattern}\", which PostgreSQL accepts but pgtls cannot evaluate the way PostgreSQL's regex engine does, so whether it matches is unknown"
                )),
            };
        }
        if matches_rule(rule, conn, is_member) {
            if rule.method == Method::Reject {
                return Explanation {
                    outcome: Outcome::Reject,
                    file: file.map(str::to_owned),
                    line: Some(line),
                    method: Some(rule.method.as_str().to_owned()),
                    message: Some(fatal_text(conn, true)),
                    reason: None,
                };
            }
            return Explanation {
                outcome: Outcome::Allow,
                file: file.map(str::to_owned),
                line: Some(line),
                method: Some(rule.method.as_str().to_owned()),
                message: None,
                reason: None,
            };
        }
    }
    Explanation {
        outcome: Outcome::NoMatch,
        file: None,
        line: None,
        method: None,
        message: Some(fatal_text(conn, false)),
        reason: None,
    }
}

fn fatal_text(conn: &Connection, reject: bool) -> String {
    let host = conn.remote_host();
    let enc = match conn.origin {
        Origin::Local => Encryption::None.describe(),
        Origin::Host(_) => conn.encryption.describe(),
    };
    let user = &conn.user;
    match (reject, conn.replication) {
        (true, true) => format!(
            "pg_hba.conf rejects replication connection for host \"{host}\", user \"{user}\", {enc}"
        ),
        (true, false) => format!(
            "pg_hba.conf rejects connection for host \"{host}\", user \"{user}\", database \"{}\", {enc}",
            conn.database
        ),
        (false, true) => format!(
            "no pg_hba.conf entry for replication connection from host \"{host}\", user \"{user}\", {enc}"
        ),
        (false, false) => format!(
            "no pg_hba.conf entry for host \"{host}\", user \"{user}\", database \"{}\", {enc}",
            conn.database
        ),
    }
}

/// Whether `rule` matches `conn` (PostgreSQL's `check_hba` loop body).
pub(crate) fn matches_rule(
    rule: &Rule,
    conn: &Connection,
    is_member: &dyn Fn(&str, &str) -> bool,
) -> bool {
    match conn.origin {
        Origin::Local => {
            if rule.connection != ConnectionType::Local {
                return false;
            }
        }
        Origin::Host(ip) => {
            if !rule.connection.admits(conn.encryption) {
                return false;
            }
            let Some(addr) = &rule.address else {
                return false;
            };
            if !address_matches(addr, ip, conn) {
                return false;
            }
        }
    }
    check_db(&rule.databases, conn, is_member) && check_role(&rule.users, conn, is_member)
}

fn address_matches(addr: &Address, ip: IpAddr, conn: &Connection) -> bool {
    match addr {
        Address::All => true,
        Address::Cidr { .. } | Address::Mask { .. } => addr.contains(ip).unwrap_or(false),
        Address::SameHost => conn.server_interfaces.iter().any(|(a, _)| *a == ip),
        Address::SameNet => conn.server_interfaces.iter().any(|(a, bits)| {
            Address::Cidr {
                addr: *a,
                bits: *bits,
            }
            .contains(ip)
            .unwrap_or(false)
        }),
        Address::Host { name } => conn
            .hostname
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(name)),
        Address::HostSuffix { suffix } => conn.hostname.as_deref().is_some_and(|h| {
            h.len() >= suffix.len()
                && h.get(h.len() - suffix.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
        }),
    }
}

/// A regular expression of `rule` that the `regex` crate cannot compile (PostgreSQL-only
/// syntax: back references, `\m`, `[[:<:]]`, embedded `(?b)`...), when the rule's connection
/// type and address admit `conn`: its match cannot be decided here.
fn unevaluable_regex<'r>(rule: &'r Rule, conn: &Connection) -> Option<&'r str> {
    let admits = match conn.origin {
        Origin::Local => rule.connection == ConnectionType::Local,
        Origin::Host(ip) => {
            rule.connection.admits(conn.encryption)
                && rule
                    .address
                    .as_ref()
                    .is_some_and(|a| address_matches(a, ip, conn))
        }
    };
    if !admits {
        return None;
    }
    rule.databases
        .iter()
        .chain(&rule.users)
        .find_map(|item| match item {
            Item::Regex(r) if regex::Regex::new(r).is_err() => Some(r.as_str()),
            _ => None,
        })
}

fn regex_matches(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
}

fn check_db(items: &[Item], conn: &Connection, is_member: &dyn Fn(&str, &str) -> bool) -> bool {
    let db = conn.database.as_str();
    items.iter().any(|item| {
        if conn.replication {
            return *item == Item::Replication;
        }
        match item {
            Item::All => true,
            Item::SameUser => db == conn.user,
            Item::SameRole | Item::SameGroup => is_member(&conn.user, db),
            Item::Replication | Item::File(_) => false,
            Item::Regex(r) => regex_matches(r, db),
            Item::Group(g) => db == format!("+{g}"),
            Item::Name { name, .. } => name == db,
        }
    })
}

fn check_role(items: &[Item], conn: &Connection, is_member: &dyn Fn(&str, &str) -> bool) -> bool {
    let user = conn.user.as_str();
    items.iter().any(|item| match item {
        Item::Group(g) => is_member(user, g),
        Item::All => true,
        Item::Regex(r) => regex_matches(r, user),
        Item::File(_) => false,
        Item::SameUser => user == "sameuser",
        Item::SameRole => user == "samerole",
        Item::SameGroup => user == "samegroup",
        Item::Replication => user == "replication",
        Item::Name { name, .. } => name == user,
    })
}

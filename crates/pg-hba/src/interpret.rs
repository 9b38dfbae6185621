//! From tokens to a typed record, following `parse_hba_line()` and `parse_hba_auth_opt()`
//! (`src/backend/libpq/hba.c`, `REL_15_STABLE`) check by check, in the same order and with the
//! same messages (the `err_msg` texts `pg_hba_file_rules.error` shows).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    Address, AuthOption, ConnectionType, Include, IncludeKind, Item, Method, PgVersion, RecordKind,
    Rule,
};
use crate::token::{Field, Token};

/// glibc's `gai_strerror(EAI_NONAME)`.
const EAI_NONAME_TEXT: &str = "Name or service not known";

/// Interpret one tokenized line.
pub(crate) fn interpret(fields: &[Field<'_>], version: PgVersion) -> Result<RecordKind, String> {
    if version.has_includes_and_regexes() && fields.len() == 2 {
        let first = fields.first().and_then(|f| f.tokens.first());
        let second = fields.get(1).and_then(|f| f.tokens.first());
        if let (Some(first), Some(second)) = (first, second) {
            let kind = match first.value.as_ref() {
                "include" => Some(IncludeKind::Include),
                "include_if_exists" => Some(IncludeKind::IncludeIfExists),
                "include_dir" => Some(IncludeKind::IncludeDir),
                _ => None,
            };
            if let Some(kind) = kind {
                return Ok(RecordKind::Include(Include {
                    kind,
                    path: second.value.to_string(),
                }));
            }
        }
    }
    parse_rule(fields, version).map(RecordKind::Rule)
}

fn single<'a, 'b>(field: &'a Field<'b>, multiple: &str) -> Result<&'a Token<'b>, String> {
    match field.tokens.as_slice() {
        [one] => Ok(one),
        [] => Err("empty field".to_owned()),
        _ => Err(multiple.to_owned()),
    }
}

fn parse_rule(fields: &[Field<'_>], version: PgVersion) -> Result<Rule, String> {
    let mut it = fields.iter();
    let Some(first) = it.next() else {
        return Err("empty line".to_owned());
    };
    let tok = single(first, "multiple values specified for connection type")?;
    let connection = ConnectionType::from_keyword(&tok.value)
        .ok_or_else(|| format!("invalid connection type \"{}\"", tok.value))?;

    let dbs = it
        .next()
        .ok_or("end-of-line before database specification")?;
    compile_regexes(dbs, version)?;
    let databases = dbs.tokens.iter().map(|t| db_item(t, version)).collect();
    let users_field = it.next().ok_or("end-of-line before role specification")?;
    compile_regexes(users_field, version)?;
    let users = users_field
        .tokens
        .iter()
        .map(|t| user_item(t, version))
        .collect();

    let mut address = None;
    if connection != ConnectionType::Local {
        let field = it
            .next()
            .ok_or("end-of-line before IP address specification")?;
        let tok = single(field, "multiple values specified for host address")?;
        address = Some(parse_address(tok, &mut it)?);
    }

    let field = it
        .next()
        .ok_or("end-of-line before authentication method")?;
    let tok = single(field, "multiple values specified for authentication type")?;
    let mut method = Method::from_keyword(&tok.value)
        .ok_or_else(|| format!("invalid authentication method \"{}\"", tok.value))?;
    if matches!(method, Method::Sspi | Method::Bsd) {
        // The Linux builds (Debian, the supabase/postgres image) have neither.
        return Err(format!(
            "invalid authentication method \"{}\": not supported by this build",
            tok.value
        ));
    }
    if connection == ConnectionType::Local && method == Method::Ident {
        method = Method::Peer;
    }
    if connection == ConnectionType::Local && method == Method::Gss {
        return Err("gssapi authentication is not supported on local sockets".to_owned());
    }
    if connection != ConnectionType::Local && method == Method::Peer {
        return Err("peer authentication is only supported on local sockets".to_owned());
    }
    if connection != ConnectionType::HostSsl && method == Method::Cert {
        return Err("cert authentication is only supported on hostssl connections".to_owned());
    }

    let mut options = Vec::new();
    for field in it {
        for tok in &field.tokens {
            let Some((name, value)) = tok.value.split_once('=') else {
                return Err(format!(
                    "authentication option not in name=value format: {}",
                    tok.value
                ));
            };
            options.push(AuthOption::new(name, value));
        }
    }
    let rule = Rule {
        connection,
        databases,
        users,
        address,
        method,
        options,
    };
    settings(&rule)?;
    Ok(rule)
}

/// PostgreSQL 16+'s `regcomp_auth_token()` on every token of a database or role field:
/// a token starting with `/` (quoted or not) must compile as a regular expression.
fn compile_regexes(field: &Field<'_>, version: PgVersion) -> Result<(), String> {
    if !version.has_includes_and_regexes() {
        return Ok(());
    }
    for t in &field.tokens {
        if let Some(pattern) = t.value.strip_prefix('/') {
            crate::are::check(pattern)
                .map_err(|e| format!("invalid regular expression \"{pattern}\": {e}"))?;
        }
    }
    Ok(())
}

pub(crate) fn db_item(t: &Token<'_>, version: PgVersion) -> Item {
    if !t.quoted {
        match t.value.as_ref() {
            "all" => return Item::All,
            "sameuser" => return Item::SameUser,
            "samerole" => return Item::SameRole,
            "samegroup" => return Item::SameGroup,
            "replication" => return Item::Replication,
            _ => {}
        }
    }
    common_item(t, version)
}

pub(crate) fn user_item(t: &Token<'_>, version: PgVersion) -> Item {
    if !t.quoted {
        if let Some(g) = t.value.strip_prefix('+') {
            return Item::Group(g.to_owned());
        }
        if t.value == "all" {
            return Item::All;
        }
    }
    common_item(t, version)
}

fn common_item(t: &Token<'_>, version: PgVersion) -> Item {
    if !t.quoted
        && t.value.len() > 1
        && let Some(f) = t.value.strip_prefix('@')
    {
        return Item::File(f.to_owned());
    }
    if version.has_includes_and_regexes()
        && let Some(r) = t.value.strip_prefix('/')
    {
        return Item::Regex(r.to_owned());
    }
    Item::Name {
        name: t.value.to_string(),
        quoted: t.quoted,
    }
}

fn parse_address<'a, 'b: 'a>(
    tok: &Token<'_>,
    rest: &mut impl Iterator<Item = &'a Field<'b>>,
) -> Result<Address, String> {
    if !tok.quoted {
        match tok.value.as_ref() {
            "all" => return Ok(Address::All),
            "samehost" => return Ok(Address::SameHost),
            "samenet" => return Ok(Address::SameNet),
            _ => {}
        }
    }
    let (host, bits) = match tok.value.split_once('/') {
        Some((h, b)) => (h, Some(b)),
        None => (tok.value.as_ref(), None),
    };
    let Some(addr) = parse_numeric_host(host) else {
        if bits.is_some() {
            return Err(format!(
                "specifying both host name and CIDR mask is invalid: \"{}\"",
                tok.value
            ));
        }
        return Ok(if host.starts_with('.') {
            Address::HostSuffix {
                suffix: host.to_owned(),
            }
        } else {
            Address::Host {
                name: host.to_owned(),
            }
        });
    };
    if let Some(bits) = bits {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let n = strtol(bits)
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| format!("invalid CIDR mask in address \"{}\"", tok.value))?;
        return Ok(Address::Cidr {
            addr,
            bits: u8::try_from(n).unwrap_or(0),
        });
    }
    let field = rest
        .next()
        .ok_or("end-of-line before netmask specification")?;
    let mtok = single(field, "multiple values specified for netmask")?;
    let mask = parse_numeric_host(&mtok.value)
        .ok_or_else(|| format!("invalid IP mask \"{}\": {EAI_NONAME_TEXT}", mtok.value))?;
    if addr.is_ipv4() != mask.is_ipv4() {
        return Err("IP address and mask do not match".to_owned());
    }
    Ok(Address::Mask { addr, mask })
}

/// C `strtol(s, &end, 10)` that must consume the whole non-empty string.
fn strtol(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if s.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturate like strtol: anything huge is out of range anyway.
    let v = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

/// `getaddrinfo(s, AI_NUMERICHOST)` as glibc does it: `inet_aton` forms first (so `127.1`
/// and `0x7f.0.0.1` are IPv4 addresses), then `inet_pton(AF_INET6)`.
pub(crate) fn parse_numeric_host(s: &str) -> Option<IpAddr> {
    if let Some(v4) = inet_aton(s) {
        return Some(IpAddr::V4(v4));
    }
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let v6 = addr.parse::<Ipv6Addr>().ok()?;
    match zone {
        None => Some(IpAddr::V6(v6)),
        Some(z) if scope_id_ok(v6, z) => Some(IpAddr::V6(v6)),
        Some(_) => None,
    }
}

/// glibc's `__inet6_scopeid_pton`: a zone after `%` is an interface name (only for
/// link-local unicast and multicast addresses) or a decimal number that fits 32 bits. Which
/// interface names exist depends on the server's host, which pg-hba cannot see: only `lo`,
/// present on every Linux host, counts as one; any other name reads as absent (the server
/// then takes the text for a host name).
fn scope_id_ok(addr: Ipv6Addr, zone: &str) -> bool {
    let seg = addr.segments()[0];
    let link_local = (seg & 0xffc0) == 0xfe80 || (seg & 0xff0f) == 0xff02;
    if link_local && zone == "lo" {
        return true;
    }
    zone.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && zone.bytes().all(|b| b.is_ascii_digit())
        && zone.parse::<u32>().is_ok()
}

/// glibc's `__inet_aton_exact`.
#[allow(clippy::many_single_char_names)] // mirrors the C code's names
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    let val = loop {
        let c = *b.get(i)?;
        if !c.is_ascii_digit() {
            return None;
        }
        let mut base = 10;
        if c == b'0' {
            i += 1;
            if matches!(b.get(i), Some(b'x' | b'X')) {
                base = 16;
                i += 1;
            } else {
                base = 8;
            }
        }
        let mut val: u64 = 0;
        while let Some(&c) = b.get(i) {
            let d = match c {
                b'0'..=b'9' => {
                    if base == 8 && c >= b'8' {
                        return None;
                    }
                    u64::from(c - b'0')
                }
                b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
                b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
                _ => break,
            };
            val = val.checked_mul(base)?.checked_add(d)?;
            if val > u64::from(u32::MAX) {
                return None;
            }
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            if parts.len() > 2 || val > 0xff {
                return None;
            }
            parts.push(val);
            i += 1;
        } else {
            break val;
        }
    };
    if i != b.len() {
        return None;
    }
    let max: u64 = match parts.len() {
        0 => 0xffff_ffff,
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if val > max {
        return None;
    }
    let mut addr: u64 = val;
    for (k, p) in parts.iter().enumerate() {
        addr |= p << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(u32::try_from(addr).ok()?))
}

/// The parsed option state of a rule (PostgreSQL's `HbaLine` option fields), used for
/// validation and for the `options` column of `pg_hba_file_rules`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings {
    pub include_realm: bool,
    pub krb_realm: Option<String>,
    pub usermap: Option<String>,
    /// 0 off, 1 verify-ca, 2 verify-full.
    pub clientcert: u8,
    pub pamservice: Option<String>,
    pub ldapscheme: Option<String>,
    pub ldapserver: Option<String>,
    pub ldapport: i64,
    pub ldaptls: bool,
    pub ldapprefix: Option<String>,
    pub ldapsuffix: Option<String>,
    pub ldapbasedn: Option<String>,
    pub ldapbinddn: Option<String>,
    pub ldapbindpasswd: Option<String>,
    pub ldapsearchattribute: Option<String>,
    pub ldapsearchfilter: Option<String>,
    pub ldapscope: i64,
    pub radiusservers: Option<(String, usize)>,
    pub radiussecrets: Option<(String, usize)>,
    pub radiusidentifiers: Option<(String, usize)>,
    pub radiusports: Option<(String, usize)>,
}

fn only_for(name: &str, methods: &str) -> String {
    format!("authentication option \"{name}\" is only valid for authentication methods {methods}")
}

/// Replay the options of `rule` like `parse_hba_auth_opt()` and the checks after it.
pub(crate) fn settings(rule: &Rule) -> Result<Settings, String> {
    let m = rule.method;
    let mut s = Settings {
        include_realm: matches!(m, Method::Gss | Method::Sspi),
        ..Settings::default()
    };
    let require = |want: Method, name: &str, label: &str| -> Result<(), String> {
        if m == want {
            Ok(())
        } else {
            Err(only_for(name, label))
        }
    };
    for o in &rule.options {
        let val = o.value.as_str();
        s.ldapscope = 2; // LDAP_SCOPE_SUBTREE, set for every option parsed
        match o.name.as_str() {
            "map" => {
                if !matches!(
                    m,
                    Method::Ident | Method::Peer | Method::Gss | Method::Sspi | Method::Cert
                ) {
                    return Err(only_for("map", "ident, peer, gssapi, sspi, and cert"));
                }
                s.usermap = Some(val.to_owned());
            }
            "clientcert" => {
                if rule.connection != ConnectionType::HostSsl {
                    return Err("clientcert can only be configured for \"hostssl\" rows".into());
                }
                match val {
                    "verify-full" => s.clientcert = 2,
                    "verify-ca" => {
                        if m == Method::Cert {
                            return Err("clientcert can only be set to \"verify-full\" when using \"cert\" authentication".into());
                        }
                        s.clientcert = 1;
                    }
                    _ => return Err(format!("invalid value for clientcert: \"{val}\"")),
                }
            }
            "clientname" => {
                if rule.connection != ConnectionType::HostSsl {
                    return Err("clientname can only be configured for \"hostssl\" rows".into());
                }
                if val != "CN" && val != "DN" {
                    return Err(format!("invalid value for clientname: \"{val}\""));
                }
            }
            "pamservice" => {
                require(Method::Pam, "pamservice", "pam")?;
                s.pamservice = Some(val.to_owned());
            }
            "pam_use_hostname" => require(Method::Pam, "pam_use_hostname", "pam")?,
            "ldapurl" => {
                require(Method::Ldap, "ldapurl", "ldap")?;
                ldap_url(val, &mut s)?;
            }
            "ldaptls" => {
                require(Method::Ldap, "ldaptls", "ldap")?;
                s.ldaptls = val == "1";
            }
            "ldapscheme" => {
                // PostgreSQL only logs a bad value and keeps it.
                require(Method::Ldap, "ldapscheme", "ldap")?;
                s.ldapscheme = Some(val.to_owned());
            }
            "ldapserver" => {
                require(Method::Ldap, "ldapserver", "ldap")?;
                s.ldapserver = Some(val.to_owned());
            }
            "ldapport" => {
                require(Method::Ldap, "ldapport", "ldap")?;
                s.ldapport = atoi(val);
                if s.ldapport == 0 {
                    return Err(format!("invalid LDAP port number: \"{val}\""));
                }
            }
            "ldapbinddn" => {
                require(Method::Ldap, "ldapbinddn", "ldap")?;
                s.ldapbinddn = Some(val.to_owned());
            }
            "ldapbindpasswd" => {
                require(Method::Ldap, "ldapbindpasswd", "ldap")?;
                s.ldapbindpasswd = Some(val.to_owned());
            }
            "ldapsearchattribute" => {
                require(Method::Ldap, "ldapsearchattribute", "ldap")?;
                s.ldapsearchattribute = Some(val.to_owned());
            }
            "ldapsearchfilter" => {
                require(Method::Ldap, "ldapsearchfilter", "ldap")?;
                s.ldapsearchfilter = Some(val.to_owned());
            }
            "ldapbasedn" => {
                require(Method::Ldap, "ldapbasedn", "ldap")?;
                s.ldapbasedn = Some(val.to_owned());
            }
            "ldapprefix" => {
                require(Method::Ldap, "ldapprefix", "ldap")?;
                s.ldapprefix = Some(val.to_owned());
            }
            "ldapsuffix" => {
                require(Method::Ldap, "ldapsuffix", "ldap")?;
                s.ldapsuffix = Some(val.to_owned());
            }
            "krb_realm" => {
                if !matches!(m, Method::Gss | Method::Sspi) {
                    return Err(only_for("krb_realm", "gssapi and sspi"));
                }
                s.krb_realm = Some(val.to_owned());
            }
            "include_realm" => {
                if !matches!(m, Method::Gss | Method::Sspi) {
                    return Err(only_for("include_realm", "gssapi and sspi"));
                }
                s.include_realm = val == "1";
            }
            "compat_realm" | "upn_username" => {
                if m != Method::Sspi {
                    return Err(only_for(&o.name, "sspi"));
                }
            }
            "radiusservers" | "radiussecrets" | "radiusidentifiers" | "radiusports" => {
                require(Method::Radius, &o.name, "radius")?;
                let Some(items) = split_guc_list(val) else {
                    let what = match o.name.as_str() {
                        "radiusservers" => "server",
                        "radiussecrets" => "secret",
                        "radiusidentifiers" => "identifiers",
                        _ => return Err(format!("invalid RADIUS port number: \"{val}\"")),
                    };
                    return Err(format!("could not parse RADIUS {what} list \"{val}\""));
                };
                let entry = Some((val.to_owned(), items.len()));
                match o.name.as_str() {
                    "radiusservers" => s.radiusservers = entry,
                    "radiussecrets" => s.radiussecrets = entry,
                    "radiusidentifiers" => s.radiusidentifiers = entry,
                    _ => {
                        if items.iter().any(|p| atoi(p) == 0) {
                            return Err(format!("invalid RADIUS port number: \"{val}\""));
                        }
                        s.radiusports = entry;
                    }
                }
            }
            other => {
                return Err(format!(
                    "unrecognized authentication option name: \"{other}\""
                ));
            }
        }
    }
    if m == Method::Ldap {
        if s.ldapprefix.is_some() || s.ldapsuffix.is_some() {
            if s.ldapbasedn.is_some()
                || s.ldapbinddn.is_some()
                || s.ldapbindpasswd.is_some()
                || s.ldapsearchattribute.is_some()
                || s.ldapsearchfilter.is_some()
            {
                return Err("cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix".into());
            }
        } else if s.ldapbasedn.is_none() {
            return Err("authentication method \"ldap\" requires argument \"ldapbasedn\", \"ldapprefix\", or \"ldapsuffix\" to be set".into());
        }
        if s.ldapsearchattribute.is_some() && s.ldapsearchfilter.is_some() {
            return Err("cannot use ldapsearchattribute together with ldapsearchfilter".into());
        }
    }
    if m == Method::Radius {
        let count = |x: &Option<(String, usize)>| x.as_ref().map_or(0, |(_, n)| *n);
        let (servers, secrets) = (count(&s.radiusservers), count(&s.radiussecrets));
        if servers == 0 {
            return Err(
                "authentication method \"radius\" requires argument \"radiusservers\" to be set"
                    .into(),
            );
        }
        if secrets == 0 {
            return Err(
                "authentication method \"radius\" requires argument \"radiussecrets\" to be set"
                    .into(),
            );
        }
        if !(secrets == 1 || secrets == servers) {
            return Err(format!(
                "the number of RADIUS secrets ({secrets}) must be 1 or the same as the number of RADIUS servers ({servers})"
            ));
        }
        let ports = count(&s.radiusports);
        if !(ports <= 1 || ports == servers) {
            return Err(format!(
                "the number of RADIUS ports ({ports}) must be 1 or the same as the number of RADIUS servers ({servers})"
            ));
        }
        let ids = count(&s.radiusidentifiers);
        if !(ids <= 1 || ids == servers) {
            return Err(format!(
                "the number of RADIUS identifiers ({ids}) must be 1 or the same as the number of RADIUS servers ({servers})"
            ));
        }
    }
    if m == Method::Cert {
        s.clientcert = 2;
    }
    Ok(s)
}

/// C `atoi`: optional blanks and sign, then leading digits; 0 when there are none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let v = digits.parse::<i64>().unwrap_or(0);
    if neg { -v } else { v }
}

/// PostgreSQL's `SplitGUCList(s, ',')`: items separated by commas, optional blanks around
/// them, double-quoted items may contain anything. `None` on a syntax error.
fn split_guc_list(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let is_space = |c: char| c.is_ascii_whitespace();
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return Some(out);
    }
    loop {
        let mut item = String::new();
        if b.get(i) == Some(&'"') {
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some('"') if b.get(i + 1) == Some(&'"') => {
                        item.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        item.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            let start = i;
            while i < b.len() && b[i] != ',' && !is_space(b[i]) {
                i += 1;
            }
            if i == start {
                return None;
            }
            item = b[start..i].iter().collect();
        }
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        out.push(item);
        match b.get(i) {
            None => return Some(out),
            Some(',') => {
                i += 1;
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
            }
            Some(_) => return None,
        }
    }
}

/// A small `ldap_url_parse`: `ldap[s]://host[:port][/basedn[?attrs[?scope[?filter]]]]`.
fn ldap_url(val: &str, s: &mut Settings) -> Result<(), String> {
    // OpenLDAP's `skip_url_prefix`: an optional `<` (then a closing `>`), an optional
    // `URL:`, and a scheme prefix matched without regard to case; PostgreSQL prints the
    // URL error code through `ldap_err2string`, which reads it as an LDAP result code
    // (LDAP_URL_ERR_BADSCHEME 3 = "Time limit exceeded", LDAP_URL_ERR_BADENCLOSURE 4 =
    // "Size limit exceeded").
    let bad = |text: &str| format!("could not parse LDAP URL \"{val}\": {text}");
    let mut url = val;
    let enclosed = url.starts_with('<');
    if enclosed {
        url = &url[1..];
    }
    if url.len() >= 4 && url[..4].eq_ignore_ascii_case("URL:") {
        url = &url[4..];
    }
    let mut found = None;
    for scheme in ["ldap", "ldaps", "ldapi"] {
        let prefix = format!("{scheme}://");
        if url.len() >= prefix.len() && url[..prefix.len()].eq_ignore_ascii_case(&prefix) {
            found = Some((scheme, &url[prefix.len()..]));
            break;
        }
    }
    let (scheme, mut rest) = found.ok_or_else(|| bad("Time limit exceeded"))?;
    if enclosed {
        rest = rest
            .strip_suffix('>')
            .ok_or_else(|| bad("Size limit exceeded"))?;
    }
    if scheme != "ldap" && scheme != "ldaps" {
        return Err(format!("unsupported LDAP URL scheme: {scheme}"));
    }
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, atoi(p)),
        None => (hostport, if scheme == "ldaps" { 636 } else { 389 }),
    };
    s.ldapscheme = Some(scheme.to_owned());
    if !host.is_empty() {
        s.ldapserver = Some(host.to_owned());
    }
    s.ldapport = port;
    let mut parts = path.split('?');
    if let Some(dn) = parts.next().filter(|d| !d.is_empty()) {
        s.ldapbasedn = Some(dn.to_owned());
    }
    if let Some(attrs) = parts.next().filter(|a| !a.is_empty()) {
        s.ldapsearchattribute = attrs.split(',').next().map(str::to_owned);
    }
    // `ldap_url_parse` defaults to the base scope (the option parser's subtree default is
    // set again by any later option); a scope it cannot read is LDAP_URL_ERR_BADSCOPE (8).
    s.ldapscope = match parts.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "base") => 0,
        Some("one" | "onelevel") => 1,
        Some("sub" | "subtree") => 2,
        Some("children" | "subord" | "subordinate") => 3,
        Some(_) => return Err(bad("Strong(er) authentication required")),
    };
    if let Some(f) = parts.next().filter(|f| !f.is_empty()) {
        s.ldapsearchfilter = Some(f.to_owned());
    }
    Ok(())
}

/// The `options` column of `pg_hba_file_rules` for a valid rule (`get_hba_options()`).
pub(crate) fn view_options(rule: &Rule) -> Vec<String> {
    let Ok(s) = settings(rule) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if matches!(rule.method, Method::Gss | Method::Sspi) {
        if s.include_realm {
            out.push("include_realm=true".to_owned());
        }
        if let Some(r) = &s.krb_realm {
            out.push(format!("krb_realm={r}"));
        }
    }
    if let Some(m) = &s.usermap {
        out.push(format!("map={m}"));
    }
    match s.clientcert {
        1 => out.push("clientcert=verify-ca".to_owned()),
        2 => out.push("clientcert=verify-full".to_owned()),
        _ => {}
    }
    if let Some(p) = &s.pamservice {
        out.push(format!("pamservice={p}"));
    }
    if rule.method == Method::Ldap {
        let mut push = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push(format!("{name}={v}"));
            }
        };
        push("ldapserver", &s.ldapserver);
        if s.ldapport != 0 {
            out.push(format!("ldapport={}", s.ldapport));
        }
        if let Some(v) = &s.ldapscheme {
            out.push(format!("ldapscheme={v}"));
        }
        if s.ldaptls {
            out.push("ldaptls=true".to_owned());
        }
        let mut push = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push(format!("{name}={v}"));
            }
        };
        push("ldapprefix", &s.ldapprefix);
        push("ldapsuffix", &s.ldapsuffix);
        push("ldapbasedn", &s.ldapbasedn);
        push("ldapbinddn", &s.ldapbinddn);
        push("ldapbindpasswd", &s.ldapbindpasswd);
        push("ldapsearchattribute", &s.ldapsearchattribute);
        push("ldapsearchfilter", &s.ldapsearchfilter);
        if s.ldapscope != 0 {
            out.push(format!("ldapscope={}", s.ldapscope));
        }
    }
    if rule.method == Method::Radius {
        for (name, v) in [
            ("radiusservers", &s.radiusservers),
            ("radiussecrets", &s.radiussecrets),
            ("radiusidentifiers", &s.radiusidentifiers),
            ("radiusports", &s.radiusports),
        ] {
            if let Some((raw, _)) = v {
                out.push(format!("{name}={raw}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_accepts_glibc_forms() {
        assert_eq!(inet_aton("127.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(inet_aton("0x7f.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(inet_aton("010.0.0.1"), Some(Ipv4Addr::new(8, 0, 0, 1)));
        assert_eq!(inet_aton("2130706433"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("08.1.1.1"), None);
        assert_eq!(inet_aton("1.2.3.4 "), None);
        assert_eq!(inet_aton("example"), None);
    }

    #[test]
    fn strtol_is_whole_string() {
        assert_eq!(strtol("8"), Some(8));
        assert_eq!(strtol("+8"), Some(8));
        assert_eq!(strtol(""), None);
        assert_eq!(strtol("8x"), None);
    }

    #[test]
    fn guc_lists() {
        assert_eq!(split_guc_list("a, b"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(split_guc_list(""), Some(vec![]));
        assert_eq!(split_guc_list("a,,b"), None);
        assert_eq!(split_guc_list("\"x,y\""), Some(vec!["x,y".into()]));
    }
}

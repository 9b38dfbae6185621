//! A generator for large, realistic `pg_hba.conf` files: what big installations carry
//! (hundreds of teams, comma lists of databases and roles, `+group` entries, names with
//! spaces and quotes, IPv4 and IPv6 ranges, address/netmask pairs, host names and `.suffix`
//! names, LDAP/RADIUS/PAM/GSS/cert options, comments, blank lines and continuations), not
//! what is easy to parse. Every record is valid for PostgreSQL 15 (`benches/tests` and
//! `benches/compare.sh` check it against a real server's `pg_hba_file_rules`).
//!
//! ```
//! let text = pgtls_benches::hba_gen::realistic_hba(1_000, 7);
//! assert!(text.lines().count() > 1_000);
//! ```

use std::fmt::Write as _;

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap_or(0)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const TEAMS: [&str; 16] = [
    "billing",
    "analytics",
    "payments",
    "search",
    "identity",
    "ledger",
    "crm",
    "inventory",
    "shipping",
    "support",
    "marketing",
    "hr",
    "risk",
    "fraud",
    "warehouse",
    "mobile",
];
const SPACED: [&str; 12] = [
    "Sales Reporting",
    "Finance EU",
    "Data Science",
    "Ops Team",
    "QA Nightly",
    "Customer Success",
    "Legal Archive",
    "BI Dashboards",
    "Partner API",
    "Audit Log",
    "Tier 2 Support",
    "ML Features",
];
const PEOPLE: [&str; 10] = [
    "alice", "bob", "carol", "dmitri", "erin", "farah", "gustavo", "hiro", "ines", "jamal",
];
const DOMAINS: [&str; 6] = [
    "corp.example.com",
    "prod.example.net",
    "eu-west.example.org",
    "vpn.example.com",
    "ci.example.dev",
    "office.example.co.uk",
];

/// A database token: plain, quoted with spaces, quoted with a `""` escape, or with a comma
/// inside quotes.
fn db_token(r: &mut Rng, team: &str, i: usize) -> String {
    match r.below(12) {
        0..=4 => format!(
            "{team}_{}",
            r.pick(&["prod", "staging", "ro", "archive", "events"])
        ),
        5..=6 => format!("\"{} {}\"", r.pick(&SPACED), i % 40),
        7 => format!("\"{team}_\"\"legacy\"\"\""),
        8 => format!("\"{team},reporting\""),
        9..=10 => format!("{team}_{}", i % 300),
        _ => format!("\"{}\"", r.pick(&["all", "replication", "sameuser"])),
    }
}

/// A role token: plain, `+group`, `+"group with spaces"`, quoted with spaces or escapes.
fn role_token(r: &mut Rng, team: &str, i: usize) -> String {
    match r.below(12) {
        0..=3 => format!("{team}_{}", r.pick(&["app", "ro", "rw", "etl", "migrator"])),
        4..=5 => format!("+{team}_{}", r.pick(&["admins", "readers", "writers"])),
        6 => format!("+\"{} members\"", r.pick(&SPACED)),
        7 => format!("\"{}.{team}\"", r.pick(&PEOPLE)),
        8 => format!("{}_{team}", r.pick(&PEOPLE)),
        9 => format!("\"{}\"\"{}\"", r.pick(&PEOPLE), i % 97),
        10 => format!("svc_{team}_{}", i % 500),
        _ => format!("{}.{}", r.pick(&PEOPLE), team),
    }
}

fn list(r: &mut Rng, one: &mut dyn FnMut(&mut Rng) -> String) -> String {
    let n = match r.below(10) {
        0..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(one(r));
    }
    parts.join(",")
}

fn ipv4_cidr(r: &mut Rng, i: usize) -> String {
    let (a, b) = ((i >> 8) & 0xff, i & 0xff);
    match r.below(6) {
        0 => format!("10.{a}.{b}.0/24"),
        1 => format!("10.{a}.{b}.{}/32", r.below(255)),
        2 => format!("172.{}.{b}.0/23", 16 + (a & 15)),
        3 => format!("192.168.{b}.0/24"),
        4 => format!("100.{}.{a}.{b}/32", 64 + (i % 64)),
        _ => format!("203.0.{}.{}/30", b, (a & 63) * 4),
    }
}

fn ipv6_cidr(r: &mut Rng, i: usize) -> String {
    let (a, b) = ((i >> 8) & 0xffff, i & 0xff);
    match r.below(4) {
        0 => format!("2001:db8:{a:x}:{b:x}::/64"),
        1 => format!("fd00:{a:x}:{b:x}::/48"),
        2 => format!("2001:db8::{a:x}:{b:x}/128"),
        _ => format!("fe80::{b:x}:{a:x}/128"),
    }
}

fn mask_pair(r: &mut Rng, i: usize) -> String {
    let (a, b) = ((i >> 8) & 0xff, i & 0xff);
    match r.below(3) {
        0 => format!("192.168.{b}.0      255.255.255.0"),
        1 => format!("10.{a}.0.0     255.255.0.0"),
        _ => format!("172.16.{b}.{a}  255.255.255.255"),
    }
}

/// Address field(s) and whether it is a host name (names limit the methods a little: none
/// here, PostgreSQL resolves them only when a client connects).
fn address(r: &mut Rng, i: usize, team: &str) -> String {
    match r.below(20) {
        0..=7 => ipv4_cidr(r, i),
        8..=11 => ipv6_cidr(r, i),
        12..=14 => mask_pair(r, i),
        15..=16 => format!("{team}-{:02}.{}", i % 64, r.pick(&DOMAINS)),
        17 => format!(".{}", r.pick(&DOMAINS)),
        18 => r.pick(&["samenet", "samehost", "all"]).to_owned(),
        _ => r
            .pick(&["0.0.0.0/0", "::/0", "127.0.0.1/32", "::1/128"])
            .to_owned(),
    }
}

/// Method and options for a TCP rule (`ssl` when the type is `hostssl`).
fn tcp_method(r: &mut Rng, ssl: bool, team: &str) -> String {
    match r.below(50).saturating_sub(30) {
        0..=7 => "scram-sha-256".to_owned(),
        8..=9 => "md5".to_owned(),
        10 => "reject".to_owned(),
        11 if ssl => format!("cert map={team}_certs"),
        11 | 12 if ssl => format!(
            "scram-sha-256 clientcert={}",
            r.pick(&["verify-full", "verify-ca"])
        ),
        13 => format!(
            "ldap ldapserver=ldap.{} ldapprefix=\"uid=\" ldapsuffix=\", ou={team}, dc=example, dc=com\"",
            r.pick(&DOMAINS)
        ),
        14 => "ldap ldapserver=ldap1.corp.example.com ldapbasedn=\"ou=People, dc=example, dc=com\" ldapsearchattribute=uid ldaptls=1".to_owned(),
        15 => format!(
            "ldap ldapurl=\"ldap://ldap.{}/dc=example,dc=com?uid?sub\"",
            r.pick(&DOMAINS)
        ),
        16 => "gss include_realm=0 krb_realm=EXAMPLE.COM".to_owned(),
        17 => format!(
            "radius radiusservers=\"10.20.0.{a},10.20.1.{a}\" radiussecrets=\"s3cret, s3cret2\"",
            a = 1 + r.below(250)
        ),
        18 => format!("pam pamservice=postgresql-{team}"),
        _ => format!("ident map={team}_ident"),
    }
}

fn comment(r: &mut Rng, i: usize) -> String {
    match r.below(6) {
        0 => format!("# ticket OPS-{}", 1000 + i % 9000),
        1 => format!(
            "# added by {} on 2024-{:02}-{:02}",
            r.pick(&PEOPLE),
            1 + i % 12,
            1 + i % 28
        ),
        2 => "# TODO: move to hostssl".to_owned(),
        3 => format!("# \"quoted\" note, with commas, #{i}"),
        4 => "# temporary: remove after migration".to_owned(),
        _ => format!("# owner: {}", r.pick(&TEAMS)),
    }
}

/// Pad `s` to `w` columns (at least one space after it), the way people align these files.
fn col(out: &mut String, s: &str, w: usize) {
    out.push_str(s);
    let pad = w.saturating_sub(s.chars().count()).max(1);
    out.extend(std::iter::repeat_n(' ', pad));
}

/// The last blank before column 90 that is outside quotes (people break lines between
/// fields, not inside a quoted name).
fn break_point(line: &str) -> Option<usize> {
    let mut quotes = 0;
    let mut best = None;
    for (i, c) in line.char_indices().take_while(|(i, _)| *i < 90) {
        match c {
            '"' => quotes += 1,
            ' ' if quotes % 2 == 0 && i > 0 => best = Some(i),
            _ => {}
        }
    }
    best
}

/// `records` rules (plus comments and blank lines), reproducible from `seed`.
pub fn realistic_hba(records: usize, seed: u64) -> String {
    let mut r = Rng(seed);
    let mut out = String::with_capacity(records * 92);
    out.push_str(
        "# PostgreSQL Client Authentication Configuration File\n\
         # ===================================================\n\
         #\n\
         # Generated from the access inventory; edit there, not here.\n\
         #\n\
         # TYPE  DATABASE        USER            ADDRESS                 METHOD\n\n\
         # \"local\" is for Unix domain socket connections only\n\
         local   all             postgres                                peer\n\
         local   all             all                                     peer map=local_users\n\
         host    all             all             127.0.0.1/32            scram-sha-256\n\
         host    all             all             ::1/128                 scram-sha-256\n\
         local   replication     all                                     peer\n\n",
    );
    let mut written = 5;
    let mut i = 0usize;
    while written < records {
        i += 1;
        let team = r.pick(&TEAMS);
        if i % 40 == 1 {
            let _ = writeln!(out, "\n# ---- {team}: section {} ----", i / 40);
        }
        if r.chance(6) {
            let _ = writeln!(out, "{}", comment(&mut r, i));
        }
        if r.chance(2) {
            out.push('\n');
        }
        let mut line = String::with_capacity(128);
        let kind = r.below(100);
        let dbs = list(&mut r, &mut |r| db_token(r, team, i));
        let roles = list(&mut r, &mut |r| role_token(r, team, i));
        if kind < 8 {
            col(&mut line, "local", 8);
            col(&mut line, &dbs, 16);
            col(&mut line, &roles, 40);
            line.push_str(match r.below(4) {
                0 => "peer",
                1 => "scram-sha-256",
                2 => "md5",
                _ => "peer map=local_users",
            });
        } else if kind < 11 {
            col(&mut line, r.pick(&["host", "hostssl"]), 8);
            col(&mut line, "replication", 16);
            col(&mut line, &format!("repl_{team}"), 16);
            col(&mut line, &ipv4_cidr(&mut r, i), 18);
            line.push_str("scram-sha-256");
        } else {
            let ty = match r.below(10) {
                0..=3 => "host",
                4..=7 => "hostssl",
                8 => "hostnossl",
                _ => "hostnogssenc",
            };
            col(&mut line, ty, 8);
            col(&mut line, &dbs, 12);
            col(&mut line, &roles, 12);
            col(&mut line, &address(&mut r, i, team), 18);
            line.push_str(&tcp_method(&mut r, ty == "hostssl", team));
        }
        if r.chance(8) {
            line.push_str("  ");
            line.push_str(&comment(&mut r, i));
        }
        // Long lines get broken with backslash continuations now and then.
        if line.len() > 110
            && r.chance(30)
            && let Some(cut) = break_point(&line)
        {
            let (head, tail) = line.split_at(cut);
            let _ = writeln!(out, "{head} \\\n    {}", tail.trim_start());
        } else {
            let _ = writeln!(out, "{line}");
        }
        written += 1;
    }
    out
}

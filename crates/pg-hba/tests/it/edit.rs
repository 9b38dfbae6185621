//! Editing: insert, replace, remove, alignment, and the hardening policy.

use pg_hba::{
    Address, Connection, ConnectionType, Document, Encryption, Method, Outcome, ParseOptions,
    Policy, Position, Rule, explain,
};

const SAMPLE: &str = include_str!("../fixtures/valid/postgres-sample.conf");

fn doc(text: &str) -> Document {
    Document::parse(text, ParseOptions::default())
}

fn cidr(s: &str) -> Address {
    let (a, b) = s.split_once('/').unwrap();
    Address::Cidr {
        addr: a.parse().unwrap(),
        bits: b.parse().unwrap(),
    }
}

#[test]
fn insert_aligns_to_neighbours_and_keeps_other_lines() {
    let mut d = doc(SAMPLE);
    let rule = Rule::new(
        ConnectionType::Host,
        Some(cidr("10.0.0.0/8")),
        Method::ScramSha256,
    );
    let line = d.insert(Position::Before(9), &rule).unwrap();
    assert_eq!(line, 9);
    let out = d.to_string();
    assert!(
        out.contains("\nhost    all             all             10.0.0.0/8              scram-sha-256\nhost    all             all             127.0.0.1/32 "),
        "{out}"
    );
    let before: Vec<&str> = SAMPLE.lines().collect();
    let after: Vec<&str> = out.lines().collect();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(&after[..8], &before[..8]);
    assert_eq!(&after[9..], &before[8..]);
}

#[test]
fn insert_after_and_at_end_keep_crlf_and_missing_final_newline() {
    let text = "local all all peer\r\nhost all all 127.0.0.1/32 trust";
    let mut d = doc(text);
    let rule = Rule::new(
        ConnectionType::HostNoSsl,
        Some(cidr("0.0.0.0/0")),
        Method::Reject,
    );
    d.insert(Position::End, &rule).unwrap();
    assert_eq!(
        d.to_string(),
        "local all all peer\r\nhost all all 127.0.0.1/32 trust\r\nhostnossl all all 0.0.0.0/0 reject"
    );
    let local = Rule::new(ConnectionType::Local, None, Method::ScramSha256);
    d.insert(Position::After(1), &local).unwrap();
    assert!(
        d.to_string()
            .starts_with("local all all peer\r\nlocal all all scram-sha-256\r\nhost")
    );
    assert!(d.validate().is_empty());
}

#[test]
fn replace_keeps_columns_and_trailing_comment_and_remove_drops_one_record() {
    let mut d = doc(SAMPLE);
    let line = d
        .records()
        .find(|r| r.source().contains("0.0.0.0/0               scram"))
        .unwrap()
        .line();
    let rule = Rule::new(
        ConnectionType::HostSsl,
        Some(cidr("0.0.0.0/0")),
        Method::Cert,
    );
    d.replace(line, &rule).unwrap();
    assert!(d.to_string().contains(
        "hostssl all             all             0.0.0.0/0               cert   # remote, TLS only\n"
    ));
    let n = d.records().count();
    d.remove(line).unwrap();
    assert_eq!(d.records().count(), n - 1);
    assert!(!d.to_string().contains("remote, TLS only"));
    assert!(d.remove(999).is_err());
}

#[test]
fn insert_text_rejects_invalid_records() {
    let mut d = doc("local all all peer\n");
    let err = d
        .insert_text(Position::End, "host all all 10.0.0.0/33 trust")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid record \"host all all 10.0.0.0/33 trust\": invalid CIDR mask in address \"10.0.0.0/33\""
    );
    d.insert_text(
        Position::End,
        "host  all  all  10.0.0.0/8  md5  # kept as written",
    )
    .unwrap();
    assert!(
        d.to_string()
            .ends_with("host  all  all  10.0.0.0/8  md5  # kept as written\n")
    );
}

#[test]
fn align_columns_is_opt_in_and_keeps_everything_else() {
    let text = "# header\nlocal all all peer # note\nhost all all 127.0.0.1/32 trust\nhost all all \\\n 10.0.0.0/8 md5\nbogus line\n";
    let mut d = doc(text);
    assert_eq!(d.to_string(), text);
    d.align_columns();
    assert_eq!(
        d.to_string(),
        "# header\nlocal   all     all                     peer # note\nhost    all     all     127.0.0.1/32    trust\nhost all all \\\n 10.0.0.0/8 md5\nbogus line\n"
    );
}

#[test]
fn policy_on_a_custom_file_warns_and_is_idempotent() {
    let text = "\
# my rules
local all all peer
host all all 127.0.0.1/32 trust
host app app 203.0.113.0/24 scram-sha-256   # partner office
host all all all md5
";
    let policy = Policy::default();
    let (hardened, warnings) = policy.apply(&doc(text)).unwrap();
    let out = hardened.to_string();
    assert!(out.contains("host app app 203.0.113.0/24 scram-sha-256   # partner office\n"));
    assert!(out.contains("hostssl all all all md5\n"), "{out}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(4));
    // Trusted networks come before the catch-all and still work without TLS.
    let docker = Connection::host("172.18.0.5".parse().unwrap(), "postgres", "authenticator");
    let e = explain(&hardened, &docker);
    assert_eq!(
        (e.outcome, e.method.as_deref()),
        (Outcome::Allow, Some("scram-sha-256"))
    );
    let outsider = Connection::host("198.51.100.9".parse().unwrap(), "postgres", "x");
    assert_eq!(explain(&hardened, &outsider).outcome, Outcome::Reject);
    assert_eq!(
        explain(&hardened, &outsider.with_encryption(Encryption::Ssl)).outcome,
        Outcome::Allow
    );
    let v6 = Connection::host("2001:db8::1".parse().unwrap(), "postgres", "x");
    assert_eq!(explain(&hardened, &v6).outcome, Outcome::Reject);
    let (again, _) = policy.apply(&hardened).unwrap();
    assert_eq!(again.to_string(), out);
}

#[test]
fn policy_places_trusted_rules_before_a_shadowing_reject() {
    let text = "hostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 scram-sha-256\n";
    let policy = Policy::with_trusted(["127.0.0.2/32"]).unwrap();
    let (hardened, _) = policy.apply(&doc(text)).unwrap();
    let first = hardened.records().next().unwrap();
    assert_eq!(
        first.source(),
        "host      all all 127.0.0.2/32 scram-sha-256\n"
    );
    let c = Connection::host("127.0.0.2".parse().unwrap(), "postgres", "postgres");
    assert_eq!(explain(&hardened, &c).outcome, Outcome::Allow);
    assert!(Policy::with_trusted(["10.0.0.0/40"]).is_err());
    assert!(policy.apply(&doc("bogus\n")).is_err());
}

mod generated {
    use pg_hba::{
        Address, AuthOption, ConnectionType, Document, Error, Item, Method, ParseOptions, Position,
        Rule,
    };
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_][a-z0-9_]{0,8}",
            Just("all".to_owned()),
            Just("replication".to_owned()),
            Just("with space".to_owned()),
            Just("com,ma".to_owned()),
            Just("quo\"te".to_owned()),
            Just("hash#tag".to_owned()),
            Just("back\\".to_owned()),
            Just("line\nbreak".to_owned()),
            Just(String::new()),
            "[^\n]{1,6}",
        ]
    }

    fn item(db: bool) -> impl Strategy<Value = Item> {
        let keywords = if db {
            vec![Item::All, Item::SameUser, Item::SameRole, Item::Replication]
        } else {
            vec![Item::All]
        };
        prop_oneof![
            proptest::sample::select(keywords),
            (name(), any::<bool>()).prop_map(|(name, quoted)| Item::Name { name, quoted }),
            name().prop_map(Item::Group),
        ]
    }

    fn rule() -> impl Strategy<Value = Rule> {
        (
            proptest::sample::select(ConnectionType::ALL.to_vec()),
            proptest::collection::vec(item(true), 1..3),
            proptest::collection::vec(item(false), 1..3),
            prop_oneof![
                Just(Address::All),
                (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, bits)| Address::Cidr {
                    addr: a.into(),
                    bits
                }),
                (any::<[u16; 8]>(), 0u8..=128).prop_map(|(a, bits)| Address::Cidr {
                    addr: a.into(),
                    bits
                }),
                (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, m)| Address::Mask {
                    addr: a.into(),
                    mask: m.into()
                }),
                "[a-z]{1,8}\\.example".prop_map(|name| Address::Host { name }),
            ],
            proptest::sample::select(Method::ALL.to_vec()),
            proptest::option::of(name()),
        )
            .prop_map(
                |(connection, databases, users, address, method, map)| Rule {
                    connection,
                    databases,
                    users,
                    address: (connection != ConnectionType::Local).then_some(address),
                    method,
                    options: map
                        .map(|m| vec![AuthOption::new("map", m)])
                        .unwrap_or_default(),
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// An insert either writes a line PostgreSQL reads back as the same rule, or refuses.
        #[test]
        fn inserted_rules_read_back_unchanged_or_are_refused(r in rule()) {
            let text = "local all all peer\n";
            let mut doc = Document::parse(text, ParseOptions::default());
            match doc.insert(Position::End, &r) {
                Ok(line) => {
                    prop_assert!(doc.validate().is_empty(), "{doc}");
                    let got = doc.record_at(line).unwrap().rule().unwrap().clone();
                    let view = |x: &Rule| (x.connection, x.databases.iter().map(Item::view_string).collect::<Vec<_>>(),
                        x.users.iter().map(Item::view_string).collect::<Vec<_>>(), x.address.clone(), x.options.clone());
                    prop_assert_eq!(view(&got), view(&r));
                    prop_assert!(doc.to_string().starts_with(text));
                }
                Err(Error::InvalidRecord { .. }) => prop_assert_eq!(doc.to_string(), text),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}

#[test]
fn awkward_names_are_quoted_and_impossible_ones_refused() {
    let mut d = doc("local all all peer\n");
    let mut rule = Rule::new(
        ConnectionType::Host,
        Some(Address::All),
        Method::ScramSha256,
    );
    rule.databases = vec![
        pg_hba::Item::Name {
            name: "all".into(),
            quoted: false,
        },
        pg_hba::Item::Name {
            name: "a, \"b\" #c".into(),
            quoted: false,
        },
    ];
    rule.users = vec![pg_hba::Item::Group("ops team".into())];
    let line = d.insert(Position::End, &rule).unwrap();
    assert_eq!(
        d.record_at(line).unwrap().source(),
        "host  \"all\",\"a, \"\"b\"\" #c\" +\"ops team\" all scram-sha-256\n"
    );
    let back = d.record_at(line).unwrap().rule().unwrap();
    assert_eq!(back.users, vec![pg_hba::Item::Group("ops team".into())]);
    assert_eq!(back.databases[1].view_string(), "a, \"b\" #c");
    let mut broken = rule.clone();
    broken.users = vec![pg_hba::Item::Name {
        name: "two\nlines".into(),
        quoted: false,
    }];
    let before = d.to_string();
    assert!(matches!(
        d.insert(Position::End, &broken),
        Err(pg_hba::Error::InvalidRecord { .. })
    ));
    assert_eq!(d.to_string(), before);
}

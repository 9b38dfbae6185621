//! Offline explain cases: connection kinds, keywords, messages and the JSON contract.

use pg_hba::{
    Connection, Document, Encryption, Origin, Outcome, ParseOptions, explain, explain_with,
};

fn doc(text: &str) -> Document {
    Document::parse(text, ParseOptions::default())
}

#[test]
fn local_and_replication_connections() {
    let d = doc("local replication rep trust\nlocal all all peer\nhost all all all reject\n");
    let mut c = Connection::local("postgres", "rep");
    assert_eq!(explain(&d, &c).line, Some(2));
    c.replication = true;
    let e = explain(&d, &c);
    assert_eq!((e.outcome, e.line), (Outcome::Allow, Some(1)));
    let mut tcp = Connection::host("10.0.0.1".parse().unwrap(), "postgres", "rep");
    tcp.replication = true;
    let e = explain(&d, &tcp);
    // `all` does not match physical replication, so the reject line is skipped.
    assert_eq!(e.outcome, Outcome::NoMatch);
    assert_eq!(
        e.message.as_deref(),
        Some(
            "no pg_hba.conf entry for replication connection from host \"10.0.0.1\", user \"rep\", no encryption"
        )
    );
    let local = Connection::local("db", "nobody");
    let d2 = doc("local all admin peer\n");
    assert_eq!(
        explain(&d2, &local).message.as_deref(),
        Some(
            "no pg_hba.conf entry for host \"[local]\", user \"nobody\", database \"db\", no encryption"
        )
    );
}

#[test]
fn encryption_selects_connection_types() {
    let d =
        doc("hostgssenc all all all gss\nhostnossl all all all reject\nhostssl all all all cert\n");
    let base = Connection::host("192.0.2.1".parse().unwrap(), "d", "u");
    let gss = explain(&d, &base.clone().with_encryption(Encryption::Gss));
    assert_eq!((gss.outcome, gss.line), (Outcome::Allow, Some(1)));
    let plain = explain(&d, &base.clone());
    assert_eq!((plain.outcome, plain.line), (Outcome::Reject, Some(2)));
    let ssl = explain(&d, &base.clone().with_encryption(Encryption::Ssl));
    assert_eq!(
        (ssl.outcome, ssl.line, ssl.method.as_deref()),
        (Outcome::Allow, Some(3), Some("cert"))
    );
    let v6 =
        Connection::host("2001:db8::1".parse().unwrap(), "d", "u").with_encryption(Encryption::Ssl);
    assert_eq!(v6.remote_host(), "2001:db8::1");
    assert_eq!(
        explain(&doc("hostssl all all ::/0 trust\n"), &v6).outcome,
        Outcome::Allow
    );
    assert_eq!(base.origin, Origin::Host("192.0.2.1".parse().unwrap()));
}

#[test]
fn keywords_groups_quotes_and_names() {
    let d = doc(
        "host sameuser all all trust\nhost samerole all all md5\nhost \"all\" +admins all password\nhost all \"+admins\" all reject\n",
    );
    let same = Connection::host("10.0.0.1".parse().unwrap(), "alice", "alice");
    assert_eq!(explain(&d, &same).line, Some(1));
    let member = |u: &str, r: &str| u == r || (u == "bob" && r == "admins");
    let bob_in_admins_db = Connection::host("10.0.0.1".parse().unwrap(), "admins", "bob");
    assert_eq!(explain_with(&d, &bob_in_admins_db, &member).line, Some(2));
    // A quoted "all" is a database literally named all.
    let bob_all = Connection::host("10.0.0.1".parse().unwrap(), "all", "bob");
    assert_eq!(explain_with(&d, &bob_all, &member).line, Some(3));
    let literal = Connection::host("10.0.0.1".parse().unwrap(), "x", "+admins");
    assert_eq!(explain(&d, &literal).line, Some(4));
}

#[test]
fn host_names_and_samenet_need_facts() {
    let d = doc("host all all .example.com trust\nhost all all samenet md5\n");
    let mut c = Connection::host("10.1.2.3".parse().unwrap(), "d", "u");
    assert_eq!(explain(&d, &c).outcome, Outcome::NoMatch);
    c.server_interfaces = vec![("10.1.0.1".parse().unwrap(), 16)];
    assert_eq!(explain(&d, &c).line, Some(2));
    c.hostname = Some("DB.Example.COM".into());
    assert_eq!(explain(&d, &c).line, Some(1));
}

#[test]
fn invalid_lines_are_skipped_and_json_matches_the_contract() {
    let d = doc("host all all 10.0.0.0/33 trust\nhost all all 10.0.0.0/8 reject\n");
    let c = Connection::host("10.0.0.9".parse().unwrap(), "app", "web");
    let e = explain(&d, &c);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "outcome": "reject",
            "line": 2,
            "method": "reject",
            "message": "pg_hba.conf rejects connection for host \"10.0.0.9\", user \"web\", database \"app\", no encryption"
        })
    );
    let none = serde_json::to_value(explain(&doc(""), &c)).unwrap();
    assert_eq!(none["outcome"], "no-match");
    assert!(none["line"].is_null() && none["method"].is_null());
}

#[test]
fn a_regex_only_postgres_can_evaluate_gives_no_verdict() {
    use pg_hba::{Connection, Document, Outcome, ParseOptions, PgVersion, explain};
    let opts = ParseOptions {
        version: PgVersion::V17,
        file_name: "pg_hba.conf".into(),
    };
    // a back reference: valid for PostgreSQL, beyond the `regex` crate
    let doc = Document::parse(
        "host all all 10.0.0.0/8 trust\nhost /^(a)\\1$ all 0.0.0.0/0 reject\nhost all all 0.0.0.0/0 md5\n",
        opts.clone(),
    );
    assert!(doc.validate().is_empty(), "{:?}", doc.validate());
    // decided before the rule: a verdict
    let e = explain(
        &doc,
        &Connection::host("10.1.1.1".parse().unwrap(), "aa", "u"),
    );
    assert_eq!(e.outcome, Outcome::Allow);
    // the rule might decide: no verdict, and why
    let e = explain(
        &doc,
        &Connection::host("203.0.113.1".parse().unwrap(), "aa", "u"),
    );
    assert_eq!(e.outcome, Outcome::Unknown, "{e:?}");
    assert!(
        e.reason.as_deref().is_some_and(|r| r.contains("/^(a)\\1$")),
        "{e:?}"
    );
    // a plain regex is evaluated
    let doc = Document::parse("host /^app_ all 0.0.0.0/0 reject\n", opts);
    let e = explain(
        &doc,
        &Connection::host("203.0.113.1".parse().unwrap(), "app_x", "u"),
    );
    assert_eq!(e.outcome, Outcome::Reject);
}

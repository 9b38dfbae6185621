//! Recipe: which `pg_hba.conf` line decides a connection, and what the client hears.
//!
//! Takes the supabase/postgres image's default `pg_hba.conf`, applies the hardening policy
//! (pg-hba's policy builder), then explains a few connections before and after: the same
//! first-match evaluation PostgreSQL runs, with PostgreSQL's own FATAL texts.

use std::net::IpAddr;

use pg_hba::{
    Connection, Document, Encryption, Outcome, ParseOptions, Policy, SUPABASE_DEFAULT_HBA, explain,
};
use pgtls_examples::heading;

fn describe(doc: &Document, label: &str, conn: &Connection) -> Outcome {
    let e = explain(doc, conn);
    let rule = e
        .line
        .and_then(|l| doc.record_at(l))
        .map_or_else(|| "(no line)".to_owned(), |r| r.source().trim().to_owned());
    match e.outcome {
        Outcome::Allow => println!(
            "  {label:<38} allowed ({}) by `{rule}`",
            e.method.unwrap_or_default()
        ),
        _ => println!(
            "  {label:<38} refused: FATAL:  {}",
            e.message.unwrap_or_default()
        ),
    }
    e.outcome
}

fn main() {
    let cases: [(&str, &str, Encryption); 4] = [
        (
            "Docker service 172.18.0.5, no TLS",
            "172.18.0.5",
            Encryption::None,
        ),
        (
            "internet client 203.0.113.7, no TLS",
            "203.0.113.7",
            Encryption::None,
        ),
        (
            "internet client 203.0.113.7, TLS",
            "203.0.113.7",
            Encryption::Ssl,
        ),
        (
            "IPv6 client 2001:db8::7, no TLS",
            "2001:db8::7",
            Encryption::None,
        ),
    ];
    let before = Document::parse(SUPABASE_DEFAULT_HBA, ParseOptions::default());
    let (hardened, warnings) = Policy::default()
        .apply_text(SUPABASE_DEFAULT_HBA, ParseOptions::default())
        .expect("the image default is valid");
    let after = Document::parse(&hardened, ParseOptions::default());
    for w in warnings {
        println!("policy warning: {w}");
    }
    let mut outcomes = Vec::new();
    for (title, doc) in [("image default", &before), ("after the TLS policy", &after)] {
        heading(title);
        for (label, ip, enc) in &cases {
            let ip: IpAddr = ip.parse().expect("an IP");
            let conn = Connection::host(ip, "postgres", "postgres").with_encryption(*enc);
            outcomes.push(describe(doc, label, &conn));
        }
    }
    heading("hardened pg_hba.conf");
    print!("{hardened}");
    // before: plaintext from the internet is allowed; after: it is refused, TLS still works
    assert_eq!(outcomes[1], Outcome::Allow);
    assert_eq!(outcomes[5], Outcome::Reject);
    assert_eq!(outcomes[6], Outcome::Allow);
    assert_eq!(
        outcomes[4],
        Outcome::Allow,
        "Docker-internal plaintext keeps working"
    );
}

#[cfg(test)]
#[test]
fn recipe_runs() {
    main();
}

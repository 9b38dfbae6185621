//! The realistic `pg_hba.conf` generator writes what PostgreSQL 15 accepts: every record of
//! the 100,000-record benchmark file loads without an error in `pg_hba_file_rules` on a real
//! server, and pg-hba reads the same number of records with no diagnostics.

use pg_hba::{Document, ParseOptions, validate_text};
use pgtls_benches::hba_gen::realistic_hba;

#[test]
fn generated_file_is_valid_for_postgres_15() {
    let text = realistic_hba(100_000, 7);
    let ours = validate_text(&text, &ParseOptions::default());
    assert_eq!(ours.records, 100_000);
    assert_eq!(ours.diagnostics, Vec::new());
    // What the generator promises: the mix real files have.
    let quoted_space = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && has_quoted_blank(l))
        .count();
    assert!(
        quoted_space * 4 > ours.records && quoted_space * 2 < ours.records,
        "{quoted_space} lines with quoted names with spaces"
    );
    for needle in [
        "\"\"",
        "+",
        "::",
        " 255.255.",
        ".example",
        "\\\n",
        "ldapsuffix=\", ",
        "clientcert=",
        "map=",
        "#",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the generated file");
    }
    assert!(
        text.len() > 8_000_000 && text.len() < 10_000_000,
        "{} bytes",
        text.len()
    );

    // ssl = on, as on a hardened server (otherwise hostssl lines are errors in the view).
    let leaf = pgtest::Pki::new().self_signed("localhost", "DNS:localhost");
    let pg = match pgtest::Pg::builder()
        .tls(leaf.cert, leaf.key)
        .hba("local all all trust\n")
        .start()
    {
        Ok(pg) => pg,
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    };
    pg.write_file("data/pg_hba.conf", &text, 0o600);
    let counts = pg.query(
        "select count(*) || ' ' || count(*) filter (where error is not null or type is null) \
         from pg_hba_file_rules",
    );
    let first_errors = pg.query(
        "select coalesce(string_agg(line_number || ': ' || coalesce(error, '?'), E'\\n'), '') \
         from (select * from pg_hba_file_rules where error is not null or type is null \
         order by line_number limit 5) t",
    );
    assert_eq!(counts.trim(), "100000 0", "server errors:\n{first_errors}");
    // And the tree agrees with the streaming check.
    let doc = Document::parse(&text, ParseOptions::default());
    assert_eq!(doc.to_string(), text);
    assert_eq!(doc.records().count(), 100_000);
}

/// Whether a line has a double-quoted part with a blank in it.
fn has_quoted_blank(line: &str) -> bool {
    line.split('"').skip(1).step_by(2).any(|q| q.contains(' '))
}

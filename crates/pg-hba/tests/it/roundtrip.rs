//! Lossless round trips: fixtures, CRLF and no-final-newline twins, and generated inputs.

use pg_hba::{Document, ParseOptions, PgVersion};
use proptest::prelude::*;

const CORPUS: &str = include_str!("../fixtures/differential/corpus15.conf");

fn twins(text: &str) -> Vec<String> {
    let lf = text.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    let mut out = vec![text.to_owned(), lf.clone(), crlf.clone()];
    for t in [lf, crlf] {
        out.push(t.trim_end_matches(['\r', '\n']).to_owned());
    }
    out
}

fn roundtrip(text: &str) {
    for version in [PgVersion::V15, PgVersion::V16, PgVersion::V17] {
        let opts = ParseOptions {
            version,
            ..ParseOptions::default()
        };
        let doc = Document::parse(text, opts);
        assert_eq!(doc.to_string(), text);
    }
}

#[test]
fn fixtures_round_trip_with_twins() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut n = 0;
    for sub in ["valid", "invalid", "differential"] {
        for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for t in twins(&text) {
                roundtrip(&t);
            }
            n += 1;
        }
    }
    assert!(n >= 3, "only {n} fixtures");
}

#[test]
fn crlf_twin_has_the_same_records() {
    let lf = CORPUS.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    let a = Document::parse(&lf, ParseOptions::default());
    let b = Document::parse(&crlf, ParseOptions::default());
    assert_eq!(a.view(), b.view());
    let no_final = lf.trim_end_matches('\n');
    let c = Document::parse(no_final, ParseOptions::default());
    assert_eq!(a.view(), c.view());
}

#[test]
fn records_know_their_first_physical_line() {
    let text =
        "# c\n\nlocal all all trust\nhost all all \\\n  10.0.0.0/8 md5\nlocal all all peer\n";
    let doc = Document::parse(text, ParseOptions::default());
    let lines: Vec<usize> = doc.records().map(pg_hba::Record::line).collect();
    assert_eq!(lines, vec![3, 4, 6]);
    assert_eq!(doc.record_at(4).unwrap().physical_lines(), 2);
}

#[test]
fn versions_differ_on_regex_and_include() {
    let text = "include extra.conf\nlocal /^db all trust\n";
    let v15 = Document::parse(text, ParseOptions::default());
    assert_eq!(
        v15.validate()[0].message,
        "invalid connection type \"include\""
    );
    assert!(matches!(
        &v15.record_at(2).unwrap().rule().unwrap().databases[0],
        pg_hba::Item::Name { name, .. } if name == "/^db"
    ));
    let v16 = Document::parse(
        text,
        ParseOptions {
            version: PgVersion::V16,
            ..ParseOptions::default()
        },
    );
    assert!(v16.validate().is_empty());
    assert!(
        matches!(v16.record_at(1).unwrap().kind(), pg_hba::RecordKind::Include(i) if i.path == "extra.conf")
    );
    assert_eq!(
        v16.record_at(2).unwrap().rule().unwrap().databases[0],
        pg_hba::Item::Regex("^db".into())
    );
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("local".to_owned()),
        Just("host".to_owned()),
        Just("hostssl".to_owned()),
        Just("all".to_owned()),
        Just("\"all\"".to_owned()),
        Just("10.0.0.0/8".to_owned()),
        Just("::1/128".to_owned()),
        Just("255.255.0.0".to_owned()),
        Just("scram-sha-256".to_owned()),
        Just("map=x".to_owned()),
        Just("+grp".to_owned()),
        Just("@file".to_owned()),
        Just("/re".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just(",".to_owned()),
        Just(", ".to_owned()),
        Just("\"".to_owned()),
        Just("\"\"".to_owned()),
        Just("#".to_owned()),
        Just("# comment".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        "[a-zé0-9=./:-]{1,8}",
        any::<char>().prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]
    #[test]
    fn print_parse_is_identity(parts in proptest::collection::vec(piece(), 0..40)) {
        let text: String = parts.concat();
        for t in twins(&text) {
            let doc = Document::parse(&t, ParseOptions::default());
            prop_assert_eq!(doc.to_string(), t.clone());
            // Validation and views never panic and cover every record.
            prop_assert_eq!(doc.view().len(), doc.records().count());
            let _ = doc.validate();
        }
    }

    #[test]
    fn aligning_is_idempotent_and_keeps_meaning(parts in proptest::collection::vec(piece(), 0..40)) {
        let text: String = parts.concat();
        let doc = Document::parse(&text, ParseOptions::default());
        let mut a = doc.clone();
        a.align_columns();
        let mut b = a.clone();
        b.align_columns();
        prop_assert_eq!(a.to_string(), b.to_string());
        let strip = |d: &Document| d.view().into_iter().map(|mut r| { r.line_number = 0; r }).collect::<Vec<_>>();
        prop_assert_eq!(strip(&doc), strip(&a));
    }
}

fn rule_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("local all all peer".to_owned()),
        Just("host    all     all     10.0.0.0/8      md5   # office".to_owned()),
        Just("hostssl all all 0.0.0.0/0 scram-sha-256".to_owned()),
        Just("host \"db one\",db2 +grp ::1/128 trust".to_owned()),
        Just("\thostnossl\tall\tall\t::/0\treject".to_owned()),
        Just("# a comment".to_owned()),
        Just(String::new()),
        Just("bogus line".to_owned()),
        Just("host all all \\".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn edits_leave_other_lines_byte_identical(
        lines in proptest::collection::vec(rule_line(), 1..12),
        crlf in any::<bool>(),
        pick in any::<proptest::sample::Index>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text: String = lines.iter().flat_map(|l| [l.as_str(), eol]).collect();
        let doc = Document::parse(&text, ParseOptions::default());
        let records: Vec<usize> = doc.records().map(pg_hba::Record::line).collect();
        prop_assume!(!records.is_empty());
        let line = records[pick.index(records.len())];
        let source = doc.record_at(line).unwrap().source().to_owned();
        // Insert before: the new line appears right before the record, nothing else changes.
        let mut ins = doc.clone();
        let rule = pg_hba::Rule::new(pg_hba::ConnectionType::HostNoSsl, Some(pg_hba::Address::All), pg_hba::Method::Reject);
        let new_line = ins.insert(pg_hba::Position::Before(line), &rule).unwrap();
        prop_assert_eq!(new_line, line);
        let inserted = ins.record_at(line).unwrap().source().to_owned();
        prop_assert!(inserted.ends_with(eol));
        let out = ins.to_string();
        let at = out.find(&format!("{inserted}{source}")).expect("new line sits before the record");
        let mut back = out.clone();
        back.replace_range(at..at + inserted.len(), "");
        prop_assert_eq!(&back, &text);
        // Remove: exactly that record's source disappears.
        let mut rem = doc.clone();
        rem.remove(line).unwrap();
        let removed = rem.to_string();
        // Everything before the record is identical, so it starts at the same offset.
        let expected = [&text[..at], &text[at + source.len()..]].concat();
        prop_assert_eq!(removed, expected);
    }
}

//! Parse arbitrary text: printing must give it back, and validation, views, lint,
//! explain, alignment and the policy must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pg_hba::{Connection, Document, LintOptions, ParseOptions, PgVersion, Policy, explain, lint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let version = match data.first().map(|b| b % 3) {
        Some(1) => PgVersion::V16,
        Some(2) => PgVersion::V17,
        _ => PgVersion::V15,
    };
    let opts = ParseOptions {
        version,
        ..ParseOptions::default()
    };
    let doc = Document::parse(text, opts.clone());
    assert_eq!(doc.to_string(), text);
    let _ = doc.validate();
    let _ = doc.view();
    let _ = lint(&doc, &LintOptions { ssl: Some(false) });
    let conn = Connection::host([10, 1, 2, 3].into(), "postgres", "app");
    let _ = explain(&doc, &conn);
    let mut aligned = doc.clone();
    aligned.align_columns();
    let again = Document::parse(&aligned.to_string(), opts);
    assert_eq!(again.view().len(), doc.view().len());
    if let Ok((hardened, _)) = Policy::default().apply(&doc) {
        let (twice, _) = Policy::default().apply(&hardened).expect("policy output is valid");
        assert_eq!(twice.to_string(), hardened.to_string());
    }
});

//! Property tests: every generated file prints back byte for byte, edits are idempotent and
//! touch nothing but their key.

use pgbouncer_ini::Document;
use proptest::prelude::*;

fn blanks() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", " ", "\t", "  ", " \t "]).prop_map(str::to_owned)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_.*-]{0,12}".prop_map(|k| k),
        "[a-z][a-z ]{0,8}[a-z]".prop_map(|k| format!("'{k}'")),
    ]
}

fn value() -> impl Strategy<Value = String> {
    // Anything but line breaks, not starting or ending with blanks.
    prop_oneof![
        Just(String::new()),
        "[!-~]([ -~]{0,20}[!-~])?".prop_map(|v| v),
        "host=db port=[0-9]{4} auth_user=[a-z]{1,8}".prop_map(|v| v),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        blanks(),
        (
            blanks(),
            prop::sample::select(vec!["#", ";"]),
            "[ -~]{0,30}"
        )
            .prop_map(|(b, c, t)| format!("{b}{c}{t}")),
        (blanks(), "/[a-z/]{1,20}\\.ini", blanks())
            .prop_map(|(b, p, t)| format!("{b}%include {p}{t}")),
        (
            blanks(),
            prop::sample::select(vec!["pgbouncer", "databases", "users", "peers"]),
            prop::option::of("[;#][ -~]{0,10}")
        )
            .prop_map(|(b, s, c)| format!(
                "{b}[{s}]{}",
                c.map(|c| format!(" {c}")).unwrap_or_default()
            )),
        (blanks(), key(), blanks(), blanks(), value(), blanks())
            .prop_map(|(b, k, s1, s2, v, t)| format!("{b}{k}{s1}={s2}{v}{t}")),
    ]
}

fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line(), prop::bool::ANY), 0..25),
        prop::bool::ANY,
    )
        .prop_map(|(lines, final_newline)| {
            let mut out = String::new();
            let n = lines.len();
            for (i, (l, crlf)) in lines.into_iter().enumerate() {
                out.push_str(&l);
                if i + 1 < n || final_newline {
                    out.push_str(if crlf { "\r\n" } else { "\n" });
                }
            }
            out
        })
}

fn others(doc: &Document, section: &str, key: &str) -> Vec<(Option<String>, String, String)> {
    doc.entries()
        .into_iter()
        .filter(|e| !(e.section == Some(section) && e.key == key))
        .map(|e| {
            (
                e.section.map(str::to_owned),
                e.key.to_owned(),
                e.value.to_owned(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prints_back_byte_for_byte(text in file()) {
        let doc = Document::parse(&text).unwrap();
        prop_assert_eq!(doc.to_string(), text);
    }

    #[test]
    fn set_is_idempotent_and_local(
        text in file(),
        section in prop::sample::select(vec!["pgbouncer", "databases", "users"]),
        key in "[a-z_][a-z0-9_]{0,10}",
        value in "[!-~]([ -~]{0,20}[!-~])?",
    ) {
        let mut doc = Document::parse(&text).unwrap();
        let before = others(&doc, section, &key);
        doc.set(section, &key, &value).unwrap();
        let once = doc.to_string();
        prop_assert!(!doc.set(section, &key, &value).unwrap());
        prop_assert_eq!(doc.to_string(), once.clone());
        let reread = Document::parse(&once).unwrap();
        prop_assert_eq!(reread.get(section, &key), Some(value.as_str()));
        prop_assert_eq!(others(&reread, section, &key), before);
        // Unchanged lines keep their bytes: one line replaced, one inserted, or lines appended.
        let old: Vec<&str> = text.lines().collect();
        let new: Vec<&str> = once.lines().collect();
        let local = if new.len() == old.len() {
            old.iter().zip(&new).filter(|(a, b)| a != b).count() <= 1
        } else {
            new.starts_with(&old)
                || (new.len() == old.len() + 1
                    && (0..new.len()).any(|i| {
                        let mut n = new.clone();
                        n.remove(i);
                        n == old
                    }))
        };
        prop_assert!(local, "more than the edited line changed:\n{}\n---\n{}", text, once);
    }

    #[test]
    fn remove_then_set_round_trips(
        text in file(),
        key in "[a-z_][a-z0-9_]{0,10}",
    ) {
        let mut doc = Document::parse(&text).unwrap();
        doc.remove("pgbouncer", &key);
        prop_assert_eq!(doc.get("pgbouncer", &key), None);
        let removed = doc.to_string();
        prop_assert!(!doc.remove("pgbouncer", &key));
        prop_assert_eq!(Document::parse(&removed).unwrap().to_string(), removed);
    }
}

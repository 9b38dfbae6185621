//! Differential test: every record of the corpus against PostgreSQL 15's
//! `pg_hba_file_rules`.

use pg_hba::{Document, ParseOptions, ViewRow};
use serde_json::Value;

use crate::support::start_pg;

const CORPUS: &str = include_str!("../fixtures/differential/corpus15.conf");

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

fn server_rows(pg: &pgtest::Pg, text: &str) -> Vec<ViewRow> {
    pg.write_file("data/pg_hba.conf", text, 0o600);
    let json = pg.query(
        "select coalesce(json_agg(row_to_json(t) order by line_number), '[]') from \
         (select line_number, type, database, user_name, address, netmask, auth_method, \
          options, error from pg_hba_file_rules) t",
    );
    let rows: Vec<Value> = serde_json::from_str(&json).expect("json from server");
    rows.iter()
        .map(|r| ViewRow {
            line_number: usize::try_from(r["line_number"].as_u64().unwrap_or(0)).unwrap_or(0),
            r#type: r["type"].as_str().map(str::to_owned),
            database: strings(&r["database"]),
            user_name: strings(&r["user_name"]),
            address: r["address"].as_str().map(str::to_owned),
            netmask: r["netmask"].as_str().map(str::to_owned),
            auth_method: r["auth_method"].as_str().map(str::to_owned),
            options: strings(&r["options"]),
            error: r["error"].as_str().map(str::to_owned),
        })
        .collect()
}

/// The server reports some invalid lines with no error text and no fields (its `err_msg`
/// is only logged): both mean "invalid".
fn server_valid(row: &ViewRow) -> bool {
    row.error.is_none() && row.r#type.is_some()
}

#[test]
fn corpus_matches_postgres_15_line_by_line() {
    let doc = Document::parse(CORPUS, ParseOptions::default());
    assert_eq!(doc.to_string(), CORPUS, "lossless");
    let ours = doc.view();
    assert!(ours.len() >= 150, "corpus has {} records", ours.len());

    let pg = start_pg("local all all trust\n", &[]);
    let theirs = server_rows(&pg, CORPUS);

    let mut problems = Vec::new();
    let their_lines: Vec<usize> = theirs.iter().map(|r| r.line_number).collect();
    let our_lines: Vec<usize> = ours.iter().map(|r| r.line_number).collect();
    if their_lines != our_lines {
        problems.push(format!(
            "line numbers differ:\n ours   {our_lines:?}\n theirs {their_lines:?}"
        ));
    }
    let (mut valid, mut invalid) = (0, 0);
    for t in &theirs {
        let Some(o) = ours.iter().find(|o| o.line_number == t.line_number) else {
            continue;
        };
        let text = doc
            .record_at(t.line_number)
            .map(|r| r.logical_text().to_owned())
            .unwrap_or_default();
        if server_valid(t) {
            valid += 1;
            if o != t {
                problems.push(format!(
                    "line {} {text:?}:\n ours   {o:?}\n theirs {t:?}",
                    t.line_number
                ));
            }
        } else {
            invalid += 1;
            match (&o.error, &t.error) {
                (None, _) => problems.push(format!(
                    "line {} {text:?}: we accept, server says {:?}",
                    t.line_number, t.error
                )),
                (Some(a), Some(b)) if a != b => problems.push(format!(
                    "line {} {text:?}: message differs:\n ours   {a}\n theirs {b}",
                    t.line_number
                )),
                _ => {}
            }
        }
    }
    println!(
        "corpus: {} records, {valid} valid, {invalid} invalid",
        theirs.len()
    );
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        valid >= 60 && invalid >= 60,
        "{valid} valid, {invalid} invalid"
    );
}

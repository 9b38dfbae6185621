//! Check a `pg_hba.conf` file: `cargo run --release -p pg-hba --example hba_check -- FILE`.
//! Prints the number of records and errors and the time parse + validate + print took.

use std::time::Instant;

use pg_hba::{Document, ParseOptions};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: hba_check FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hba_check: cannot read \"{path}\": {e}");
            std::process::exit(2);
        }
    };
    let t0 = Instant::now();
    let doc = Document::parse(
        &text,
        ParseOptions {
            file_name: path.clone(),
            ..ParseOptions::default()
        },
    );
    let t1 = Instant::now();
    let errors = doc.validate();
    let t2 = Instant::now();
    let printed = doc.to_string();
    let t3 = Instant::now();
    assert_eq!(printed, text);
    #[allow(clippy::cast_precision_loss)] // a file size, far below 2^52
    let mb = text.len() as f64 / 1e6;
    let total = (t3 - t0).as_secs_f64();
    println!(
        "{} records, {} errors; parse {:?}, validate {:?}, print {:?}; {:.1} MB/s",
        doc.records().count(),
        errors.len(),
        t1 - t0,
        t2 - t1,
        t3 - t2,
        mb / total
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}

//! Writes the realistic `pg_hba.conf` of `pgtls_benches::hba_gen` to stdout:
//! `gen_hba [RECORDS] [SEED]` (default 100,000 records, seed 7).

use std::io::Write as _;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let records = args.next().map_or(Ok(100_000), |a| a.parse::<usize>());
    let seed = args.next().map_or(Ok(7), |a| a.parse::<u64>());
    let (Ok(records), Ok(seed)) = (records, seed) else {
        eprintln!("usage: gen_hba [RECORDS] [SEED]");
        return std::process::ExitCode::from(2);
    };
    let text = pgtls_benches::hba_gen::realistic_hba(records, seed);
    if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
        return std::process::ExitCode::from(2);
    }
    std::process::ExitCode::SUCCESS
}

//! Benchmarks live in `benches/benches/*.rs`; `compare.sh` times pgtls against the tools users would pick instead.

#[path = "hba_gen.rs"]
pub mod hba_gen;

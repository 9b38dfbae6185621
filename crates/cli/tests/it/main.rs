//! CLI-level tests: they run the built `pgtls` binary.

mod connstr;
mod e2e;
mod harden;
mod output;
mod owner;
mod support;

//! CLI-level tests: they run the built `pgtls` binary.

mod connstr;
mod harden;
mod support;

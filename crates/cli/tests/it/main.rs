//! CLI-level tests: they run the built `pgtls` binary.

mod connstr;
mod coolify;
mod e2e;
mod harden;
mod output;
mod support;

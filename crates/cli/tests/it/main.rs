//! CLI-level tests: they run the built `pgtls` binary.

mod clients;
mod connstr;
mod coolify;
mod e2e;
mod effect;
mod flags;
mod harden;
mod npgsql;
mod output;
mod owner;
mod support;

//! CLI-level tests: they run the built `pgtls` binary (`unit` tests its public modules in process).

mod acme;
mod clients;
mod compose;
mod connstr;
mod coolify;
mod e2e;
mod effect;
mod flags;
mod harden;
mod npgsql;
mod output;
mod owner;
mod pg17;
mod report;
mod sni;
mod support;
mod textfile;
mod unit;

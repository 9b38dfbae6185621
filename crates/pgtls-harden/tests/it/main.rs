//! Integration tests of pgtls-harden (one test binary).

mod faults;
mod plan_api;
mod report_api;
mod support;

//! Integration tests of pgtls-harden (one test binary).

mod faults;
mod majors;
mod plan_api;
mod report_api;
mod running_hba;
mod support;

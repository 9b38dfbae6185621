//! Integration tests for compose-patch: golden outputs on the two real layouts,
//! line preservation, typed-view checks, idempotence, errors and a property test.
#![allow(missing_docs)]

mod errors;
mod golden;
mod merged;
mod oracle;
mod props;
mod support;
mod view;

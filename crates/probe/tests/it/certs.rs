//! Test certificates made with the `openssl` command-line tool (shared test support).

pub use pgtest::{Leaf, Pki};

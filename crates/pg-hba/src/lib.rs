//! Typed, lossless pg_hba.conf parser and emitter with PostgreSQL-exact validation, first-match explain and lint.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

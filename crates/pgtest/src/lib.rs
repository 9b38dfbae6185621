//! Test support: throwaway PostgreSQL clusters and PgBouncer instances on loopback.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

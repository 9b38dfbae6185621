//! Private CA, server and client certificates for PostgreSQL TLS: creation, inspection, renewal and safe key files.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

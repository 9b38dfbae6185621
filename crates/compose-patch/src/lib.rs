//! Lossless, comment-preserving docker-compose edits for PostgreSQL TLS hardening.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

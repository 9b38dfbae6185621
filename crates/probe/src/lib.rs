//! PostgreSQL wire-protocol TLS prober: SSLRequest, handshake, verification and plaintext refusal.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

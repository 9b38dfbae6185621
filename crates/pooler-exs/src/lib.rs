//! Lossless editor for Supavisor's pooler.exs tenant script.
//!
//! Work in progress.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! Lossless editor for Supavisor's `pooler.exs` tenant script.
//!
//! (essay below is replaced later)

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod analyze;
mod error;
mod lex;
mod script;
mod value;

pub use analyze::{KeyStyle, TenantLogic};
pub use error::{Error, Result};
pub use script::{Entry, FlagState, Inspection, ParamsMap, Script};
pub use value::ValueExpr;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

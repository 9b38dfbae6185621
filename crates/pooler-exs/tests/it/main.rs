//! Integration tests for pooler-exs (one test binary).

mod edge;
mod elixir;
mod embedded;
mod errors;
mod golden;
mod props;
mod registry;
mod sni;
mod support;

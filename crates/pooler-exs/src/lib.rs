//! Lossless editor for Supavisor's `pooler.exs` tenant script.
//!
//! Self-hosted Supabase configures its pooler (Supavisor) with a small Elixir script,
//! `pooler.exs`, run at container start: it binds a map of tenant parameters and passes it to
//! `Supavisor.Tenants.create_tenant/1` (upstream `supabase/docker`) or, when the tenant already
//! exists, to `Supavisor.Tenants.update_tenant/2` (Coolify). Hardening TLS means adding
//! `"enforce_ssl" => true` (and optionally upstream TLS settings) to that map, and, for the
//! upstream layout, noticing that the script only *creates* the tenant: once the tenant row
//! exists, editing the map changes nothing unless the script upserts. This crate reads the
//! script, finds the map, edits it without disturbing anything else, and classifies and rewrites
//! the tenant logic.
//!
//! # Example
//!
//! ```
//! use pooler_exs::{Script, TenantLogic};
//!
//! let src = r#"params = %{
//!   "external_id" => System.get_env("POOLER_TENANT_ID"),
//!   "auth_query" => "SELECT * FROM pgbouncer.get_auth($1)" # } => in a comment
//! }
//!
//! if !Supavisor.Tenants.get_tenant_by_external_id(params["external_id"]) do
//!   {:ok, _} = Supavisor.Tenants.create_tenant(params)
//! end
//! "#;
//! let mut script = Script::parse(src)?;
//! assert_eq!(script.tenant_logic(), TenantLogic::CreateOnly);
//!
//! assert!(script.set_bool("enforce_ssl", true)?);
//! assert!(!script.set_bool("enforce_ssl", true)?); // idempotent
//! script.rewrite_to_upsert()?;
//!
//! assert_eq!(script.get("enforce_ssl")?, Some("true"));
//! assert_eq!(script.tenant_logic(), TenantLogic::Upsert);
//! assert_eq!(script.to_string(), r#"params = %{
//!   "external_id" => System.get_env("POOLER_TENANT_ID"),
//!   "enforce_ssl" => true,
//!   "auth_query" => "SELECT * FROM pgbouncer.get_auth($1)" # } => in a comment
//! }
//!
//! tenant = Supavisor.Tenants.get_tenant_by_external_id(params["external_id"])
//! if tenant do
//!   {:ok, _} = Supavisor.Tenants.update_tenant(tenant, params)
//! else
//!   {:ok, _} = Supavisor.Tenants.create_tenant(params)
//! end
//! "#);
//! # Ok::<(), pooler_exs::Error>(())
//! ```
//!
//! # Design
//!
//! - **Scanner, not parser.** A nom scanner turns the text into a flat list of tokens with byte
//!   spans: strings (escapes, `#{...}` interpolation that may hold braces and quotes), charlists,
//!   sigils (`~s ~S ~r ~c ~w` and any other, with every delimiter `() [] {} <> / | " '` and
//!   heredoc delimiters), heredocs `"""`/`'''`, comments, atoms (`:ok`, `:"a b"`, `:<>`),
//!   keyword keys (`key:`, `"key":`), numbers, `?c` characters, identifiers, aliases, operators
//!   (`|>`, `=>`, `=`, ...) and brackets, which are paired. Interpolations are scanned with the
//!   same token parser (depth-limited) only to find their end. Everything the editor does not
//!   need (calls, pipes, `case` blocks) stays a run of tokens, skipped as balanced groups.
//! - **Lossless by construction** (the `toml_edit` model). A [`Script`] is the original text
//!   plus its scan; an edit is a set of byte splices, after which the text is scanned again.
//!   Bytes outside the splices are never touched: no re-printing, no normalising.
//! - **Finding the parameters map.** Calls to `create_tenant(...)` / `update_tenant(_, ...)`
//!   qualified by `Tenants.` (or unqualified, as after `import`), also in pipes
//!   (`params |> Supavisor.Tenants.create_tenant()`); their argument is a map literal or a
//!   variable, resolved to the last `var = %{...}` before the call. All calls must agree.
//! - **Style of new entries.** A new key is written in the last entry's key style
//!   (`"k" => v`, `k: v`, `"k": v` or `:k => v`; Ecto refuses maps that mix string and atom
//!   keys), with that entry's indentation in a multi-line map (so the deeper indentation of a
//!   YAML `content: |` block is kept) and the file's line endings (CRLF stays CRLF).
//! - **Edits add lines and change none.** In a multi-line map a new key is a line of its own
//!   ending in a comma, like its siblings: after the last entry when the map has a trailing
//!   comma, otherwise just before the last entry (before the comment lines right above it), so
//!   the last entry's line (`}]` in Supabase's scripts) is not touched. Only a map whose last
//!   entry shares a line with another entry or with `%{`, and a single-line map, get the entry
//!   on an existing line (a comma added after a value goes before a same-line comment).
//!   Setting a present key replaces its value in place (an explicit `false` becomes `true`).
//! - **Tenant logic.** [`TenantLogic::Upsert`] when any `update_tenant` call exists;
//!   [`TenantLogic::CreateOnly`] when `create_tenant` sits in
//!   `if !...get_tenant_by_external_id(...) do` (also `if not`, `unless`, `if is_nil(...)`,
//!   `if ... == nil`); otherwise [`TenantLogic::Unknown`]. [`Script::rewrite_to_upsert`] only
//!   replaces the `if ... do` header and uses `Supavisor.Tenants.update_tenant/2` (there is no
//!   `upsert_tenant`: calling it crash-loops the container).
//! - **Idempotence.** Every edit compares before writing: setting a key to the value it has,
//!   removing an absent key or rewriting an upsert returns `Ok(false)` and changes nothing.
//! - **One tenant per database.** Upstream's newer script (supabase/supabase
//!   `docker/volumes/pooler/pooler.exs` around 1c8aa2c) reads a registry
//!   (`DATABASE_REGISTRY_PATH`, default `/etc/supabase/databases.json`) and builds the map inside
//!   `Enum.each(databases, fn db -> ... end)`: keys set in the map apply to every tenant;
//!   [`ParamsMap::loop_line`] says so, and [`Script::set_sni_hostname`] refuses one literal name
//!   for all of them. The registry holds only connection fields (ref, host, port, database,
//!   `password_env`): TLS settings live in the script.
//! - **SNI routing** (Supavisor 2.9+): [`Script::set_sni_hostname`] sets `sni_hostname` after
//!   [`check_sni_hostname`] (a DNS host name, never an IP address: clients send no SNI for one).
//! - Text in, text out: no file I/O. [`Script::inspect`] gives a serde-serialisable summary for
//!   `pgtls pooler inspect --json`; [`harden`] runs the requested edits in one call and returns
//!   the new text with a list of changes and warnings (create-only logic, the CA path that must
//!   be mounted) for the CLI's plan.
//!
//! # Limitations: what is not preserved / not supported
//!
//! - This is not an Elixir parser: the text is checked for balanced brackets and terminated
//!   literals, not for valid Elixir. `do`/`end` blocks are matched only for the tenant logic.
//! - The parameters map must be a literal `%{...}` bound with `=` (or written in the call);
//!   maps built with `Map.put`, `Map.merge` or `Enum.into`, and map updates `%{m | k: v}`, are
//!   not followed. Only the top level of the map is edited (nested `users` maps are values).
//! - Keys are limited to ASCII letters, digits and `_` (every Supavisor tenant field is).
//! - Tenant calls must use parentheses (`create_tenant(params)`, as Elixir's formatter writes
//!   them); `create_tenant params` is not recognised.
//! - [`Script::remove`] takes an entry's own lines with it but leaves comment lines above it.
//! - A map with several entries on one line and others on their own lines gets the new entry
//!   on a line of its own, indented like the last entry.
//! - The rewrite refuses ([`Error::CannotRewrite`]) an `else` with code on its own line, an
//!   `if` that does not start its line, and parameters that are not a variable. An `if` with an
//!   `else` (upstream's registry script logs there) gets the update as the first line of it.
//! - Line numbers are those of the text given; for a script inline in a compose file, the
//!   caller adds the line offset of the `content: |` block.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod analyze;
mod embed;
mod error;
mod harden;
mod lex;
mod script;
mod sni;
mod value;

pub use analyze::{KeyStyle, TenantLogic};
pub use embed::{Host, TenantFile};
pub use error::{Error, Result};
pub use harden::{Change, HardenOptions, HardenReport, harden};
pub use script::{Entry, FlagState, Inspection, ParamsMap, Script};
pub use sni::{SNI_KEY, check_sni_hostname};
pub use value::ValueExpr;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

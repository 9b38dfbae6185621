//! `pgtls-harden`: the Supabase TLS hardening recipe as a library.
//!
//! This crate owns the Supabase and Coolify domain: which files make up a self-hosted Supabase
//! deployment, what "hardened" means for it, and how to get there without breaking it. It
//! composes the workspace's single-concern crates (pgtls-certs for the CA and certificates,
//! pg-hba for `pg_hba.conf`, compose-patch for the compose file, pooler-exs for Supavisor's
//! tenant script) into one recipe, and writes its reports: [`report`]'s modules build the human
//! text and the JSON of every `pgtls` report from the library's own types. The `pgtls` binary adds
//! only the command-line grammar, the wiring and the terminal (whether to colour).
//!
//! ```
//! use pgtls_harden::{HardenOptions, Layout, MemSource, Tree};
//!
//! let compose = "\
//! services:
//!   db:
//!     image: supabase/postgres:15.8.1.060
//!     command: [\"postgres\", \"-c\", \"config_file=/etc/postgresql/postgresql.conf\"]
//!     volumes:
//!       - ./volumes/db/data:/var/lib/postgresql/data
//!   supavisor:
//!     image: supabase/supavisor:2.5.1
//! ";
//! let src = MemSource::new("/srv/supabase")
//!     .file("docker-compose.yml", compose)
//!     .dir("volumes/db/data", 0o700, 105, 106);
//! let layout = Layout::detect(&src, None)?;
//! assert_eq!(layout.db.key, "db");
//!
//! let tree = Tree::over(Box::new(src), None);
//! let opts = HardenOptions::new((105, 106));
//! let (plan, _staging) = pgtls_harden::plan(&tree, &layout, &opts)?;
//! assert!(plan.changed());
//! assert!(plan.steps.iter().any(|s| s.id == pgtls_harden::StepId::Certificates));
//! assert!(plan.steps.iter().any(|s| s.id == "certificates")); // the JSON contract's spelling
//! # Ok::<(), pgtls_harden::Error>(())
//! ```
//!
//! # Design
//! - **Detect, plan, check, apply, as separate pure-to-impure stages.** [`Layout::detect`] reads
//!   the compose file through a [`Source`], a small read-only trait (read a file, its metadata,
//!   list a folder) with a real-filesystem ([`FsSource`]) and an in-memory ([`MemSource`])
//!   implementation. A [`Tree`] overlays the destination (`--out`) on the source, so a second
//!   run against the same destination starts from the first run's result. [`plan()`] stages
//!   every edit in memory ([`Staging`]), certificates included, and returns the [`Plan`]: steps
//!   with stable ids, the file changes, warnings and next steps. Planning never writes, so it is
//!   unit-tested over a [`MemSource`]. [`checklist::run`] judges a staged state (the deployment
//!   as it is, or as it will be after the plan). [`apply::apply`] is the only stage that writes:
//!   backup, temp file in the same folder created with its final mode, fsync, rename, fsync the
//!   folder; a failure stops at once and says what was written and where the backups are.
//! - **Coolify through its API.** [`coolify::Client`] reads a service's compose from Coolify and
//!   stores the hardened one; [`coolify::ComposeOverlay`] is a [`Source`] serving that compose
//!   over the host folder, so the same plan hardens Coolify's copy. The facts it relies on, read
//!   in Coolify's sources, are in the module docs and `docs/coolify-facts.md`.
//! - **No terminal, no argv.** Options are plain structs ([`HardenOptions`]), key types are
//!   [`pgtls_certs::KeyType`], layouts are [`LayoutKind`]; nothing here knows clap or a terminal
//!   (a report is coloured only when the caller's [`report::paint::Paint`] says so).
//! - **Warnings carry stable codes.** A [`Warning`] is a [`Code`] (`W-REQUIRE-MITM`, ...) and the
//!   text written for this deployment; [`report`] holds the one table of codes with their one-line
//!   titles and long texts, from which [`report::harden`] builds the terse report and `--verbose`,
//!   and [`report::explain`] `pgtls explain`. A plain `String` converts into a [`Warning`] with [`Code::Other`].
//! - **Paths, ids and defaults at the bottom.** [`paths`], [`ids`] and [`error`] import nothing
//!   from the crate, [`step`] only [`ids`] and [`report`], `mapping` (container paths to host
//!   paths through bind mounts) only [`layout`]; no module imports one that imports it back.
//!   Step and check ids are enums ([`StepId`], [`CheckId`]) that serialise as the contract's
//!   strings. The planner runs one module per step (`harden/{copy,certs,hba,services,tenant,
//!   pgbouncer}.rs`); the checklist one module per item family.
//! - **Errors** are one [`Error`] enum; [`Context`] adds "what was being done" the way a chain
//!   of causes reads in the CLI (`error: ...`, `caused by: ...`).
//! - **Mounts and reloads.** [`mounts`] says which files pgtls rewrites reach a running container
//!   (folders, not single-file binds, which pin the old inode); [`effect`] turns "what changed"
//!   into the exact action per service (db SIGHUP, pooler restart) and, given an [`Engine`], does
//!   it and confirms the served certificate with a fresh handshake (feature `probe`).
//!
//! # Limitations
//! - Two layouts only (upstream `supabase/docker` and Coolify's Supabase service); others can be
//!   forced with a [`LayoutKind`] when their service names match one of them.
//! - Applying edits files; it restarts nothing unless asked ([`effect::perform`], `docs/mounts-and-reload.md`).
//!   A running Supavisor's tenant row is not changed by editing a create-only pooler.exs: the plan warns, and
//!   [`HardenOptions::pooler_upsert`] rewrites the script into an upsert.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod adopt;
pub mod adopt_input;
pub mod apply;
pub mod certs_init;
pub mod certs_renew;
pub mod checklist;
mod compose_set;
mod compose_v2;
pub mod connstr;
pub mod container_files;
pub mod coolify;
pub mod docker;
pub mod effect;
pub mod error;
pub mod harden;
pub mod hba_base;
pub mod ids;
pub mod layout;
mod mapping;
pub mod mounts;
pub mod owner;
pub mod paths;
mod pgbouncer;
pub mod pgmajor;
pub mod plan;
pub mod pooler;
pub mod renew_due;
pub mod renewal;
pub mod report;
pub mod run;
pub mod source;
pub mod step;
mod supavisor;
pub mod tree;
mod trust;
pub mod via_coolify;

#[cfg(test)]
mod pgbouncer_tests;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod report_tests;

/// Clients [`connstr`] builds connection strings for.
pub use crate::connstr::Client;
pub use crate::error::{Context, Error, Result};
pub use crate::harden::{HardenOptions, Plan, plan};
pub use crate::ids::{CheckId, StepId};
pub use crate::layout::PoolerKind;
pub use crate::layout::{ActivePooler, ComposeInvocation, Layout, LayoutKind};
pub use crate::owner::{DbUser, Engine, EngineNetwork, NoEngine, OwnerSource, PgData};
pub use crate::pgmajor::{MajorMismatch, PgMajor};
pub use crate::plan::{FileChange, FileKind, Staging};
pub use crate::report::{Code, Warning};
pub use crate::source::{DirEntry, EntryKind, FileMeta, FsSource, MemSource, Source};
pub use crate::step::{Step, StepStatus};
pub use crate::tree::Tree;
pub use crate::trust::{TrustSource, TrustedNetworks};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

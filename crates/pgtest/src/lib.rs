//! Test support for the pgtls workspace: throwaway PostgreSQL clusters and PgBouncer
//! instances on 127.0.0.1, started for one test and stopped by PID when it ends.
//!
//! The behaviour pgtls cares about lives in servers (which key files PostgreSQL accepts,
//! what `pg_hba.conf` lets through, what a pooler answers to a plaintext client), so the tests
//! ask real servers instead of mocks. This crate makes that cheap and safe:
//!
//! - [`Pg::builder`] copies a cached `initdb` template (made once per PostgreSQL version and
//!   user, reused across test binaries), writes the caller's files and `pg_hba.conf`, and
//!   starts `postgres` on 127.0.0.1 and a free port with the caller's `-c` settings.
//! - When the tests run as root, every server process runs as the `postgres` user (found in
//!   `/etc/passwd`) and the files it must read are owned by that user; otherwise the servers run
//!   as the current user.
//! - [`Pg`] and [`PgBouncer`] stop their server by PID on drop (fast shutdown, then `SIGKILL`
//!   after a grace period), also when a test panics, and remove their directories
//!   (set `PGTEST_KEEP=1` to keep them for a post-mortem).
//! - Every instance has its own directory, socket directory and port, so tests run in parallel.
//!
//! ```no_run
//! let pg = pgtest::Pg::builder().setting("log_connections", "on").start().unwrap();
//! assert_eq!(pg.query("select 1 + 1"), "2");
//! let out = pg.psql("sslmode=disable", "select current_user");
//! assert!(out.success, "{}", out.stderr);
//! ```
//!
//! Limitations: Linux only (it reads `/proc/self` and `/etc/passwd`); a port can in theory be
//! taken by another process between choosing it and the server binding it, in which case the
//! start is retried on a new port a few times.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod coolify;
pub mod deployment;
mod error;
mod host;
mod pgbouncer;
mod pki;
mod postgres;
pub mod promtool;

pub use coolify::{Abilities, CoolifyStandIn, FileStorage, Recorded};
pub use error::HarnessError;
pub use host::{ServerUser, free_port, passwd_lookup, running_as_root, server_user, write_file_as};
pub use pgbouncer::{PgBouncer, PgBouncerBuilder, pgbouncer_bin};
pub use pki::{Leaf, Pki};

// the PKI harness's folder helpers, at the paths it has always used
use host::{fresh_dir, keep_dirs};
pub use postgres::{Pg, PgBuilder, PsqlOutput, SUPERUSER, SUPERUSER_PASSWORD, pg_bindir, run_psql};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! A PostgreSQL-aware TLS prober: proves, from the wire and without credentials, that an
//! endpoint (PostgreSQL, Supavisor, PgBouncer) speaks TLS properly and refuses plaintext.
//!
//! General TLS scanners do not speak PostgreSQL's STARTTLS-like SSLRequest well, and none of
//! them checks the one thing hardening is for: that a *plaintext* client is refused. This
//! crate runs, per endpoint, these checks (ids are the stable `pgtls verify --json` ids):
//!
//! | id | what |
//! |---|---|
//! | `tls-offered` | SSLRequest is answered `S` |
//! | `no-buffered-bytes` | nothing follows the `S` before the handshake (CVE-2021-23222) |
//! | `handshake` | protocol, cipher, ALPN |
//! | `certificate` | subject, SANs, dates, key, signature of the leaf |
//! | `chain` | the chain verifies against `--ca` or the system roots |
//! | `hostname` | the certificate names the host (libpq verify-full rules) |
//! | `expiry` | inside the validity window, more than `expiry_warn_days` left |
//! | `tls-versions` | TLS 1.0 and 1.1 refused; which of 1.0..1.3 are accepted |
//! | `plaintext-refused` | a StartupMessage without TLS is refused for lack of TLS |
//! | `direct-tls` | PostgreSQL 17 direct TLS (ALPN `postgresql`) |
//! | `pipelined-data` | plaintext pipelined after SSLRequest is refused (CVE-2021-23214) |
//! | `authenticated` | optional login over TLS; `pg_stat_ssl` of its own backend |
//!
//! ```no_run
//! use pgtls_probe::{ProbeOptions, Target, verify_blocking};
//!
//! let targets = Target::parse("db.example.com")?; // ports 5432 and 6543
//! let opts = ProbeOptions::default().with_ca_file("/etc/pgtls/ca.crt")?;
//! let report = verify_blocking(&targets, &opts.with_concurrency(8))?;
//! print!("{}", report.render(false));
//! println!("{}", report.to_json());
//! # Ok::<(), pgtls_probe::Error>(())
//! ```
//!
//! # Design
//! - [`wire`] is a pure codec in the style of `postgres-protocol`: it encodes the startup
//!   packets and decodes the startup-phase replies, bounded ([`wire::MAX_MESSAGE_LEN`]) and
//!   panic-free on any input (fuzzed).
//! - The I/O layer uses tokio, and the `openssl` crate through `tokio-openssl` for the raw
//!   handshake, because native-tls cannot report the protocol version or cipher. Certificate
//!   verification runs after the handshake against the presented chain, so a bad certificate
//!   is reported with its facts instead of as an opaque handshake error.
//! - Every check has its own deadline ([`ProbeOptions::timeout`]) shared by all its network
//!   steps, so a slow drip of bytes cannot stretch it. Hostile servers produce verdicts.
//! - Nothing waits on the happy path: all checks of a target start at once, each on its own
//!   connection(s), and the report keeps the fixed order. `no-buffered-bytes` looks only at
//!   what arrived with the `S` plus one non-blocking read just before the `ClientHello` (what
//!   libpq 14.1+ checks: its own buffer), never a timed wait; a server's close or plaintext
//!   answer is classified as soon as it arrives. `tls-versions` offers TLS 1.0 and 1.1 in one
//!   handshake (one refusal covers both; a server that takes either is caught), takes TLS 1.3
//!   from the first connection when it negotiated 1.3, and TLS 1.2 from the pipelined-data
//!   handshake, which offers only 1.2 (when that handshake does not complete, both checks get
//!   connections of their own). OpenSSL's client context is built once per process. Against
//!   PostgreSQL a probe costs 5 connections, each a forked backend (2-4 ms of server CPU
//!   each), which bounds one probe's time and many-target throughput.
//! - The overall rule ([`Report`]): a target passes only when TLS works, plaintext is refused,
//!   verification passes when a CA was given, and no check failed.
//!
//! # Limitations: what is not supported
//! - Classification of refusals relies on the server's English message texts (PostgreSQL,
//!   Supavisor, PgBouncer); a server with `lc_messages` in another language makes
//!   `plaintext-refused` inconclusive (its message is shown).
//! - No GSSAPI encryption, no client certificates, no SCRAM channel binding checks.
//! - Host names are resolved by the system resolver; only the first address is probed.
//! - The authenticated check verifies the chain with native-tls (OpenSSL) only when a CA is
//!   given; without one it encrypts without verifying, like `sslmode=require`.
//! - TLS 1.0/1.1 can be tested only where the local OpenSSL still offers them at security
//!   level 0; otherwise they are reported as `untested`. They are offered together, so an
//!   OpenSSL that can offer only one of them would report the other as refused.
//! - Bytes a man in the middle sends after the `S` but later than the `ClientHello` are not
//!   reported by `no-buffered-bytes` (libpq would not see them either); they break the
//!   handshake, which then fails.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cert;
mod deep;
mod error;
mod facts;
mod io;
mod judge;
mod options;
mod probe;
mod report;
mod target;
pub mod wire;

pub use crate::error::{Error, Result};
pub use crate::options::{MAX_CONCURRENCY, MAX_EXPIRY_WARN_DAYS, MAX_TIMEOUT, ProbeOptions};
pub use crate::probe::{probe, probe_many, probe_many_with, verify, verify_blocking};
pub use crate::report::{
    CertificateInfo, Check, CheckData, CheckId, OverallVerdict, Refusal, Report, TargetReport,
    TargetVerdict, Verdict, VersionOutcome, render_target,
};
pub use crate::target::{DEFAULT_PORTS, Target, parse_targets};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

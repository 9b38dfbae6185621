//! A Prometheus exporter for PostgreSQL TLS: `pgtls verify`'s checks served in Prometheus's
//! multi-target style, so a fleet is scheduled, stored and alerted on by the Prometheus it
//! already runs.
//!
//! Each scrape of `GET /probe?target=HOST:PORT[&module=NAME]` runs one probe in-process
//! ([`pgtls_probe::probe`]: `SSLRequest`, handshake with verification, certificate facts, a
//! plaintext `StartupMessage` that must be refused) and answers its `pgtls_*` metrics
//! ([`probe_metrics`]). `GET /metrics` answers the exporter's own ([`Stats`]). Prometheus owns
//! discovery and scheduling: its relabelling moves each target into the `target` parameter
//! (`examples/prometheus/prometheus.yml`).
//!
//! ```no_run
//! use pgtls_exporter::{Flags, ModuleSpec, Settings};
//!
//! let settings = Settings::from_flags(&Flags {
//!     listen: Some("127.0.0.1:9761".into()),
//!     allow_targets: vec!["10.0.0.0/8".into(), "db.example.com".into()],
//!     default_module: ModuleSpec { ca_file: Some("/etc/pgtls/ca.crt".into()), ..ModuleSpec::default() },
//!     ..Flags::default()
//! })?;
//! pgtls_exporter::run(settings, |addr| eprintln!("listening on {addr}"))?;
//! # Ok::<(), pgtls_exporter::Error>(())
//! ```
//!
//! # Design
//! - **Not an open scanner.** A prober that connects wherever a URL says forges requests for
//!   whoever can reach it. A target must match the [`Allowlist`] before anything is sent to it
//!   (403 otherwise); a host name allowed only through a CIDR is resolved once and the probe
//!   connects to that address, so a second lookup cannot move it.
//! - **Bounded work.** At most `max_concurrent` probes run; a request that finds every slot
//!   busy waits for at most half its deadline, then gets 503. Waiters are bounded by the
//!   connection limit (`2 × max_concurrent + 16`; more connections are closed on accept).
//!   Request line and headers must fit in 8 KiB and arrive within 5 s; a connection lives at
//!   most 5 minutes; only `GET` and `HEAD`.
//! - **Deadlines from Prometheus.** A probe's deadline is the module's timeout, lowered to
//!   `X-Prometheus-Scrape-Timeout-Seconds` minus an offset (0.5 s, as `blackbox_exporter`'s
//!   `--timeout-offset`). Each check gets 90% of it, so a silent endpoint is judged
//!   (inconclusive, `pgtls_probe_success 0`) before the hard cut; the hard cut answers
//!   `pgtls_probe_result{result="timeout"} 1`. Either way the scrape is answered in time.
//! - **A verdict never poses as another.** `pgtls_check_success` has samples only for checks
//!   that passed (1) or failed (0); an inconclusive or skipped check has none there, and
//!   `pgtls_check_result{check,result}` is the state set of all four verdicts.
//!
//! # Limitations: what is not supported
//! - HTTP/1.1 only, no TLS or authentication on the exporter's own port: put it behind the
//!   same network controls as any exporter (the systemd unit listens on loopback).
//! - Allowlist entries carry no port: an allowed host may be probed on any port.
//! - The default module's probe opens two connections per scrape (one plaintext refusal, one
//!   FATAL line in PostgreSQL's log per scrape); deep modules open about 27.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod allow;
mod config;
mod error;
mod exposition;
mod metrics;
mod server;
mod textfile;

pub use crate::allow::{Allowed, Allowlist, Denied};
pub use crate::config::{
    DEFAULT_LISTEN, DEFAULT_MAX_CONCURRENT, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT_OFFSET, FileConfig,
    Flags, MAX_CONCURRENT, Module, ModuleSpec, Settings, parse_duration,
};
pub use crate::error::{Error, Result};
pub use crate::exposition::{CONTENT_TYPE, Exposition, Kind, escape_label, format_value};
pub use crate::metrics::{InFlight, ProbeResult, Refusal, Stats, probe_metrics};
pub use crate::server::{
    Exporter, HEADER_READ_TIMEOUT, MAX_CONNECTION_AGE, MAX_HEADER_BYTES, MAX_URI_LEN,
    SCRAPE_TIMEOUT_HEADER, deadline, run,
};
pub use crate::textfile::{
    CertificateFile, ChecklistItem, certificate_metrics, checklist_metrics, renewal_metrics,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! A PostgreSQL-aware TLS prober: proves, from the wire and without credentials, that an
//! endpoint (PostgreSQL, Supavisor, PgBouncer) speaks TLS properly and refuses plaintext.
//!
//! General TLS scanners do not speak PostgreSQL's STARTTLS-like SSLRequest well, and none of
//! them checks the one thing hardening is for: that a *plaintext* client is refused. This
//! crate runs, per endpoint, these checks (ids are the stable `pgtls verify --json` ids):
//!
//! | id | what | mode |
//! |---|---|---|
//! | `tls-offered` | SSLRequest is answered `S` | default |
//! | `no-buffered-bytes` | nothing follows the `S` before the handshake (CVE-2021-23222) | default |
//! | `handshake` | protocol, cipher, ALPN | default |
//! | `certificate` | subject, SANs, dates, key and its size, digest, EKU, AKI of the leaf | default |
//! | `chain` | OpenSSL's own verification, as a libpq client on this host runs it | default |
//! | `hostname` | the certificate names the host (libpq's verify-full rule, exactly) | default |
//! | `expiry` | inside the validity window, at least `expiry_warn_days` left | default |
//! | `plaintext-refused` | a StartupMessage without TLS is refused for lack of TLS | default |
//! | `authenticated` | optional login (password or client certificate) over the same TLS session | default |
//! | `tls-versions` | TLS 1.0 and 1.1 refused; which of 1.0..1.3 are accepted | `--deep` |
//! | `direct-tls` | PostgreSQL 17 direct TLS (ALPN `postgresql`) | `--deep` |
//! | `pipelined-data` | plaintext pipelined after SSLRequest is refused (CVE-2021-23214) | `--deep` |
//! | `ciphers` | TLS 1.2 suites enumerated, TLS 1.3 suites listed; anonymous/NULL/EXPORT/RC4/DES fail | `--deep` |
//! | `client-certificate` | whether the server asks for one, and from which CAs | `--deep` |
//!
//! ```no_run
//! use pgtls_probe::{ProbeOptions, Target, verify_blocking};
//!
//! let targets = Target::parse("db.example.com")?; // ports 5432 and 6543
//! let opts = ProbeOptions::default()
//!     .with_ca_file("/etc/pgtls/ca.crt")?
//!     .with_concurrency(8);
//! let report = verify_blocking(&targets, &opts)?;
//! print!("{}", report.render(false));
//! println!("{}", report.to_json());
//! # Ok::<(), pgtls_probe::Error>(())
//! ```
//!
//! # Design
//! - [`wire`] is a pure codec in the style of `postgres-protocol`: it encodes the startup
//!   packets and decodes the startup-phase replies, bounded ([`wire::MAX_MESSAGE_LEN`]) and
//!   panic-free on any input (fuzzed).
//! - I/O returns facts, pure judges turn facts into checks. The I/O layer (tokio, and the
//!   `openssl` crate through `tokio-openssl`) connects, reads and shakes hands and records
//!   what it saw as plain data (the reply byte, the handshake's protocol and cipher, the
//!   leaf's facts, the errors OpenSSL's chain verification reported); the judges (unit-tested
//!   without a socket) decide the verdicts.
//! - **The verdict a libpq client reaches.** The first handshake runs with `SSL_VERIFY_PEER`
//!   on a context made like libpq's (`SSL_CTX_new`, so this host's OpenSSL configuration and
//!   security level apply; client-side chain verification uses purpose `sslserver`), trusting
//!   the CA file (or the system roots). A verify callback records every error and lets the
//!   handshake finish, so a refused certificate is reported with its facts: RSA-1024 ("EE
//!   certificate key too weak"), SHA-1 ("CA signature digest algorithm too weak"), EKU without
//!   serverAuth ("unsuitable certificate purpose") fail exactly where libpq on this host
//!   refuses. Validity-window errors go to `expiry`. The host name is checked with libpq's own
//!   rule, ported from `fe-secure-openssl.c`/`fe-secure-common.c`: SANs in order, a SAN of the
//!   host's type (IP or DNS) rules out the CN, otherwise the first CN is compared as text,
//!   wildcards `*.` over one label, `inet_aton` forms for IPv4; a match that rests on the CN
//!   warns that RFC 6125-strict clients (node-postgres, pgjdbc, Go, rustls, browsers) refuse it.
//! - **Monitoring-grade by default**: two connections per target, at once: the first
//!   (SSLRequest, handshake, certificate, and the optional login over that same TLS session
//!   with `tokio-postgres`'s `connect_raw`), and a plaintext StartupMessage. Against
//!   PostgreSQL that is two backends and one FATAL log line (the plaintext refusal). With a
//!   CA given, credentials are sent only when the certificate passed (as libpq). `--deep`
//!   ([`ProbeOptions::with_deep`]) adds the other checks, each on connections of its own
//!   (about 27 backends against PostgreSQL, most of them refused handshakes).
//! - Every check has its own deadline ([`ProbeOptions::with_timeout`]) shared by all its
//!   network steps, so a slow drip of bytes cannot stretch it. A timeout is `inconclusive`,
//!   never `fail`; under load ([`probe_many`]) a timed-out target is probed once more after a
//!   short backoff. Hostile servers produce verdicts.
//! - The overall rule ([`Report`]): a target passes only when TLS works, plaintext is refused,
//!   verification passes when a CA was given, and no check failed.
//!
//! # Limitations: what is not supported
//! - Classification of refusals relies on the server's English message texts (PostgreSQL,
//!   Supavisor, PgBouncer); a server with `lc_messages` in another language makes
//!   `plaintext-refused` inconclusive (its message is shown).
//! - No GSSAPI encryption, no SCRAM channel binding checks; CRLs are not consulted (libpq
//!   reads `~/.postgresql/root.crl` when present; we do not).
//! - `client-certificate` reads the `CertificateRequest` of a TLS 1.2 handshake; a server that
//!   speaks only TLS 1.3 (which encrypts it) leaves it unknown.
//! - `ciphers` can test only what the local OpenSSL still offers at security level 0: on
//!   OpenSSL 3 EXPORT, RC4 and single DES are gone, and are reported as `untested`.
//! - Host names are resolved by the system resolver; only the first address is probed.
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
mod served;
mod target;
pub mod wire;

pub use crate::error::{Error, Result};
pub use crate::options::{MAX_CONCURRENCY, MAX_EXPIRY_WARN_DAYS, MAX_TIMEOUT, ProbeOptions};
pub use crate::probe::{
    probe, probe_many, probe_many_with, verify, verify_blocking, verify_blocking_with,
};
pub use crate::report::{
    CertificateInfo, Check, CheckData, CheckId, OverallVerdict, Refusal, Report, TargetReport,
    TargetVerdict, Verdict, VersionOutcome, render_target,
};
pub use crate::served::served_certificate;
pub use crate::target::{DEFAULT_PORTS, Target, parse_targets, target_lines};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

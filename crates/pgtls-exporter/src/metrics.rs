//! The metrics contract: a probe's report as `pgtls_*` families, and the exporter's own.

// Counters and timestamps become f64 because the exposition format writes floats; precision
// past 2^52 probes or seconds is not a concern.
#![allow(clippy::cast_precision_loss)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pgtls_probe::{CheckData, TargetReport, TargetVerdict, Verdict, VersionOutcome};

use crate::exposition::{Exposition, Kind};

/// How a probe ended, as `pgtls_probe_result{result}` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProbeResult {
    /// The default verdict passed: TLS works, plaintext is refused, verification (with a CA)
    /// passed, no check failed.
    Pass,
    /// A check failed.
    Fail,
    /// No check failed, but a required one did not pass (a timeout, no reply...).
    Inconclusive,
    /// The endpoint could not be reached.
    Error,
    /// The probe's deadline (from the scrape timeout) cut it short; nothing was concluded.
    Timeout,
}

impl ProbeResult {
    /// Every result, in exposition order.
    pub const ALL: [ProbeResult; 5] = [
        Self::Pass,
        Self::Fail,
        Self::Inconclusive,
        Self::Error,
        Self::Timeout,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }

    /// From a target report's verdict.
    pub fn from_verdict(v: TargetVerdict) -> Self {
        match v {
            TargetVerdict::Pass => Self::Pass,
            TargetVerdict::Fail => Self::Fail,
            TargetVerdict::Error => Self::Error,
            _ => Self::Inconclusive,
        }
    }
}

const CHECK_RESULTS: [Verdict; 4] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Inconclusive,
    Verdict::Skipped,
];

pub(crate) fn rfc3339_unix(s: &str) -> Option<f64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() as f64)
}

/// The `/probe` answer: the metrics of one probe. `report` is `None` when the deadline cut the
/// probe short ([`ProbeResult::Timeout`]).
///
/// ```
/// use std::time::Duration;
/// let text = pgtls_exporter::probe_metrics(None, Duration::from_millis(1500), Duration::from_millis(1500));
/// assert!(text.contains("\npgtls_probe_success 0\n"));
/// assert!(text.contains("pgtls_probe_result{result=\"timeout\"} 1\n"));
/// ```
pub fn probe_metrics(
    report: Option<&TargetReport>,
    duration: Duration,
    deadline: Duration,
) -> String {
    let result = report.map_or(ProbeResult::Timeout, |r| {
        ProbeResult::from_verdict(r.verdict)
    });
    let mut e = Exposition::new();
    e.gauge(
        "pgtls_probe_success",
        "1 when the endpoint passed pgtls verify's default verdict (TLS works, plaintext refused, verification passed when a CA is configured, no check failed), else 0.",
        &[],
        if result == ProbeResult::Pass { 1.0 } else { 0.0 },
    );
    e.gauge(
        "pgtls_probe_duration_seconds",
        "How long the probe took.",
        &[],
        duration.as_secs_f64(),
    );
    e.gauge(
        "pgtls_probe_timeout_seconds",
        "The deadline the probe ran under (the module's timeout, lowered by the scrape timeout minus the offset).",
        &[],
        deadline.as_secs_f64(),
    );
    e.family(
        "pgtls_probe_result",
        Kind::Gauge,
        "The probe's outcome as a state set: 1 for the current result (pass, fail, inconclusive, error, timeout), 0 for the others.",
    );
    for r in ProbeResult::ALL {
        e.sample(
            "pgtls_probe_result",
            &[("result", r.as_str())],
            if r == result { 1.0 } else { 0.0 },
        );
    }
    let Some(report) = report else {
        return e.finish();
    };
    e.family(
        "pgtls_check_success",
        Kind::Gauge,
        "Per check id of pgtls verify --json: 1 passed, 0 failed. Inconclusive and skipped checks have no sample here (see pgtls_check_result).",
    );
    for c in &report.checks {
        match c.verdict {
            Verdict::Pass => e.sample("pgtls_check_success", &[("check", c.id.as_str())], 1.0),
            Verdict::Fail => e.sample("pgtls_check_success", &[("check", c.id.as_str())], 0.0),
            _ => {}
        }
    }
    e.family(
        "pgtls_check_result",
        Kind::Gauge,
        "Per check id, its verdict as a state set: 1 for the current one of pass, fail, inconclusive, skipped; 0 for the others.",
    );
    for c in &report.checks {
        for v in CHECK_RESULTS {
            e.sample(
                "pgtls_check_result",
                &[("check", c.id.as_str()), ("result", v.as_str())],
                if c.verdict == v { 1.0 } else { 0.0 },
            );
        }
    }
    let mut cert = None;
    let mut handshake = None;
    let mut versions = None;
    for c in &report.checks {
        match &c.data {
            CheckData::Certificate(info) => cert = Some(info),
            CheckData::Handshake {
                protocol, cipher, ..
            } => handshake = Some((protocol, cipher)),
            CheckData::TlsVersions { versions: v } => versions = Some(v),
            _ => {}
        }
    }
    if let Some(info) = cert {
        if let Some(t) = rfc3339_unix(&info.not_after) {
            e.gauge(
                "pgtls_certificate_expiry_timestamp_seconds",
                "When the served leaf certificate expires (notAfter), as a Unix timestamp.",
                &[],
                t,
            );
        }
        if let Some(t) = rfc3339_unix(&info.not_before) {
            e.gauge(
                "pgtls_certificate_not_before_timestamp_seconds",
                "When the served leaf certificate became valid (notBefore), as a Unix timestamp.",
                &[],
                t,
            );
        }
        let sans = info.sans.join(",");
        e.gauge(
            "pgtls_certificate_info",
            "The served leaf certificate's identity; the value is always 1.",
            &[
                ("subject", &info.subject),
                ("issuer", &info.issuer),
                ("sans", &sans),
                ("key", &info.key),
                ("signature", &info.signature),
            ],
            1.0,
        );
    }
    if let Some((protocol, cipher)) = handshake {
        e.gauge(
            "pgtls_tls_version_info",
            "The TLS version the probe's handshake negotiated; the value is always 1.",
            &[("version", protocol)],
            1.0,
        );
        e.gauge(
            "pgtls_tls_cipher_info",
            "The cipher suite the probe's handshake negotiated (OpenSSL name); the value is always 1.",
            &[("cipher", cipher)],
            1.0,
        );
    }
    if let Some(v) = versions {
        e.family(
            "pgtls_tls_version_accepted",
            Kind::Gauge,
            "Deep modules: 1 when the server completed a handshake at this TLS version, 0 when it refused it; versions this host's OpenSSL cannot offer have no sample.",
        );
        for (name, outcome) in v {
            match outcome {
                VersionOutcome::Accepted => {
                    e.sample("pgtls_tls_version_accepted", &[("version", name)], 1.0);
                }
                VersionOutcome::Refused(_) => {
                    e.sample("pgtls_tls_version_accepted", &[("version", name)], 0.0);
                }
                _ => {}
            }
        }
    }
    e.finish()
}

/// Why a request was refused without a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The target is not in the allowlist (403).
    Allowlist,
    /// Every probe slot stayed busy (503).
    Busy,
    /// A malformed request (400, 404, 405, 414).
    BadRequest,
    /// The connection limit was reached; the connection was closed on accept.
    Connections,
}

impl Refusal {
    const ALL: [Refusal; 4] = [
        Self::Allowlist,
        Self::Busy,
        Self::BadRequest,
        Self::Connections,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Allowlist => "allowlist",
            Self::Busy => "busy",
            Self::BadRequest => "bad-request",
            Self::Connections => "connections",
        }
    }
}

/// Buckets of `pgtls_exporter_probe_duration_seconds`.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The exporter's own counters, served on `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    probes: [AtomicU64; 5],
    refused: [AtomicU64; 4],
    in_flight: AtomicU64,
    durations: Mutex<Histogram>,
}

impl Stats {
    /// Records a finished probe.
    pub fn probe_done(&self, result: ProbeResult, took: Duration) {
        let i = ProbeResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        if let Some(c) = self.probes.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let s = took.as_secs_f64();
        if let Ok(mut h) = self.durations.lock() {
            for (b, n) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if s <= *b {
                    *n += 1;
                }
            }
            h.count += 1;
            h.sum += s;
        }
    }

    /// Records a refused request.
    pub fn refused(&self, why: Refusal) {
        let i = Refusal::ALL.iter().position(|r| *r == why).unwrap_or(0);
        if let Some(c) = self.refused.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One more probe running (returns a guard that counts it down).
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Probes finished with this result so far.
    pub fn probes(&self, result: ProbeResult) -> u64 {
        let i = ProbeResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        self.probes.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The `/metrics` text.
    pub fn render(&self, max_concurrent: usize, start_unix: f64) -> String {
        let mut e = Exposition::new();
        e.gauge(
            "pgtls_exporter_build_info",
            "The exporter's version; the value is always 1.",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        e.family(
            "pgtls_exporter_probes_total",
            Kind::Counter,
            "Probes finished, by result.",
        );
        for (r, c) in ProbeResult::ALL.iter().zip(&self.probes) {
            e.sample(
                "pgtls_exporter_probes_total",
                &[("result", r.as_str())],
                c.load(Ordering::Relaxed) as f64,
            );
        }
        e.family(
            "pgtls_exporter_requests_refused_total",
            Kind::Counter,
            "Requests answered without a probe, by reason (allowlist 403, busy 503, bad-request 4xx, connections closed on accept).",
        );
        for (r, c) in Refusal::ALL.iter().zip(&self.refused) {
            e.sample(
                "pgtls_exporter_requests_refused_total",
                &[("reason", r.as_str())],
                c.load(Ordering::Relaxed) as f64,
            );
        }
        e.gauge(
            "pgtls_exporter_probes_in_flight",
            "Probes running now.",
            &[],
            self.in_flight.load(Ordering::Relaxed) as f64,
        );
        e.gauge(
            "pgtls_exporter_max_concurrent_probes",
            "The limit of probes running at once.",
            &[],
            max_concurrent as f64,
        );
        e.family(
            "pgtls_exporter_probe_duration_seconds",
            Kind::Histogram,
            "How long probes took.",
        );
        let (counts, count, sum) = self
            .durations
            .lock()
            .map(|h| (h.counts, h.count, h.sum))
            .unwrap_or_default();
        for (b, n) in BUCKETS.iter().zip(counts) {
            let le = crate::exposition::format_value(*b);
            e.sample(
                "pgtls_exporter_probe_duration_seconds_bucket",
                &[("le", &le)],
                n as f64,
            );
        }
        e.sample(
            "pgtls_exporter_probe_duration_seconds_bucket",
            &[("le", "+Inf")],
            count as f64,
        );
        e.sample("pgtls_exporter_probe_duration_seconds_sum", &[], sum);
        e.sample(
            "pgtls_exporter_probe_duration_seconds_count",
            &[],
            count as f64,
        );
        if let Some(rss) = resident_bytes() {
            e.gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                &[],
                rss,
            );
        }
        e.gauge(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            &[],
            start_unix,
        );
        e.finish()
    }
}

/// Counts a running probe down when dropped (also when the scrape is cancelled).
#[derive(Debug)]
pub struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `VmRSS` of `/proc/self/status`, in bytes (Linux).
fn resident_bytes() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

//! Verdicts, the JSON report (`pgtls verify --json`) and its human checklist rendering.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed: the endpoint does something the hardening forbids.
    Fail,
    /// The evidence does not decide (a timeout, an unexpected server message, no CA given...).
    Inconclusive,
    /// The check did not apply or could not run (an earlier step failed, no password given...).
    Skipped,
}

impl Verdict {
    /// `pass`, `fail`, `inconclusive` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TargetVerdict {
    /// TLS works, plaintext is refused, verification passed (when a CA was given), no check failed.
    Pass,
    /// At least one check failed.
    Fail,
    /// No check failed, but a required check did not pass.
    Inconclusive,
    /// The endpoint could not be reached at all.
    Error,
}

impl TargetVerdict {
    /// `pass`, `fail`, `inconclusive` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for TargetVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict over all targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OverallVerdict {
    /// Every target passed.
    Pass,
    /// A target failed or could not be reached.
    Fail,
    /// No target failed, but at least one was inconclusive (or there were no targets).
    Inconclusive,
}

impl OverallVerdict {
    /// `pass`, `fail` or `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for OverallVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which check. The string forms are the stable `id` values of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CheckId {
    /// SSLRequest answered `S`.
    TlsOffered,
    /// Nothing follows the `S` before the handshake (CVE-2021-23222).
    NoBufferedBytes,
    /// The TLS handshake completes; protocol, cipher, ALPN.
    Handshake,
    /// The leaf certificate's facts (subject, SANs, dates, key, signature).
    Certificate,
    /// The chain verifies against the CA file or the system roots.
    Chain,
    /// The certificate names the host (verify-full semantics).
    Hostname,
    /// The leaf is inside its validity window, not about to expire.
    Expiry,
    /// Which TLS protocol versions the server accepts.
    TlsVersions,
    /// A plaintext StartupMessage is refused.
    PlaintextRefused,
    /// PostgreSQL 17 direct TLS (`sslnegotiation=direct`, ALPN `postgresql`).
    DirectTls,
    /// Plaintext bytes pipelined after SSLRequest are refused (CVE-2021-23214).
    PipelinedData,
    /// An authenticated session over TLS, with `pg_stat_ssl` of its own backend.
    Authenticated,
    /// The TLS 1.2 cipher suites the server accepts (enumerated) and its TLS 1.3 suites.
    Ciphers,
    /// Whether the server asks for a client certificate, and from which CAs.
    ClientCertificate,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 14] = [
        Self::TlsOffered,
        Self::NoBufferedBytes,
        Self::Handshake,
        Self::Certificate,
        Self::Chain,
        Self::Hostname,
        Self::Expiry,
        Self::TlsVersions,
        Self::PlaintextRefused,
        Self::DirectTls,
        Self::PipelinedData,
        Self::Authenticated,
        Self::Ciphers,
        Self::ClientCertificate,
    ];

    /// The checks `--deep` adds to the default (monitoring-grade) run.
    pub const DEEP: [CheckId; 5] = [
        Self::TlsVersions,
        Self::DirectTls,
        Self::PipelinedData,
        Self::Ciphers,
        Self::ClientCertificate,
    ];

    /// The stable id, e.g. `plaintext-refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TlsOffered => "tls-offered",
            Self::NoBufferedBytes => "no-buffered-bytes",
            Self::Handshake => "handshake",
            Self::Certificate => "certificate",
            Self::Chain => "chain",
            Self::Hostname => "hostname",
            Self::Expiry => "expiry",
            Self::TlsVersions => "tls-versions",
            Self::PlaintextRefused => "plaintext-refused",
            Self::DirectTls => "direct-tls",
            Self::PipelinedData => "pipelined-data",
            Self::Authenticated => "authenticated",
            Self::Ciphers => "ciphers",
            Self::ClientCertificate => "client-certificate",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Facts about the server's leaf certificate (and the chain it presented).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Subject as `CN=..., O=...`.
    pub subject: String,
    /// Issuer as `CN=..., O=...`.
    pub issuer: String,
    /// Subject alternative names: `DNS:name` and `IP:address`.
    pub sans: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days from now to `not_after` (negative once expired).
    pub days_left: i64,
    /// Public key, e.g. `EC P-256` or `RSA 2048`.
    pub key: String,
    /// Signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature: String,
    /// True when the leaf has basicConstraints CA:TRUE (a self-signed CA used as server cert).
    pub is_ca: bool,
    /// Subjects of every certificate the server presented, leaf first.
    pub chain: Vec<String>,
    /// Public key size in bits (JSON `key_bits`).
    pub key_bits: u32,
    /// The signature's digest, e.g. `SHA256` (JSON `digest`); `None` when unknown.
    pub digest: Option<String>,
    /// Extended key usages (JSON `eku`), `None` when the extension is absent (any use).
    pub eku: Option<Vec<String>>,
    /// Whether an authority key identifier is present (JSON `aki`).
    pub aki: bool,
}

/// How a plaintext StartupMessage was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Refusal {
    /// PostgreSQL: a `pg_hba.conf` `reject` line matched (`pg_hba.conf rejects connection ... no encryption`).
    HbaReject,
    /// PostgreSQL: no `pg_hba.conf` line matched a plaintext connection (`no pg_hba.conf entry ... no encryption`).
    HbaNoEntry,
    /// Supavisor with `enforce_ssl`: `SSL connection is required`.
    SupavisorSslRequired,
    /// PgBouncer with `client_tls_sslmode=require` or stricter: `SSL required`.
    PgbouncerSslRequired,
}

impl Refusal {
    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HbaReject => "hba-reject",
            Self::HbaNoEntry => "hba-no-entry",
            Self::SupavisorSslRequired => "supavisor-ssl-required",
            Self::PgbouncerSslRequired => "pgbouncer-ssl-required",
        }
    }
}

/// One TLS protocol version's outcome in the `tls-versions` check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionOutcome {
    /// The handshake completed with exactly this version.
    Accepted,
    /// The server refused it (alert, close, or another version chosen).
    Refused(String),
    /// This client could not offer it (the local OpenSSL refuses); nothing was learnt.
    Untested(String),
}

/// Check-specific evidence; serialised as extra keys next to `id`, `verdict` and `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CheckData {
    /// No extra keys.
    #[default]
    None,
    /// `tls-offered`: `reply` is the first byte as a character (`S`, `N`, ...) or null.
    TlsOffered {
        /// The reply byte, or `None` when nothing came.
        reply: Option<char>,
    },
    /// `no-buffered-bytes`: how many bytes followed the `S`.
    BufferedBytes {
        /// Count of unexpected bytes.
        extra_bytes: usize,
    },
    /// `handshake`: `protocol`, `cipher`, `alpn`.
    Handshake {
        /// Negotiated version, e.g. `TLSv1.3`.
        protocol: String,
        /// Negotiated cipher suite (OpenSSL name).
        cipher: String,
        /// ALPN protocol the server selected, if any.
        alpn: Option<String>,
    },
    /// `certificate`: `subject`, `sans`, `not_after`, `days_left`, `key` (+ issuer, signature, ...).
    Certificate(CertificateInfo),
    /// `chain`: what the chain was checked against.
    Chain {
        /// `ca-file` or `system`.
        trust: &'static str,
    },
    /// `hostname`: the name checked.
    Hostname {
        /// The target host as given.
        host: String,
    },
    /// `expiry`: `not_after`, `days_left`.
    Expiry {
        /// RFC 3339.
        not_after: String,
        /// Whole days left (negative once expired).
        days_left: i64,
    },
    /// `tls-versions`: outcome per version, in order `TLSv1` .. `TLSv1.3`.
    TlsVersions {
        /// `(version name, outcome)`.
        versions: Vec<(&'static str, VersionOutcome)>,
    },
    /// `plaintext-refused` and `pipelined-data`: the server's own words.
    ServerReply {
        /// SQLSTATE of the ErrorResponse, if one came.
        sqlstate: Option<String>,
        /// The `M` field of the ErrorResponse, if one came.
        server_message: Option<String>,
        /// How the refusal was recognised (`plaintext-refused` only).
        refusal: Option<Refusal>,
        /// The authentication method the server asked for, when it accepted plaintext.
        auth_request: Option<String>,
    },
    /// `direct-tls`.
    DirectTls {
        /// Whether a direct TLS handshake with ALPN `postgresql` completed.
        supported: Option<bool>,
        /// ALPN the server selected.
        alpn: Option<String>,
    },
    /// `ciphers`: the suites the server accepted, per protocol.
    Ciphers {
        /// TLS 1.2 suites accepted (OpenSSL names), in the server's order of preference.
        tls12: Vec<String>,
        /// TLS 1.3 suites accepted.
        tls13: Vec<String>,
        /// Suites this OpenSSL cannot offer, so never tested (e.g. EXPORT, RC4, DES).
        untested: Vec<String>,
    },
    /// `client-certificate`: the server's `CertificateRequest`.
    ClientCertificate {
        /// `Some(true)` when the server asked for a client certificate; `None` unknown.
        requested: Option<bool>,
        /// The acceptable CA names it sent (`CN=..., O=...`).
        ca_names: Vec<String>,
    },
    /// `authenticated`: the `pg_stat_ssl` row of the probe's own backend.
    Authenticated {
        /// `pg_stat_ssl.ssl`.
        ssl: Option<bool>,
        /// `pg_stat_ssl.version`.
        version: Option<String>,
        /// `pg_stat_ssl.cipher`.
        cipher: Option<String>,
        /// `pg_stat_ssl.bits`.
        bits: Option<i32>,
        /// Whether the certificate was verified (a CA was given: verify-full).
        verified: bool,
    },
}

/// One check's verdict with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Which check.
    pub id: CheckId,
    /// Its verdict.
    pub verdict: Verdict,
    /// One human sentence: what was observed.
    pub detail: String,
    /// What to do about a failure, when we know.
    pub fix: Option<String>,
    /// Check-specific evidence.
    pub data: CheckData,
    /// Things a passing check still wants read (JSON `warnings`, present when not empty):
    /// for example a name that libpq accepts and RFC 6125-strict clients refuse.
    pub warnings: Vec<String>,
    /// The check's network steps hit their deadline (its verdict is then `inconclusive`).
    pub(crate) timed_out: bool,
}

impl Check {
    /// A check without evidence keys or fix.
    pub fn new(id: CheckId, verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            id,
            verdict,
            detail: detail.into(),
            fix: None,
            data: CheckData::None,
            warnings: Vec::new(),
            timed_out: false,
        }
    }

    /// Marks a check whose network steps timed out (it becomes `inconclusive`).
    #[must_use]
    pub(crate) fn timed_out(mut self) -> Self {
        self.timed_out = true;
        if self.verdict == Verdict::Fail {
            self.verdict = Verdict::Inconclusive;
        }
        self
    }

    /// Adds a warning.
    #[must_use]
    pub fn with_warning(mut self, w: impl Into<String>) -> Self {
        self.warnings.push(w.into());
        self
    }

    /// Adds a fix.
    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Adds evidence.
    #[must_use]
    pub fn with_data(mut self, data: CheckData) -> Self {
        self.data = data;
        self
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("verdict", &self.verdict)?;
        m.serialize_entry("detail", &self.detail)?;
        if let Some(fix) = &self.fix {
            m.serialize_entry("fix", fix)?;
        }
        if !self.warnings.is_empty() {
            m.serialize_entry("warnings", &self.warnings)?;
        }
        match &self.data {
            CheckData::None => {}
            CheckData::TlsOffered { reply } => {
                m.serialize_entry("reply", &reply.map(String::from))?;
            }
            CheckData::BufferedBytes { extra_bytes } => {
                m.serialize_entry("extra_bytes", extra_bytes)?;
            }
            CheckData::Handshake {
                protocol,
                cipher,
                alpn,
            } => {
                m.serialize_entry("protocol", protocol)?;
                m.serialize_entry("cipher", cipher)?;
                m.serialize_entry("alpn", alpn)?;
            }
            CheckData::Certificate(c) => {
                m.serialize_entry("subject", &c.subject)?;
                m.serialize_entry("issuer", &c.issuer)?;
                m.serialize_entry("sans", &c.sans)?;
                m.serialize_entry("not_before", &c.not_before)?;
                m.serialize_entry("not_after", &c.not_after)?;
                m.serialize_entry("days_left", &c.days_left)?;
                m.serialize_entry("key", &c.key)?;
                // one spelling with pgtls-certs' `certs inspect --json`: "ECDSA P-256", and the
                // SANs typed ("DNS:db") under the same name
                let key_type = c.key.strip_prefix("EC ").map(|r| format!("ECDSA {r}"));
                m.serialize_entry("key_type", key_type.as_deref().unwrap_or(&c.key))?;
                m.serialize_entry("sans_typed", &c.sans)?;
                m.serialize_entry("signature", &c.signature)?;
                m.serialize_entry("is_ca", &c.is_ca)?;
                m.serialize_entry("chain", &c.chain)?;
                m.serialize_entry("key_bits", &c.key_bits)?;
                m.serialize_entry("digest", &c.digest)?;
                m.serialize_entry("eku", &c.eku)?;
                m.serialize_entry("aki", &c.aki)?;
            }
            CheckData::Chain { trust } => m.serialize_entry("trust", trust)?,
            CheckData::Hostname { host } => m.serialize_entry("host", host)?,
            CheckData::Expiry {
                not_after,
                days_left,
            } => {
                m.serialize_entry("not_after", not_after)?;
                m.serialize_entry("days_left", days_left)?;
            }
            CheckData::TlsVersions { versions } => {
                let pick = |f: fn(&VersionOutcome) -> bool| -> Vec<&str> {
                    versions
                        .iter()
                        .filter(|(_, o)| f(o))
                        .map(|(v, _)| *v)
                        .collect()
                };
                m.serialize_entry("accepted", &pick(|o| matches!(o, VersionOutcome::Accepted)))?;
                m.serialize_entry(
                    "refused",
                    &pick(|o| matches!(o, VersionOutcome::Refused(_))),
                )?;
                m.serialize_entry(
                    "untested",
                    &pick(|o| matches!(o, VersionOutcome::Untested(_))),
                )?;
            }
            CheckData::ServerReply {
                sqlstate,
                server_message,
                refusal,
                auth_request,
            } => {
                m.serialize_entry("sqlstate", sqlstate)?;
                m.serialize_entry("server_message", server_message)?;
                if self.id == CheckId::PlaintextRefused {
                    m.serialize_entry("refusal", &refusal.map(Refusal::as_str))?;
                    m.serialize_entry("auth_request", auth_request)?;
                }
            }
            CheckData::DirectTls { supported, alpn } => {
                m.serialize_entry("supported", supported)?;
                m.serialize_entry("alpn", alpn)?;
            }
            CheckData::Ciphers {
                tls12,
                tls13,
                untested,
            } => {
                m.serialize_entry("tls12", tls12)?;
                m.serialize_entry("tls13", tls13)?;
                m.serialize_entry("untested", untested)?;
            }
            CheckData::ClientCertificate {
                requested,
                ca_names,
            } => {
                m.serialize_entry("requested", requested)?;
                m.serialize_entry("ca_names", ca_names)?;
            }
            CheckData::Authenticated {
                ssl,
                version,
                cipher,
                bits,
                verified,
            } => {
                m.serialize_entry("ssl", ssl)?;
                m.serialize_entry("version", version)?;
                m.serialize_entry("cipher", cipher)?;
                m.serialize_entry("bits", bits)?;
                m.serialize_entry("verified", verified)?;
            }
        }
        m.end()
    }
}

/// Every check on one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TargetReport {
    /// `host:port` (`[v6]:port`).
    pub target: String,
    /// The target's verdict (see [`TargetReport::compute_verdict`]).
    pub verdict: TargetVerdict,
    /// The checks in [`CheckId::ALL`] order.
    pub checks: Vec<Check>,
    /// How many times the target was probed (2 when a timeout under load was retried).
    pub attempts: u32,
}

/// Checks whose non-pass makes a target inconclusive: TLS works and plaintext is refused.
const REQUIRED: [CheckId; 3] = [
    CheckId::TlsOffered,
    CheckId::Handshake,
    CheckId::PlaintextRefused,
];

impl TargetReport {
    /// Builds a report and computes its verdict.
    ///
    /// `unreachable` marks an endpoint that could not be connected to at all; `ca_given` makes
    /// `chain` and `hostname` required checks.
    pub fn new(
        target: impl Into<String>,
        checks: Vec<Check>,
        unreachable: bool,
        ca_given: bool,
    ) -> Self {
        let verdict = Self::compute_verdict(&checks, unreachable, ca_given);
        Self {
            target: target.into(),
            verdict,
            checks,
            attempts: 1,
        }
    }

    /// Whether any check timed out (nothing learnt from it; a retry may decide).
    pub fn timed_out(&self) -> bool {
        self.checks.iter().any(|c| c.timed_out)
    }

    /// The rule behind [`TargetReport::verdict`]:
    /// `error` when unreachable; `fail` when any check failed; `inconclusive` when a required
    /// check (tls-offered, handshake, plaintext-refused, and chain and hostname when a CA was
    /// given) did not pass; `pass` otherwise.
    pub fn compute_verdict(checks: &[Check], unreachable: bool, ca_given: bool) -> TargetVerdict {
        if unreachable {
            return TargetVerdict::Error;
        }
        if checks.iter().any(|c| c.verdict == Verdict::Fail) {
            return TargetVerdict::Fail;
        }
        let required = |id: CheckId| {
            REQUIRED.contains(&id) || (ca_given && matches!(id, CheckId::Chain | CheckId::Hostname))
        };
        let all_required_there = REQUIRED.iter().all(|r| checks.iter().any(|c| c.id == *r));
        if !all_required_there
            || checks
                .iter()
                .any(|c| required(c.id) && c.verdict != Verdict::Pass)
        {
            return TargetVerdict::Inconclusive;
        }
        TargetVerdict::Pass
    }

    /// The check with this id, if it ran.
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// The whole `pgtls verify --json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// `fail` if any target failed or was unreachable, `inconclusive` if any was inconclusive
    /// (or there were none), else `pass`.
    pub verdict: OverallVerdict,
    /// One entry per target, in input order.
    pub targets: Vec<TargetReport>,
    /// `default` (monitoring-grade: at most two connections per target) or `deep`.
    pub mode: &'static str,
    /// The check ids this mode runs (the others are reported as `skipped`).
    pub checks_run: Vec<CheckId>,
}

impl Report {
    /// Wraps target reports and computes the overall verdict.
    pub fn new(targets: Vec<TargetReport>) -> Self {
        let verdict = if targets
            .iter()
            .any(|t| matches!(t.verdict, TargetVerdict::Fail | TargetVerdict::Error))
        {
            OverallVerdict::Fail
        } else if targets.is_empty() || targets.iter().any(|t| t.verdict != TargetVerdict::Pass) {
            OverallVerdict::Inconclusive
        } else {
            OverallVerdict::Pass
        };
        Self {
            verdict,
            targets,
            mode: "default",
            checks_run: CheckId::ALL
                .into_iter()
                .filter(|c| !CheckId::DEEP.contains(c))
                .collect(),
        }
    }

    /// Records which mode ran: `deep` runs every check.
    #[must_use]
    pub fn with_deep(mut self, deep: bool) -> Self {
        if deep {
            self.mode = "deep";
            self.checks_run = CheckId::ALL.to_vec();
        }
        self
    }

    /// The JSON document, pretty-printed.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(b"  "),
        );
        // Serialising our own types into a Vec cannot fail: every key is a string.
        if self.serialize(&mut ser).is_err() {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// The human checklist: per target a header line, then one line per check with a mark,
    /// the id, the detail and, under failing checks, the fix. `color` adds ANSI colours
    /// (decide it in the caller: TTY and `NO_COLOR`).
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for t in &self.targets {
            out.push_str(&render_target(t, color));
        }
        let summary = format!("overall: {}", self.verdict.as_str().to_uppercase());
        let code = match self.verdict {
            OverallVerdict::Pass => GREEN,
            OverallVerdict::Fail => RED,
            OverallVerdict::Inconclusive => YELLOW,
        };
        let _ = writeln!(out, "{}", paint(&summary, code, color));
        out
    }
}

const GREEN: &str = "32";
const RED: &str = "31";
const YELLOW: &str = "33";
const DIM: &str = "2";

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Renders one target as checklist lines (see [`Report::render`]).
pub fn render_target(t: &TargetReport, color: bool) -> String {
    let mut out = String::new();
    let code = match t.verdict {
        TargetVerdict::Pass => GREEN,
        TargetVerdict::Fail | TargetVerdict::Error => RED,
        TargetVerdict::Inconclusive => YELLOW,
    };
    let _ = writeln!(
        out,
        "{}  {}",
        t.target,
        paint(&t.verdict.as_str().to_uppercase(), code, color)
    );
    let width = t
        .checks
        .iter()
        .map(|c| c.id.as_str().len())
        .max()
        .unwrap_or(0);
    for c in &t.checks {
        let (mark, code) = match c.verdict {
            Verdict::Pass => ("[ok]  ", GREEN),
            Verdict::Fail => ("[FAIL]", RED),
            Verdict::Inconclusive => ("[??]  ", YELLOW),
            Verdict::Skipped => ("[--]  ", DIM),
        };
        let _ = writeln!(
            out,
            "  {} {:width$}  {}",
            paint(mark, code, color),
            c.id.as_str(),
            c.detail
        );
        for w in &c.warnings {
            let _ = writeln!(
                out,
                "  {:6} {:width$}  {}",
                "",
                "",
                paint(&format!("warning: {w}"), YELLOW, color)
            );
        }
        if let Some(fix) = c.fix.as_ref().filter(|_| c.verdict != Verdict::Pass) {
            let _ = writeln!(out, "  {:6} {:width$}  fix: {fix}", "", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(id: CheckId) -> Check {
        Check::new(id, Verdict::Pass, "ok")
    }

    #[test]
    fn check_ids_match_the_contract() {
        let ids: Vec<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tls-offered",
                "no-buffered-bytes",
                "handshake",
                "certificate",
                "chain",
                "hostname",
                "expiry",
                "tls-versions",
                "plaintext-refused",
                "direct-tls",
                "pipelined-data",
                "authenticated",
                "ciphers",
                "client-certificate"
            ]
        );
        for id in CheckId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }

    #[test]
    fn target_verdict_rules() {
        let base = vec![
            pass(CheckId::TlsOffered),
            pass(CheckId::Handshake),
            pass(CheckId::PlaintextRefused),
        ];
        assert_eq!(
            TargetReport::compute_verdict(&base, false, false),
            TargetVerdict::Pass
        );
        assert_eq!(
            TargetReport::compute_verdict(&base, true, false),
            TargetVerdict::Error
        );
        let mut chain_unknown = base.clone();
        chain_unknown.push(Check::new(CheckId::Chain, Verdict::Inconclusive, "x"));
        assert_eq!(
            TargetReport::compute_verdict(&chain_unknown, false, false),
            TargetVerdict::Pass
        );
        assert_eq!(
            TargetReport::compute_verdict(&chain_unknown, false, true),
            TargetVerdict::Inconclusive
        );
        let mut failing = base.clone();
        failing.push(Check::new(CheckId::TlsVersions, Verdict::Fail, "x"));
        assert_eq!(
            TargetReport::compute_verdict(&failing, false, false),
            TargetVerdict::Fail
        );
        assert_eq!(
            TargetReport::compute_verdict(&base[..2], false, false),
            TargetVerdict::Inconclusive
        );
    }

    #[test]
    fn overall_verdict_rules() {
        let t = |v| TargetReport {
            target: "h:1".into(),
            verdict: v,
            checks: vec![],
            attempts: 1,
        };
        assert_eq!(
            Report::new(vec![t(TargetVerdict::Pass)]).verdict,
            OverallVerdict::Pass
        );
        assert_eq!(
            Report::new(vec![t(TargetVerdict::Pass), t(TargetVerdict::Error)]).verdict,
            OverallVerdict::Fail
        );
        assert_eq!(
            Report::new(vec![t(TargetVerdict::Inconclusive), t(TargetVerdict::Pass)]).verdict,
            OverallVerdict::Inconclusive
        );
        assert_eq!(Report::new(vec![]).verdict, OverallVerdict::Inconclusive);
    }

    #[test]
    fn json_shape_matches_the_contract() {
        let checks = vec![
            Check::new(CheckId::Handshake, Verdict::Pass, "TLSv1.3").with_data(
                CheckData::Handshake {
                    protocol: "TLSv1.3".into(),
                    cipher: "TLS_AES_256_GCM_SHA384".into(),
                    alpn: None,
                },
            ),
            Check::new(CheckId::PlaintextRefused, Verdict::Pass, "refused")
                .with_data(CheckData::ServerReply {
                    sqlstate: Some("28000".into()),
                    server_message: Some("no pg_hba.conf entry".into()),
                    refusal: Some(Refusal::HbaNoEntry),
                    auth_request: None,
                })
                .with_fix("add a reject line"),
            Check::new(CheckId::TlsVersions, Verdict::Pass, "v").with_data(
                CheckData::TlsVersions {
                    versions: vec![
                        ("TLSv1", VersionOutcome::Refused("alert".into())),
                        ("TLSv1.3", VersionOutcome::Accepted),
                    ],
                },
            ),
        ];
        let r = Report::new(vec![TargetReport::new(
            "127.0.0.1:5432",
            checks,
            false,
            false,
        )]);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["verdict"], "inconclusive");
        let t = &v["targets"][0];
        assert_eq!(t["target"], "127.0.0.1:5432");
        assert_eq!(t["checks"][0]["id"], "handshake");
        assert_eq!(t["checks"][0]["protocol"], "TLSv1.3");
        assert!(t["checks"][0]["alpn"].is_null());
        assert_eq!(t["checks"][1]["sqlstate"], "28000");
        assert_eq!(t["checks"][1]["server_message"], "no pg_hba.conf entry");
        assert_eq!(t["checks"][1]["refusal"], "hba-no-entry");
        assert_eq!(t["checks"][1]["fix"], "add a reject line");
        assert_eq!(t["checks"][2]["accepted"], serde_json::json!(["TLSv1.3"]));
        assert_eq!(t["checks"][2]["refused"], serde_json::json!(["TLSv1"]));
    }

    #[test]
    fn human_rendering_is_a_checklist() {
        let checks = vec![
            pass(CheckId::TlsOffered),
            Check::new(
                CheckId::PlaintextRefused,
                Verdict::Fail,
                "plaintext accepted",
            )
            .with_fix("add hostnossl reject"),
        ];
        let r = Report::new(vec![TargetReport::new("db:5432", checks, false, false)]);
        let text = r.render(false);
        assert_eq!(
            text,
            "db:5432  FAIL\n  [ok]   tls-offered        ok\n  [FAIL] plaintext-refused  plaintext accepted\n                            fix: add hostnossl reject\noverall: FAIL\n"
        );
        assert!(r.render(true).contains("\x1b[31m[FAIL]\x1b[0m"));
        assert!(!text.contains('\x1b'));
    }
}

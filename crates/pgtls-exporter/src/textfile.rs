//! `node_exporter` textfile-collector files: the deployment checklist (`pgtls check --format
//! prometheus`) and a certificate file's dates and identity (`pgtls certs inspect --format
//! prometheus`), for hosts whose ports Prometheus cannot reach.
//!
//! The textfile collector reads every `*.prom` file of its directory at each scrape; the CLI
//! writes through pgtls-certs' atomic writer (a temporary `.NAME.pgtls-tmp-*` file, which the
//! collector ignores, renamed over the target), so a scrape never sees half a file.

use crate::exposition::{Exposition, Kind};

/// One checklist item: its stable id and verdict (`pass`, `fail` or `warn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecklistItem<'a> {
    /// The item's id (`pgtls check --json` `items[].id`).
    pub id: &'a str,
    /// `pass`, `fail` or `warn`.
    pub verdict: &'a str,
}

const ITEM_RESULTS: [&str; 3] = ["pass", "fail", "warn"];

/// The checklist of the deployment in `dir` as metrics; `now_unix` stamps the file.
///
/// ```
/// use pgtls_exporter::{ChecklistItem, checklist_metrics};
/// let items = [ChecklistItem { id: "hba-plaintext", verdict: "pass" },
///              ChecklistItem { id: "certificate-expiry", verdict: "warn" }];
/// let text = checklist_metrics("/srv/supabase/docker", &items, 1_767_225_600.0);
/// assert!(text.contains("pgtls_deployment_check_success{deployment=\"/srv/supabase/docker\"} 1\n"));
/// assert!(text.contains("pgtls_deployment_item_success{deployment=\"/srv/supabase/docker\",item=\"hba-plaintext\"} 1\n"));
/// // A warning is neither a pass nor a failure: no sample in pgtls_deployment_item_success.
/// assert!(!text.contains("item_success{deployment=\"/srv/supabase/docker\",item=\"certificate-expiry\"}"));
/// ```
pub fn checklist_metrics(dir: &str, items: &[ChecklistItem<'_>], now_unix: f64) -> String {
    let mut e = Exposition::new();
    let failed = items.iter().any(|i| i.verdict == "fail");
    let dep = [("deployment", dir)];
    e.gauge(
        "pgtls_deployment_check_success",
        "1 when every item of pgtls check passed (warnings allowed), else 0.",
        &dep,
        if failed { 0.0 } else { 1.0 },
    );
    e.gauge(
        "pgtls_deployment_check_timestamp_seconds",
        "When pgtls check wrote this file, as a Unix timestamp (alert when it gets old).",
        &dep,
        now_unix,
    );
    e.family(
        "pgtls_deployment_item_success",
        Kind::Gauge,
        "Per checklist item of pgtls check: 1 passed, 0 failed; warnings have no sample here (see pgtls_deployment_item_result).",
    );
    for i in items {
        let v = match i.verdict {
            "pass" => 1.0,
            "fail" => 0.0,
            _ => continue,
        };
        e.sample(
            "pgtls_deployment_item_success",
            &[("deployment", dir), ("item", i.id)],
            v,
        );
    }
    e.family(
        "pgtls_deployment_item_result",
        Kind::Gauge,
        "Per checklist item, its verdict as a state set: 1 for the current one of pass, fail, warn; 0 for the others.",
    );
    for i in items {
        for r in ITEM_RESULTS {
            e.sample(
                "pgtls_deployment_item_result",
                &[("deployment", dir), ("item", i.id), ("result", r)],
                if i.verdict == r { 1.0 } else { 0.0 },
            );
        }
    }
    e.finish()
}

/// What `certs inspect` learnt about a certificate file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateFile {
    /// The file as given.
    pub file: String,
    /// Subject, `CN=...`.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial number (hex).
    pub serial: String,
    /// SANs, `DNS:...`/`IP:...`.
    pub sans: Vec<String>,
    /// SHA-256 fingerprint.
    pub sha256: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Whether the chain verified against `--ca`, when given.
    pub chain_valid: Option<bool>,
    /// `--host` and whether the certificate covers it, when given.
    pub host: Option<(String, bool)>,
}

/// A certificate file's metrics (`pgtls_certificate_*{file=...}`).
///
/// ```
/// use pgtls_exporter::{CertificateFile, certificate_metrics};
/// let c = CertificateFile {
///     file: "server.crt".into(),
///     not_after: "2026-01-01T00:00:00Z".into(),
///     ..Default::default()
/// };
/// assert!(certificate_metrics(&c).contains("pgtls_certificate_expiry_timestamp_seconds{file=\"server.crt\"} 1767225600\n"));
/// ```
pub fn certificate_metrics(c: &CertificateFile) -> String {
    let mut e = Exposition::new();
    let file = [("file", c.file.as_str())];
    if let Some(t) = crate::metrics::rfc3339_unix(&c.not_after) {
        e.gauge(
            "pgtls_certificate_expiry_timestamp_seconds",
            "When the certificate expires (notAfter), as a Unix timestamp.",
            &file,
            t,
        );
    }
    if let Some(t) = crate::metrics::rfc3339_unix(&c.not_before) {
        e.gauge(
            "pgtls_certificate_not_before_timestamp_seconds",
            "When the certificate became valid (notBefore), as a Unix timestamp.",
            &file,
            t,
        );
    }
    let sans = c.sans.join(",");
    e.gauge(
        "pgtls_certificate_info",
        "The certificate's identity; the value is always 1.",
        &[
            ("file", &c.file),
            ("subject", &c.subject),
            ("issuer", &c.issuer),
            ("sans", &sans),
            ("serial", &c.serial),
            ("sha256", &c.sha256),
        ],
        1.0,
    );
    if let Some(ok) = c.chain_valid {
        e.gauge(
            "pgtls_certificate_chain_valid",
            "1 when the certificate verifies against the CA given with --ca, else 0.",
            &file,
            if ok { 1.0 } else { 0.0 },
        );
    }
    if let Some((host, ok)) = &c.host {
        e.gauge(
            "pgtls_certificate_host_covered",
            "1 when the certificate names the host given with --host (verify-full rule), else 0.",
            &[("file", &c.file), ("host", host)],
            if *ok { 1.0 } else { 0.0 },
        );
    }
    e.finish()
}

/// The textfile of one `pgtls certs renew --textfile` run: the certificate in `dir` as it is after
/// the run (`cert`, when it could be read: [`certificate_metrics`]), then the run's
/// `pgtls_renewal_last_run_timestamp_seconds{dir=...}` (`now_unix`) and
/// `pgtls_renewal_last_success{dir=...}` (1 when the run succeeded: renewed, or not due).
///
/// ```
/// use pgtls_exporter::renewal_metrics;
/// let text = renewal_metrics("/srv/supabase/volumes/tls", None, false, 1_767_225_600.0);
/// assert!(text.contains("pgtls_renewal_last_run_timestamp_seconds{dir=\"/srv/supabase/volumes/tls\"} 1767225600\n"));
/// assert!(text.contains("pgtls_renewal_last_success{dir=\"/srv/supabase/volumes/tls\"} 0\n"));
/// assert!(!text.contains("pgtls_certificate_"));
/// ```
pub fn renewal_metrics(
    dir: &str,
    cert: Option<&CertificateFile>,
    success: bool,
    now_unix: f64,
) -> String {
    let mut text = cert.map(certificate_metrics).unwrap_or_default();
    let labels = [("dir", dir)];
    let mut e = Exposition::new();
    e.gauge(
        "pgtls_renewal_last_run_timestamp_seconds",
        "When pgtls certs renew last ran for this folder, as a Unix timestamp (alert when it gets old).",
        &labels,
        now_unix,
    );
    e.gauge(
        "pgtls_renewal_last_success",
        "1 when the last pgtls certs renew run for this folder succeeded (renewed, or not due), else 0.",
        &labels,
        if success { 1.0 } else { 0.0 },
    );
    text.push_str(&e.finish());
    text
}

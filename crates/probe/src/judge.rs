//! Pure judges: facts in, checks out. No sockets, no clocks read here (the caller passes
//! `now`); every rule is unit-tested without a server.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cert::{self, HostMatch};
use crate::facts::{CertFacts, ChainError, Contact, HandshakeFacts, HandshakeOutcome};
use crate::report::{Check, CheckData, CheckId, Refusal, Verdict};
use crate::wire::ErrorFields;

pub(crate) fn skipped(id: CheckId, why: &str) -> Check {
    Check::new(id, Verdict::Skipped, why)
}

pub(crate) const FIX_SSL_ON: &str = "turn TLS on: PostgreSQL `ssl=on` with ssl_cert_file/ssl_key_file; Supavisor GLOBAL_DOWNSTREAM_CERT_PATH/KEY_PATH; PgBouncer client_tls_sslmode and client_tls_cert_file/key_file";
pub(crate) const FIX_PLAINTEXT: &str = "refuse plaintext: in pg_hba.conf add `hostnossl all all 0.0.0.0/0 reject` and `hostnossl all all ::/0 reject` above the `host` lines (keep loopback/Docker-internal rules), set the Supavisor tenant's \"enforce_ssl\" => true, or PgBouncer client_tls_sslmode = require";

pub(crate) fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The first-connection checks that follow `tls-offered` when there is no TLS session.
const AFTER_OFFER: [CheckId; 6] = [
    CheckId::NoBufferedBytes,
    CheckId::Handshake,
    CheckId::Certificate,
    CheckId::Chain,
    CheckId::Hostname,
    CheckId::Expiry,
];

fn rest_skipped(checks: &mut Vec<Check>, why: &str) {
    for id in AFTER_OFFER {
        if !checks.iter().any(|c| c.id == id) {
            checks.push(skipped(id, why));
        }
    }
}

/// How far the first connection got, for the checks that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// No TCP connection (refused, unreachable): the target is `error`.
    Unreachable,
    /// Connected, and the server said it has no TLS (or broke off).
    NoTls,
    /// Nothing was learnt before the deadline.
    Unknown,
    /// The server answered `S`.
    TlsOffered,
}

/// `tls-offered` and `no-buffered-bytes` from what came back to SSLRequest.
pub(crate) fn judge_contact(contact: &Contact, timeout: Duration) -> (Vec<Check>, Reach) {
    let mut checks = Vec::new();
    let none = CheckData::TlsOffered { reply: None };
    match contact {
        Contact::ConnectFailed { timeout: true, .. } => {
            checks.push(
                Check::new(
                    CheckId::TlsOffered,
                    Verdict::Inconclusive,
                    format!("could not connect: no TCP connection within {}", secs(timeout)),
                )
                .with_fix("check the host, the port and any firewall; a busy server may need a longer --timeout")
                .with_data(none)
                .timed_out(),
            );
            rest_skipped(&mut checks, "no connection");
            (checks, Reach::Unknown)
        }
        Contact::ConnectFailed { detail, .. } => {
            checks.push(
                Check::new(CheckId::TlsOffered, Verdict::Fail, detail.clone())
                    .with_fix("check the host, the port and any firewall; is the service listening on this address?")
                    .with_data(none),
            );
            rest_skipped(&mut checks, "the endpoint could not be reached");
            (checks, Reach::Unreachable)
        }
        Contact::NoReply { timeout: true, .. } => {
            checks.push(
                Check::new(
                    CheckId::TlsOffered,
                    Verdict::Inconclusive,
                    format!("no answer to SSLRequest within {}", secs(timeout)),
                )
                .with_data(none)
                .timed_out(),
            );
            rest_skipped(&mut checks, "no TLS session");
            (checks, Reach::Unknown)
        }
        Contact::NoReply { detail, .. } => {
            checks.push(
                Check::new(CheckId::TlsOffered, Verdict::Fail, detail.clone()).with_data(none),
            );
            rest_skipped(&mut checks, "no TLS session");
            (checks, Reach::Unknown)
        }
        Contact::Reply {
            byte,
            error_message,
            extra_bytes,
        } => {
            let shown = if byte.is_ascii_graphic() {
                *byte as char
            } else {
                '?'
            };
            let data = CheckData::TlsOffered { reply: Some(shown) };
            match byte {
                b'S' => {}
                b'N' => {
                    checks.push(
                        Check::new(
                            CheckId::TlsOffered,
                            Verdict::Fail,
                            "the server answered N to SSLRequest: TLS is off",
                        )
                        .with_fix(FIX_SSL_ON)
                        .with_data(data),
                    );
                    rest_skipped(&mut checks, "TLS not offered");
                    return (checks, Reach::NoTls);
                }
                b'E' => {
                    let detail = match error_message {
                        Some(m) => format!("the server answered SSLRequest with an error: {m}"),
                        None => {
                            "the server answered SSLRequest with E (an error) instead of S or N"
                                .into()
                        }
                    };
                    checks.push(
                        Check::new(CheckId::TlsOffered, Verdict::Fail, detail).with_data(data),
                    );
                    rest_skipped(&mut checks, "TLS not offered");
                    return (checks, Reach::NoTls);
                }
                other => {
                    checks.push(
                        Check::new(
                            CheckId::TlsOffered,
                            Verdict::Fail,
                            format!("unexpected reply byte 0x{other:02x} to SSLRequest: not a PostgreSQL server, or a broken one"),
                        )
                        .with_data(data),
                    );
                    rest_skipped(&mut checks, "TLS not offered");
                    return (checks, Reach::NoTls);
                }
            }
            checks.push(
                Check::new(
                    CheckId::TlsOffered,
                    Verdict::Pass,
                    "the server answered S to SSLRequest",
                )
                .with_data(data),
            );
            if *extra_bytes > 0 {
                checks.push(
                    Check::new(
                        CheckId::NoBufferedBytes,
                        Verdict::Fail,
                        format!("{extra_bytes} byte(s) arrived after the S and before the TLS handshake: a sign of a buffer-stuffing man in the middle (CVE-2021-23222)"),
                    )
                    .with_fix("find what sits between client and server (a proxy that answers SSLRequest itself?); clients must use libpq 14.1+ and discard such bytes")
                    .with_data(CheckData::BufferedBytes { extra_bytes: *extra_bytes }),
                );
                rest_skipped(
                    &mut checks,
                    "connection abandoned after unexpected bytes, as libpq does",
                );
            } else {
                checks.push(
                    Check::new(
                        CheckId::NoBufferedBytes,
                        Verdict::Pass,
                        "no bytes followed the S before the handshake",
                    )
                    .with_data(CheckData::BufferedBytes { extra_bytes: 0 }),
                );
            }
            (checks, Reach::TlsOffered)
        }
    }
}

/// What the certificate judges need besides the facts.
pub(crate) struct CertPolicy<'a> {
    /// The name clients use.
    pub(crate) host: &'a str,
    /// The CA file's name when one was given (verify-full); `None`: the system roots.
    pub(crate) ca: Option<&'a str>,
    pub(crate) expiry_warn_days: u32,
    pub(crate) now_unix: i64,
}

/// `handshake`, then `certificate`, `chain`, `hostname` and `expiry`.
pub(crate) fn judge_handshake(outcome: &HandshakeOutcome, p: &CertPolicy<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    let h = match outcome {
        HandshakeOutcome::TimedOut => {
            out.push(
                Check::new(
                    CheckId::Handshake,
                    Verdict::Inconclusive,
                    "the TLS handshake timed out: nothing was learnt (a busy server?)",
                )
                .timed_out(),
            );
            rest_skipped(&mut out, "no TLS session");
            return out;
        }
        HandshakeOutcome::Failed(e) => {
            out.push(
                Check::new(CheckId::Handshake, Verdict::Fail, format!("TLS handshake failed: {e}")).with_fix(
                    "check the server's certificate and key files and its log; the server answered S but could not complete TLS",
                ),
            );
            rest_skipped(&mut out, "no TLS session");
            return out;
        }
        HandshakeOutcome::Done(h) => h,
    };
    out.push(
        Check::new(
            CheckId::Handshake,
            Verdict::Pass,
            format!(
                "{} with {}{}",
                h.protocol,
                h.cipher,
                h.alpn
                    .as_deref()
                    .map(|a| format!(", ALPN {a}"))
                    .unwrap_or_default()
            ),
        )
        .with_data(CheckData::Handshake {
            protocol: h.protocol.clone(),
            cipher: h.cipher.clone(),
            alpn: h.alpn.clone(),
        }),
    );
    out.extend(judge_certificate(h, p));
    out
}

fn leaf_errors(errors: &[ChainError]) -> impl Iterator<Item = &ChainError> {
    errors.iter().filter(|e| e.depth == 0)
}

/// `certificate`: the leaf's facts, judged by the policy OpenSSL applied on this host
/// (security level, purpose `sslserver`) plus what other clients refuse.
pub(crate) fn judge_leaf(leaf: &CertFacts, errors: &[ChainError], chain_len: usize) -> Check {
    let info = &leaf.info;
    let mut detail = format!(
        "{}; {}; signed with {}",
        info.subject, info.key, info.signature
    );
    if !info.sans.is_empty() {
        let _ = write!(detail, "; SANs {}", info.sans.join(", "));
    }
    let mut problems: Vec<String> = leaf_errors(errors)
        .filter(|e| e.is_policy())
        .map(|e| format!("OpenSSL on this host refuses it: {}", e.reason))
        .collect();
    let mut warnings = Vec::new();
    let weak_rsa =
        (info.key.starts_with("RSA") || info.key.starts_with("DSA")) && info.key_bits < 2048;
    if weak_rsa && problems.is_empty() {
        warnings.push(format!("a {}-bit key: clients at OpenSSL security level 2 (the Debian/Ubuntu default) refuse it", info.key_bits));
    }
    let weak_digest = info.digest.as_deref().is_some_and(|d| {
        matches!(
            d.to_ascii_uppercase().as_str(),
            "SHA1" | "MD5" | "MD4" | "MD2"
        )
    });
    if weak_digest && problems.is_empty() {
        warnings.push(format!(
            "signed with {}: most clients refuse SHA-1 and MD5 signatures",
            info.signature
        ));
    }
    if let Some(eku) = &info.eku {
        let ok = eku
            .iter()
            .any(|u| u == "serverAuth" || u == "anyExtendedKeyUsage");
        if !ok && problems.is_empty() {
            problems.push(format!(
                "its extended key usage ({}) does not include serverAuth",
                eku.join(", ")
            ));
        }
    }
    if !info.aki {
        warnings.push("no authority key identifier: some clients (Python 3.13+ ssl, strict X.509 checkers) refuse it".into());
    }
    if info.key.starts_with("EC P-521") || info.key == "Ed25519" || info.key == "Ed448" {
        warnings.push(format!("{} keys are refused by several clients (browsers, some JDBC and .NET drivers); P-256 and RSA 2048+ work everywhere", info.key));
    }
    let mut c = if problems.is_empty() {
        Check::new(CheckId::Certificate, Verdict::Pass, detail)
    } else {
        let _ = write!(detail, ": {}", problems.join("; "));
        Check::new(CheckId::Certificate, Verdict::Fail, detail)
            .with_fix("issue a server certificate with an RSA 2048+ or P-256 key, signed with SHA-256, EKU serverAuth: `pgtls certs`")
    };
    if info.is_ca && chain_len == 1 {
        c.detail.push_str(
            "; a CA certificate used as the server certificate (webpki clients reject it)",
        );
        c = c.with_fix("issue a separate leaf certificate (CA:FALSE, EKU serverAuth) signed by the CA: `pgtls certs`");
    }
    c.warnings = warnings;
    c.with_data(CheckData::Certificate(info.clone()))
}

/// `chain`: OpenSSL's verification during the handshake, time errors left to `expiry`.
pub(crate) fn judge_chain(errors: &[ChainError], ca: Option<&str>) -> Check {
    let trust = if ca.is_some() { "ca-file" } else { "system" };
    let relevant: Vec<&ChainError> = errors.iter().filter(|e| !e.is_time()).collect();
    let shown = relevant
        .iter()
        .map(|e| format!("{} (at depth {})", e.reason, e.depth))
        .collect::<Vec<_>>()
        .join("; ");
    let policy_only = relevant.iter().all(|e| e.is_policy());
    let c = match (relevant.is_empty(), ca) {
        (true, Some(ca)) => Check::new(CheckId::Chain, Verdict::Pass, format!("the chain verifies against {ca}")),
        (true, None) => Check::new(CheckId::Chain, Verdict::Pass, "the chain verifies against the system roots"),
        (false, Some(ca)) => Check::new(CheckId::Chain, Verdict::Fail, format!("the chain does not verify against {ca}: {shown}"))
            .with_fix("serve a certificate issued by this CA (with any intermediates in the cert file), or pass the CA that issued it"),
        (false, None) if relevant.iter().any(|e| e.is_policy()) && policy_only => Check::new(
            CheckId::Chain,
            Verdict::Fail,
            format!("no client on this host accepts this chain, whatever it trusts: {shown}"),
        )
        .with_fix("issue a server certificate with an RSA 2048+ or P-256 key, signed with SHA-256, EKU serverAuth"),
        (false, None) => {
            let mut c = Check::new(
                CheckId::Chain,
                Verdict::Inconclusive,
                format!("the chain does not verify against the system roots ({shown}); a private CA is normal here"),
            )
            .with_fix("pass the CA with --ca to check the chain the way verify-full clients will");
            if relevant.iter().any(|e| e.is_policy()) {
                c.verdict = Verdict::Fail;
            }
            c
        }
    };
    c.with_data(CheckData::Chain { trust })
}

/// `hostname`: libpq's verify-full rule; a mismatch fails with or without a CA (it needs none).
pub(crate) fn judge_hostname(m: &HostMatch, host: &str) -> Check {
    let data = CheckData::Hostname {
        host: host.to_string(),
    };
    if !m.matched {
        let why = cert::libpq_mismatch_message(m, host);
        return Check::new(
            CheckId::Hostname,
            Verdict::Fail,
            format!("the certificate does not name \"{host}\": verify-full clients will refuse it (libpq: {why})"),
        )
        .with_fix("reissue the server certificate with this name in its SANs, or connect by a name it has")
        .with_data(data);
    }
    let mut c = Check::new(
        CheckId::Hostname,
        Verdict::Pass,
        format!("the certificate names \"{host}\""),
    );
    if m.via_cn {
        c.detail.push_str(" in its subject CN");
        let why = if m.has_sans {
            "it has subject alternative names but none of this host's type, and libpq then checks the CN"
        } else {
            "it has no subject alternative names, and libpq then checks the CN"
        };
        c = c.with_warning(format!(
            "only the CN matches: {why}; RFC 6125-strict clients (node-postgres, pgjdbc, Go, rustls, .NET, browsers) ignore the CN and refuse it: put the name in a SAN"
        ));
    }
    c.with_data(data)
}

/// `expiry`: inside the validity window, at least `expiry_warn_days` left.
pub(crate) fn judge_expiry(leaf: &CertFacts, warn_days: u32, now: i64) -> Check {
    let (not_after, days_left) = (leaf.info.not_after.clone(), leaf.info.days_left);
    let c = if now > leaf.not_after_unix {
        Check::new(
            CheckId::Expiry,
            Verdict::Fail,
            format!("the certificate expired on {not_after}"),
        )
        .with_fix("renew the server certificate and reload the server")
    } else if now < leaf.not_before_unix {
        Check::new(
            CheckId::Expiry,
            Verdict::Fail,
            "the certificate is not valid yet (check the clocks)",
        )
        .with_fix("reissue the certificate with a start date in the past, or fix the clock")
    } else if days_left < i64::from(warn_days) {
        Check::new(
            CheckId::Expiry,
            Verdict::Fail,
            format!("the certificate expires in {days_left} day(s), on {not_after}"),
        )
        .with_fix("renew the server certificate now and reload the server")
    } else {
        Check::new(
            CheckId::Expiry,
            Verdict::Pass,
            format!("valid for {days_left} more day(s), until {not_after}"),
        )
    };
    c.with_data(CheckData::Expiry {
        not_after,
        days_left,
    })
}

fn judge_certificate(h: &HandshakeFacts, p: &CertPolicy<'_>) -> Vec<Check> {
    let Some(leaf) = &h.leaf else {
        let mut out = vec![Check::new(
            CheckId::Certificate,
            Verdict::Fail,
            "the server presented no certificate",
        )];
        for id in [CheckId::Chain, CheckId::Hostname, CheckId::Expiry] {
            out.push(skipped(id, "no certificate"));
        }
        return out;
    };
    vec![
        judge_leaf(leaf, &h.chain_errors, leaf.info.chain.len()),
        judge_chain(&h.chain_errors, p.ca),
        judge_hostname(&cert::libpq_host_match(p.host, &leaf.names), p.host),
        judge_expiry(leaf, p.expiry_warn_days, p.now_unix),
    ]
}

/// How a login over TLS was refused, from the server's ErrorResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginRefusal {
    /// `cert` authentication or `clientcert=verify-*` refused the certificate (or its absence).
    ClientCertificate,
    /// A wrong password (`28P01`).
    Password,
    /// Anything else (no such role or database, `pg_hba` reject, too many connections...).
    Other,
}

impl LoginRefusal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ClientCertificate => "client-certificate",
            Self::Password => "password",
            Self::Other => "other",
        }
    }
}

/// PostgreSQL's messages (`auth.c`): `certificate authentication failed for user "%s"`,
/// `connection requires a valid client certificate`, `certificate validation
/// (clientcert=verify-full) failed for user "%s"`; `password authentication failed` is 28P01.
pub(crate) fn classify_login_error(code: Option<&str>, message: &str) -> LoginRefusal {
    if message.starts_with("certificate authentication failed")
        || message.contains("requires a valid client certificate")
        || message.starts_with("certificate validation (clientcert=")
    {
        LoginRefusal::ClientCertificate
    } else if code == Some("28P01") || message.starts_with("password authentication failed") {
        LoginRefusal::Password
    } else {
        LoginRefusal::Other
    }
}

/// The verdict for a plaintext StartupMessage answered with an ErrorResponse.
pub(crate) fn classify_refusal(f: &ErrorFields) -> (Verdict, Option<Refusal>) {
    let msg = f.message.as_deref().unwrap_or_default();
    let no_tls = msg.ends_with("no encryption") || msg.ends_with("SSL off");
    if no_tls && msg.starts_with("pg_hba.conf rejects connection") {
        (Verdict::Pass, Some(Refusal::HbaReject))
    } else if no_tls && msg.starts_with("no pg_hba.conf entry") {
        (Verdict::Pass, Some(Refusal::HbaNoEntry))
    } else if msg.contains("SSL connection is required") {
        (Verdict::Pass, Some(Refusal::SupavisorSslRequired))
    } else if msg == "SSL required" {
        (Verdict::Pass, Some(Refusal::PgbouncerSslRequired))
    } else {
        (Verdict::Inconclusive, None)
    }
}

pub(crate) fn plaintext_check_from_error(f: &ErrorFields, user: &str) -> Check {
    let (verdict, refusal) = classify_refusal(f);
    let msg = f.message.clone().unwrap_or_default();
    let (detail, fix) = match refusal {
        Some(Refusal::HbaReject) => ("refused by a pg_hba.conf reject line".to_string(), None),
        Some(Refusal::HbaNoEntry) => (
            "refused: no pg_hba.conf line matches a plaintext connection (no explicit reject line)"
                .to_string(),
            Some(
                "optional: add explicit `hostnossl ... reject` lines so the refusal does not rest on a missing entry",
            ),
        ),
        Some(Refusal::SupavisorSslRequired) => {
            ("refused by Supavisor (enforce_ssl)".to_string(), None)
        }
        Some(Refusal::PgbouncerSslRequired) => (
            "refused by PgBouncer (client_tls_sslmode)".to_string(),
            None,
        ),
        None if msg.contains("Tenant or user not found") => (
            format!(
                "inconclusive: the pooler does not know user \"{user}\", so it never reached its TLS rule"
            ),
            Some("pass the Supavisor tenant (--tenant): users are <role>.<tenant>"),
        ),
        None => (
            "inconclusive: the server refused for another reason, before any TLS rule decided"
                .to_string(),
            Some("check the user and database names; the server's message says why it refused"),
        ),
    };
    let detail = format!("{detail}: \"{msg}\"");
    let mut c =
        Check::new(CheckId::PlaintextRefused, verdict, detail).with_data(CheckData::ServerReply {
            sqlstate: f.code.clone(),
            server_message: f.message.clone(),
            refusal,
            auth_request: None,
        });
    if let Some(fix) = fix {
        c = c.with_fix(fix);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Names, San, x509_err};
    use crate::report::CertificateInfo;

    fn leaf(key: &str, bits: u32, digest: &str, eku: Option<&[&str]>) -> CertFacts {
        CertFacts {
            info: CertificateInfo {
                subject: "CN=db".into(),
                issuer: "CN=ca".into(),
                sans: vec!["DNS:db".into()],
                not_before: "2026-01-01T00:00:00Z".into(),
                not_after: "2026-03-01T00:00:00Z".into(),
                days_left: 30,
                key: key.into(),
                signature: format!("x-with-{digest}"),
                is_ca: false,
                chain: vec!["CN=db".into()],
                key_bits: bits,
                digest: Some(digest.into()),
                eku: eku.map(|e| e.iter().map(|s| (*s).to_string()).collect()),
                aki: true,
            },
            names: Names {
                sans: vec![San::Dns(b"db".to_vec())],
                common_name: Some(b"db".to_vec()),
            },
            not_before_unix: 0,
            not_after_unix: 100,
        }
    }

    fn err(code: i32, reason: &str) -> ChainError {
        ChainError {
            depth: 0,
            code,
            reason: reason.into(),
        }
    }

    #[test]
    fn policy_errors_fail_the_certificate_and_the_chain_even_without_a_ca() {
        let l = leaf("RSA 1024", 1024, "SHA256", Some(&["serverAuth"]));
        let e = [
            err(20, "unable to get local issuer certificate"),
            err(x509_err::EE_KEY_TOO_SMALL, "EE certificate key too weak"),
        ];
        let c = judge_leaf(&l, &e, 1);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.detail.contains("EE certificate key too weak"),
            "{}",
            c.detail
        );
        assert_eq!(judge_chain(&e, Some("ca.crt")).verdict, Verdict::Fail);
        assert_eq!(judge_chain(&e, None).verdict, Verdict::Fail);
        // trust alone without a CA: inconclusive
        assert_eq!(judge_chain(&e[..1], None).verdict, Verdict::Inconclusive);
        assert_eq!(judge_chain(&e[..1], Some("ca.crt")).verdict, Verdict::Fail);
    }

    #[test]
    fn a_weak_key_openssl_accepts_here_is_a_warning() {
        let l = leaf("RSA 1024", 1024, "SHA256", None);
        let c = judge_leaf(&l, &[], 1);
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(
            c.warnings.iter().any(|w| w.contains("1024-bit")),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn eku_without_server_auth_fails() {
        let l = leaf("EC P-256", 256, "SHA256", Some(&["clientAuth"]));
        assert_eq!(judge_leaf(&l, &[], 1).verdict, Verdict::Fail);
        let l = leaf(
            "EC P-256",
            256,
            "SHA256",
            Some(&["serverAuth", "clientAuth"]),
        );
        assert_eq!(judge_leaf(&l, &[], 1).verdict, Verdict::Pass);
    }

    #[test]
    fn time_errors_are_left_to_expiry() {
        let e = [err(x509_err::CERT_HAS_EXPIRED, "certificate has expired")];
        assert_eq!(judge_chain(&e, Some("ca.crt")).verdict, Verdict::Pass);
        let l = leaf("EC P-256", 256, "SHA256", None);
        assert_eq!(judge_expiry(&l, 14, 200).verdict, Verdict::Fail);
        assert_eq!(judge_expiry(&l, 14, 50).verdict, Verdict::Pass);
        assert_eq!(judge_expiry(&l, 31, 50).verdict, Verdict::Fail);
        assert_eq!(judge_expiry(&l, 0, -1).verdict, Verdict::Fail);
    }

    #[test]
    fn hostname_mismatch_fails_without_a_ca_and_cn_matches_warn() {
        let names = Names {
            sans: vec![San::Ip(vec![127, 0, 0, 1])],
            common_name: Some(b"localhost".to_vec()),
        };
        let c = judge_hostname(&cert::libpq_host_match("localhost", &names), "localhost");
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(c.warnings[0].contains("RFC 6125"), "{:?}", c.warnings);
        let c = judge_hostname(&cert::libpq_host_match("other", &names), "other");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.detail.contains("does not match host name \"other\""),
            "{}",
            c.detail
        );
    }

    #[test]
    fn timeouts_are_inconclusive_never_fail() {
        let (c, reach) = judge_contact(
            &Contact::ConnectFailed {
                timeout: true,
                detail: String::new(),
            },
            Duration::from_secs(1),
        );
        assert_eq!(c[0].verdict, Verdict::Inconclusive);
        assert!(c[0].timed_out);
        assert_eq!(reach, Reach::Unknown);
        let (c, reach) = judge_contact(
            &Contact::ConnectFailed {
                timeout: false,
                detail: "refused".into(),
            },
            Duration::from_secs(1),
        );
        assert_eq!(c[0].verdict, Verdict::Fail);
        assert_eq!(reach, Reach::Unreachable);
        let p = CertPolicy {
            host: "h",
            ca: None,
            expiry_warn_days: 14,
            now_unix: 0,
        };
        let c = judge_handshake(&HandshakeOutcome::TimedOut, &p);
        assert_eq!(c[0].verdict, Verdict::Inconclusive);
        assert!(c.iter().all(|c| c.verdict != Verdict::Fail));
    }

    #[test]
    fn login_refusals_are_classified() {
        assert_eq!(
            classify_login_error(
                Some("28000"),
                "certificate authentication failed for user \"app\""
            ),
            LoginRefusal::ClientCertificate
        );
        assert_eq!(
            classify_login_error(
                Some("28000"),
                "connection requires a valid client certificate"
            ),
            LoginRefusal::ClientCertificate
        );
        assert_eq!(
            classify_login_error(
                Some("28P01"),
                "password authentication failed for user \"x\""
            ),
            LoginRefusal::Password
        );
        assert_eq!(
            classify_login_error(Some("3D000"), "database \"x\" does not exist"),
            LoginRefusal::Other
        );
    }

    fn fields(code: &str, msg: &str) -> ErrorFields {
        ErrorFields {
            code: Some(code.into()),
            message: Some(msg.into()),
            ..ErrorFields::default()
        }
    }

    #[test]
    fn refusals_are_classified() {
        let cases = [
            (
                "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption",
                Verdict::Pass,
                Some(Refusal::HbaReject),
            ),
            (
                "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption",
                Verdict::Pass,
                Some(Refusal::HbaNoEntry),
            ),
            (
                "no pg_hba.conf entry for host \"10.0.0.1\", user \"u\", database \"d\", SSL off",
                Verdict::Pass,
                Some(Refusal::HbaNoEntry),
            ),
            (
                "SSL connection is required",
                Verdict::Pass,
                Some(Refusal::SupavisorSslRequired),
            ),
            (
                "(ESSLREQUIRED) SSL connection is required for user: postgres.t",
                Verdict::Pass,
                Some(Refusal::SupavisorSslRequired),
            ),
            (
                "SSL required",
                Verdict::Pass,
                Some(Refusal::PgbouncerSslRequired),
            ),
            ("Tenant or user not found", Verdict::Inconclusive, None),
            ("database \"x\" does not exist", Verdict::Inconclusive, None),
            (
                "no pg_hba.conf entry for host \"h\", user \"u\", database \"d\", SSL encryption",
                Verdict::Inconclusive,
                None,
            ),
        ];
        for (msg, verdict, refusal) in cases {
            assert_eq!(
                classify_refusal(&fields("28000", msg)),
                (verdict, refusal),
                "{msg}"
            );
        }
    }

    #[test]
    fn tenant_not_found_hints_the_tenant_flag() {
        let c =
            plaintext_check_from_error(&fields("XX000", "Tenant or user not found"), "postgres");
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert!(c.fix.as_deref().unwrap().contains("--tenant"));
        assert!(c.detail.contains("\"Tenant or user not found\""));
    }
}

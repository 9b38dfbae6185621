//! The deep checks (`--deep`): TLS versions, cipher suites, client-certificate request,
//! pipelined data, direct TLS. Each opens connections of its own (about 10 to 40 against
//! PostgreSQL, most of them refused handshakes that the server logs).

use std::fmt::Write as _;
use std::time::Duration;

use openssl::ssl::SslVersion;
use openssl::x509::X509Name;

use crate::cert;
use crate::io::{
    Deadline, Failure, HandshakeError, Offer, Recording, connect, handshake, read_message, ssl_for,
    ssl_request, take_ready,
};
use crate::judge::skipped;
use crate::options::ProbeOptions;
use crate::report::{Check, CheckData, CheckId, Verdict, VersionOutcome};
use crate::target::Target;
use crate::wire::{self, BackendMessage, ErrorFields};

/// The deep checks' results, taken out one by one into the report's order.
pub(crate) struct DeepChecks(Vec<Check>);

impl DeepChecks {
    pub(crate) fn take(&mut self, id: CheckId) -> Option<Check> {
        let i = self.0.iter().position(|c| c.id == id)?;
        Some(self.0.remove(i))
    }
}

/// Runs every deep check against one target.
pub(crate) async fn run(target: &Target, opts: &ProbeOptions) -> DeepChecks {
    let (old, direct, (pipelined, tls12), ciphers, client) = tokio::join!(
        early_old_versions(target, opts),
        direct_tls(target, opts),
        pipelined_and_tls12(target, opts),
        ciphers(target, opts),
        client_certificate(target, opts),
    );
    let versions = tls_versions(target, opts, EarlyVersions { old, tls12 }, None).await;
    DeepChecks(vec![versions, direct, pipelined, ciphers, client])
}

const VERSIONS: [(&str, SslVersion); 4] = [
    ("TLSv1", SslVersion::TLS1),
    ("TLSv1.1", SslVersion::TLS1_1),
    ("TLSv1.2", SslVersion::TLS1_2),
    ("TLSv1.3", SslVersion::TLS1_3),
];

fn version_name(v: SslVersion) -> &'static str {
    VERSIONS
        .iter()
        .find(|(_, x)| *x == v)
        .map_or("an unknown version", |(n, _)| *n)
}

/// One handshake offering `offer`: the negotiated version, or why there was none.
async fn try_offer(
    target: &Target,
    offer: &Offer,
    dl: Deadline,
) -> std::result::Result<SslVersion, VersionOutcome> {
    let (tcp, reply, after) = match ssl_request(target, dl, &[]).await {
        Ok(x) => x,
        Err(e) => return Err(VersionOutcome::Untested(e.to_string())),
    };
    if reply != b'S' {
        return Err(VersionOutcome::Untested(format!(
            "SSLRequest answered 0x{reply:02x}"
        )));
    }
    if !after.is_empty() {
        return Err(VersionOutcome::Untested(format!(
            "{} byte(s) followed the S",
            after.len()
        )));
    }
    match handshake(target, tcp, offer, dl).await {
        Ok(s) => s
            .ssl()
            .version2()
            .ok_or_else(|| VersionOutcome::Untested("the negotiated version is unknown".into())),
        Err(HandshakeError::Local(e)) => Err(VersionOutcome::Untested(e)),
        Err(HandshakeError::Failed(e)) => Err(VersionOutcome::Refused(e)),
        Err(HandshakeError::Timeout) => {
            Err(VersionOutcome::Untested("the handshake timed out".into()))
        }
    }
}

/// The outcome for `v` from a handshake that offered only `v`.
fn exactly(v: SslVersion, r: std::result::Result<SslVersion, VersionOutcome>) -> VersionOutcome {
    match r {
        Ok(got) if got == v => VersionOutcome::Accepted,
        Ok(got) => VersionOutcome::Refused(format!("the server chose {}", version_name(got))),
        Err(o) => o,
    }
}

/// Outcomes of the version handshakes that need nothing from the first connection, run
/// alongside it: TLS 1.0 and 1.1 offered together (a server that takes either is caught, one
/// refusal covers both) and TLS 1.2 alone (see [`pipelined_and_tls12`]).
struct EarlyVersions {
    old: std::result::Result<SslVersion, VersionOutcome>,
    tls12: std::result::Result<SslVersion, VersionOutcome>,
}

async fn early_old_versions(
    target: &Target,
    opts: &ProbeOptions,
) -> std::result::Result<SslVersion, VersionOutcome> {
    let dl = Deadline::after(opts.timeout);
    try_offer(
        target,
        &Offer::Range(SslVersion::TLS1, SslVersion::TLS1_1),
        dl,
    )
    .await
}

/// The `tls-versions` check: TLS 1.3 from the first connection's default handshake when it
/// negotiated 1.3 (else a handshake offering only 1.3); TLS 1.0 alone only when the 1.0/1.1
/// handshake chose 1.1.
async fn tls_versions(
    target: &Target,
    opts: &ProbeOptions,
    early: EarlyVersions,
    negotiated: Option<SslVersion>,
) -> Check {
    let dl = Deadline::after(opts.timeout);
    let tls13 = async {
        if negotiated == Some(SslVersion::TLS1_3) {
            VersionOutcome::Accepted
        } else {
            exactly(
                SslVersion::TLS1_3,
                try_offer(target, &Offer::only(SslVersion::TLS1_3), dl).await,
            )
        }
    };
    let old = async {
        match early.old {
            Ok(v) if v == SslVersion::TLS1_1 => (
                exactly(
                    SslVersion::TLS1,
                    try_offer(target, &Offer::only(SslVersion::TLS1), dl).await,
                ),
                VersionOutcome::Accepted,
            ),
            Ok(v) if v == SslVersion::TLS1 => (
                VersionOutcome::Accepted,
                VersionOutcome::Refused(
                    "the server chose TLSv1 when offered TLSv1 and TLSv1.1".into(),
                ),
            ),
            Ok(v) => {
                let o = VersionOutcome::Refused(format!(
                    "the server chose {} when offered TLSv1 and TLSv1.1",
                    version_name(v)
                ));
                (o.clone(), o)
            }
            Err(o) => (o.clone(), o),
        }
    };
    let (tls13, (tls10, tls11)) = tokio::join!(tls13, old);
    let tls12 = exactly(SslVersion::TLS1_2, early.tls12);
    let outcomes = [tls10, tls11, tls12, tls13];
    let versions: Vec<(&'static str, VersionOutcome)> =
        VERSIONS.iter().map(|(n, _)| *n).zip(outcomes).collect();
    let names = |f: fn(&VersionOutcome) -> bool| -> Vec<&str> {
        versions
            .iter()
            .filter(|(_, o)| f(o))
            .map(|(n, _)| *n)
            .collect()
    };
    let accepted = names(|o| matches!(o, VersionOutcome::Accepted));
    let untested = names(|o| matches!(o, VersionOutcome::Untested(_)));
    let old: Vec<&str> = accepted
        .iter()
        .copied()
        .filter(|n| *n == "TLSv1" || *n == "TLSv1.1")
        .collect();
    let mut detail = if accepted.is_empty() {
        "no TLS version was accepted".to_string()
    } else {
        format!("accepts {}", accepted.join(", "))
    };
    if !untested.is_empty() {
        let _ = write!(detail, "; not tested: {}", untested.join(", "));
    }
    let check = if !old.is_empty() {
        Check::new(CheckId::TlsVersions, Verdict::Fail, format!("{detail}: {} must be refused", old.join(" and ")))
            .with_fix("set ssl_min_protocol_version = 'TLSv1.2' (PostgreSQL) / client_tls_protocols = secure (PgBouncer)")
    } else if accepted.is_empty() {
        Check::new(CheckId::TlsVersions, Verdict::Inconclusive, detail)
    } else {
        Check::new(CheckId::TlsVersions, Verdict::Pass, detail)
    };
    check.with_data(CheckData::TlsVersions { versions })
}

async fn direct_tls(target: &Target, opts: &ProbeOptions) -> Check {
    let dl = Deadline::after(opts.timeout);
    let tcp = match connect(target, dl).await {
        Ok(s) => s,
        Err(e) => return Check::new(CheckId::DirectTls, Verdict::Inconclusive, e.to_string()),
    };
    match handshake(target, tcp, &Offer::Default, dl).await {
        Ok(s) => {
            let alpn = s.ssl().selected_alpn_protocol().map(|a| String::from_utf8_lossy(a).into_owned());
            if alpn.as_deref() == Some("postgresql") {
                Check::new(CheckId::DirectTls, Verdict::Pass, "direct TLS with ALPN postgresql is supported (sslnegotiation=direct)")
                    .with_data(CheckData::DirectTls { supported: Some(true), alpn })
            } else {
                Check::new(
                    CheckId::DirectTls,
                    Verdict::Inconclusive,
                    "a direct TLS handshake completed without ALPN postgresql: a TLS proxy in front of the server?",
                )
                .with_data(CheckData::DirectTls { supported: None, alpn })
            }
        }
        Err(e) => Check::new(
            CheckId::DirectTls,
            Verdict::Skipped,
            format!("direct TLS not supported ({e}); clients must use sslnegotiation=postgres, the default before PostgreSQL 17"),
        )
        .with_data(CheckData::DirectTls {
            supported: Some(false),
            alpn: None,
        }),
    }
}

fn pipelined_reply_data(f: Option<&ErrorFields>) -> CheckData {
    CheckData::ServerReply {
        sqlstate: f.and_then(|f| f.code.clone()),
        server_message: f.and_then(|f| f.message.clone()),
        refusal: None,
        auth_request: None,
    }
}

/// The verdict when the server answered in plaintext after its `S` (instead of TLS); `buf`
/// holds what was left undecoded.
fn plaintext_after_s(r: std::result::Result<BackendMessage, Failure>, buf: &[u8]) -> Check {
    let reply_data = pipelined_reply_data;
    match r {
        Ok(BackendMessage::ErrorResponse(f)) => Check::new(
            CheckId::PipelinedData,
            Verdict::Pass,
            format!(
                "plaintext bytes after SSLRequest were refused: \"{}\"",
                f.message.as_deref().unwrap_or_default()
            ),
        )
        .with_data(reply_data(Some(&f))),
        Err(Failure::Closed) => Check::new(
            CheckId::PipelinedData,
            Verdict::Pass,
            "the server closed the connection instead of processing plaintext bytes after SSLRequest",
        )
        .with_data(reply_data(None)),
        Ok(other) => Check::new(
            CheckId::PipelinedData,
            Verdict::Fail,
            format!("the server answered plaintext bytes pipelined after SSLRequest in plaintext: {}", other.describe()),
        )
        .with_data(reply_data(None)),
        Err(Failure::Protocol(_)) if buf.first() == Some(&0x15) => Check::new(
            CheckId::PipelinedData,
            Verdict::Pass,
            "the server answered the pipelined bytes with a TLS alert: they were not processed as a startup packet",
        )
        .with_data(reply_data(None)),
        Err(Failure::Timeout) => Check::new(
            CheckId::PipelinedData,
            Verdict::Inconclusive,
            "the server sent a partial message after S",
        )
        .with_data(reply_data(None)),
        Err(e) => Check::new(
            CheckId::PipelinedData,
            Verdict::Inconclusive,
            format!("after SSLRequest: {e}"),
        )
        .with_data(reply_data(None)),
    }
}

/// TLS record content types (change cipher spec, alert, handshake, application data).
fn is_tls_record(b: u8) -> bool {
    (0x14..=0x17).contains(&b)
}

/// Whether the pipelined-data connection got as far as a TLS handshake.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Handshook {
    NotTried,
    Failed,
    Completed(SslVersion),
}

/// `pipelined-data` and the TLS 1.2 part of `tls-versions` share one connection when they can:
/// the pipelined handshake offers only TLS 1.2, and when it completes, that is the proof that
/// 1.2 is accepted (one backend fewer on PostgreSQL). Otherwise (a 1.3-only server, a pooler
/// that answers `E`, a failed handshake) TLS 1.2 gets its own handshake, and a failed
/// pipelined handshake is redone with the default offer, so neither check depends on the other.
async fn pipelined_and_tls12(
    target: &Target,
    opts: &ProbeOptions,
) -> (Check, std::result::Result<SslVersion, VersionOutcome>) {
    let mut handshook = Handshook::NotTried;
    let tls12 = Offer::only(SslVersion::TLS1_2);
    let check = pipelined_data(target, opts, tls12.clone(), &mut handshook).await;
    let solo = async { try_offer(target, &tls12, Deadline::after(opts.timeout)).await };
    match handshook {
        Handshook::Completed(v) => (check, Ok(v)),
        Handshook::NotTried => (check, solo.await),
        Handshook::Failed => {
            let mut again = Handshook::NotTried;
            tokio::join!(
                pipelined_data(target, opts, Offer::Default, &mut again),
                solo
            )
        }
    }
}

async fn pipelined_data(
    target: &Target,
    opts: &ProbeOptions,
    offer: Offer,
    handshook: &mut Handshook,
) -> Check {
    let dl = Deadline::after(opts.timeout);
    let user = opts.effective_user();
    let reply_data = pipelined_reply_data;
    let startup = match wire::startup_message(&user, &opts.database, Some(&opts.application_name)) {
        Ok(s) => s,
        Err(e) => return Check::new(CheckId::PipelinedData, Verdict::Inconclusive, e.to_string()),
    };
    let (mut tcp, reply, mut after) = match ssl_request(target, dl, &startup).await {
        Ok(x) => x,
        Err(e) => {
            return Check::new(
                CheckId::PipelinedData,
                Verdict::Inconclusive,
                format!("SSLRequest: {e}"),
            );
        }
    };
    if reply == b'E' {
        let mut buf = vec![reply];
        buf.append(&mut after);
        return match read_message(&mut tcp, &mut buf, dl.within(Duration::from_millis(500))).await {
            Ok(BackendMessage::ErrorResponse(f)) => Check::new(
                CheckId::PipelinedData,
                Verdict::Pass,
                format!(
                    "SSLRequest with pipelined plaintext was refused outright: \"{}\"",
                    f.message.as_deref().unwrap_or_default()
                ),
            )
            .with_data(reply_data(Some(&f))),
            _ => Check::new(
                CheckId::PipelinedData,
                Verdict::Inconclusive,
                "SSLRequest answered with E, then no valid error",
            )
            .with_data(reply_data(None)),
        };
    }
    if reply != b'S' {
        return Check::new(
            CheckId::PipelinedData,
            Verdict::Skipped,
            format!("TLS not offered (SSLRequest with pipelined bytes answered 0x{reply:02x})"),
        );
    }
    // A plaintext answer right behind the `S` is already here: classify it without waiting.
    take_ready(&tcp, &mut after);
    if !after.is_empty() {
        let mut buf = after;
        let r = if buf.first().copied().is_some_and(is_tls_record) {
            Err(Failure::Protocol(
                "a TLS record instead of a message".into(),
            ))
        } else {
            read_message(&mut tcp, &mut buf, dl.within(Duration::from_millis(500))).await
        };
        return plaintext_after_s(r, &buf);
    }
    // Nothing else yet: start the handshake at once. Whatever the server sends instead of TLS
    // (a late plaintext answer, a close) makes the handshake fail, and the recorded bytes say
    // what it was. When it succeeds, see whether the server now treats the bytes it buffered
    // before TLS as if they had come through it.
    let mut seen = Vec::new();
    let outcome = match handshake(
        target,
        Recording {
            inner: &mut tcp,
            seen: &mut seen,
        },
        &offer,
        dl,
    )
    .await
    {
        Err(e) => Err(e),
        Ok(mut s) => {
            if let Some(v) = s.ssl().version2() {
                *handshook = Handshook::Completed(v);
            }
            let mut buf = Vec::new();
            Ok(read_message(&mut s, &mut buf, dl.within(Duration::from_millis(500))).await)
        }
    };
    match outcome {
        Err(e) => {
            if seen.first().is_some_and(|b| !is_tls_record(*b)) {
                // OpenSSL stopped after a record header: read the rest of the message.
                let mut buf = seen;
                let r =
                    read_message(&mut tcp, &mut buf, dl.within(Duration::from_millis(500))).await;
                return plaintext_after_s(r, &buf);
            }
            *handshook = Handshook::Failed;
            Check::new(
                CheckId::PipelinedData,
                Verdict::Pass,
                format!("the pipelined bytes were not processed (the handshake then failed: {e})"),
            )
            .with_data(reply_data(None))
        }
        // PostgreSQL 14.1+ completes the handshake, then refuses over TLS.
        Ok(Ok(BackendMessage::ErrorResponse(f))) if f.code.as_deref() == Some("08P01") => {
            Check::new(
                CheckId::PipelinedData,
                Verdict::Pass,
                format!(
                    "plaintext bytes sent with SSLRequest were refused after the handshake: \"{}\"",
                    f.message.as_deref().unwrap_or_default()
                ),
            )
            .with_data(reply_data(Some(&f)))
        }
        Ok(Ok(m)) => {
            let f = match &m {
                BackendMessage::ErrorResponse(f) => Some(f),
                _ => None,
            };
            Check::new(
                CheckId::PipelinedData,
                Verdict::Fail,
                format!(
                    "the server processed plaintext bytes sent before the handshake as if they had come over TLS ({}): CVE-2021-23214",
                    short_message(&m)
                ),
            )
            .with_fix("upgrade the server (PostgreSQL 14.1, 13.5, 12.9, 11.14, 10.19 or later)")
            .with_data(reply_data(f))
        }
        Ok(Err(_)) => Check::new(
            CheckId::PipelinedData,
            Verdict::Pass,
            "the plaintext bytes sent with SSLRequest were ignored after the handshake",
        )
        .with_data(reply_data(None)),
    }
}

fn short_message(m: &BackendMessage) -> String {
    m.describe()
}

/// One accepted suite: its OpenSSL name and `description()` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suite {
    pub(crate) name: String,
    pub(crate) kx: String,
    pub(crate) au: String,
    pub(crate) enc: String,
    pub(crate) mac: String,
}

impl Suite {
    /// From OpenSSL's `SSL_CIPHER_description`, e.g. `ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2
    /// Kx=ECDH Au=ECDSA Enc=AESGCM(256) Mac=AEAD`.
    pub(crate) fn from_description(name: &str, desc: &str) -> Self {
        let field = |k: &str| {
            desc.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or("?")
                .to_string()
        };
        Self {
            name: name.to_string(),
            kx: field("Kx="),
            au: field("Au="),
            enc: field("Enc="),
            mac: field("Mac="),
        }
    }

    /// Why no client should use it, if so.
    pub(crate) fn broken(&self) -> Option<&'static str> {
        let enc = self.enc.to_ascii_uppercase();
        if self.au.eq_ignore_ascii_case("None") {
            Some(
                "anonymous (no server authentication: anyone in the middle can impersonate the server)",
            )
        } else if enc.starts_with("NONE") {
            Some("NULL encryption")
        } else if self.name.contains("EXP") {
            Some("EXPORT grade")
        } else if enc.starts_with("RC4") {
            Some("RC4")
        } else if enc.starts_with("DES") || enc.starts_with("3DES") {
            Some("DES/3DES")
        } else {
            None
        }
    }

    fn forward_secret(&self) -> bool {
        matches!(
            self.kx.as_str(),
            "ECDH" | "DH" | "any" | "ECDHEPSK" | "DHEPSK"
        )
    }

    fn cbc(&self) -> bool {
        !self.mac.eq_ignore_ascii_case("AEAD")
    }
}

/// The `ciphers` verdict from the accepted suites (pure).
pub(crate) fn judge_ciphers(
    tls12: &[Suite],
    tls13: &[String],
    untested: &[String],
    timed_out: bool,
) -> Check {
    let names12: Vec<String> = tls12.iter().map(|s| s.name.clone()).collect();
    let data = CheckData::Ciphers {
        tls12: names12.clone(),
        tls13: tls13.to_vec(),
        untested: untested.to_vec(),
    };
    let mut detail = String::new();
    if !names12.is_empty() {
        let _ = write!(detail, "TLS 1.2: {}", names12.join(", "));
    }
    if !tls13.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        let _ = write!(detail, "TLS 1.3: {}", tls13.join(", "));
    }
    if detail.is_empty() {
        detail.push_str("no suite was accepted");
    }
    if !untested.is_empty() {
        let _ = write!(
            detail,
            "; not testable with this OpenSSL: {}",
            untested.join(", ")
        );
    }
    let bad: Vec<String> = tls12
        .iter()
        .filter_map(|s| s.broken().map(|why| format!("{} ({why})", s.name)))
        .collect();
    if !bad.is_empty() {
        return Check::new(CheckId::Ciphers, Verdict::Fail, format!("accepts broken suites: {}; {detail}", bad.join(", ")))
            .with_fix("set ssl_ciphers = 'HIGH:!aNULL:!eNULL:!3DES:!RC4' (PostgreSQL; reload) / client_tls_ciphers = secure (PgBouncer)")
            .with_data(data);
    }
    if timed_out {
        return Check::new(
            CheckId::Ciphers,
            Verdict::Inconclusive,
            format!("the enumeration timed out; so far {detail}"),
        )
        .with_data(data)
        .timed_out();
    }
    if names12.is_empty() && tls13.is_empty() {
        return Check::new(CheckId::Ciphers, Verdict::Inconclusive, detail).with_data(data);
    }
    let mut c = Check::new(CheckId::Ciphers, Verdict::Pass, detail).with_data(data);
    let no_fs: Vec<&str> = tls12
        .iter()
        .filter(|s| !s.forward_secret())
        .map(|s| s.name.as_str())
        .collect();
    if !no_fs.is_empty() {
        c = c.with_warning(format!(
            "without forward secrecy (static RSA key exchange): {}",
            no_fs.join(", ")
        ));
    }
    if !tls12.is_empty() && tls12.iter().all(Suite::cbc) {
        c = c.with_warning("TLS 1.2 offers only CBC suites (no AEAD: GCM or ChaCha20-Poly1305)");
    }
    c
}

/// The TLS 1.3 suites OpenSSL 3 knows.
const TLS13_SUITES: [&str; 5] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
];

/// Most handshakes one enumeration makes (a server accepting more suites is cut off there).
const MAX_SUITES: usize = 64;

enum Pick {
    Chose(String, String),
    Done,
    TimedOut,
}

async fn pick(target: &Target, offer: Offer, timeout: Duration) -> Pick {
    let dl = Deadline::after(timeout);
    let Ok((tcp, reply, after)) = ssl_request(target, dl, &[]).await else {
        return Pick::Done;
    };
    if reply != b'S' || !after.is_empty() {
        return Pick::Done;
    }
    match handshake(target, tcp, &offer, dl).await {
        Ok(mut s) => {
            let chosen = s
                .ssl()
                .current_cipher()
                .map(|c| (c.name().to_string(), c.description()));
            crate::io::close(&mut s).await;
            match chosen {
                Some((n, d)) => Pick::Chose(n, d),
                None => Pick::Done,
            }
        }
        Err(HandshakeError::Timeout) => Pick::TimedOut,
        Err(_) => Pick::Done,
    }
}

/// Which broken families this OpenSSL cannot even offer (so the server was not tested on them).
fn locally_untestable() -> Vec<String> {
    let target = Target::new("127.0.0.1", 1);
    let mut out = Vec::new();
    for (family, list) in [
        ("EXPORT", "EXP:@SECLEVEL=0"),
        ("RC4", "RC4:@SECLEVEL=0"),
        ("DES", "DES:@SECLEVEL=0"),
        ("3DES", "3DES:@SECLEVEL=0"),
        ("NULL", "eNULL:@SECLEVEL=0"),
        ("anonymous", "aNULL:@SECLEVEL=0"),
    ] {
        if ssl_for(&target, &Offer::Tls12Ciphers(list.into())).is_err() {
            out.push(family.to_string());
        }
    }
    out
}

/// `ciphers`: TLS 1.2 suites enumerated the way sslyze does it, by elimination: offer every
/// suite this OpenSSL has (security level 0), note the server's choice, offer the rest, until
/// the server refuses; the same for the TLS 1.3 suites.
async fn ciphers(target: &Target, opts: &ProbeOptions) -> Check {
    let mut tls12 = Vec::new();
    let mut timed_out = false;
    for _ in 0..MAX_SUITES {
        let mut list = String::from("ALL:COMPLEMENTOFALL");
        for s in &tls12 {
            let s: &Suite = s;
            let _ = write!(list, ":!{}", s.name);
        }
        list.push_str(":@SECLEVEL=0");
        match pick(target, Offer::Tls12Ciphers(list), opts.timeout).await {
            Pick::Chose(n, d) if !tls12.iter().any(|s: &Suite| s.name == n) => {
                tls12.push(Suite::from_description(&n, &d));
            }
            Pick::Chose(..) | Pick::Done => break,
            Pick::TimedOut => {
                timed_out = true;
                break;
            }
        }
    }
    let mut tls13: Vec<String> = Vec::new();
    while !timed_out {
        let rest: Vec<&str> = TLS13_SUITES
            .iter()
            .copied()
            .filter(|s| !tls13.iter().any(|t| t == s))
            .collect();
        if rest.is_empty() {
            break;
        }
        match pick(target, Offer::Tls13Suites(rest.join(":")), opts.timeout).await {
            Pick::Chose(n, _) if !tls13.contains(&n) => tls13.push(n),
            Pick::Chose(..) | Pick::Done => break,
            Pick::TimedOut => timed_out = true,
        }
    }
    judge_ciphers(&tls12, &tls13, &locally_untestable(), timed_out)
}

/// What the server's TLS 1.2 flight said about client certificates: `None` when the flight
/// could not be read to its end (`ServerHelloDone`), `Some(None)` when no `CertificateRequest`
/// came, `Some(Some(names))` with the DER distinguished names it listed.
#[allow(clippy::option_option)] // reason: three outcomes, read as unknown / no / yes(names)
pub(crate) fn certificate_request(server_bytes: &[u8]) -> Option<Option<Vec<Vec<u8>>>> {
    // Reassemble handshake records (type 22) into one message stream.
    let mut hs = Vec::new();
    let mut rest = server_bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let body = rest.get(5..5 + len)?;
        if rest[0] != 22 {
            break;
        }
        hs.extend_from_slice(body);
        rest = &rest[5 + len..];
    }
    let mut m = hs.as_slice();
    while m.len() >= 4 {
        let ty = m[0];
        let len = usize::from(m[1]) << 16 | usize::from(m[2]) << 8 | usize::from(m[3]);
        let body = m.get(4..4 + len)?;
        match ty {
            13 => {
                let n_types = usize::from(*body.first()?);
                let b = body.get(1 + n_types..)?;
                let n_algs = usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
                let b = b.get(2 + n_algs..)?;
                let n_cas = usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
                let mut cas = b.get(2..2 + n_cas)?;
                let mut names = Vec::new();
                while cas.len() >= 2 {
                    let l = usize::from(u16::from_be_bytes([cas[0], cas[1]]));
                    names.push(cas.get(2..2 + l)?.to_vec());
                    cas = &cas[2 + l..];
                }
                return Some(Some(names));
            }
            14 => return Some(None),
            _ => {}
        }
        m = &m[4 + len..];
    }
    None
}

/// `client-certificate`: one TLS 1.2 handshake whose server flight is read as it passes (TLS
/// 1.2 sends `CertificateRequest` in the clear; TLS 1.3 encrypts it, so a 1.3-only server
/// leaves this unknown).
async fn client_certificate(target: &Target, opts: &ProbeOptions) -> Check {
    let dl = Deadline::after(opts.timeout);
    let unknown = |why: String| {
        Check::new(CheckId::ClientCertificate, Verdict::Inconclusive, why).with_data(
            CheckData::ClientCertificate {
                requested: None,
                ca_names: Vec::new(),
            },
        )
    };
    let Ok((mut tcp, reply, after)) = ssl_request(target, dl, &[]).await else {
        return unknown("no connection for the TLS 1.2 handshake".into());
    };
    if reply != b'S' || !after.is_empty() {
        return skipped(CheckId::ClientCertificate, "TLS not offered");
    }
    let mut seen = Vec::new();
    let r = match handshake(
        target,
        Recording {
            inner: &mut tcp,
            seen: &mut seen,
        },
        &Offer::only(SslVersion::TLS1_2),
        dl,
    )
    .await
    {
        Ok(mut s) => {
            crate::io::close(&mut s).await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    match r {
        Err(HandshakeError::Failed(e)) if seen.len() < 6 => {
            return unknown(format!(
                "the server refused a TLS 1.2 handshake ({e}); TLS 1.3 encrypts the CertificateRequest, so whether it asks for a client certificate is unknown"
            ));
        }
        Err(HandshakeError::Timeout) => {
            return unknown("the TLS 1.2 handshake timed out".into()).timed_out();
        }
        Ok(()) | Err(_) => {}
    }
    match certificate_request(&seen) {
        None => unknown("the server's TLS 1.2 handshake could not be read to its end".into()),
        Some(None) => Check::new(
            CheckId::ClientCertificate,
            Verdict::Pass,
            "the server does not ask for a client certificate",
        )
        .with_data(CheckData::ClientCertificate {
            requested: Some(false),
            ca_names: Vec::new(),
        }),
        Some(Some(ders)) => {
            let names: Vec<String> = ders
                .iter()
                .map(|d| {
                    X509Name::from_der(d).map_or_else(
                        |_| "(unreadable name)".to_string(),
                        |n| cert::name_to_string(&n),
                    )
                })
                .collect();
            let cas = if names.is_empty() {
                "no CA names".to_string()
            } else {
                format!("accepting certificates from: {}", names.join("; "))
            };
            let mut c = Check::new(
                CheckId::ClientCertificate,
                Verdict::Pass,
                format!("the server asks for a client certificate ({cas}); pg_hba `cert` lines or clientcert=verify-* decide whether one is required"),
            )
            .with_data(CheckData::ClientCertificate { requested: Some(true), ca_names: names });
            if !opts.has_client_cert() {
                c.detail
                    .push_str("; pass --client-cert/--client-key to log in with one");
            }
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(name: &str, desc: &str) -> Suite {
        Suite::from_description(name, desc)
    }

    #[test]
    fn broken_suites_fail_and_weak_ones_warn() {
        let good = suite(
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(256)            Mac=AEAD",
        );
        let anon = suite(
            "AECDH-AES256-SHA",
            "AECDH-AES256-SHA          TLSv1 Kx=ECDH     Au=None  Enc=AES(256)               Mac=SHA1",
        );
        let null = suite(
            "ECDHE-ECDSA-NULL-SHA",
            "ECDHE-ECDSA-NULL-SHA TLSv1 Kx=ECDH Au=ECDSA Enc=None Mac=SHA1",
        );
        let tdes = suite(
            "DES-CBC3-SHA",
            "DES-CBC3-SHA SSLv3 Kx=RSA Au=RSA Enc=3DES(168) Mac=SHA1",
        );
        let rsa_cbc = suite(
            "AES128-SHA",
            "AES128-SHA SSLv3 Kx=RSA Au=RSA Enc=AES(128) Mac=SHA1",
        );
        assert_eq!(
            judge_ciphers(std::slice::from_ref(&good), &[], &[], false).verdict,
            Verdict::Pass
        );
        for bad in [&anon, &null, &tdes] {
            let c = judge_ciphers(&[good.clone(), bad.clone()], &[], &[], false);
            assert_eq!(c.verdict, Verdict::Fail, "{}", bad.name);
            assert!(c.detail.contains(&bad.name));
        }
        let c = judge_ciphers(&[rsa_cbc], &["TLS_AES_256_GCM_SHA384".into()], &[], false);
        assert_eq!(c.verdict, Verdict::Pass);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert_eq!(
            judge_ciphers(&[], &[], &[], true).verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn certificate_request_is_read_from_a_tls12_flight() {
        let name = openssl::x509::X509NameBuilder::new()
            .map(|mut b| {
                b.append_entry_by_text("CN", "client CA").unwrap();
                b.build()
            })
            .unwrap();
        let der = name.to_der().unwrap();
        let mut cr = vec![1u8, 1, 0, 2, 4, 3];
        cr.extend_from_slice(&u16::try_from(der.len() + 2).unwrap().to_be_bytes());
        cr.extend_from_slice(&u16::try_from(der.len()).unwrap().to_be_bytes());
        cr.extend_from_slice(&der);
        let mut hs = vec![2u8, 0, 0, 2, 3, 3]; // a stub ServerHello
        hs.push(13);
        hs.extend_from_slice(&u32::try_from(cr.len()).unwrap().to_be_bytes()[1..]);
        hs.extend_from_slice(&cr);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        // split over two records
        let (a, b) = hs.split_at(7);
        let mut bytes = Vec::new();
        for part in [a, b] {
            bytes.extend_from_slice(&[22, 3, 3]);
            bytes.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
            bytes.extend_from_slice(part);
        }
        let got = certificate_request(&bytes).unwrap().unwrap();
        assert_eq!(got, vec![der]);
        let no_req = [22u8, 3, 3, 0, 4, 14, 0, 0, 0];
        assert_eq!(certificate_request(&no_req), Some(None));
        assert_eq!(certificate_request(&no_req[..7]), None);
        assert_eq!(certificate_request(&[]), None);
    }
}

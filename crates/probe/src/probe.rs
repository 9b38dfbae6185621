//! Orchestration: which connections a probe opens, in what order, and the retry under load.
//!
//! The default (monitoring-grade) probe opens at most two connections to the server: the
//! first does SSLRequest, the handshake with libssl's own chain verification (recorded, not
//! fatal), and, when a password or client certificate was given, the authenticated login
//! over that same TLS session; the second sends a plaintext StartupMessage. Against
//! PostgreSQL that is two backends and one FATAL log line (the plaintext refusal). `--deep`
//! adds the checks in [`crate::deep`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::x509::X509;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::cert;
use crate::deep;
use crate::error::{Error, Result};
use crate::facts::{Contact, HandshakeFacts, HandshakeOutcome};
use crate::io::{
    self, Deadline, Failure, HandshakeError, connect, read_message, read_reply, secs, take_ready,
    write_all,
};
use crate::judge::{
    self, CertPolicy, FIX_PLAINTEXT, LoginRefusal, Reach, plaintext_check_from_error, skipped,
};
use crate::options::ProbeOptions;
use crate::report::{Check, CheckData, CheckId, Report, TargetReport, Verdict};
use crate::target::Target;
use crate::wire::{self, AuthRequest, BackendMessage};

/// What the first connection produced: its checks and the session, when TLS was set up.
struct First {
    checks: Vec<Check>,
    reach: Reach,
    /// The session and whether the certificate passed the checks a verify-full client makes.
    session: Option<(SslStream<TcpStream>, bool)>,
}

async fn contact(target: &Target, dl: Deadline) -> (Contact, Option<TcpStream>) {
    let mut tcp = match connect(target, dl).await {
        Ok(s) => s,
        Err(Failure::Timeout) => {
            return (
                Contact::ConnectFailed {
                    timeout: true,
                    detail: String::new(),
                },
                None,
            );
        }
        Err(e) => {
            return (
                Contact::ConnectFailed {
                    timeout: false,
                    detail: e.to_string(),
                },
                None,
            );
        }
    };
    let answer = async {
        write_all(&mut tcp, &wire::ssl_request(), dl).await?;
        read_reply(&mut tcp, dl).await
    }
    .await;
    let (byte, mut after) = match answer {
        Ok(x) => x,
        Err(Failure::Timeout) => {
            return (
                Contact::NoReply {
                    timeout: true,
                    detail: String::new(),
                },
                None,
            );
        }
        Err(Failure::Closed) => {
            return (
                Contact::NoReply {
                    timeout: false,
                    detail: "the server closed the connection without answering SSLRequest".into(),
                },
                None,
            );
        }
        Err(e) => {
            return (
                Contact::NoReply {
                    timeout: false,
                    detail: e.to_string(),
                },
                None,
            );
        }
    };
    match byte {
        b'S' => {
            // CVE-2021-23222: nothing may follow the `S` before our ClientHello. Like libpq
            // 14.1+ we look at what arrived with the `S`, plus one non-blocking read just
            // before the ClientHello; nothing is waited for.
            take_ready(&tcp, &mut after);
            let extra = after.len();
            let c = Contact::Reply {
                byte,
                error_message: None,
                extra_bytes: extra,
            };
            (c, (extra == 0).then_some(tcp))
        }
        b'E' => {
            let mut buf = vec![byte];
            buf.append(&mut after);
            let msg = match read_message(&mut tcp, &mut buf, dl.within(Duration::from_millis(500)))
                .await
            {
                Ok(BackendMessage::ErrorResponse(f)) => Some(f.message.unwrap_or_default()),
                _ => None,
            };
            (
                Contact::Reply {
                    byte,
                    error_message: msg,
                    extra_bytes: 0,
                },
                None,
            )
        }
        _ => (
            Contact::Reply {
                byte,
                error_message: None,
                extra_bytes: 0,
            },
            None,
        ),
    }
}

fn handshake_facts(
    s: &SslStream<TcpStream>,
    chain_errors: Vec<crate::facts::ChainError>,
) -> HandshakeFacts {
    let ssl = s.ssl();
    let chain: Vec<X509> = ssl
        .peer_cert_chain()
        .map(|st| st.iter().map(openssl::x509::X509Ref::to_owned).collect())
        .or_else(|| ssl.peer_certificate().map(|c| vec![c]))
        .unwrap_or_default();
    HandshakeFacts {
        protocol: ssl.version_str().to_string(),
        cipher: ssl
            .current_cipher()
            .map_or_else(|| "unknown".to_string(), |c| c.name().to_string()),
        alpn: ssl
            .selected_alpn_protocol()
            .map(|a| String::from_utf8_lossy(a).into_owned()),
        leaf: cert::cert_facts(&chain),
        chain_errors,
    }
}

async fn first_connection(target: &Target, opts: &ProbeOptions) -> First {
    let dl = Deadline::after(opts.timeout);
    let (c, tcp) = contact(target, dl).await;
    let (mut checks, reach) = judge::judge_contact(&c, opts.timeout);
    let Some(tcp) = tcp else {
        return First {
            checks,
            reach,
            session: None,
        };
    };
    let errors = Arc::new(Mutex::new(Vec::new()));
    let hs = match io::ssl_verifying(target, opts, Arc::clone(&errors)) {
        Ok(ssl) => io::handshake_with(ssl, tcp, dl).await,
        Err(e) => Err(e),
    };
    let host = opts.server_name.as_deref().unwrap_or(target.host());
    let policy = CertPolicy {
        host,
        ca: opts.ca.as_ref().map(|c| c.path.as_str()),
        expiry_warn_days: opts.expiry_warn_days,
        now_unix: cert::now(),
    };
    let (outcome, stream) = match hs {
        Ok(s) => {
            let recorded = errors.lock().map(|v| v.clone()).unwrap_or_default();
            (
                HandshakeOutcome::Done(Box::new(handshake_facts(&s, recorded))),
                Some(s),
            )
        }
        Err(HandshakeError::Timeout) => (HandshakeOutcome::TimedOut, None),
        Err(e) => (HandshakeOutcome::Failed(e.to_string()), None),
    };
    let judged = judge::judge_handshake(&outcome, &policy);
    let verified = judged
        .iter()
        .filter(|c| {
            matches!(
                c.id,
                CheckId::Certificate | CheckId::Chain | CheckId::Hostname | CheckId::Expiry
            )
        })
        .all(|c| c.verdict == Verdict::Pass);
    checks.extend(judged);
    First {
        checks,
        reach,
        session: stream.map(|s| (s, verified)),
    }
}

/// The authenticated check over the first connection's TLS session (no second handshake).
///
/// With a CA given, credentials are sent only when the certificate passed every check a
/// verify-full client makes (libpq would not send them either).
async fn login(session: Option<(SslStream<TcpStream>, bool)>, opts: &ProbeOptions) -> Check {
    let Some((mut tls, verified)) = session else {
        return skipped(CheckId::Authenticated, "no TLS session");
    };
    if !opts.wants_login() {
        io::close(&mut tls).await;
        return skipped(
            CheckId::Authenticated,
            "no password or client certificate given",
        );
    }
    if opts.ca.is_some() && !verified {
        io::close(&mut tls).await;
        return skipped(
            CheckId::Authenticated,
            "credentials not sent: the certificate failed a check a verify-full client makes",
        );
    }
    let user = opts.effective_user();
    let how = match (opts.ca.is_some(), opts.client.is_some()) {
        (true, true) => "verify-full, client certificate",
        (true, false) => "verify-full",
        (false, true) => "certificate not verified, client certificate",
        (false, false) => "sslmode=require, certificate not verified",
    };
    let mut cfg = tokio_postgres::Config::new();
    cfg.user(&user)
        .dbname(&opts.database)
        .application_name(&opts.application_name)
        .ssl_mode(tokio_postgres::config::SslMode::Disable);
    if let Some(p) = &opts.password {
        cfg.password(p);
    }
    let dl = Deadline::after(opts.timeout);
    let run = async {
        let (client, conn) = cfg
            .connect_raw(tls, tokio_postgres::NoTls)
            .await
            .map_err(|e| LoginError::from(&e))?;
        let task = tokio::spawn(conn);
        let row = client
            .query_opt(
                "select ssl, version, cipher, bits from pg_stat_ssl where pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| LoginError::from(&e));
        drop(client);
        let _ = task.await;
        row
    };
    let pooler_note =
        "behind a pooler this row describes the pooler-to-server link, not this client's";
    let Ok(result) = tokio::time::timeout_at(dl.0, run).await else {
        {
            return Check::new(
                CheckId::Authenticated,
                Verdict::Inconclusive,
                format!("no login within {}", secs(opts.timeout)),
            )
            .timed_out();
        }
    };
    match result {
        Ok(Some(row)) => {
            let ssl: Option<bool> = row.try_get(0).ok();
            let version: Option<String> = row.try_get(1).ok();
            let cipher: Option<String> = row.try_get(2).ok();
            let bits: Option<i32> = row.try_get(3).ok();
            let seen = if ssl == Some(true) {
                format!(
                    "pg_stat_ssl: {} {} ({} bits)",
                    version.as_deref().unwrap_or("?"),
                    cipher.as_deref().unwrap_or("?"),
                    bits.map_or_else(|| "?".into(), |b| b.to_string())
                )
            } else {
                "pg_stat_ssl says this backend's connection is not encrypted".to_string()
            };
            Check::new(CheckId::Authenticated, Verdict::Pass, format!("logged in as \"{user}\" over TLS ({how}); {seen}; {pooler_note}"))
                .with_data(CheckData::Authenticated { ssl, version, cipher, bits, verified: opts.ca.is_some() })
        }
        Ok(None) => Check::new(
            CheckId::Authenticated,
            Verdict::Pass,
            format!("logged in as \"{user}\" over TLS ({how}); no pg_stat_ssl row for this backend; {pooler_note}"),
        ),
        Err(LoginError { refusal: Some(LoginRefusal::ClientCertificate), message }) => Check::new(
            CheckId::Authenticated,
            if opts.client.is_some() { Verdict::Fail } else { Verdict::Inconclusive },
            format!("client-certificate authentication refused ({how}): \"{message}\""),
        )
        .with_fix(if opts.client.is_some() {
            "the server's pg_hba `cert` (or clientcert=verify-*) rule refuses this certificate: check that its CN is the role (or the ident map) and that the server's ssl_ca_file holds its CA"
        } else {
            "this pg_hba line needs a client certificate: pass --client-cert and --client-key"
        }),
        Err(LoginError { refusal: Some(r), message }) => Check::new(
            CheckId::Authenticated,
            Verdict::Inconclusive,
            format!("login refused ({} , {how}): \"{message}\"", r.as_str()).replace(" ,", ","),
        ),
        Err(LoginError { refusal: None, message }) => Check::new(
            CheckId::Authenticated,
            Verdict::Inconclusive,
            format!("login failed ({how}): {message}"),
        ),
    }
}

/// A login failure: the server's refusal (classified) or another error's text.
struct LoginError {
    refusal: Option<LoginRefusal>,
    message: String,
}

impl From<&tokio_postgres::Error> for LoginError {
    fn from(e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Self {
                refusal: Some(judge::classify_login_error(
                    Some(db.code().code()),
                    db.message(),
                )),
                message: db.message().to_string(),
            },
            None => Self {
                refusal: None,
                message: error_chain(e),
            },
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

async fn plaintext_refused(target: &Target, opts: &ProbeOptions) -> Check {
    let dl = Deadline::after(opts.timeout);
    let user = opts.effective_user();
    let no_reply = |detail: String| {
        Check::new(CheckId::PlaintextRefused, Verdict::Inconclusive, detail).with_data(
            CheckData::ServerReply {
                sqlstate: None,
                server_message: None,
                refusal: None,
                auth_request: None,
            },
        )
    };
    let startup = match wire::startup_message(&user, &opts.database, Some(&opts.application_name)) {
        Ok(s) => s,
        Err(e) => return no_reply(e.to_string()),
    };
    let result = async {
        let mut s = connect(target, dl).await?;
        write_all(&mut s, &startup, dl).await?;
        let mut buf = Vec::new();
        loop {
            match read_message(&mut s, &mut buf, dl).await? {
                BackendMessage::NegotiateProtocolVersion { .. }
                | BackendMessage::NoticeResponse(_) => {}
                other => return Ok(other),
            }
        }
    }
    .await;
    match result {
        Ok(BackendMessage::ErrorResponse(f)) => plaintext_check_from_error(&f, &user),
        Ok(BackendMessage::Authentication(req)) => {
            let what = req.describe();
            let detail = if req == AuthRequest::Ok {
                format!(
                    "plaintext ACCEPTED: user \"{user}\" was let in without TLS and without a password"
                )
            } else {
                format!(
                    "plaintext accepted: the server asked user \"{user}\" for {what} without TLS"
                )
            };
            Check::new(CheckId::PlaintextRefused, Verdict::Fail, detail)
                .with_fix(FIX_PLAINTEXT)
                .with_data(CheckData::ServerReply {
                    sqlstate: None,
                    server_message: None,
                    refusal: None,
                    auth_request: Some(what),
                })
        }
        Ok(other) => no_reply(format!(
            "unexpected reply to a plaintext StartupMessage: {}",
            other.describe()
        )),
        Err(Failure::Timeout) => no_reply(format!(
            "no complete reply to a plaintext StartupMessage within {}",
            secs(opts.timeout)
        ))
        .timed_out(),
        Err(Failure::Closed) => {
            no_reply("the server closed the connection without a message".into())
        }
        Err(e) => no_reply(format!("plaintext StartupMessage: {e}")),
    }
}

/// Probes one endpoint; never panics, bounded by about twice `opts.timeout` (deep: more).
///
/// Default: the first connection (SSLRequest, handshake with verification, certificate,
/// optional login on the same session) and the plaintext connection, at once. With
/// [`ProbeOptions::with_deep`] the deep checks run too, each on connections of its own.
/// The report keeps the fixed check order ([`CheckId::ALL`]).
pub async fn probe(target: &Target, opts: &ProbeOptions) -> TargetReport {
    // Boxed: the joined checks make a large future, which callers should not have to carry.
    Box::pin(probe_inner(target, opts)).await
}

async fn probe_inner(target: &Target, opts: &ProbeOptions) -> TargetReport {
    io::prewarm(opts);
    let first_and_login = async {
        let first = first_connection(target, opts).await;
        let auth = login(first.session, opts).await;
        (first.checks, first.reach, auth)
    };
    let deep_checks = async {
        if opts.deep {
            Some(Box::pin(deep::run(target, opts)).await)
        } else {
            None
        }
    };
    let ((mut checks, reach, auth), plaintext, deep_checks) = tokio::join!(
        first_and_login,
        plaintext_refused(target, opts),
        deep_checks
    );
    if reach == Reach::Unreachable {
        for id in [
            CheckId::TlsVersions,
            CheckId::PlaintextRefused,
            CheckId::DirectTls,
            CheckId::PipelinedData,
            CheckId::Authenticated,
            CheckId::Ciphers,
            CheckId::ClientCertificate,
        ] {
            checks.push(skipped(id, "the endpoint could not be reached"));
        }
        return TargetReport::new(target.to_string(), checks, true, opts.has_ca());
    }
    let tls = reach != Reach::NoTls;
    let not_run = "not run by default (monitoring-grade: two connections); --deep runs it";
    let deep_or = |id: CheckId, d: Option<&mut deep::DeepChecks>| -> Check {
        match d {
            None => skipped(id, not_run),
            Some(_) if !tls => skipped(id, "TLS not offered"),
            Some(d) => d.take(id).unwrap_or_else(|| skipped(id, "not run")),
        }
    };
    let mut d = deep_checks;
    let versions = deep_or(CheckId::TlsVersions, d.as_mut());
    let direct = deep_or(CheckId::DirectTls, d.as_mut());
    let pipelined = deep_or(CheckId::PipelinedData, d.as_mut());
    let ciphers = deep_or(CheckId::Ciphers, d.as_mut());
    let client = deep_or(CheckId::ClientCertificate, d.as_mut());
    checks.extend([
        versions, plaintext, direct, pipelined, auth, ciphers, client,
    ]);
    TargetReport::new(target.to_string(), checks, false, opts.has_ca())
}

/// Probes many endpoints, at most [`ProbeOptions::concurrency`] at a time; results in input
/// order. A target whose network steps timed out while others were in flight is probed once
/// more after a short backoff (unless [`ProbeOptions::with_retry`] turned it off); its
/// `attempts` is then 2.
///
/// Must be called inside a tokio runtime (multi-threaded or not).
pub async fn probe_many(targets: &[Target], opts: &ProbeOptions) -> Vec<TargetReport> {
    probe_many_with(targets, opts, |_, _| {}).await
}

/// [`probe_many`] calling `done(index, report)` as each target finishes (for progress).
pub async fn probe_many_with(
    targets: &[Target],
    opts: &ProbeOptions,
    mut done: impl FnMut(usize, &TargetReport),
) -> Vec<TargetReport> {
    let sem = Arc::new(tokio::sync::Semaphore::new(
        opts.concurrency.clamp(1, crate::options::MAX_CONCURRENCY),
    ));
    let opts = Arc::new(opts.clone());
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (i, t) in targets.iter().cloned().enumerate() {
        let (sem, opts, tx, in_flight) = (
            Arc::clone(&sem),
            Arc::clone(&opts),
            tx.clone(),
            Arc::clone(&in_flight),
        );
        tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            let _permit = sem.acquire_owned().await;
            in_flight.fetch_add(1, Ordering::SeqCst);
            let mut r = probe(&t, &opts).await;
            let crowded = in_flight.load(Ordering::SeqCst) > 1;
            if opts.retry && crowded && r.timed_out() {
                // Back off by a spread-out fraction of the timeout so retries do not arrive
                // together, then try once more.
                let spread = u64::try_from(i % 16).unwrap_or(0);
                let base = opts.timeout.as_millis().min(2000) as u64 / 4;
                tokio::time::sleep(Duration::from_millis(base + spread * base / 16)).await;
                r = probe(&t, &opts).await;
                r.attempts = 2;
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send((i, r));
        });
    }
    drop(tx);
    let mut results: Vec<Option<TargetReport>> = (0..targets.len()).map(|_| None).collect();
    while let Some((i, r)) = rx.recv().await {
        done(i, &r);
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .zip(targets)
        .map(|(r, t)| {
            r.unwrap_or_else(|| {
                TargetReport::new(
                    t.to_string(),
                    vec![Check::new(
                        CheckId::TlsOffered,
                        Verdict::Inconclusive,
                        "the probe task stopped before it reported",
                    )],
                    false,
                    opts.has_ca(),
                )
            })
        })
        .collect()
}

/// [`probe_many`] wrapped in a [`Report`] with the overall verdict.
pub async fn verify(targets: &[Target], opts: &ProbeOptions) -> Report {
    Report::new(probe_many(targets, opts).await).with_deep(opts.deep)
}

/// [`verify`] on a runtime of its own, for synchronous callers.
///
/// Do not call it from inside a tokio runtime (tokio forbids nesting runtimes); use
/// [`verify`] there.
pub fn verify_blocking(targets: &[Target], opts: &ProbeOptions) -> Result<Report> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string().to_lowercase()))?;
    Ok(rt.block_on(verify(targets, opts)))
}

/// [`verify_blocking`] calling `done(index, report)` as each target finishes (for progress).
/// One target runs on the calling thread (worker threads would cost more than they save);
/// more run on two workers.
///
/// # Errors
/// The runtime cannot be started.
pub fn verify_blocking_with(
    targets: &[Target],
    opts: &ProbeOptions,
    done: impl FnMut(usize, &TargetReport),
) -> Result<Report> {
    let rt = if targets.len() == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .map_err(|e| Error::Runtime(e.to_string().to_lowercase()))?;
    let reports = rt.block_on(probe_many_with(targets, opts, done));
    Ok(Report::new(reports).with_deep(opts.deep))
}

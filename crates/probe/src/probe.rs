//! The I/O layer: tokio sockets, OpenSSL handshakes, tokio-postgres for the authenticated check.

use std::fmt::{self, Write as _};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_openssl::SslStream;

use crate::cert::{self, CaBundle};
use crate::error::{Error, Result};
use crate::report::{
    Check, CheckData, CheckId, Refusal, Report, TargetReport, Verdict, VersionOutcome,
};
use crate::target::Target;
use crate::wire::{self, AuthRequest, BackendMessage, EncryptionReply, ErrorFields};

/// How to probe: identities for the plaintext and authenticated checks, trust, time limits.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProbeOptions {
    /// User for the plaintext StartupMessage and the authenticated check (default `postgres`).
    pub user: String,
    /// Database name (default `postgres`).
    pub database: String,
    /// Supavisor tenant: when set, the user sent is `<user>.<tenant>`.
    pub tenant: Option<String>,
    /// Password for the optional authenticated check; `None` skips that check.
    pub password: Option<String>,
    /// Time limit for each check's network steps together (default 5 s).
    pub timeout: Duration,
    /// `expiry` fails when fewer days than this are left (default 14).
    pub expiry_warn_days: i64,
    /// `application_name` sent in each StartupMessage (default `pgtls-probe`).
    pub application_name: String,
    /// The name clients will use, when it is not the target's host: the certificate's host
    /// name check and the authenticated check's verify-full use it, while the connections go
    /// to the target (libpq's `host` + `hostaddr`). For checking a server by address before
    /// DNS points at it. `None` (default): the target's host.
    pub server_name: Option<String>,
    ca: Option<CaBundle>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            user: "postgres".into(),
            database: "postgres".into(),
            tenant: None,
            password: None,
            timeout: Duration::from_secs(5),
            expiry_warn_days: 14,
            application_name: "pgtls-probe".into(),
            server_name: None,
            ca: None,
        }
    }
}

impl fmt::Debug for ProbeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeOptions")
            .field("user", &self.user)
            .field("database", &self.database)
            .field("tenant", &self.tenant)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("expiry_warn_days", &self.expiry_warn_days)
            .field("application_name", &self.application_name)
            .field("server_name", &self.server_name)
            .field("ca", &self.ca)
            .finish()
    }
}

impl ProbeOptions {
    /// Trust the certificates in this PEM file (verify-full semantics) instead of the system roots.
    pub fn with_ca_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| Error::CaFile {
            path: shown.clone(),
            reason: e.to_string().to_lowercase(),
        })?;
        self.with_ca_pem(&pem, &shown)
    }

    /// Trust the certificates in `pem`; `name` is used in error messages.
    pub fn with_ca_pem(mut self, pem: &[u8], name: &str) -> Result<Self> {
        self.ca = Some(CaBundle::from_pem(pem, name)?);
        Ok(self)
    }

    /// True when a CA was given (chain and hostname then decide the verdict).
    pub fn has_ca(&self) -> bool {
        self.ca.is_some()
    }

    /// The user name sent to the server: `user` or `user.tenant`.
    pub fn effective_user(&self) -> String {
        match &self.tenant {
            Some(t) if !t.is_empty() => format!("{}.{t}", self.user),
            _ => self.user.clone(),
        }
    }
}

/// Why a network step did not produce a server answer.
#[derive(Debug)]
enum Failure {
    Timeout,
    Closed,
    Io(String),
    Protocol(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::Closed => f.write_str("the server closed the connection"),
            Self::Io(e) => write!(f, "{e}"),
            Self::Protocol(e) => write!(f, "malformed reply: {e}"),
        }
    }
}

fn io_failure(e: &std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe => Failure::Closed,
        _ => Failure::Io(e.to_string().to_lowercase()),
    }
}

/// A per-check deadline: every step of one check shares it, so a slow drip cannot stretch it.
#[derive(Clone, Copy)]
struct Deadline(Instant);

impl Deadline {
    fn after(d: Duration) -> Self {
        Self(Instant::now() + d)
    }

    async fn run<T, F: Future<Output = std::result::Result<T, Failure>>>(
        self,
        f: F,
    ) -> std::result::Result<T, Failure> {
        timeout_at(self.0, f).await.unwrap_or(Err(Failure::Timeout))
    }

    /// A deadline no later than this one, `d` from now.
    fn within(self, d: Duration) -> Self {
        Self(self.0.min(Instant::now() + d))
    }
}

async fn connect(target: &Target, dl: Deadline) -> std::result::Result<TcpStream, Failure> {
    dl.run(async {
        let s = TcpStream::connect((target.host(), target.port()))
            .await
            .map_err(|e| {
                Failure::Io(format!(
                    "could not connect: {}",
                    e.to_string().to_lowercase()
                ))
            })?;
        let _ = s.set_nodelay(true);
        Ok(s)
    })
    .await
}

async fn write_all(
    s: &mut TcpStream,
    bytes: &[u8],
    dl: Deadline,
) -> std::result::Result<(), Failure> {
    dl.run(async { s.write_all(bytes).await.map_err(|e| io_failure(&e)) })
        .await
}

/// Most bytes kept from what arrived with a one-byte reply (more is reported as "at least").
const MAX_EXTRA: usize = 64 * 1024;

/// Reads the one-byte reply to SSLRequest and every byte that already arrived with it.
///
/// No waiting for stragglers: like libpq 14.1+ (CVE-2021-23222) the extra bytes are what one
/// read returns plus a non-blocking read right after it, i.e. what the kernel already holds.
async fn read_reply(
    s: &mut TcpStream,
    dl: Deadline,
) -> std::result::Result<(u8, Vec<u8>), Failure> {
    dl.run(async {
        let mut b = [0u8; 512];
        let n = match s.read(&mut b).await {
            Ok(0) => return Err(Failure::Closed),
            Ok(n) => n,
            Err(e) => return Err(io_failure(&e)),
        };
        let first = b[0];
        let mut extra = b.get(1..n).unwrap_or_default().to_vec();
        take_ready(s, &mut extra);
        Ok((first, extra))
    })
    .await
}

/// Appends what the kernel already holds for this socket, without waiting (bounded by
/// [`MAX_EXTRA`]).
///
/// A real non-blocking `recv` (not tokio's cached readiness, which a short read clears), so it
/// also sees bytes that arrived after the last read: a zero-cost look just before the
/// `ClientHello` is sent.
fn take_ready(s: &TcpStream, into: &mut Vec<u8>) {
    use std::io::Read as _;
    let sock = socket2::SockRef::from(s);
    let mut chunk = [0u8; 4096];
    while into.len() < MAX_EXTRA {
        match (&*sock).read(&mut chunk) {
            Ok(n) if n > 0 => into.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
}

/// Reads one backend message; `buf` keeps bytes read past it. Bounded by the decoder's length limit.
async fn read_message<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    dl: Deadline,
) -> std::result::Result<BackendMessage, Failure> {
    dl.run(async {
        loop {
            match wire::decode_message(buf) {
                Ok(Some((m, used))) => {
                    buf.drain(..used);
                    return Ok(m);
                }
                Ok(None) => {}
                Err(e) => return Err(Failure::Protocol(e.to_string())),
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) => return Err(Failure::Closed),
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) => return Err(io_failure(&e)),
            }
        }
    })
    .await
}

/// Which versions one TLS handshake offers (ALPN `postgresql` is always offered).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// This OpenSSL's defaults (TLS 1.2 and 1.3 on OpenSSL 3).
    Default,
    /// From `min` to `max` inclusive; TLS 1.0/1.1 are enabled at security level 0.
    Range(SslVersion, SslVersion),
}

impl Offer {
    fn only(v: SslVersion) -> Self {
        Self::Range(v, v)
    }
}

/// The one client context, built once per process and shared by every connection and
/// target (`SSL_CTX_new` is costly on OpenSSL 3); version limits are set per connection.
/// Concurrent first users wait for one build instead of each building their own.
static CONTEXT: std::sync::OnceLock<std::result::Result<SslContext, String>> =
    std::sync::OnceLock::new();

fn context() -> std::result::Result<SslContext, String> {
    CONTEXT
        .get_or_init(|| {
            let build = || -> std::result::Result<SslContext, openssl::error::ErrorStack> {
                let mut b = SslContext::builder(SslMethod::tls_client())?;
                // We verify the chain ourselves after the handshake, so we can report what we saw.
                b.set_verify(SslVerifyMode::NONE);
                b.set_alpn_protos(b"\x0apostgresql")?;
                Ok(b.build())
            };
            build().map_err(|e| e.to_string())
        })
        .clone()
}

enum HandshakeError {
    /// This client could not even start (e.g. the local OpenSSL will not offer the version).
    Local(String),
    /// The handshake failed on the wire.
    Failed(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(e) | Self::Failed(e) => f.write_str(e),
        }
    }
}

fn describe_ssl_error(e: &openssl::ssl::Error) -> String {
    if let Some(reason) = e
        .ssl_error()
        .and_then(|s| s.errors().first())
        .and_then(openssl::error::Error::reason)
    {
        return reason.to_string();
    }
    if let Some(io) = e.io_error() {
        return io.to_string().to_lowercase();
    }
    "the server closed the connection during the handshake".into()
}

fn is_local_reason(reason: &str) -> bool {
    reason.contains("no protocols available") || reason.contains("no ciphers available")
}

fn ssl_for(target: &Target, offer: Offer) -> std::result::Result<Ssl, HandshakeError> {
    let setup = |e: openssl::error::ErrorStack| HandshakeError::Local(format!("tls setup: {e}"));
    let ctx = context().map_err(|e| HandshakeError::Local(format!("tls setup: {e}")))?;
    let mut ssl = Ssl::new(&ctx).map_err(setup)?;
    if let Offer::Range(min, max) = offer {
        ssl.set_min_proto_version(Some(min)).map_err(setup)?;
        ssl.set_max_proto_version(Some(max)).map_err(setup)?;
        if min == SslVersion::TLS1 || min == SslVersion::TLS1_1 {
            // OpenSSL 3 will not offer these at its default security level.
            ssl.set_cipher_list("ALL:@SECLEVEL=0").map_err(setup)?;
        }
    }
    if target.ip().is_none() {
        ssl.set_hostname(target.host()).map_err(setup)?;
    }
    Ok(ssl)
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    target: &Target,
    tcp: S,
    offer: Offer,
    dl: Deadline,
) -> std::result::Result<SslStream<S>, HandshakeError> {
    let ssl = ssl_for(target, offer)?;
    let mut s =
        SslStream::new(ssl, tcp).map_err(|e| HandshakeError::Local(format!("tls setup: {e}")))?;
    match timeout_at(dl.0, Pin::new(&mut s).connect()).await {
        Err(_) => Err(HandshakeError::Failed("the handshake timed out".into())),
        Ok(Err(e)) => {
            let reason = describe_ssl_error(&e);
            if is_local_reason(&reason) {
                Err(HandshakeError::Local(reason))
            } else {
                Err(HandshakeError::Failed(reason))
            }
        }
        Ok(Ok(())) => Ok(s),
    }
}

/// A stream that keeps a copy of the first bytes read through it, so that when a TLS
/// handshake fails we can still see what the server sent instead (e.g. a plaintext error).
struct Recording<'a, S> {
    inner: S,
    seen: &'a mut Vec<u8>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let room = MAX_EXTRA.saturating_sub(self.seen.len());
        let new = buf.filled().get(before..).unwrap_or_default();
        let keep = new.get(..room.min(new.len())).unwrap_or_default().to_vec();
        self.seen.extend_from_slice(&keep);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Connects and sends SSLRequest (plus `extra`); returns the stream, the reply byte and any
/// bytes that had already arrived after it.
async fn ssl_request(
    target: &Target,
    dl: Deadline,
    extra: &[u8],
) -> std::result::Result<(TcpStream, u8, Vec<u8>), Failure> {
    let mut s = connect(target, dl).await?;
    let mut packet = wire::ssl_request().to_vec();
    packet.extend_from_slice(extra);
    write_all(&mut s, &packet, dl).await?;
    let (b, after) = read_reply(&mut s, dl).await?;
    Ok((s, b, after))
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn skipped(id: CheckId, why: &str) -> Check {
    Check::new(id, Verdict::Skipped, why)
}

const FIX_SSL_ON: &str = "turn TLS on: PostgreSQL `ssl=on` with ssl_cert_file/ssl_key_file; Supavisor GLOBAL_DOWNSTREAM_CERT_PATH/KEY_PATH; PgBouncer client_tls_sslmode and client_tls_cert_file/key_file";
const FIX_PLAINTEXT: &str = "refuse plaintext: in pg_hba.conf add `hostnossl all all 0.0.0.0/0 reject` and `hostnossl all all ::/0 reject` above the `host` lines (keep loopback/Docker-internal rules), set the Supavisor tenant's \"enforce_ssl\" => true, or PgBouncer client_tls_sslmode = require";

/// What the first connection learnt.
struct FirstContact {
    checks: Vec<Check>,
    unreachable: bool,
    tls: bool,
    /// The version the default handshake negotiated (it offers every version we test but 1.0/1.1).
    negotiated: Option<SslVersion>,
}

async fn first_contact(target: &Target, opts: &ProbeOptions) -> FirstContact {
    let dl = Deadline::after(opts.timeout);
    let mut checks = Vec::new();
    let rest_skipped = |checks: &mut Vec<Check>, why: &str| {
        for id in [
            CheckId::NoBufferedBytes,
            CheckId::Handshake,
            CheckId::Certificate,
            CheckId::Chain,
            CheckId::Hostname,
            CheckId::Expiry,
        ] {
            if !checks.iter().any(|c: &Check| c.id == id) {
                checks.push(skipped(id, why));
            }
        }
    };
    let tcp = match connect(target, dl).await {
        Ok(s) => Ok(s),
        Err(Failure::Timeout) => Err(format!(
            "could not connect: no TCP connection within {}",
            secs(opts.timeout)
        )),
        Err(e) => Err(e.to_string()),
    };
    let mut tcp = match tcp {
        Ok(s) => s,
        Err(detail) => {
            checks.push(
                Check::new(CheckId::TlsOffered, Verdict::Fail, detail)
                    .with_fix("check the host, the port and any firewall; is the service listening on this address?")
                    .with_data(CheckData::TlsOffered { reply: None }),
            );
            rest_skipped(&mut checks, "the endpoint could not be reached");
            return FirstContact {
                checks,
                unreachable: true,
                tls: false,
                negotiated: None,
            };
        }
    };
    let answer = async {
        write_all(&mut tcp, &wire::ssl_request(), dl).await?;
        read_reply(&mut tcp, dl).await
    }
    .await;
    let (reply, mut after_s) = match answer {
        Ok(x) => x,
        Err(e) => {
            let (verdict, detail) = match e {
                Failure::Timeout => (
                    Verdict::Inconclusive,
                    format!("no answer to SSLRequest within {}", secs(opts.timeout)),
                ),
                Failure::Closed => (
                    Verdict::Fail,
                    "the server closed the connection without answering SSLRequest".into(),
                ),
                other => (Verdict::Fail, other.to_string()),
            };
            checks.push(
                Check::new(CheckId::TlsOffered, verdict, detail)
                    .with_data(CheckData::TlsOffered { reply: None }),
            );
            rest_skipped(&mut checks, "no TLS session");
            return FirstContact {
                checks,
                unreachable: false,
                tls: false,
                negotiated: None,
            };
        }
    };
    let shown = if reply.is_ascii_graphic() {
        reply as char
    } else {
        '?'
    };
    let data = CheckData::TlsOffered { reply: Some(shown) };
    match EncryptionReply::from_byte(reply) {
        EncryptionReply::Ssl => {
            checks.push(
                Check::new(
                    CheckId::TlsOffered,
                    Verdict::Pass,
                    "the server answered S to SSLRequest",
                )
                .with_data(data),
            );
        }
        EncryptionReply::No => {
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
            return FirstContact {
                checks,
                unreachable: false,
                tls: false,
                negotiated: None,
            };
        }
        EncryptionReply::Error => {
            let mut buf = vec![reply];
            buf.append(&mut after_s);
            let detail =
                match read_message(&mut tcp, &mut buf, dl.within(Duration::from_millis(500))).await
                {
                    Ok(BackendMessage::ErrorResponse(f)) => {
                        format!(
                            "the server answered SSLRequest with an error: {}",
                            f.message.unwrap_or_default()
                        )
                    }
                    _ => {
                        "the server answered SSLRequest with E (an error) instead of S or N".into()
                    }
                };
            checks.push(Check::new(CheckId::TlsOffered, Verdict::Fail, detail).with_data(data));
            rest_skipped(&mut checks, "TLS not offered");
            return FirstContact {
                checks,
                unreachable: false,
                tls: false,
                negotiated: None,
            };
        }
        EncryptionReply::Gss | EncryptionReply::Other(_) => {
            checks.push(
                Check::new(
                    CheckId::TlsOffered,
                    Verdict::Fail,
                    format!("unexpected reply byte 0x{reply:02x} to SSLRequest: not a PostgreSQL server, or a broken one"),
                )
                .with_data(data),
            );
            rest_skipped(&mut checks, "TLS not offered");
            return FirstContact {
                checks,
                unreachable: false,
                tls: false,
                negotiated: None,
            };
        }
    }

    // CVE-2021-23222: nothing may follow the `S` before our ClientHello. Like libpq 14.1+ we
    // look at what arrived with the `S`, plus one non-blocking read just before the ClientHello;
    // nothing is waited for.
    take_ready(&tcp, &mut after_s);
    let extra = after_s.len();
    if extra > 0 {
        checks.push(
            Check::new(
                CheckId::NoBufferedBytes,
                Verdict::Fail,
                format!(
                    "{extra} byte(s) arrived after the S and before the TLS handshake: a sign of a buffer-stuffing man in the middle (CVE-2021-23222)"
                ),
            )
            .with_fix("find what sits between client and server (a proxy that answers SSLRequest itself?); clients must use libpq 14.1+ and discard such bytes")
            .with_data(CheckData::BufferedBytes { extra_bytes: extra }),
        );
        rest_skipped(
            &mut checks,
            "connection abandoned after unexpected bytes, as libpq does",
        );
        return FirstContact {
            checks,
            unreachable: false,
            tls: true,
            negotiated: None,
        };
    }
    checks.push(
        Check::new(
            CheckId::NoBufferedBytes,
            Verdict::Pass,
            "no bytes followed the S before the handshake",
        )
        .with_data(CheckData::BufferedBytes { extra_bytes: 0 }),
    );

    let tls = match handshake(target, tcp, Offer::Default, dl).await {
        Ok(s) => s,
        Err(e) => {
            checks.push(Check::new(CheckId::Handshake, Verdict::Fail, format!("TLS handshake failed: {e}")).with_fix(
                "check the server's certificate and key files and its log; the server answered S but could not complete TLS",
            ));
            rest_skipped(&mut checks, "no TLS session");
            return FirstContact {
                checks,
                unreachable: false,
                tls: true,
                negotiated: None,
            };
        }
    };
    let ssl = tls.ssl();
    let negotiated = ssl.version2();
    let protocol = ssl.version_str().to_string();
    let cipher = ssl
        .current_cipher()
        .map_or_else(|| "unknown".to_string(), |c| c.name().to_string());
    let alpn = ssl
        .selected_alpn_protocol()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let chain: Vec<X509> = ssl
        .peer_cert_chain()
        .map(|st| st.iter().map(openssl::x509::X509Ref::to_owned).collect())
        .or_else(|| ssl.peer_certificate().map(|c| vec![c]))
        .unwrap_or_default();
    checks.push(
        Check::new(
            CheckId::Handshake,
            Verdict::Pass,
            format!(
                "{protocol} with {cipher}{}",
                alpn.as_deref()
                    .map(|a| format!(", ALPN {a}"))
                    .unwrap_or_default()
            ),
        )
        .with_data(CheckData::Handshake {
            protocol,
            cipher,
            alpn,
        }),
    );
    checks.extend(certificate_checks(target, &chain, opts));
    FirstContact {
        checks,
        unreachable: false,
        tls: true,
        negotiated,
    }
}

fn certificate_checks(target: &Target, chain: &[X509], opts: &ProbeOptions) -> Vec<Check> {
    let mut out = Vec::new();
    let (Some(info), Some(leaf)) = (cert::certificate_info(chain), chain.first()) else {
        out.push(Check::new(
            CheckId::Certificate,
            Verdict::Fail,
            "the server presented no certificate",
        ));
        for id in [CheckId::Chain, CheckId::Hostname, CheckId::Expiry] {
            out.push(skipped(id, "no certificate"));
        }
        return out;
    };
    let mut detail = format!(
        "{}; {}; signed with {}",
        info.subject, info.key, info.signature
    );
    if !info.sans.is_empty() {
        let _ = write!(detail, "; SANs {}", info.sans.join(", "));
    }
    let mut c = Check::new(CheckId::Certificate, Verdict::Pass, detail);
    if info.is_ca && chain.len() == 1 {
        c.detail.push_str(
            "; a CA certificate used as the server certificate (webpki clients reject it)",
        );
        c = c.with_fix("issue a separate leaf certificate (CA:FALSE, EKU serverAuth) signed by the CA: `pgtls certs`");
    }
    let (not_after, days_left) = (info.not_after.clone(), info.days_left);
    out.push(c.with_data(CheckData::Certificate(info)));

    let ca = opts.ca.as_ref();
    let trust = if ca.is_some() { "ca-file" } else { "system" };
    let chain_check = match (cert::verify_chain(chain, ca), ca) {
        (Ok(()), Some(ca)) => Check::new(CheckId::Chain, Verdict::Pass, format!("the chain verifies against {}", ca.path)),
        (Ok(()), None) => Check::new(CheckId::Chain, Verdict::Pass, "the chain verifies against the system roots"),
        (Err(e), Some(ca)) => Check::new(CheckId::Chain, Verdict::Fail, format!("the chain does not verify against {}: {e}", ca.path))
            .with_fix("serve a certificate issued by this CA (with any intermediates in the cert file), or pass the CA that issued it"),
        (Err(e), None) => Check::new(
            CheckId::Chain,
            Verdict::Inconclusive,
            format!("the chain does not verify against the system roots ({e}); a private CA is normal here"),
        )
        .with_fix("pass the CA with --ca to check the chain the way verify-full clients will"),
    };
    out.push(chain_check.with_data(CheckData::Chain { trust }));

    let host = opts.server_name.as_deref().unwrap_or(target.host());
    let host_ok = cert::host_matches(host, leaf);
    let host_check = match (host_ok, ca.is_some()) {
        (true, _) => Check::new(CheckId::Hostname, Verdict::Pass, format!("the certificate names \"{host}\"")),
        (false, true) => Check::new(
            CheckId::Hostname,
            Verdict::Fail,
            format!("the certificate does not name \"{host}\": verify-full clients will refuse it"),
        )
        .with_fix("reissue the server certificate with this name in its SANs"),
        (false, false) => Check::new(
            CheckId::Hostname,
            Verdict::Inconclusive,
            format!("the certificate does not name \"{host}\": verify-full clients will refuse it"),
        )
        .with_fix("reissue the server certificate with this name in its SANs, or connect by a name it has"),
    };
    out.push(host_check.with_data(CheckData::Hostname {
        host: host.to_string(),
    }));

    let (nb, _) = cert::validity(leaf);
    let now = cert::now();
    let expiry = if days_left < 0 || now > cert::validity(leaf).1 {
        Check::new(
            CheckId::Expiry,
            Verdict::Fail,
            format!("the certificate expired on {not_after}"),
        )
        .with_fix("renew the server certificate and reload the server")
    } else if now < nb {
        Check::new(
            CheckId::Expiry,
            Verdict::Fail,
            "the certificate is not valid yet (check the clocks)",
        )
        .with_fix("reissue the certificate with a start date in the past, or fix the clock")
    } else if days_left < opts.expiry_warn_days {
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
    out.push(expiry.with_data(CheckData::Expiry {
        not_after,
        days_left,
    }));
    out
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
    offer: Offer,
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
        Offer::Range(SslVersion::TLS1, SslVersion::TLS1_1),
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
                try_offer(target, Offer::only(SslVersion::TLS1_3), dl).await,
            )
        }
    };
    let old = async {
        match early.old {
            Ok(v) if v == SslVersion::TLS1_1 => (
                exactly(
                    SslVersion::TLS1,
                    try_offer(target, Offer::only(SslVersion::TLS1), dl).await,
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

fn plaintext_check_from_error(f: &ErrorFields, user: &str) -> Check {
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
            "unexpected reply to a plaintext StartupMessage: {other:?}"
        )),
        Err(Failure::Timeout) => no_reply(format!(
            "no complete reply to a plaintext StartupMessage within {}",
            secs(opts.timeout)
        )),
        Err(Failure::Closed) => {
            no_reply("the server closed the connection without a message".into())
        }
        Err(e) => no_reply(format!("plaintext StartupMessage: {e}")),
    }
}

async fn direct_tls(target: &Target, opts: &ProbeOptions) -> Check {
    let dl = Deadline::after(opts.timeout);
    let tcp = match connect(target, dl).await {
        Ok(s) => s,
        Err(e) => return Check::new(CheckId::DirectTls, Verdict::Inconclusive, e.to_string()),
    };
    match handshake(target, tcp, Offer::Default, dl).await {
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
            format!("the server answered plaintext bytes pipelined after SSLRequest in plaintext: {other:?}"),
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
    let check = pipelined_data(target, opts, tls12, &mut handshook).await;
    let solo = async { try_offer(target, tls12, Deadline::after(opts.timeout)).await };
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
        offer,
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
    match m {
        BackendMessage::ErrorResponse(f) => {
            format!("error \"{}\"", f.message.as_deref().unwrap_or_default())
        }
        BackendMessage::Authentication(r) => format!("authentication request {}", r.describe()),
        other => format!("{other:?}"),
    }
}

async fn authenticated(target: &Target, opts: &ProbeOptions) -> Check {
    let Some(password) = opts.password.as_deref() else {
        return skipped(CheckId::Authenticated, "no password given");
    };
    let user = opts.effective_user();
    let verified = opts.ca.is_some();
    let mut b = native_tls::TlsConnector::builder();
    if let Some(ca) = &opts.ca {
        b.disable_built_in_roots(true);
        for c in &ca.certs {
            match c.to_der().map(|d| native_tls::Certificate::from_der(&d)) {
                Ok(Ok(cert)) => {
                    b.add_root_certificate(cert);
                }
                _ => {
                    return Check::new(
                        CheckId::Authenticated,
                        Verdict::Inconclusive,
                        format!("cannot use CA file {}", ca.path),
                    );
                }
            }
        }
    } else {
        b.danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true);
    }
    let connector = match b.build() {
        Ok(c) => postgres_native_tls::MakeTlsConnector::new(c),
        Err(e) => {
            return Check::new(
                CheckId::Authenticated,
                Verdict::Inconclusive,
                format!("tls setup: {e}"),
            );
        }
    };
    let mut cfg = tokio_postgres::Config::new();
    match &opts.server_name {
        // Verify the name clients use while connecting to the target's address.
        Some(name) => {
            let addr = match tokio::net::lookup_host((target.host(), target.port())).await {
                Ok(mut addrs) => addrs.next(),
                Err(_) => None,
            };
            let Some(addr) = addr else {
                return Check::new(
                    CheckId::Authenticated,
                    Verdict::Inconclusive,
                    format!("cannot resolve \"{}\"", target.host()),
                );
            };
            cfg.host(name).hostaddr(addr.ip());
        }
        None => {
            cfg.host(target.host());
        }
    }
    cfg.port(target.port())
        .user(&user)
        .dbname(&opts.database)
        .password(password)
        .application_name(&opts.application_name)
        .ssl_mode(tokio_postgres::config::SslMode::Require)
        .connect_timeout(opts.timeout);
    let dl = Deadline::after(opts.timeout);
    let run = async {
        let (client, conn) = cfg
            .connect(connector)
            .await
            .map_err(|e| Failure::Io(error_chain(&e)))?;
        let task = tokio::spawn(conn);
        let row = client
            .query_opt(
                "select ssl, version, cipher, bits from pg_stat_ssl where pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| Failure::Protocol(error_chain(&e)));
        drop(client);
        task.abort();
        row
    };
    let pooler_note =
        "behind a pooler this row describes the pooler-to-server link, not this client's";
    let how = if verified {
        "verify-full"
    } else {
        "sslmode=require, certificate not verified"
    };
    match dl.run(run).await {
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
            Check::new(
                CheckId::Authenticated,
                Verdict::Pass,
                format!("logged in as \"{user}\" over TLS ({how}); {seen}; {pooler_note}"),
            )
            .with_data(CheckData::Authenticated {
                ssl,
                version,
                cipher,
                bits,
                verified,
            })
        }
        Ok(None) => Check::new(
            CheckId::Authenticated,
            Verdict::Pass,
            format!(
                "logged in as \"{user}\" over TLS ({how}); no pg_stat_ssl row for this backend; {pooler_note}"
            ),
        ),
        Err(Failure::Io(e)) if e.contains("TLS") || e.contains("certificate") => Check::new(
            CheckId::Authenticated,
            Verdict::Fail,
            format!("TLS login failed ({how}): {e}"),
        ),
        Err(e) => Check::new(
            CheckId::Authenticated,
            Verdict::Inconclusive,
            format!("login failed: {e}"),
        ),
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

/// Probes one endpoint with every check; never panics, bounded by about twice `opts.timeout`.
///
/// Every check runs at once, each on connections of its own: the first connection
/// (SSLRequest, handshake, certificate), the TLS 1.0/1.1 handshake, the plaintext, direct-TLS,
/// pipelined-data (whose handshake offers only TLS 1.2 and so also tests it) and
/// authenticated checks. When the first connection finds the endpoint unreachable the other
/// checks are reported as skipped. Follow-up handshakes run only when needed: TLS 1.3 alone
/// when the first connection did not negotiate it, TLS 1.0 alone when 1.1 was accepted,
/// TLS 1.2 alone (and pipelined data again) when the pipelined handshake did not complete.
/// The report keeps the fixed check order.
pub async fn probe(target: &Target, opts: &ProbeOptions) -> TargetReport {
    // Boxed: the joined checks make a large future, which callers should not have to carry.
    Box::pin(probe_inner(target, opts)).await
}

async fn probe_inner(target: &Target, opts: &ProbeOptions) -> TargetReport {
    if CONTEXT.get().is_none() {
        // Build the TLS context on a spare thread while the first connections wait for the
        // server's replies, instead of on the first handshake's path.
        drop(tokio::task::spawn_blocking(context));
    }
    let (first, old, plaintext, direct, (pipelined, tls12), auth) = tokio::join!(
        first_contact(target, opts),
        early_old_versions(target, opts),
        plaintext_refused(target, opts),
        direct_tls(target, opts),
        pipelined_and_tls12(target, opts),
        authenticated(target, opts),
    );
    let early = EarlyVersions { old, tls12 };
    let mut checks = first.checks;
    if first.unreachable {
        for id in [
            CheckId::TlsVersions,
            CheckId::PlaintextRefused,
            CheckId::DirectTls,
            CheckId::PipelinedData,
            CheckId::Authenticated,
        ] {
            checks.push(skipped(id, "the endpoint could not be reached"));
        }
        return TargetReport::new(target.to_string(), checks, true, opts.has_ca());
    }
    let versions = if first.tls {
        tls_versions(target, opts, early, first.negotiated).await
    } else {
        skipped(CheckId::TlsVersions, "TLS not offered")
    };
    checks.extend([versions, plaintext, direct, pipelined, auth]);
    TargetReport::new(target.to_string(), checks, false, opts.has_ca())
}

/// Probes many endpoints, at most `concurrency` at a time; results in input order.
///
/// Must be called inside a tokio runtime (multi-threaded or not).
pub async fn probe_many(
    targets: &[Target],
    opts: &ProbeOptions,
    concurrency: usize,
) -> Vec<TargetReport> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let opts = Arc::new(opts.clone());
    let handles: Vec<_> = targets
        .iter()
        .cloned()
        .map(|t| {
            let sem = Arc::clone(&sem);
            let opts = Arc::clone(&opts);
            tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                probe(&t, &opts).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for (h, t) in handles.into_iter().zip(targets) {
        out.push(match h.await {
            Ok(r) => r,
            Err(e) => TargetReport::new(
                t.to_string(),
                vec![Check::new(
                    CheckId::TlsOffered,
                    Verdict::Inconclusive,
                    format!("probe task failed: {e}"),
                )],
                true,
                opts.has_ca(),
            ),
        });
    }
    out
}

/// [`probe_many`] wrapped in a [`Report`] with the overall verdict.
pub async fn verify(targets: &[Target], opts: &ProbeOptions, concurrency: usize) -> Report {
    Report::new(probe_many(targets, opts, concurrency).await)
}

/// [`verify`] on a runtime of its own, for synchronous callers (the CLI).
///
/// Do not call it from inside a tokio runtime (tokio forbids nesting runtimes); use
/// [`verify`] there.
pub fn verify_blocking(
    targets: &[Target],
    opts: &ProbeOptions,
    concurrency: usize,
) -> Result<Report> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string().to_lowercase()))?;
    Ok(rt.block_on(verify(targets, opts, concurrency)))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn options_debug_hides_the_password() {
        let o = ProbeOptions {
            password: Some("secret".into()),
            tenant: Some("t1".into()),
            ..ProbeOptions::default()
        };
        assert!(!format!("{o:?}").contains("secret"));
        assert_eq!(o.effective_user(), "postgres.t1");
    }
}

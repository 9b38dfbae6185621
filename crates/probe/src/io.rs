//! The I/O primitives: connect, bounded reads, one TLS handshake. No verdicts here.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_openssl::SslStream;

use crate::facts::ChainError;
use crate::options::ProbeOptions;
use crate::target::Target;
use crate::wire::{self, BackendMessage};

pub(crate) enum Failure {
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

pub(crate) fn io_failure(e: &std::io::Error) -> Failure {
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
pub(crate) struct Deadline(pub(crate) Instant);

impl Deadline {
    /// `d` from now; a duration past what the clock can represent means "a day from now"
    /// (options clamp timeouts far below that, so this only guards against panics).
    pub(crate) fn after(d: Duration) -> Self {
        let now = Instant::now();
        Self(
            now.checked_add(d)
                .unwrap_or_else(|| now + Duration::from_secs(86_400)),
        )
    }

    pub(crate) async fn run<T, F: Future<Output = std::result::Result<T, Failure>>>(
        self,
        f: F,
    ) -> std::result::Result<T, Failure> {
        timeout_at(self.0, f).await.unwrap_or(Err(Failure::Timeout))
    }

    /// A deadline no later than this one, `d` from now.
    pub(crate) fn within(self, d: Duration) -> Self {
        Self(self.0.min(Self::after(d).0))
    }
}

pub(crate) async fn connect(
    target: &Target,
    dl: Deadline,
) -> std::result::Result<TcpStream, Failure> {
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

pub(crate) async fn write_all(
    s: &mut TcpStream,
    bytes: &[u8],
    dl: Deadline,
) -> std::result::Result<(), Failure> {
    dl.run(async { s.write_all(bytes).await.map_err(|e| io_failure(&e)) })
        .await
}

/// Most bytes kept from what arrived with a one-byte reply (more is reported as "at least").
pub(crate) const MAX_EXTRA: usize = 64 * 1024;

/// Reads the one-byte reply to SSLRequest and every byte that already arrived with it.
///
/// No waiting for stragglers: like libpq 14.1+ (CVE-2021-23222) the extra bytes are what one
/// read returns plus a non-blocking read right after it, i.e. what the kernel already holds.
pub(crate) async fn read_reply(
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
pub(crate) fn take_ready(s: &TcpStream, into: &mut Vec<u8>) {
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
pub(crate) async fn read_message<S: AsyncRead + Unpin>(
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
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Offer {
    /// This OpenSSL's defaults (TLS 1.2 and 1.3 on OpenSSL 3).
    Default,
    /// From `min` to `max` inclusive; TLS 1.0/1.1 are enabled at security level 0.
    Range(SslVersion, SslVersion),
    /// TLS 1.2 only, with this OpenSSL cipher list (security level 0: every suite this
    /// OpenSSL can still offer).
    Tls12Ciphers(String),
    /// TLS 1.3 only, with these TLS 1.3 suites (`TLS_AES_128_GCM_SHA256:...`).
    Tls13Suites(String),
}

impl Offer {
    pub(crate) fn only(v: SslVersion) -> Self {
        Self::Range(v, v)
    }
}

/// The one client context, built once per process and shared by every connection and
/// target (`SSL_CTX_new` is costly on OpenSSL 3); version limits are set per connection.
/// Concurrent first users wait for one build instead of each building their own.
static CONTEXT: std::sync::OnceLock<std::result::Result<SslContext, String>> =
    std::sync::OnceLock::new();

pub(crate) fn context() -> std::result::Result<SslContext, String> {
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

pub(crate) enum HandshakeError {
    /// This client could not even start (e.g. the local OpenSSL will not offer the version).
    Local(String),
    /// The handshake failed on the wire.
    Failed(String),
    /// The deadline passed first: nothing learnt about the server.
    Timeout,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(e) | Self::Failed(e) => f.write_str(e),
            Self::Timeout => f.write_str("the handshake timed out"),
        }
    }
}

pub(crate) fn describe_ssl_error(e: &openssl::ssl::Error) -> String {
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

pub(crate) fn is_local_reason(reason: &str) -> bool {
    reason.contains("no protocols available") || reason.contains("no ciphers available")
}

fn setup(e: impl fmt::Display) -> HandshakeError {
    HandshakeError::Local(format!("tls setup: {e}"))
}

pub(crate) fn ssl_for(target: &Target, offer: &Offer) -> std::result::Result<Ssl, HandshakeError> {
    let ctx = context().map_err(setup)?;
    let mut ssl = Ssl::new(&ctx).map_err(setup)?;
    match offer {
        Offer::Default => {}
        Offer::Range(min, max) => {
            ssl.set_min_proto_version(Some(*min)).map_err(setup)?;
            ssl.set_max_proto_version(Some(*max)).map_err(setup)?;
            if *min == SslVersion::TLS1 || *min == SslVersion::TLS1_1 {
                // OpenSSL 3 will not offer these at its default security level.
                ssl.set_cipher_list("ALL:@SECLEVEL=0").map_err(setup)?;
            }
        }
        Offer::Tls12Ciphers(list) => {
            ssl.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup)?;
            ssl.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(setup)?;
            ssl.set_cipher_list(list)
                .map_err(|_| HandshakeError::Local("no ciphers available".into()))?;
        }
        Offer::Tls13Suites(list) => {
            ssl.set_min_proto_version(Some(SslVersion::TLS1_3))
                .map_err(setup)?;
            ssl.set_max_proto_version(Some(SslVersion::TLS1_3))
                .map_err(setup)?;
            ssl.set_ciphersuites(list)
                .map_err(|_| HandshakeError::Local("no ciphers available".into()))?;
        }
    }
    if target.ip().is_none() {
        ssl.set_hostname(target.host()).map_err(setup)?;
    }
    Ok(ssl)
}

/// The verifying context for `opts`' trust (the CA file, or this host's default roots),
/// built once per options value, like a libpq client's `SSL_CTX`: `SSL_CTX_new` applies this
/// host's OpenSSL configuration and security level, and client-side chain verification in
/// libssl uses purpose `sslserver` and that level.
fn verify_context(opts: &ProbeOptions) -> std::result::Result<SslContext, String> {
    opts.verify_ctx
        .get_or_init(|| {
            let build = || -> std::result::Result<SslContext, openssl::error::ErrorStack> {
                let mut b = SslContext::builder(SslMethod::tls_client())?;
                match &opts.ca {
                    Some(ca) => {
                        let store = b.cert_store_mut();
                        for c in &ca.certs {
                            store.add_cert(c.clone())?;
                        }
                    }
                    None => b.set_default_verify_paths()?,
                }
                b.set_alpn_protos(b"\x0apostgresql")?;
                Ok(b.build())
            };
            build().map_err(|e| e.to_string())
        })
        .clone()
}

/// An `Ssl` for the first connection: the default offer, chain verification by libssl during
/// the handshake (every error recorded into `errors`, none fatal, so the facts are still
/// reported), and the client certificate when one was given.
pub(crate) fn ssl_verifying(
    target: &Target,
    opts: &ProbeOptions,
    errors: Arc<Mutex<Vec<ChainError>>>,
) -> std::result::Result<Ssl, HandshakeError> {
    let ctx = verify_context(opts).map_err(setup)?;
    let mut ssl = Ssl::new(&ctx).map_err(setup)?;
    ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok {
            let e = ctx.error();
            if let Ok(mut v) = errors.lock()
                && v.len() < 32
            {
                {
                    v.push(ChainError {
                        depth: ctx.error_depth(),
                        code: e.as_raw(),
                        reason: e.error_string().to_string(),
                    });
                }
            }
        }
        true
    });
    if let Some(id) = &opts.client {
        ssl.set_certificate(&id.cert).map_err(setup)?;
        ssl.set_private_key(&id.key).map_err(setup)?;
        for c in &id.chain {
            ssl.add_chain_cert(c.clone()).map_err(setup)?;
        }
    }
    if target.ip().is_none() {
        ssl.set_hostname(target.host()).map_err(setup)?;
    }
    Ok(ssl)
}

/// Runs the client handshake of `ssl` over `tcp` within the deadline.
pub(crate) async fn handshake_with<S: AsyncRead + AsyncWrite + Unpin>(
    ssl: Ssl,
    tcp: S,
    dl: Deadline,
) -> std::result::Result<SslStream<S>, HandshakeError> {
    let mut s = SslStream::new(ssl, tcp).map_err(setup)?;
    match timeout_at(dl.0, Pin::new(&mut s).connect()).await {
        Err(_) => Err(HandshakeError::Timeout),
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

/// One handshake with the plain (non-verifying) context and this offer.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    target: &Target,
    tcp: S,
    offer: &Offer,
    dl: Deadline,
) -> std::result::Result<SslStream<S>, HandshakeError> {
    handshake_with(ssl_for(target, offer)?, tcp, dl).await
}

/// Ends a TLS session politely (`close_notify`, bounded wait), so the server logs no
/// "unexpected EOF" for a probe that simply stops.
pub(crate) async fn close<S: AsyncRead + AsyncWrite + Unpin>(s: &mut SslStream<S>) {
    let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
}

/// A stream that keeps a copy of the first bytes read through it, so that when a TLS
/// handshake fails we can still see what the server sent instead (e.g. a plaintext error).
pub(crate) struct Recording<'a, S> {
    pub(crate) inner: S,
    pub(crate) seen: &'a mut Vec<u8>,
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
pub(crate) async fn ssl_request(
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

pub(crate) fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Builds the TLS contexts on a spare thread while the first connections wait for the
/// server's replies, instead of on the first handshake's path.
pub(crate) fn prewarm(opts: &ProbeOptions) {
    if opts.verify_ctx.get().is_none() {
        let o = opts.clone();
        drop(tokio::task::spawn_blocking(move || verify_context(&o)));
    }
    if opts.deep && CONTEXT.get().is_none() {
        drop(tokio::task::spawn_blocking(context));
    }
}

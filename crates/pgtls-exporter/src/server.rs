//! The HTTP/1.1 server: routes, the allowlist gate, the probe slots and the deadlines.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use pgtls_probe::Target;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::exposition::CONTENT_TYPE as METRICS_TYPE;
use crate::metrics::{ProbeResult, Refusal, Stats, probe_metrics};

/// The longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_LEN: usize = 2048;
/// The read buffer of a connection: request line and headers must fit (hyper's minimum).
pub const MAX_HEADER_BYTES: usize = 8192;
/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection stays open (Prometheus reconnects; a stuck reader is dropped).
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(300);
/// The deadline of a probe when the request carries no `X-Prometheus-Scrape-Timeout-Seconds`
/// is the module's timeout; with it, `min(module, header - offset)`.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

type Body = Full<Bytes>;

/// A running exporter's shared state; cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    settings: Arc<Settings>,
    stats: Arc<Stats>,
    slots: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    start_unix: f64,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("listen", &self.settings.listen)
            .field("max_concurrent", &self.settings.max_concurrent)
            .finish_non_exhaustive()
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn metrics(body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
    r
}

const PAGE: &str = "<!doctype html>
<html><head><meta charset=\"utf-8\"><title>pgtls exporter</title></head>
<body><h1>pgtls exporter</h1>
<p>A Prometheus exporter for PostgreSQL TLS: each scrape of
<code>/probe?target=HOST:PORT&amp;module=NAME</code> runs <code>pgtls verify</code>'s checks
against that endpoint (TLS offered and verified, plaintext refused, certificate expiry) and
answers <code>pgtls_*</code> metrics. Only targets in the exporter's allowlist are probed.</p>
<ul><li><a href=\"/metrics\">/metrics</a>: the exporter's own metrics</li>
<li><code>/probe?target=127.0.0.1:5432</code>: probe one endpoint</li></ul>
</body></html>
";

/// One decoded `key=value` query parameter list.
fn query_params(q: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| "a query parameter is not UTF-8".to_string())
        };
        out.push((dec(k)?, dec(v)?));
    }
    Ok(out)
}

fn single<'a>(
    params: &'a [(String, String)],
    key: &str,
) -> std::result::Result<Option<&'a str>, String> {
    let mut it = params.iter().filter(|(k, _)| k == key);
    let first = it.next().map(|(_, v)| v.as_str());
    if it.next().is_some() {
        return Err(format!("parameter \"{key}\" given more than once"));
    }
    Ok(first)
}

/// The probe's deadline: the module's timeout, lowered to the scrape timeout minus the offset.
/// A header that leaves nothing after the offset gives half the scrape timeout.
pub fn deadline(
    headers: &HeaderMap,
    module_timeout: Duration,
    offset: Duration,
) -> std::result::Result<Duration, String> {
    let Some(v) = headers.get(SCRAPE_TIMEOUT_HEADER) else {
        return Ok(module_timeout);
    };
    let secs: f64 = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or("X-Prometheus-Scrape-Timeout-Seconds is not a positive number of seconds")?;
    let scrape = Duration::from_secs_f64(secs.min(86_400.0));
    let budget = match scrape.checked_sub(offset) {
        Some(b) if !b.is_zero() => b,
        _ => scrape / 2,
    };
    Ok(module_timeout.min(budget))
}

impl Exporter {
    /// Shared state for these settings.
    pub fn new(settings: Settings) -> Self {
        let slots = Arc::new(Semaphore::new(settings.max_concurrent));
        let connections = Arc::new(Semaphore::new(settings.max_connections));
        Self {
            settings: Arc::new(settings),
            stats: Arc::new(Stats::default()),
            slots,
            connections,
            start_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    /// The settings served.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The exporter's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Binds the settings' listen address.
    pub async fn bind(&self) -> Result<TcpListener> {
        TcpListener::bind(self.settings.listen)
            .await
            .map_err(|e| Error::Listen {
                addr: self.settings.listen.to_string(),
                reason: e.to_string().to_lowercase(),
            })
    }

    /// Serves connections from `listener` until the task is dropped. Connections beyond the
    /// limit are closed on accept; each connection has a header timeout, a header size limit
    /// and a maximum age.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let Ok(permit) = Arc::clone(&self.connections).try_acquire_owned() else {
                self.stats.refused(Refusal::Connections);
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let ex = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let svc = service_fn(move |req| {
                    let ex = ex.clone();
                    async move { Ok::<_, Infallible>(ex.handle(req).await) }
                });
                let mut b = http1::Builder::new();
                b.timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(MAX_HEADER_BYTES)
                    .max_headers(64);
                let conn = b.serve_connection(TokioIo::new(stream), svc);
                let _ = tokio::time::timeout(MAX_CONNECTION_AGE, conn).await;
            });
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let start = Instant::now();
        if req.method() != Method::GET && req.method() != Method::HEAD {
            self.stats.refused(Refusal::BadRequest);
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            r.headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let uri = req.uri();
        if uri.path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_LEN {
            self.stats.refused(Refusal::BadRequest);
            return text(StatusCode::URI_TOO_LONG, "request target too long\n");
        }
        match uri.path() {
            "/" => {
                let mut r = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                r
            }
            "/metrics" => metrics(
                self.stats
                    .render(self.settings.max_concurrent, self.start_unix),
            ),
            "/-/healthy" => text(StatusCode::OK, "OK\n"),
            "/probe" => {
                let q = uri.query().unwrap_or("").to_string();
                self.probe(&q, req.headers(), start).await
            }
            _ => {
                self.stats.refused(Refusal::BadRequest);
                text(
                    StatusCode::NOT_FOUND,
                    "not found: try /, /metrics or /probe?target=HOST:PORT\n",
                )
            }
        }
    }

    fn bad(&self, msg: impl Into<String>) -> Response<Body> {
        self.stats.refused(Refusal::BadRequest);
        let mut m = msg.into();
        m.push('\n');
        text(StatusCode::BAD_REQUEST, m)
    }

    async fn probe(&self, query: &str, headers: &HeaderMap, start: Instant) -> Response<Body> {
        let params = match query_params(query) {
            Ok(p) => p,
            Err(e) => return self.bad(e),
        };
        let (target, module) = match (single(&params, "target"), single(&params, "module")) {
            (Ok(t), Ok(m)) => (t, m),
            (Err(e), _) | (_, Err(e)) => return self.bad(e),
        };
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            return self.bad("parameter \"target\" is missing (HOST:PORT)");
        };
        if target.len() > 260 {
            return self.bad("target too long");
        }
        let module_name = module.filter(|m| !m.is_empty()).unwrap_or("default");
        let Some(module) = self.settings.modules.get(module_name) else {
            return self.bad(format!("unknown module \"{module_name}\""));
        };
        let parsed = match Target::parse(target) {
            Ok(t) => t,
            Err(e) => return self.bad(e.to_string()),
        };
        let [one] = parsed.as_slice() else {
            return self.bad(format!(
                "target \"{target}\" needs a port (HOST:PORT, [IPv6]:PORT): one scrape probes one endpoint"
            ));
        };
        if !target.trim_end().ends_with(&format!(":{}", one.port())) {
            return self.bad(format!("target \"{target}\" needs a port"));
        }
        let deadline = match deadline(headers, module.timeout, self.settings.timeout_offset) {
            Ok(d) => d,
            Err(e) => return self.bad(e),
        };
        let allowed = match self.settings.allow.decide(one, deadline / 4).await {
            Ok(a) => a,
            Err(denied) => {
                self.stats.refused(Refusal::Allowlist);
                return text(StatusCode::FORBIDDEN, denied.0 + "\n");
            }
        };
        // A free slot, or wait for one for at most half of what is left; never an open queue
        // (waiters are bounded by the connection limit and by this wait).
        let left = deadline.saturating_sub(start.elapsed());
        let permit = if let Ok(p) = Arc::clone(&self.slots).try_acquire_owned() {
            p
        } else {
            let wait = Arc::clone(&self.slots).acquire_owned();
            if let Ok(Ok(p)) = tokio::time::timeout(left / 2, wait).await {
                p
            } else {
                self.stats.refused(Refusal::Busy);
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "every probe slot is busy; raise --max-concurrent or scrape less often\n",
                );
            }
        };
        let _permit = permit;
        let _running = self.stats.enter();
        let left = deadline.saturating_sub(start.elapsed());
        let server_name = module.spec.server_name.clone().or(allowed.server_name);
        // Each check gets 90% of what is left, so a silent endpoint is judged (inconclusive,
        // with the reason) before the hard cut at the deadline.
        let opts = module
            .options
            .clone()
            .with_timeout(left.mul_f64(0.9))
            .with_server_name(server_name);
        let probed = tokio::time::timeout(left, pgtls_probe::probe(&allowed.connect, &opts)).await;
        let took = start.elapsed();
        let report = probed.ok();
        let result = report.as_ref().map_or(ProbeResult::Timeout, |r| {
            ProbeResult::from_verdict(r.verdict)
        });
        self.stats.probe_done(result, took);
        metrics(probe_metrics(report.as_ref(), took, deadline))
    }
}

/// Binds and serves `settings` on a runtime of its own, until the process is stopped.
/// `ready` is called with the bound address once the exporter listens.
pub fn run(settings: Settings, ready: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let listen = settings.listen.to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Listen {
            addr: listen.clone(),
            reason: format!("cannot start the runtime: {e}"),
        })?;
    rt.block_on(async move {
        let ex = Exporter::new(settings);
        let listener = ex.bind().await?;
        let addr = listener.local_addr().map_err(|e| Error::Listen {
            addr: listen,
            reason: e.to_string(),
        })?;
        ready(addr);
        ex.serve(listener).await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_scrape_timeout() {
        let m = Duration::from_secs(10);
        let off = Duration::from_millis(500);
        let mut h = HeaderMap::new();
        assert_eq!(deadline(&h, m, off).unwrap(), m);
        h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_static("3"));
        assert_eq!(deadline(&h, m, off).unwrap(), Duration::from_millis(2500));
        h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_static("60"));
        assert_eq!(deadline(&h, m, off).unwrap(), m);
        h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_static("0.4"));
        assert_eq!(deadline(&h, m, off).unwrap(), Duration::from_millis(200));
        for bad in ["x", "-1", "0", "NaN", "inf"] {
            h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_static(bad));
            assert!(deadline(&h, m, off).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_parsing() {
        let p = query_params("target=%5B%3A%3A1%5D%3A5432&module=a+b&x").unwrap();
        assert_eq!(single(&p, "target").unwrap(), Some("[::1]:5432"));
        assert_eq!(single(&p, "module").unwrap(), Some("a b"));
        assert_eq!(single(&p, "x").unwrap(), Some(""));
        let dup = query_params("target=a:1&target=b:2").unwrap();
        assert!(single(&dup, "target").is_err());
        assert!(query_params("target=%ff").is_err());
    }
}

//! A running exporter on 127.0.0.1 and a raw HTTP/1.1 client (nothing between the test and
//! the bytes on the wire).

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use pgtls_exporter::{Exporter, Flags, ModuleSpec, Settings};

/// An exporter serving on a runtime of its own; stopped on drop.
pub struct Running {
    pub addr: SocketAddr,
    pub ex: Exporter,
    _rt: tokio::runtime::Runtime,
}

pub fn settings(allow: &[&str], module: ModuleSpec) -> Settings {
    Settings::from_flags(&Flags {
        listen: Some("127.0.0.1:0".into()),
        allow_targets: allow.iter().map(|s| (*s).to_string()).collect(),
        default_module: module,
        ..Flags::default()
    })
    .unwrap()
}

pub fn start(settings: Settings) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ex = Exporter::new(settings);
    let listener = rt.block_on(ex.bind()).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(ex.clone().serve(listener));
    Running { addr, ex, _rt: rt }
}

/// A response: status code, headers (lower-case names), body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the sample `series` (name with labels, as written), if present.
    pub fn value(&self, series: &str) -> Option<f64> {
        self.body.lines().find_map(|l| {
            let (s, v) = l.rsplit_once(' ')?;
            (s == series).then(|| v.parse().ok()).flatten()
        })
    }
}

/// Sends `raw` (a whole request) and reads the answer until the server closes.
pub fn raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

/// `GET path` with extra header lines, `Connection: close`.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    try_get(addr, path, headers).unwrap()
}

/// [`get`], with the connection's error when the server is not there (yet).
pub fn try_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Reply> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes())
}

pub use pgtest::promtool::check_metrics as promtool_check_metrics;

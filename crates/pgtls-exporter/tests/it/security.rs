//! Not an open scanner, and bounded: the allowlist refuses before any connection, malformed
//! requests are refused, a silent target is answered within the scrape timeout, and busy
//! slots answer 503 instead of queueing.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pgtls_exporter::{ModuleSpec, ProbeResult};

use crate::http::{get, promtool_check_metrics, raw, settings, start};

/// A TCP listener on 127.0.0.1 that accepts, counts and holds connections without ever
/// answering (a silent endpoint, and a witness of whether anyone connected).
pub struct Silent {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Silent {
    pub fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (Arc::clone(&accepted), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let held: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        held.lock().unwrap().push(c);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    pub fn accepted(&self) -> usize {
        // Let any connection in flight reach accept().
        std::thread::sleep(Duration::from_millis(200));
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_target_outside_the_allowlist_gets_403_and_no_connection() {
    let witness = Silent::start();
    // 127.0.0.2 is allowed; the witness listens on 127.0.0.1.
    let ex = start(settings(
        &["127.0.0.2", "db.example.com"],
        ModuleSpec::default(),
    ));
    for target in [
        format!("127.0.0.1:{}", witness.port),
        format!("localhost:{}", witness.port),
        format!("%5B::ffff:127.0.0.1%5D:{}", witness.port),
    ] {
        let r = get(ex.addr, &format!("/probe?target={target}"), &[]);
        assert_eq!(r.status, 403, "{target}: {r:?}");
        assert!(r.body.contains("allowlist"), "{r:?}");
    }
    assert_eq!(
        witness.accepted(),
        0,
        "the exporter connected to a refused target"
    );
    let m = get(ex.addr, "/metrics", &[]);
    assert_eq!(
        m.value("pgtls_exporter_requests_refused_total{reason=\"allowlist\"}"),
        Some(3.0),
        "{}",
        m.body
    );
    // The witness does record connections: the same target, allowed, is connected to.
    let allowed = start(settings(&["127.0.0.1"], ModuleSpec::default()));
    let r = get(
        allowed.addr,
        &format!("/probe?target=127.0.0.1:{}", witness.port),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(witness.accepted() >= 1);
}

#[test]
fn a_silent_target_is_answered_within_the_scrape_timeout_with_success_0() {
    let silent = Silent::start();
    let ex = start(settings(&["127.0.0.0/8"], ModuleSpec::default()));
    let t0 = Instant::now();
    let r = get(
        ex.addr,
        &format!("/probe?target=127.0.0.1:{}", silent.port),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    );
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert_eq!(r.status, 200);
    assert_eq!(r.value("pgtls_probe_success"), Some(0.0), "{}", r.body);
    assert_eq!(r.value("pgtls_probe_timeout_seconds"), Some(1.5));
    assert_eq!(
        r.value("pgtls_check_result{check=\"tls-offered\",result=\"inconclusive\"}"),
        Some(1.0),
        "{}",
        r.body
    );
    // An inconclusive check does not pose as 0 or 1.
    assert!(
        !r.body
            .contains("pgtls_check_success{check=\"tls-offered\"}")
    );
    assert!(silent.accepted() >= 1);
    promtool_check_metrics(&r.body).unwrap();
    assert_eq!(ex.ex.stats().probes(ProbeResult::Inconclusive), 1);
}

#[test]
fn busy_slots_answer_503_instead_of_queueing() {
    let silent = Silent::start();
    let mut s = settings(&["127.0.0.1"], ModuleSpec::default());
    s.max_concurrent = 1;
    let ex = start(s);
    let addr = ex.addr;
    let path = format!("/probe?target=127.0.0.1:{}", silent.port);
    let p2 = path.clone();
    let first =
        std::thread::spawn(move || get(addr, &p2, &[("X-Prometheus-Scrape-Timeout-Seconds", "3")]));
    // Wait until the first probe holds the only slot.
    let until = Instant::now() + Duration::from_secs(2);
    while get(addr, "/metrics", &[]).value("pgtls_exporter_probes_in_flight") != Some(1.0) {
        assert!(Instant::now() < until, "the first probe never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = get(addr, &path, &[("X-Prometheus-Scrape-Timeout-Seconds", "1")]);
    assert_eq!(second.status, 503, "{second:?}");
    assert_eq!(first.join().unwrap().status, 200);
    let m = get(addr, "/metrics", &[]);
    assert_eq!(
        m.value("pgtls_exporter_requests_refused_total{reason=\"busy\"}"),
        Some(1.0)
    );
    assert_eq!(m.value("pgtls_exporter_probes_in_flight"), Some(0.0));
    promtool_check_metrics(&m.body).unwrap();
}

#[test]
fn malformed_requests_are_refused_without_a_probe() {
    let witness = Silent::start();
    let ex = start(settings(&["127.0.0.1"], ModuleSpec::default()));
    let p = witness.port;
    let cases: Vec<(String, u16)> = vec![
        ("/probe".into(), 400),
        ("/probe?target=".into(), 400),
        ("/probe?target=127.0.0.1".into(), 400),
        (
            format!("/probe?target=127.0.0.1:{p}&target=127.0.0.1:{p}"),
            400,
        ),
        (format!("/probe?target=127.0.0.1:{p}&module=nope"), 400),
        ("/probe?target=127.0.0.1:0".into(), 400),
        ("/probe?target=%ff:1".into(), 400),
        (
            format!("/probe?target=127.0.0.1:{p}&x={}", "a".repeat(3000)),
            414,
        ),
        ("/nothing".into(), 404),
    ];
    for (path, status) in &cases {
        let r = get(ex.addr, path, &[]);
        assert_eq!(r.status, *status, "{path}: {r:?}");
    }
    let bad_header = get(
        ex.addr,
        &format!("/probe?target=127.0.0.1:{p}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "soon")],
    );
    assert_eq!(bad_header.status, 400);
    let post = raw(
        ex.addr,
        format!("POST /probe?target=127.0.0.1:{p} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    // Headers beyond the buffer limit: refused (431) or the connection closed, never a probe.
    let huge = format!(
        "GET /probe?target=127.0.0.1:{p} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(64 * 1024)
    );
    if let Ok(r) = raw(ex.addr, huge.as_bytes()) {
        assert!(r.status == 431 || r.status == 0, "{r:?}");
    }
    // Garbage instead of HTTP.
    if let Ok(r) = raw(
        ex.addr,
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n",
    ) {
        assert!(r.status == 400 || r.status == 0, "{r:?}");
    }
    assert_eq!(witness.accepted(), 0);
    let home = get(ex.addr, "/", &[]);
    assert_eq!(home.status, 200);
    assert!(home.body.contains("/probe?target="));
}

#[test]
fn a_slow_client_is_cut_off_by_the_header_timeout() {
    let ex = start(settings(&["127.0.0.1"], ModuleSpec::default()));
    let mut s = TcpStream::connect(ex.addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(15),
        "closed after {took:?}"
    );
}

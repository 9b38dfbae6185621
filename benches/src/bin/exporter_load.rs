//! The load `benches/exporter.sh` puts on a running `pgtls exporter`, as Prometheus would.
//!
//! `exporter_load ADDR TARGETS_FILE serial N`: N probes of the first target, one after the
//! other over one keep-alive connection (the exporter's per-probe cost, without a process start
//! on either side); prints the latencies in ms, one a line.
//!
//! `exporter_load ADDR TARGETS_FILE fleet SECONDS`: one scrape per line of `TARGETS_FILE`, started
//! evenly over SECONDS (Prometheus spreads a job's targets over the scrape interval), each on a
//! connection of its own with `X-Prometheus-Scrape-Timeout-Seconds: 10`; prints one JSON line:
//! scrapes, answered 200, `pgtls_probe_success 1`, latency percentiles, and how late the last
//! answer came after the interval's end.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    reason = "counts and percentiles of a few thousand samples"
)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One answer: status and body.
async fn request(s: &mut TcpStream, host: &str, path: &str) -> Result<(u16, String), String> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let (head_end, len) = loop {
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the headers".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or("no content-length")?;
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed in the body".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((
        status,
        String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned(),
    ))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn serial(addr: &str, target: &str, n: usize) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.set_nodelay(true).ok();
    let path = format!("/probe?target={target}");
    for _ in 0..n {
        let t = Instant::now();
        let (status, body) = request(&mut s, addr, &path).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if status != 200 || !body.contains("\npgtls_probe_success 1\n") {
            return Err(format!("probe did not pass ({status}):\n{body}"));
        }
        println!("{ms:.3}");
    }
    Ok(())
}

async fn fleet(addr: &str, targets: Vec<String>, interval: Duration) -> Result<(), String> {
    let n = targets.len().max(1);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (i, t) in targets.into_iter().enumerate() {
        let at = start + interval.mul_f64(i as f64 / n as f64);
        let addr = addr.to_string();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let t0 = Instant::now();
            let r = async {
                let mut s = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
                s.set_nodelay(true).ok();
                request(&mut s, &addr, &format!("/probe?target={t}")).await
            }
            .await;
            (r, t0.elapsed(), Instant::now())
        }));
    }
    let (mut ok, mut pass, mut lat, mut last_done) = (0, 0, Vec::new(), start);
    let mut errors: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for task in tasks {
        let (r, took, done) = task.await.map_err(|e| e.to_string())?;
        last_done = last_done.max(done);
        lat.push(took.as_secs_f64() * 1000.0);
        match r {
            Ok((200, body)) => {
                ok += 1;
                if body.contains("\npgtls_probe_success 1\n") {
                    pass += 1;
                }
            }
            Ok((s, _)) => *errors.entry(format!("status {s}")).or_default() += 1,
            Err(e) => *errors.entry(e).or_default() += 1,
        }
    }
    lat.sort_by(f64::total_cmp);
    let errors: Vec<String> = errors
        .iter()
        .map(|(k, v)| format!("\"{}\": {v}", k.replace('"', "'")))
        .collect();
    println!(
        "{{\"scrapes\": {n}, \"ok\": {ok}, \"pass\": {pass}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"max_ms\": {:.2}, \"interval_s\": {}, \"last_answer_s\": {:.3}, \"errors\": {{{}}}}}",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0),
        interval.as_secs_f64(),
        last_done.duration_since(start).as_secs_f64(),
        errors.join(", ")
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, file, mode, arg] = args.as_slice() else {
        eprintln!("usage: exporter_load ADDR TARGETS_FILE serial N | fleet SECONDS");
        return ExitCode::from(2);
    };
    let targets: Vec<String> = match std::fs::read_to_string(file) {
        Ok(t) => t
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Err(e) => {
            eprintln!("exporter_load: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("exporter_load: {e}");
            return ExitCode::from(2);
        }
    };
    let r = rt.block_on(async {
        match (mode.as_str(), arg.parse::<f64>()) {
            ("serial", Ok(n)) if n >= 1.0 => {
                let first = targets.first().ok_or("no target")?;
                serial(addr, first, n as usize).await
            }
            ("fleet", Ok(s)) if s > 0.0 => fleet(addr, targets, Duration::from_secs_f64(s)).await,
            _ => Err("usage: exporter_load ADDR TARGETS_FILE serial N | fleet SECONDS".into()),
        }
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("exporter_load: {e}");
            ExitCode::from(1)
        }
    }
}

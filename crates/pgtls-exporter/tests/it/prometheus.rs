//! A real Prometheus (Debian's) configured from the shipped `examples/prometheus/prometheus.yml`
//! (targets, exporter address and intervals substituted) scrapes the exporter against the
//! real PostgreSQL 15 fleet; the query API shows the expected value per `instance`, and the
//! shipped rules fire for plaintext acceptance.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use yaml_serde::Value as Yaml;

use crate::http::try_get;
use crate::servers::Fleet;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/prometheus")
}

/// Prometheus on 127.0.0.1 and a free port, with its storage in a folder of its own; killed
/// (by its PID) on drop.
struct Prometheus {
    child: Child,
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seq(items: &[String]) -> Yaml {
    Yaml::Sequence(items.iter().map(|s| Yaml::String(s.clone())).collect())
}

/// The shipped configuration with our targets, exporter and a 2 s interval.
fn config(exporter: &str, targets: &[String]) -> String {
    let text = std::fs::read_to_string(examples().join("prometheus.yml")).unwrap();
    let mut c: Yaml = yaml_serde::from_str(&text).unwrap();
    c["global"]["scrape_interval"] = Yaml::String("2s".into());
    c["global"]["scrape_timeout"] = Yaml::String("2s".into());
    c["global"]["evaluation_interval"] = Yaml::String("1s".into());
    let rules = examples().join("alerts.yml").display().to_string();
    c["rule_files"] = seq(&[rules]);
    let jobs = c["scrape_configs"].as_sequence_mut().unwrap();
    let probe = &mut jobs[0];
    assert_eq!(probe["metrics_path"].as_str(), Some("/probe"));
    probe["static_configs"][0]["targets"] = seq(targets);
    let relabel = probe["relabel_configs"].as_sequence_mut().unwrap();
    let last = relabel.last_mut().unwrap();
    assert_eq!(last["target_label"].as_str(), Some("__address__"));
    last["replacement"] = Yaml::String(exporter.into());
    jobs[1]["static_configs"][0]["targets"] = seq(&[exporter.to_string()]);
    yaml_serde::to_string(&c).unwrap()
}

fn start_prometheus(config: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let port = pgtest::free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus (Debian's prometheus package; scripts/deps installs it)");
    Prometheus { child, addr, dir }
}

fn query(p: &Prometheus, q: &str) -> Vec<Value> {
    let enc: String = q
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let Ok(r) = try_get(p.addr, &format!("/api/v1/query?query={enc}"), &[]) else {
        return Vec::new();
    };
    if r.status != 200 {
        return Vec::new();
    }
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// `instance -> value` of an instant query.
fn by_instance(p: &Prometheus, q: &str) -> std::collections::BTreeMap<String, f64> {
    query(p, q)
        .iter()
        .filter_map(|s| {
            let inst = s["metric"]["instance"].as_str()?.to_string();
            let v: f64 = s["value"][1].as_str()?.parse().ok()?;
            Some((inst, v))
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_exporter_with_the_shipped_config() {
    let fleet = Fleet::start();
    let ex = fleet.exporter();
    let cases = fleet.targets();
    let mut targets: Vec<String> = cases.iter().map(|(_, t)| t.clone()).collect();
    // Outside the exporter's allowlist (127.0.0.1 only): 403, so up 0 and no pgtls_* series.
    let refused = format!("127.0.0.2:{}", fleet.hardened.port());
    targets.push(refused.clone());
    let mut prom = start_prometheus(&config(&ex.addr.to_string(), &targets));

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut success = std::collections::BTreeMap::new();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = prom.child.try_wait() {
            let log = std::fs::read_to_string(prom.dir.path().join("prometheus.log"));
            panic!("prometheus exited ({status}): {log:?}");
        }
        success = by_instance(&prom, "pgtls_probe_success");
        let ups = by_instance(&prom, "up{job=\"pgtls\"}");
        if success.len() == cases.len() && ups.len() == targets.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let want = |case: &str| cases.iter().find(|(c, _)| *c == case).unwrap().1.clone();
    let expected = [
        ("hardened", 1.0),
        ("plaintext", 0.0),
        ("wrongca", 0.0),
        ("expired", 0.0),
        ("silent", 0.0),
    ];
    for (case, v) in expected {
        assert_eq!(success.get(&want(case)), Some(&v), "{case}: {success:?}");
    }
    let check = |c: &str| by_instance(&prom, &format!("pgtls_check_success{{check=\"{c}\"}}"));
    assert_eq!(
        check("plaintext-refused").get(&want("plaintext")),
        Some(&0.0)
    );
    assert_eq!(
        check("plaintext-refused").get(&want("hardened")),
        Some(&1.0)
    );
    assert_eq!(check("chain").get(&want("wrongca")), Some(&0.0));
    assert_eq!(check("expiry").get(&want("expired")), Some(&0.0));
    assert_eq!(check("tls-offered").get(&want("silent")), None);
    let expired = by_instance(
        &prom,
        "pgtls_certificate_expiry_timestamp_seconds - time() < 0",
    );
    assert!(expired.contains_key(&want("expired")), "{expired:?}");
    assert!(!expired.contains_key(&want("hardened")), "{expired:?}");
    let up = by_instance(&prom, "up{job=\"pgtls\"}");
    assert_eq!(up.get(&refused), Some(&0.0), "{up:?}");
    assert_eq!(up.get(&want("silent")), Some(&1.0), "{up:?}");
    assert!(!success.contains_key(&refused));
    // The shipped rule without `for` fires within a few evaluations.
    let until = Instant::now() + Duration::from_secs(20);
    let mut firing = std::collections::BTreeMap::default();
    while Instant::now() < until {
        firing = by_instance(
            &prom,
            "ALERTS{alertname=\"PgtlsPlaintextAccepted\",alertstate=\"firing\"}",
        );
        if !firing.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(firing.keys().collect::<Vec<_>>(), vec![&want("plaintext")]);
    // The exporter's own job (scraped on its own schedule: wait for a scrape after the 403s).
    let until = Instant::now() + Duration::from_secs(20);
    let refused_total = "pgtls_exporter_requests_refused_total{reason=\"allowlist\"}";
    let mut own = by_instance(&prom, refused_total);
    while own.values().all(|v| *v < 1.0) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(500));
        own = by_instance(&prom, refused_total);
    }
    assert!(
        own.values().all(|v| *v >= 1.0) && !own.is_empty(),
        "{own:?}"
    );
}

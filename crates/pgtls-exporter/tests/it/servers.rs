//! The probe metrics against real PostgreSQL 15 servers (started by pgtest), one per case the
//! shipped alerts cover: hardened, plaintext-accepting, wrong CA, expired certificate, and a
//! silent endpoint (a listener that never answers).

use pgtest::{Pg, Pki};
use pgtls_exporter::ModuleSpec;

use crate::http::{Running, get, promtool_check_metrics, settings, start};
use crate::security::Silent;

const HARDENED_HBA: &str = "local all all trust\n\
hostnossl all all 127.0.0.1/32 reject\n\
hostssl all all 127.0.0.1/32 scram-sha-256\n";
/// `host` matches plaintext too: a plaintext client is asked for its password.
const PLAINTEXT_HBA: &str = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";

/// The servers of every case, and the CA the exporter's module trusts.
pub struct Fleet {
    pub pki: Pki,
    _other: Pki,
    pub hardened: Pg,
    pub plaintext: Pg,
    pub wrongca: Pg,
    pub expired: Pg,
    pub silent: Silent,
}

impl Fleet {
    pub fn start() -> Self {
        let pki = Pki::new();
        let other = Pki::new();
        let sans = "DNS:localhost,IP:127.0.0.1";
        let good = pki.leaf("localhost", sans, 90);
        let expired = pki.leaf("expired", sans, -1);
        let foreign = other.leaf("localhost", sans, 90);
        let spawn = |leaf: pgtest::Leaf, hba: &'static str| {
            std::thread::spawn(move || {
                Pg::builder()
                    .tls(&leaf.cert, &leaf.key)
                    .hba(hba)
                    .start()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        };
        let h = spawn(good.clone(), HARDENED_HBA);
        let p = spawn(good, PLAINTEXT_HBA);
        let w = spawn(foreign, HARDENED_HBA);
        let e = spawn(expired, HARDENED_HBA);
        Self {
            pki,
            _other: other,
            hardened: h.join().unwrap(),
            plaintext: p.join().unwrap(),
            wrongca: w.join().unwrap(),
            expired: e.join().unwrap(),
            silent: Silent::start(),
        }
    }

    /// `(case, HOST:PORT)` for every case.
    pub fn targets(&self) -> Vec<(&'static str, String)> {
        vec![
            ("hardened", format!("127.0.0.1:{}", self.hardened.port())),
            ("plaintext", format!("127.0.0.1:{}", self.plaintext.port())),
            ("wrongca", format!("127.0.0.1:{}", self.wrongca.port())),
            ("expired", format!("127.0.0.1:{}", self.expired.port())),
            ("silent", format!("127.0.0.1:{}", self.silent.port)),
        ]
    }

    /// An exporter allowing 127.0.0.1 whose default module trusts the fleet's CA.
    pub fn exporter(&self) -> Running {
        start(settings(
            &["127.0.0.1"],
            ModuleSpec {
                ca_file: Some(self.pki.ca_path()),
                ..ModuleSpec::default()
            },
        ))
    }
}

#[test]
fn probe_metrics_per_case_against_postgres_15() {
    let fleet = Fleet::start();
    let ex = fleet.exporter();
    let scrape = |target: &str| {
        let r = get(
            ex.addr,
            &format!("/probe?target={target}&module=default"),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        promtool_check_metrics(&r.body).unwrap_or_else(|e| panic!("{target}: {e}\n{}", r.body));
        r
    };
    let cs = |c: &str| format!("pgtls_check_success{{check=\"{c}\"}}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for (case, target) in fleet.targets() {
        let r = scrape(&target);
        let v = |s: &str| r.value(s);
        let ctx = format!("{case}:\n{}", r.body);
        match case {
            "hardened" => {
                assert_eq!(v("pgtls_probe_success"), Some(1.0), "{ctx}");
                for c in [
                    "tls-offered",
                    "no-buffered-bytes",
                    "handshake",
                    "chain",
                    "hostname",
                    "expiry",
                    "plaintext-refused",
                ] {
                    assert_eq!(v(&cs(c)), Some(1.0), "{c} {ctx}");
                }
                let exp = v("pgtls_certificate_expiry_timestamp_seconds").unwrap();
                assert!(
                    (exp - now - 90.0 * 86_400.0).abs() < 2.0 * 86_400.0,
                    "{ctx}"
                );
                assert!(r.body.contains("pgtls_certificate_info{subject=\"CN=localhost\",issuer=\"CN=pgtls test CA\",sans=\"DNS:localhost,IP:127.0.0.1\""), "{ctx}");
                assert!(
                    r.body
                        .contains("pgtls_tls_version_info{version=\"TLSv1.3\"} 1"),
                    "{ctx}"
                );
                assert_eq!(v("pgtls_probe_result{result=\"pass\"}"), Some(1.0));
                // Not run by default: skipped, and no 0/1 for it.
                assert_eq!(
                    v("pgtls_check_result{check=\"tls-versions\",result=\"skipped\"}"),
                    Some(1.0)
                );
                assert_eq!(v(&cs("tls-versions")), None);
            }
            "plaintext" => {
                assert_eq!(v("pgtls_probe_success"), Some(0.0), "{ctx}");
                assert_eq!(v(&cs("plaintext-refused")), Some(0.0), "{ctx}");
                assert_eq!(v(&cs("chain")), Some(1.0), "{ctx}");
            }
            "wrongca" => {
                assert_eq!(v("pgtls_probe_success"), Some(0.0), "{ctx}");
                assert_eq!(v(&cs("chain")), Some(0.0), "{ctx}");
                assert_eq!(v(&cs("plaintext-refused")), Some(1.0), "{ctx}");
            }
            "expired" => {
                assert_eq!(v("pgtls_probe_success"), Some(0.0), "{ctx}");
                assert_eq!(v(&cs("expiry")), Some(0.0), "{ctx}");
                assert!(
                    v("pgtls_certificate_expiry_timestamp_seconds").unwrap() < now,
                    "{ctx}"
                );
            }
            "silent" => {
                assert_eq!(v("pgtls_probe_success"), Some(0.0), "{ctx}");
                assert_eq!(
                    v("pgtls_check_result{check=\"tls-offered\",result=\"inconclusive\"}"),
                    Some(1.0),
                    "{ctx}"
                );
                assert!(!r.body.contains("pgtls_check_success{"), "{ctx}");
            }
            _ => unreachable!(),
        }
    }
    let own = get(ex.addr, "/metrics", &[]);
    assert_eq!(
        own.value("pgtls_exporter_probes_total{result=\"pass\"}"),
        Some(1.0)
    );
    assert_eq!(
        own.value("pgtls_exporter_probes_total{result=\"fail\"}"),
        Some(3.0)
    );
    assert_eq!(
        own.value("pgtls_exporter_probe_duration_seconds_count"),
        Some(5.0)
    );
    promtool_check_metrics(&own.body).unwrap();
}

#[test]
fn the_shipped_exporter_config_loads() {
    let pki = Pki::new();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/prometheus/exporter.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("/etc/pgtls/ca.crt", &pki.ca_path().display().to_string());
    let c = pgtls_exporter::FileConfig::parse(&text, "exporter.yml").unwrap();
    assert_eq!(
        c.modules.keys().map(String::as_str).collect::<Vec<_>>(),
        ["deep", "default", "pooler"]
    );
    assert_eq!(
        c.modules["pooler"].options.effective_user(),
        "postgres.my-tenant"
    );
    assert!(c.modules["deep"].options.deep());
    assert!(c.modules.values().all(|m| m.options.has_ca()));
    assert!(c.allow.allows_name("db.example.com"));
    assert!(c.allow.allows_ip("10.1.2.3".parse().unwrap()));
    assert_eq!(c.max_concurrent, Some(64));
}

//! `--format prometheus` of `check` and `certs inspect`: `node_exporter` textfile metrics, written
//! atomically with `--output`, clean for `promtool check metrics`.

use crate::support::{code, examples_dir, pgtls, stdout};

pub fn promtool_clean(text: &str) {
    if let Err(said) = pgtest::promtool::check_metrics(text) {
        panic!("{said}\n{text}");
    }
}

#[test]
fn check_writes_the_checklist_as_a_textfile_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgtls.prom");
    let ex = examples_dir().join("supabase");
    let ex_s = ex.display().to_string();
    let json = pgtls(["check", ex_s.as_str(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let f = file.display().to_string();
    let o = pgtls([
        "check",
        ex_s.as_str(),
        "--format",
        "prometheus",
        "--output",
        f.as_str(),
    ]);
    // The upstream example is not hardened: exit 1 as without --format, and the file written.
    assert_eq!(code(&o), code(&json));
    assert_eq!(stdout(&o), "");
    let text = std::fs::read_to_string(&file).unwrap();
    promtool_clean(&text);
    let dep = format!("deployment=\"{ex_s}\"");
    assert!(
        text.contains(&format!("pgtls_deployment_check_success{{{dep}}} 0\n")),
        "{text}"
    );
    for item in v["items"].as_array().unwrap() {
        let (id, verdict) = (
            item["id"].as_str().unwrap(),
            item["verdict"].as_str().unwrap(),
        );
        let series =
            format!("pgtls_deployment_item_result{{{dep},item=\"{id}\",result=\"{verdict}\"}} 1\n");
        assert!(text.contains(&series), "{series}\n{text}");
    }
    // Nothing but the file is left in the collector's folder (the temporary file was renamed).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("pgtls.prom")]);
    // --output with another format is refused, not ignored.
    let bad = pgtls([
        "check",
        ex_s.as_str(),
        "--format",
        "json",
        "--output",
        f.as_str(),
    ]);
    assert_eq!(code(&bad), 2);
}

#[test]
fn certs_inspect_writes_expiry_and_identity() {
    let pki = pgtest::Pki::new();
    let leaf = pki.leaf("db.example.com", "DNS:db.example.com", -1);
    let dir = tempfile::tempdir().unwrap();
    let crt = dir.path().join("server.crt");
    std::fs::write(&crt, &leaf.cert).unwrap();
    let (c, ca) = (
        crt.display().to_string(),
        pki.ca_path().display().to_string(),
    );
    let o = pgtls([
        "certs",
        "inspect",
        c.as_str(),
        "--ca",
        ca.as_str(),
        "--host",
        "other.example.com",
        "--format",
        "prometheus",
    ]);
    let text = stdout(&o);
    promtool_clean(&text);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let expiry: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "pgtls_certificate_expiry_timestamp_seconds{{file=\"{c}\"}} "
            ))
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!(expiry < now, "expired yesterday: {expiry} vs {now}");
    assert!(
        text.contains(&format!(
            "pgtls_certificate_host_covered{{file=\"{c}\",host=\"other.example.com\"}} 0\n"
        )),
        "{text}"
    );
    assert!(text.contains("subject=\"CN=db.example.com\""), "{text}");
}

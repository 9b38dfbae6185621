//! The report layer at the library's API: the human and JSON reports the CLI prints, built from
//! what a harden or check run, pg-hba and pgtls-certs return (no binary, no terminal).

use std::path::Path;

use pgtls_harden::report::paint::Paint;
use pgtls_harden::report::{certs, harden, hba};
use pgtls_harden::run::{self, Request};

use crate::support::{copy_dir, examples};

fn example(to: &Path) {
    copy_dir(&examples().join("supabase"), to);
}

fn request(dir: &Path) -> Request {
    let mut req = Request::new(dir);
    req.pg_owner = Some("105:106".into());
    req.dry_run = true;
    req
}

#[test]
fn harden_dry_run_report_terse_verbose_coloured_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    example(tmp.path());
    let done = run::harden(&request(tmp.path()), &pgtls_harden::NoEngine).unwrap();
    let view = harden::HardenView::default();
    let text = harden::text(&done, view, Paint::PLAIN);
    let head = format!("pgtls harden {}: ", tmp.path().display());
    assert!(text.starts_with(&head), "{text}");
    assert!(
        text.contains("  server key owner 105:106 (from --pg-owner)"),
        "{text}"
    );
    assert!(
        text.contains("  dry run: nothing will be written\n\nPlan\n"),
        "{text}"
    );
    // a line per step, with its mark, id and status
    for id in ["certificates", "pg-hba", "db-service", "pooler-service"] {
        assert!(
            text.contains(&format!("  ~ {id:<15} changed  ")),
            "{id}: {text}"
        );
    }
    assert!(
        text.contains("Checklist (after applying this plan): "),
        "{text}"
    );
    let files = done.plan.changes.len();
    let closing = format!(
        "Dry run: {files} file(s) would be written. Run again without --dry-run to apply.\n"
    );
    assert!(text.contains(&closing), "{text}");
    // the diffs last, as FileChange::render writes them
    let changes = text.split("\nChanges\n").nth(1).expect("a Changes section");
    let rendered: String = done.shown_changes().iter().map(|c| c.render()).collect();
    assert_eq!(changes, rendered);

    let verbose = harden::text(
        &done,
        harden::HardenView {
            verbose: true,
            ..view
        },
        Paint::PLAIN,
    );
    assert!(verbose.len() > text.len());
    assert!(
        !verbose.contains("(why and what to do: --verbose"),
        "{verbose}"
    );

    // colour only wraps: stripping the escapes gives the plain report back
    let coloured = harden::text(&done, view, Paint { color: true });
    assert!(coloured.contains("\x1b[1mPlan\x1b[0m\n"));
    assert_eq!(strip_ansi(&coloured), text);

    let json = harden::json(&done, None);
    assert_eq!(json, done.to_json());
    assert!(json.get("reload").is_none());
    let reloaded = harden::json(&done, Some(&(vec!["db: reloaded".into()], true)));
    assert_eq!(
        reloaded["reload"],
        serde_json::json!({"ok": true, "lines": ["db: reloaded"]})
    );
}

#[test]
fn check_report_names_the_folder_and_counts_the_failures() {
    let tmp = tempfile::tempdir().unwrap();
    example(tmp.path());
    let done = run::check(&request(tmp.path()), &pgtls_harden::NoEngine).unwrap();
    let text = harden::check_text(&done, false, Paint::PLAIN);
    let failed = done.checks.failing().len();
    assert!(failed > 0, "the unhardened example fails its checklist");
    let title = format!("pgtls check {} (upstream layout)\n", tmp.path().display());
    assert!(text.starts_with(&title), "{text}");
    assert!(
        text.ends_with(&format!("\n{failed} check(s) failed.\n")),
        "{text}"
    );
    // the checklist section is the one `harden` shows, under its own heading
    assert!(text.contains(&harden::checklist(
        "Checklist",
        &done.checks,
        false,
        Paint::PLAIN
    )));
    // failing items with their fix, passing items only with verbose
    let item = done.checks.failing()[0];
    assert!(
        text.contains(&format!("  ✗ {:<20} {}\n", item.id, item.detail)),
        "{text}"
    );
    let verbose = harden::check_text(&done, true, Paint::PLAIN);
    assert!(verbose.matches("  ✓ ").count() > text.matches("  ✓ ").count());
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        rest = &after[after.find('m').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn hba_reports_from_pg_hba_results() {
    let opts = pg_hba::ParseOptions {
        file_name: "pg_hba.conf".into(),
        ..pg_hba::ParseOptions::default()
    };
    let text = "host all all 10.0.0.0/33 trust\nhostssl all all 0.0.0.0/0 scram-sha-256\n";
    let v = pg_hba::validate_text(text, &opts);
    let out = hba::check_text("pg_hba.conf", &v, 15, Paint::PLAIN);
    assert!(out.starts_with("✗ pg_hba.conf:1: "), "{out}");
    assert_eq!(out.lines().count(), v.diagnostics.len());
    let json = hba::check_json(&v);
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["line"], 1);

    let good = pg_hba::validate_text("local all all peer\n", &opts);
    assert_eq!(
        hba::check_text("f", &good, 16, Paint::PLAIN),
        "✓ f: 1 records, all valid for PostgreSQL 16\n"
    );
    assert_eq!(
        hba::check_json(&good),
        serde_json::json!({"valid": true, "errors": []})
    );

    let doc = pg_hba::Document::parse("host all all 0.0.0.0/0 trust\n", opts.clone());
    let file = pg_hba::HbaFile::new(doc, &pg_hba::Disk);
    let findings = file.findings(&pg_hba::LintOptions::default());
    let lint = hba::lint_text("pg_hba.conf", &findings, Paint::PLAIN);
    assert!(!findings.is_empty());
    let f = &findings[0];
    assert!(
        lint.contains(&format!(
            "pg_hba.conf:1: {} [{}] {}",
            f.severity, f.code, f.message
        )),
        "{lint}"
    );
    assert_eq!(
        hba::lint_json(&findings)["findings"]
            .as_array()
            .unwrap()
            .len(),
        findings.len()
    );
    assert_eq!(hba::lint_text("f", &[], Paint::PLAIN), "✓ f: no findings\n");

    let conn = pg_hba::Connection::host("10.1.2.3".parse().unwrap(), "postgres", "postgres");
    let e = file.explain(&conn);
    let said = hba::explain_text(&file, &e, Paint::PLAIN);
    assert!(said.starts_with("✓ allowed by "), "{said}");
    assert!(
        said.ends_with("\n  authentication method: trust\n"),
        "{said}"
    );
}

#[test]
fn certificate_reports_from_pgtls_certs_results() {
    let kit = pgtls_certs::CertKit::generate(
        &pgtls_certs::CaParams::default(),
        &pgtls_certs::ServerParams::new(["db.example.com"]),
        None,
    )
    .unwrap();
    let pem = kit.server.cert_pem.clone();
    let info = pgtls_certs::inspect(&pem).unwrap();
    let checked =
        pgtls_certs::check_against(&pem, Some(kit.ca.cert_pem()), Some("other.example.com"))
            .unwrap();
    let text = certs::inspect_text(&info, &checked, Paint::PLAIN);
    assert!(
        text.starts_with(&format!("subject     {}\n", info.subject)),
        "{text}"
    );
    assert!(text.contains("✓ chains to the CA\n"), "{text}");
    assert!(
        text.ends_with("✗ does not cover `other.example.com` (verify-full)\n"),
        "{text}"
    );
    let json = certs::inspect_json(&info, &checked);
    assert_eq!(json["serial"], info.serial.as_str());
    assert_eq!(
        (&json["chain_valid"], &json["host_covered"]),
        (&true.into(), &false.into())
    );
    assert!(json.get("chain_error").is_none());

    let file = Path::new("tls/server.crt");
    assert_eq!(
        certs::needs_renewal_text(file, &info, Some("a reason"), Paint::PLAIN),
        "✗ tls/server.crt: renewal due: a reason\n"
    );
    let due = certs::needs_renewal_json(file, &info, None);
    assert_eq!(
        (&due["due"], &due["reason"]),
        (&false.into(), &serde_json::Value::Null)
    );

    let dry = certs::init_text(&["w"], &kit, Path::new("out"), true, Paint::PLAIN);
    assert!(
        dry.starts_with("! w\nnew CA created\n  would write "),
        "{dry}"
    );
    assert!(dry.ends_with("(dry run: nothing was written)\n"), "{dry}");
    assert_eq!(
        certs::written_line(Path::new("out/server.key"), "created", Some(0o600)),
        "  created   out/server.key (mode 0600)"
    );
    let due = pgtls_harden::renew_due::Due::Due { reason: "r".into() };
    assert_eq!(
        certs::due_line(file, &due),
        "tls/server.crt: renewal due: r"
    );
}

#[test]
fn explain_and_connstr_reports() {
    use pgtls_harden::Code;
    use pgtls_harden::report::{connstr, explain};
    let code = Code::ALL[0];
    let text = explain::text(code, Paint::PLAIN);
    assert_eq!(
        text,
        format!("{code}: {}\n\n{}\n", code.title(), code.explain())
    );
    assert_eq!(explain::list(Code::ALL).lines().count(), Code::ALL.len());
    let json = explain::json(&[code]);
    assert_eq!(json["codes"][0]["code"], code.as_str());

    let t = pgtls_harden::connstr::Target {
        host: "db.example.com",
        tenant: Some("t1"),
        ca: "./ca.crt",
        user: "postgres",
        database: "postgres",
        password: None,
        port: 5432,
        pooler_port: 6543,
        sni: false,
        pooler: pgtls_harden::PoolerKind::Supavisor,
    };
    let all: Vec<_> = pgtls_harden::connstr::clients(None)
        .into_iter()
        .map(|c| pgtls_harden::connstr::build(c, &t).unwrap())
        .collect();
    let text = connstr::text(&t, &all, Paint::PLAIN);
    assert_eq!(text.matches("  direct (5432):  ").count(), all.len());
    assert_eq!(text.matches("\n\n").count(), all.len() - 1);
    let json = connstr::json(&t, &all);
    assert_eq!(
        (&json["host"], &json["tenant"]),
        (&"db.example.com".into(), &"t1".into())
    );
    assert_eq!(json["clients"].as_array().unwrap().len(), all.len());
}

//! The human report: one screen by default (a line per step, per warning with its code, per
//! checklist item that does not pass, per next step; then the diffs), the long form with
//! `--verbose`, and the paragraph behind each code from `pgtls explain`.

use std::process::{Command, Output};

use pgtls_harden::Code;

use crate::support::{bin, code, copy_dir, examples_dir, stdout};

/// `pgtls args...` without colour and without asking a Docker engine (the report's facts then
/// come from the files alone, the same on every machine).
fn pgtls(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env("PGTLS_DOCKER", "0")
        .output()
        .expect("running pgtls")
}

/// `pgtls CMD <copy of examples/supabase> --pg-owner 105:106 extra...` (harden as a dry run).
fn on_example(cmd: &str, extra: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), tmp.path());
    let mut args = vec![cmd.as_ref(), tmp.path().as_os_str(), "--pg-owner".as_ref()];
    args.push("105:106".as_ref());
    if cmd == "harden" {
        args.push("--dry-run".as_ref());
    }
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    pgtls(&args)
}

/// The lines of a section: from its heading to the next blank line.
fn section<'a>(report: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = report.lines().skip_while(|l| !l.starts_with(heading));
    assert!(lines.next().is_some(), "no {heading} section:\n{report}");
    lines.take_while(|l| !l.is_empty()).collect()
}

#[test]
fn harden_on_the_example_fits_one_screen_then_the_diffs() {
    let o = on_example("harden", &[]);
    let s = stdout(&o);
    assert_eq!(code(&o), 0, "{s}");
    let (summary, diffs) = s
        .split_once("\nChanges\n")
        .expect("the diffs follow the summary");
    let lines = summary.lines().count();
    assert!(lines <= 40, "{lines} lines before the diffs:\n{summary}");
    assert!(
        diffs.starts_with("--- a/docker-compose.yml\n+++ b/docker-compose.yml\n"),
        "{diffs}"
    );
    // a line per step
    let json: serde_json::Value =
        serde_json::from_slice(&on_example("harden", &["--json"]).stdout).unwrap();
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(section(summary, "Plan").len(), steps.len(), "{summary}");
    // a line per warning, each with its code, the same codes as the JSON report's
    let mut codes: Vec<&str> = (json["warning_codes"].as_array().unwrap().iter())
        .chain(
            steps
                .iter()
                .flat_map(|s| s["warning_codes"].as_array().unwrap()),
        )
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut shown: Vec<&str> = section(summary, "Warnings")
        .into_iter()
        .chain(summary.lines().take(5).filter(|l| l.starts_with("  ! W-")))
        .map(|l| {
            let code = l.trim_start_matches("  ! ").split(' ').next().unwrap();
            assert!(Code::parse(code).is_some(), "{l}");
            code
        })
        .collect();
    codes.sort_unstable();
    shown.sort_unstable();
    assert_eq!(shown, codes, "{summary}");
    assert!(codes.contains(&"W-REQUIRE-MITM") && codes.contains(&"W-TENANT-CREATE-ONLY"));
    // the checklist: passes counted on the heading line, the others one line each
    let items = json["checklist"]["items"].as_array().unwrap();
    let not_passing = items.iter().filter(|i| i["verdict"] != "pass").count();
    let passing = items.len() - not_passing;
    let checklist = section(summary, "Checklist (after applying this plan)");
    assert_eq!(checklist.len(), not_passing, "{summary}");
    assert!(
        summary.contains(&format!(
            "Checklist (after applying this plan): {passing} pass, "
        )),
        "{summary}"
    );
    assert!(!checklist.iter().any(|l| l.contains('✓')), "{summary}");
    // next steps one line each; the commands of the API call only with --verbose
    let next = section(summary, "Next steps");
    assert_eq!(
        next.len(),
        json["next_steps"].as_array().unwrap().len(),
        "{summary}"
    );
    assert!(
        next.iter()
            .any(|l| l.ends_with("(the commands: --verbose)")),
        "{summary}"
    );
    assert!(!summary.contains("JWT_SECRET"), "{summary}");
    assert!(
        summary.contains("Dry run: 9 file(s) would be written."),
        "{summary}"
    );
}

#[test]
fn verbose_adds_every_warning_text_note_and_checklist_item() {
    let json: serde_json::Value =
        serde_json::from_slice(&on_example("harden", &["--json"]).stdout).unwrap();
    let o = on_example("harden", &["--verbose"]);
    let s = stdout(&o);
    assert_eq!(code(&o), 0, "{s}");
    let summary = s.split_once("\nChanges\n").unwrap().0;
    let steps = json["steps"].as_array().unwrap();
    let texts = (json["warnings"].as_array().unwrap().iter())
        .chain(steps.iter().flat_map(|s| s["warnings"].as_array().unwrap()));
    for text in texts {
        let text = text.as_str().unwrap();
        assert!(
            summary.contains(text),
            "--verbose lacks {text:?}:\n{summary}"
        );
        assert!(
            !stdout(&on_example("harden", &[])).contains(text),
            "default shows {text:?}"
        );
    }
    for note in steps.iter().flat_map(|s| s["notes"].as_array().unwrap()) {
        assert!(
            summary.contains(note.as_str().unwrap()),
            "{note}:\n{summary}"
        );
    }
    // every item (two runs make two certificates: the expiry's second may differ), the
    // others' reasons and fixes in full
    let checklist = section(summary, "Checklist (after applying this plan)");
    for item in json["checklist"]["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        assert!(
            checklist.iter().any(|l| l.contains(&format!(" {id} "))),
            "{id}:\n{summary}"
        );
        if item["verdict"] != "pass" {
            let detail = item["detail"].as_str().unwrap();
            assert!(summary.contains(detail), "{detail}:\n{summary}");
        }
        if let Some(fix) = item["fix"].as_str() {
            assert!(
                summary.contains(&format!("fix: {fix}")),
                "{fix}:\n{summary}"
            );
        }
    }
    assert!(
        summary.contains("JWT_SECRET"),
        "the API call's commands:\n{summary}"
    );
}

#[test]
fn check_is_terse_the_same_way() {
    let json: serde_json::Value =
        serde_json::from_slice(&on_example("check", &["--json"]).stdout).unwrap();
    let items = json["items"].as_array().unwrap();
    let count = |v: &str| items.iter().filter(|i| i["verdict"] == v).count();
    let (pass, warn, fail) = (count("pass"), count("warn"), count("fail"));
    assert!(fail > 0, "the example is not hardened: {json}");
    let o = on_example("check", &[]);
    let s = stdout(&o);
    assert_eq!(code(&o), 1, "{s}");
    let heading = format!("Checklist: {pass} pass, {warn} warn, {fail} fail");
    let lines = section(&s, &heading);
    // one line per item that does not pass, and a fix under each failing one
    assert_eq!(lines.len(), warn + 2 * fail, "{s}");
    for item in items.iter().filter(|i| i["verdict"] == "fail") {
        let id = item["id"].as_str().unwrap();
        assert!(s.contains(&format!("✗ {id} ")), "{id}:\n{s}");
    }
    assert!(s.ends_with(&format!("{fail} check(s) failed.\n")), "{s}");
    let v = on_example("check", &["--verbose"]);
    let verbose = stdout(&v);
    let all = section(&verbose, &heading);
    let lines_with_fix = items.iter().filter(|i| i.get("fix").is_some()).count();
    assert_eq!(all.len(), items.len() + lines_with_fix, "{verbose}");
}

#[test]
fn explain_lists_every_code_and_prints_its_paragraph() {
    let o = pgtls(&["explain".as_ref()]);
    assert_eq!(code(&o), 0);
    let list = stdout(&o);
    assert_eq!(list.lines().count(), Code::ALL.len(), "{list}");
    for (line, c) in list.lines().zip(Code::ALL) {
        assert!(
            line.starts_with(c.as_str()) && line.ends_with(c.title()),
            "{line}"
        );
    }
    for c in Code::ALL {
        let o = pgtls(&["explain".as_ref(), c.as_str().as_ref()]);
        let text = stdout(&o);
        assert_eq!(code(&o), 0, "{c}");
        assert!(
            text.starts_with(&format!("{c}: {}\n\n", c.title())),
            "{text}"
        );
        assert!(text.contains(c.explain()), "{text}");
    }
    // case and the W- prefix are optional; an unknown code is a usage error naming it
    let o = pgtls(&["explain".as_ref(), "require-mitm".as_ref()]);
    assert!(stdout(&o).contains(Code::RequireMitm.explain()));
    let o = pgtls(&["explain".as_ref(), "W-NOPE".as_ref()]);
    assert_eq!(code(&o), 2);
    assert!(crate::support::stderr(&o).contains("unknown warning code \"W-NOPE\""));
    let o = pgtls(&["explain".as_ref(), "--json".as_ref()]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["codes"].as_array().unwrap().len(), Code::ALL.len());
    assert_eq!(json["codes"][0]["code"], Code::ALL[0].as_str());
}

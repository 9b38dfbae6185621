//! No flag value makes pgtls panic (issue #19): every duration, count and port flag over a table
//! of edge values (zero, negative, the integer limits and one past them, huge and tiny decimals,
//! NaN, infinity, garbage, empty). Each run must end with exit 0, 1 or 2 and no panic message;
//! out-of-range values must be usage errors (exit 2) that name the flag. Nothing here reaches a
//! network beyond 127.0.0.1 port 1 (closed: refused at once).

use crate::support::{bin, code, stderr};
use std::path::Path;
use std::process::Command;

const INTEGERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "36500",
    "36501",
    "65535",
    "65536",
    "4096",
    "4097",
    "2147483648",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1.5",
    "1e3",
    "NaN",
    "abc",
    "",
];

const DECIMALS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "0.0000000001",
    "0.001",
    "3600",
    "3600.0001",
    "1e400",
    "-1e400",
    "NaN",
    "inf",
    "-inf",
    "18446744073709551616",
    "0x10",
    "1s",
    "",
];

/// Runs pgtls with `args`, the flag given as `--flag=value` (so that `-1` is a value, not a flag).
fn run_one(args: &[&str], flag: &str, value: &str, dir: &Path) -> (i32, String) {
    let o = Command::new(bin())
        .args(args)
        .arg(format!("{flag}={value}"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PGTLS_DOCKER", "0")
        .output()
        .unwrap();
    (code(&o), stderr(&o))
}

fn assert_no_panic(args: &[&str], flag: &str, values: &[&str], dir: &Path) -> Vec<String> {
    let mut accepted = Vec::new();
    for v in values {
        let (c, err) = run_one(args, flag, v, dir);
        assert!(
            !err.contains("panicked") && c != 101,
            "pgtls {} {flag}={v} panicked (exit {c}): {err}",
            args.join(" ")
        );
        assert!(
            (0..=2).contains(&c),
            "pgtls {} {flag}={v}: exit {c}: {err}",
            args.join(" ")
        );
        if c == 2 {
            let name = flag.trim_start_matches("--");
            assert!(
                err.contains(name) || err.contains("validity") || err.contains("port"),
                "a refused {flag}={v} names the flag or the limit: {err}"
            );
        } else {
            accepted.push((*v).to_owned());
        }
    }
    accepted
}

#[test]
fn no_duration_or_count_flag_value_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // a CA and server certificate to renew and inspect
    let o = Command::new(bin())
        .args(["certs", "init", "--out"])
        .arg(dir.join("pki"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pki = dir.join("pki");
    let crt = pki.join("server.crt");
    let crt = crt.to_str().unwrap();
    let pki_s = pki.to_str().unwrap();

    // certificate lifetimes: 1..=36500 days, everything else a usage error
    for (i, v) in INTEGERS.iter().enumerate() {
        let out = dir.join(format!("init{i}"));
        let out = out.to_str().unwrap();
        for flag in ["--days", "--ca-days"] {
            let accepted =
                assert_no_panic(&["certs", "init", "--out", out, "--force"], flag, &[v], dir);
            let valid = v.parse::<u64>().is_ok_and(|d| (1..=36_500).contains(&d));
            assert_eq!(accepted.len() == 1, valid, "certs init {flag}={v}");
        }
    }
    let accepted = assert_no_panic(
        &["certs", "renew", "--dir", pki_s, "--dry-run"],
        "--days",
        INTEGERS,
        dir,
    );
    let valid: Vec<&str> = INTEGERS
        .iter()
        .copied()
        .filter(|v| v.parse::<u64>().is_ok_and(|d| (1..=36_500).contains(&d)))
        .collect();
    assert_eq!(accepted, valid, "certs renew --days: 1..=36500");
    assert_no_panic(&["certs", "needs-renewal", crt], "--within", INTEGERS, dir);

    // the prober: time limits, concurrency, the expiry warning; target 127.0.0.1:1 is closed
    let verify = ["verify", "127.0.0.1:1", "--timeout", "2"];
    let accepted = assert_no_panic(&["verify", "127.0.0.1:1"], "--timeout", DECIMALS, dir);
    assert_eq!(
        accepted,
        ["0.001", "3600"],
        "verify --timeout accepts (0, 3600]"
    );
    let accepted = assert_no_panic(&verify, "--concurrency", INTEGERS, dir);
    assert_eq!(
        accepted,
        ["1", "4096"],
        "verify --concurrency accepts 1..=4096"
    );
    assert_no_panic(&verify, "--expiry-warn-days", INTEGERS, dir);

    // connection strings: ports
    for flag in ["--port", "--pooler-port"] {
        let accepted = assert_no_panic(&["connstr", "--host", "db"], flag, INTEGERS, dir);
        assert_eq!(
            accepted,
            ["1", "36500", "36501", "65535", "4096", "4097"],
            "connstr {flag}"
        );
    }

    // harden and check: certificate days and the expiry warning on a copy of the example
    let dep = dir.join("dep");
    crate::support::copy_dir(&crate::support::examples_dir().join("supabase"), &dep);
    let dep_s = dep.to_str().unwrap();
    let harden = ["harden", dep_s, "--pg-owner", "105:106", "--dry-run"];
    let accepted = assert_no_panic(&harden, "--days", INTEGERS, dir);
    assert!(
        accepted
            .iter()
            .all(|v| v.parse::<u64>().is_ok_and(|d| (1..=36_500).contains(&d))),
        "harden --days accepted {accepted:?}"
    );
    assert_no_panic(
        &["check", dep_s, "--pg-owner", "105:106"],
        "--expiry-warn-days",
        INTEGERS,
        dir,
    );
}

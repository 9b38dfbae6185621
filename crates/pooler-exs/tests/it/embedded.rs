//! Tenant scripts wherever they live, and edits that add lines and change none: on fixtures
//! modelled on Coolify's Supabase templates from 2024 to 2026 and on upstream supabase/docker.

use std::process::Command;

use pooler_exs::{FlagState, HardenOptions, Host, TenantFile, TenantLogic, harden};

use crate::golden::CA_PATH;
use crate::support::{assert_lines_only_added, fixture, to_crlf};

const ENTRYPOINT: &str = "valid/coolify-2024-entrypoint.sh";

/// (fixture, what it models)
const EXS: &[(&str, &str)] = &[
    (
        "valid/upstream-pooler.exs",
        "supabase/docker volumes/pooler/pooler.exs (create-only)",
    ),
    (
        "valid/coolify-pooler.exs",
        "Coolify inline pooler.exs, October 2024 to 2026 (upsert)",
    ),
    ("valid/keyword-pooler.exs", "keyword-key variant"),
];

fn enforce() -> HardenOptions {
    HardenOptions {
        enforce_ssl: true,
        ..HardenOptions::default()
    }
}

#[test]
fn pooler_exs_edits_add_lines_and_change_none() {
    for (name, what) in EXS {
        let src = fixture(name);
        for text in [src.clone(), to_crlf(&src)] {
            let r = harden(&text, &enforce()).unwrap();
            assert!(r.changed, "{what}");
            assert_eq!(r.host, Host::Elixir);
            assert_lines_only_added(&text, &r.text, 1);
            let full = harden(
                &text,
                &HardenOptions {
                    enforce_ssl: true,
                    upstream_ca: Some(CA_PATH.to_owned()),
                    upsert: false,
                    sni_hostname: None,
                },
            )
            .unwrap();
            assert_lines_only_added(&text, &full.text, 4);
            // The new entry ends with a comma like its siblings, at their indentation.
            let line = r
                .text
                .lines()
                .find(|l| l.contains("\"enforce_ssl\"") || l.contains("enforce_ssl:"))
                .unwrap();
            assert!(line.trim_end().ends_with(','), "{what}: {line:?}");
            assert!(
                !harden(&r.text, &enforce()).unwrap().changed,
                "{what}: idempotent"
            );
        }
    }
}

#[test]
fn entrypoint_sh_with_explicit_false_ends_with_true() {
    let src = fixture(ENTRYPOINT);
    let before = TenantFile::parse(&src).unwrap();
    assert_eq!(before.host(), Host::ShellEval);
    let inspection = before.script().inspect().unwrap();
    assert_eq!(inspection.enforce_ssl, FlagState::False);
    assert_eq!(inspection.tenant_logic, TenantLogic::Upsert);
    // Lines are those of the whole file.
    assert_eq!(inspection.params_line, 12);

    let r = harden(&src, &enforce()).unwrap();
    assert!(r.changed);
    assert_eq!(r.host, Host::ShellEval);
    // Exactly one line differs: false became true in place.
    let diff: Vec<(&str, &str)> = src
        .lines()
        .zip(r.text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        diff,
        [(
            "    \"enforce_ssl\" => false,",
            "    \"enforce_ssl\" => true,"
        )]
    );
    assert_eq!(src.lines().count(), r.text.lines().count());
    let after = TenantFile::parse(&r.text).unwrap();
    assert_eq!(
        after.script().inspect().unwrap().enforce_ssl,
        FlagState::True
    );
    assert!(!harden(&r.text, &enforce()).unwrap().changed);
}

/// Independent check with bash: the edited script is valid shell and still hands the whole
/// tenant code, with `"enforce_ssl" => true`, to `supavisor eval` as one argument.
#[test]
fn edited_entrypoint_is_valid_shell_passing_the_code_as_one_argument() {
    let src = fixture(ENTRYPOINT);
    let r = harden(
        &src,
        &HardenOptions {
            enforce_ssl: true,
            upstream_ca: Some(CA_PATH.to_owned()),
            upsert: false,
            sni_hostname: None,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("supavisor");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = eval ] || exit 9\n[ $# -eq 2 ] || exit 8\nprintf '%s' \"$2\"\n",
    )
    .unwrap();
    let script = dir.path().join("entrypoint.sh");
    std::fs::write(
        &script,
        r.text
            .replace("/app/bin/supavisor", &fake.display().to_string()),
    )
    .unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(check.success(), "bash -n");
    let out = Command::new("sh")
        .arg(&fake)
        .arg("eval")
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"x");
    let chmod = Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    assert!(chmod.success());
    let out = Command::new("bash").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap();
    assert!(code.contains("    \"enforce_ssl\" => true,\n"), "{code}");
    assert!(code.contains("\"upstream_tls_ca\" => \"/etc/pooler/certs/ca.crt\" |> File.read!()"));
    assert!(code.trim_end().ends_with("end"), "{code}");
}

//! The deployment is what Docker Compose runs (issue #24): harden and check on the bundled
//! upstream-shaped example with override files, with Compose v2's `docker compose config` as
//! the judge of what the hardened files mean. These tests need Compose v2 (`docker compose`;
//! scripts/deps installs it) and fail without it; they need no Docker engine.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value as Json;

use crate::support::{copy_dir, examples_dir};

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compose-patch/tests/fixtures/project")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// `pgtls args` with no COMPOSE_* variable of the caller's.
fn pgtls(args: &[&str]) -> Output {
    Command::new(crate::support::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("COMPOSE_PATH_SEPARATOR")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `docker compose [-f ...] config --format json` in `dir`: the model Compose runs.
fn compose_config(dir: &Path, files: &[&str]) -> Json {
    let mut cmd = Command::new("docker");
    cmd.arg("compose");
    for f in files {
        cmd.args(["-f", f]);
    }
    let out = cmd
        .args(["config", "--format", "json"])
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .output()
        .expect("Compose v2 (`docker compose`) is needed for this test");
    assert!(
        out.status.success(),
        "docker compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The example plus `extra` files, `.env` from `.env.example` plus `env_extra`.
fn deployment(extra: &[(&str, String)], env_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&examples_dir().join("supabase"), dir.path());
    let env = std::fs::read_to_string(dir.path().join(".env.example")).unwrap();
    std::fs::write(dir.path().join(".env"), format!("{env}{env_extra}")).unwrap();
    for (name, t) in extra {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    dir
}

/// Asserts Compose's merged db runs with TLS and the hardened `pg_hba.conf`, and the pooler with
/// its certificate (when Supavisor runs).
fn assert_hardened(json: &Json) {
    let db = &json["services"]["db"];
    let cmd: Vec<&str> = db["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for want in [
        "ssl=on",
        "hba_file=/etc/postgresql-hba/pg_hba.conf",
        "ssl_cert_file=/etc/postgresql-tls/server.crt",
        "ssl_key_file=/etc/postgresql-tls/server.key",
        "ssl_ca_file=/etc/postgresql-tls/ca.crt",
    ] {
        assert!(
            cmd.contains(&want),
            "Compose's db command lacks {want}: {cmd:?}"
        );
    }
    let targets: Vec<&str> = db["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["target"].as_str())
        .collect();
    assert!(targets.contains(&"/etc/postgresql-tls"), "{targets:?}");
    assert!(targets.contains(&"/etc/postgresql-hba"), "{targets:?}");
    if let Some(p) = json["services"].get("supavisor") {
        assert_eq!(
            p["environment"]["GLOBAL_DOWNSTREAM_CERT_PATH"],
            "/etc/pooler-tls/server.crt"
        );
        assert!(
            p["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["target"] == "/etc/pooler-tls"),
            "{p}"
        );
    }
}

/// harden, then: Compose's model is hardened, check exits 0, a second harden changes nothing.
fn harden_holds(dir: &Path, f: &[&str]) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["harden", d, "--pg-owner", "105:106"];
    for x in f {
        args.extend(["-f", x]);
    }
    let o = pgtls(&args);
    assert_eq!(o.status.code(), Some(0), "harden: {}", text(&o));
    assert_hardened(&compose_config(dir, f));
    let mut check = vec!["check", d, "--pg-owner", "105:106"];
    for x in f {
        check.extend(["-f", x]);
    }
    let o = pgtls(&check);
    assert_eq!(o.status.code(), Some(0), "check after harden: {}", text(&o));
    let mut again = args.clone();
    again.push("--json");
    let o = pgtls(&again);
    let json: Json = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json["changed"],
        false,
        "a second harden changed something: {}",
        text(&o)
    );
}

#[test]
fn an_override_setting_the_db_command_gets_the_flags_and_a_masking_override_fails_check() {
    let dir = deployment(
        &[(
            "docker-compose.override.yml",
            fixture("override-command.yml"),
        )],
        "",
    );
    let d = dir.path().to_str().unwrap();
    let base_before = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    // before: check must not pass the db command (the override drops every flag)
    let o = pgtls(&["check", d, "--pg-owner", "105:106"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("docker-compose.override.yml:5"),
        "{}",
        text(&o)
    );
    harden_holds(dir.path(), &[]);
    // the flags went into the override (whose command Compose runs); the base db command is
    // untouched
    let over = std::fs::read_to_string(dir.path().join("docker-compose.override.yml")).unwrap();
    assert!(over.starts_with(&fixture("override-command.yml")), "{over}");
    assert!(over.contains("ssl=on"));
    let base = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    let db_part = |t: &str| {
        t.split("\n  db:\n")
            .nth(1)
            .unwrap()
            .split("\n  supavisor:\n")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(db_part(&base), db_part(&base_before));
    // a later override masking the command: check fails naming that file and line
    std::fs::write(
        dir.path().join("late.yml"),
        "# raises the connection limit\nservices:\n  db:\n    command: postgres -c max_connections=500\n",
    )
    .unwrap();
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("{env}\nCOMPOSE_FILE=docker-compose.yml:docker-compose.override.yml:late.yml\n"),
    )
    .unwrap();
    let o = pgtls(&["check", d, "--pg-owner", "105:106"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("✗ db-command") && out.contains("late.yml:4"),
        "{out}"
    );
}

#[test]
fn an_override_adding_volumes_and_env_is_hardened_in_the_merge() {
    let dir = deployment(
        &[(
            "docker-compose.override.yml",
            fixture("override-volumes-env.yml"),
        )],
        "",
    );
    harden_holds(dir.path(), &[]);
}

#[test]
fn pg15_chosen_in_dotenv_and_with_f_and_an_override_compose_does_not_read() {
    let unread = fixture("override-command.yml");
    let extra = [
        (
            "docker-compose.pg15.yml",
            fixture("docker-compose.pg15.yml"),
        ),
        ("docker-compose.override.yml", unread.clone()),
    ];
    let dir = deployment(
        &extra,
        "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pg15.yml\n",
    );
    harden_holds(
        dir.path(),
        &["docker-compose.yml", "docker-compose.pg15.yml"],
    );
    // (the oracle was given the same files with -f; .env names them for pgtls)
    let o = pgtls(&[
        "check",
        dir.path().to_str().unwrap(),
        "--pg-owner",
        "105:106",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Compose does not read docker-compose.override.yml here: pgtls did not edit it
    let after = std::fs::read_to_string(dir.path().join("docker-compose.override.yml")).unwrap();
    assert_eq!(after, unread);

    let dir = deployment(&extra, "");
    harden_holds(
        dir.path(),
        &["docker-compose.yml", "docker-compose.pg15.yml"],
    );
    let after = std::fs::read_to_string(dir.path().join("docker-compose.override.yml")).unwrap();
    assert_eq!(after, unread);
}

/// `check --json`'s item `id`.
fn check_item(dir: &Path, f: &[&str], id: &str) -> (Option<i32>, Json) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["check", d, "--pg-owner", "105:106", "--json"];
    for x in f {
        args.extend(["-f", x]);
    }
    let o = pgtls(&args);
    let json: Json =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {json}"))
        .clone();
    (o.status.code(), item)
}

/// Upstream's PgBouncer variant (`docker-compose.pgbouncer.yml`: `supavisor: !reset null` and a
/// `pgbouncer` service), chosen by `COMPOSE_FILE` in `.env` or by `-f`: harden edits the
/// `pgbouncer` service in the file that defines it (the base file keeps no PgBouncer or
/// Supavisor edit), Compose's merged model runs PgBouncer with client TLS required and no
/// Supavisor, check passes, a second harden is a no-op. A later override putting PgBouncer back
/// in plaintext fails check naming that file and line.
#[test]
fn the_pgbouncer_variant_is_hardened_in_the_file_that_defines_it() {
    let extra = [(
        "docker-compose.pgbouncer.yml",
        fixture("docker-compose.pgbouncer.yml"),
    )];
    let both = ["docker-compose.yml", "docker-compose.pgbouncer.yml"];
    for (env, f) in [
        (
            "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml\n",
            &[][..],
        ),
        ("", &both[..]),
    ] {
        let dir = deployment(&extra, env);
        let base_before = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
        harden_holds(dir.path(), f);
        let json = compose_config(dir.path(), &both);
        assert!(json["services"].get("supavisor").is_none(), "{json}");
        let pgb = &json["services"]["pgbouncer"];
        assert_eq!(pgb["environment"]["CLIENT_TLS_SSLMODE"], "require", "{pgb}");
        assert_eq!(
            pgb["environment"]["CLIENT_TLS_KEY_FILE"], "/etc/pgbouncer-tls/server.key",
            "{pgb}"
        );
        assert!(
            pgb["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["target"] == "/etc/pgbouncer-tls" && v["read_only"] == true),
            "{pgb}"
        );
        let over =
            std::fs::read_to_string(dir.path().join("docker-compose.pgbouncer.yml")).unwrap();
        assert!(over.contains("CLIENT_TLS_SSLMODE: require"), "{over}");
        assert!(over.contains("supavisor: !reset null"), "{over}");
        let base = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
        assert!(
            !base.contains("CLIENT_TLS_"),
            "PgBouncer's edits went to the base file"
        );
        assert!(
            !base.contains("GLOBAL_DOWNSTREAM_CERT_PATH"),
            "the removed Supavisor was edited"
        );
        assert_ne!(base, base_before, "the db is hardened in the base file");
        let key = dir.path().join("volumes/pgbouncer-tls/server.key");
        let meta = std::fs::metadata(&key).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.permissions().mode() & 0o777),
            (70, 70, 0o600)
        );
        for id in ["pooler-tls", "pooler-key", "pooler-ports"] {
            let (code, item) = check_item(dir.path(), f, id);
            assert_eq!(code, Some(0));
            assert_eq!(item["verdict"], "pass", "{item}");
        }
    }

    // hardened, then a later override puts PgBouncer back in plaintext
    let plain = "# a later override: PgBouncer back in plaintext\nservices:\n  pgbouncer:\n    environment:\n      CLIENT_TLS_SSLMODE: disable\n";
    let dir = deployment(
        &[
            extra[0].clone(),
            ("docker-compose.plain.yml", plain.to_owned()),
        ],
        "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml\n",
    );
    harden_holds(dir.path(), &[]);
    let three = [
        "docker-compose.yml",
        "docker-compose.pgbouncer.yml",
        "docker-compose.plain.yml",
    ];
    let json = compose_config(dir.path(), &three);
    assert_eq!(
        json["services"]["pgbouncer"]["environment"]["CLIENT_TLS_SSLMODE"],
        "disable"
    );
    let (code, item) = check_item(dir.path(), &three, "pooler-tls");
    assert_eq!(code, Some(1), "{item}");
    assert_eq!(item["verdict"], "fail", "{item}");
    assert!(
        item["detail"].as_str().unwrap().contains(
            "CLIENT_TLS_SSLMODE in service `pgbouncer` of docker-compose.plain.yml:5 is `disable`"
        ),
        "{item}"
    );
}

#[test]
fn profiles_and_include() {
    // compose.yaml includes the upstream file and adds a service behind a profile
    let dir = deployment(&[], "");
    std::fs::rename(
        dir.path().join("docker-compose.yml"),
        dir.path().join("supabase.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "include:\n  - supabase.yml\nservices:\n  pgadmin:\n    image: dpage/pgadmin4\n    profiles: [admin]\n",
    )
    .unwrap();
    // `name:` of the included file is not allowed to clash; the example's is fine
    harden_holds(dir.path(), &[]);
    let inc = std::fs::read_to_string(dir.path().join("supabase.yml")).unwrap();
    assert!(
        inc.contains("ssl=on"),
        "the db lives in the included file: edited there"
    );
    let json = compose_config(dir.path(), &[]);
    assert!(
        json["services"].get("pgadmin").is_none(),
        "outside the active profiles"
    );
}

#[test]
fn a_stack_compose_cannot_merge_is_an_error_naming_file_and_line_and_nothing_is_written() {
    let cases = [
        (
            "docker-compose.override.yml",
            "services:\n  db:\n    command: !replace postgres\n",
            "\"docker-compose.override.yml\" line 3: unknown tag !replace",
        ),
        (
            ".env",
            "COMPOSE_FILE=docker-compose.yml:docker-compose.pg16.yml\n",
            ".env\" line 12: \"docker-compose.pg16.yml\" does not exist",
        ),
        (
            "docker-compose.override.yml",
            "include:\n  - docker-compose.override.yml\nservices: {}\n",
            "include cycle",
        ),
    ];
    for (name, content, message) in cases {
        let dir = deployment(&[], "");
        let path = dir.path().join(name);
        // (.env.example has 11 lines: COMPOSE_FILE is line 12 of .env)
        let written = if name == ".env" {
            format!("{}{content}", std::fs::read_to_string(&path).unwrap())
        } else {
            content.to_owned()
        };
        std::fs::write(&path, written).unwrap();
        let before = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
        let d = dir.path().to_str().unwrap();
        let o = pgtls(&["harden", d, "--pg-owner", "105:106"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(message), "{}", text(&o));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap(),
            before
        );
        assert!(
            !dir.path().join("volumes/tls").exists(),
            "nothing is written"
        );
        let o = pgtls(&["check", d, "--pg-owner", "105:106"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
}

mod generated {
    //! Generated override stacks over the example: harden either refuses (exit 2, naming a
    //! file) or leaves a deployment whose merged model, as `docker compose config` reads it,
    //! is hardened, and that `check` passes.

    use super::{assert_hardened, compose_config, deployment, pgtls, text};
    use proptest::prelude::*;
    use std::fmt::Write as _;

    #[derive(Debug, Clone)]
    struct Over {
        command: Option<u8>,
        volumes: Option<u8>,
        env: bool,
        pooler_env: bool,
        pooler_volumes: Option<u8>,
        second: bool,
    }

    fn over() -> impl Strategy<Value = Over> {
        (
            proptest::option::of(0u8..3),
            proptest::option::of(0u8..3),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0u8..2),
            any::<bool>(),
        )
            .prop_map(
                |(command, volumes, env, pooler_env, pooler_volumes, second)| Over {
                    command,
                    volumes,
                    env,
                    pooler_env,
                    pooler_volumes,
                    second,
                },
            )
    }

    fn render(o: &Over) -> String {
        let mut t = "services:\n  db:\n".to_owned();
        match o.command {
            Some(0) => t.push_str("    command: postgres -c max_connections=200\n"),
            Some(1) => t.push_str("    command: [\"postgres\", \"-c\", \"config_file=/etc/postgresql/postgresql.conf\"]\n"),
            Some(_) => t.push_str("    command: !reset null\n"),
            None => {}
        }
        match o.volumes {
            Some(0) => t.push_str("    volumes:\n      - ./volumes/db/extra:/etc/extra:ro\n"),
            Some(1) => t.push_str(
                "    volumes: !override\n      - ./volumes/db/data:/var/lib/postgresql/data:Z\n",
            ),
            Some(_) => t.push_str("    volumes: !reset []\n"),
            None => {}
        }
        if o.env {
            t.push_str("    environment:\n      PGTZ: UTC\n");
        }
        t.push_str("  supavisor:\n");
        if o.pooler_env {
            t.push_str("    environment:\n      GLOBAL_DOWNSTREAM_CERT_PATH: /etc/ssl/other.crt\n");
        }
        match o.pooler_volumes {
            Some(0) => t.push_str("    volumes:\n      - ./volumes/pooler/extra:/etc/extra:ro\n"),
            Some(_) => t.push_str("    ports: !override\n      - 127.0.0.1:6543:6543\n"),
            None => {}
        }
        t
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn harden_refuses_or_compose_runs_the_hardened_model(a in over(), b in over()) {
            let mut extra = vec![("docker-compose.override.yml", render(&a))];
            let mut env = String::new();
            if a.second {
                extra.push(("late.yml", render(&b)));
                let _ = write!(env, "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.override.yml:late.yml\n");
            }
            let dir = deployment(&extra, &env);
            let d = dir.path().to_str().unwrap();
            let o = pgtls(&["harden", d, "--pg-owner", "105:106"]);
            let files: Vec<&str> = if a.second {
                vec!["docker-compose.yml", "docker-compose.override.yml", "late.yml"]
            } else {
                vec![]
            };
            match o.status.code() {
                Some(2) => {
                    // refused: a tag or a reset in the way, named with its file
                    let out = text(&o);
                    prop_assert!(out.contains(".yml"), "{out}");
                    prop_assert!(!dir.path().join("volumes/tls").exists(), "written after a refusal: {out}");
                }
                Some(0) => {
                    assert_hardened(&compose_config(dir.path(), &files));
                    let o = pgtls(&["check", d, "--pg-owner", "105:106"]);
                    prop_assert_eq!(o.status.code(), Some(0), "{}", text(&o));
                }
                other => prop_assert!(false, "harden exit {other:?}: {}", text(&o)),
            }
        }
    }
}

/// `certs adopt` on a hardened deployment running upstream's PgBouncer variant: the adopted key
/// and certificate are also written to PgBouncer's own copy (volumes/pgbouncer-tls, key 0600
/// owned by uid 70), the readers judged are the db, and PgBouncer on its copy (no Supavisor:
/// it is removed), and check passes PgBouncer's items afterwards.
#[test]
fn certs_adopt_writes_pgbouncers_own_copy() {
    let dir = deployment(
        &[(
            "docker-compose.pgbouncer.yml",
            fixture("docker-compose.pgbouncer.yml"),
        )],
        "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml\n",
    );
    harden_holds(dir.path(), &[]);
    let pki = pgtest::Pki::new();
    let leaf = pki.leaf("db.example.com", "DNS:db.example.com", 90);
    let scratch = tempfile::tempdir().unwrap();
    let (crt, key) = (
        scratch.path().join("full.pem"),
        scratch.path().join("key.pem"),
    );
    std::fs::write(&crt, &leaf.cert).unwrap();
    std::fs::write(&key, &leaf.key).unwrap();
    let o = Command::new(crate::support::bin())
        .args(["certs", "adopt", dir.path().to_str().unwrap()])
        .args([
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
        .args(["--domain", "db.example.com", "--json"])
        .env("PGTLS_DOCKER", "0")
        .env("NO_COLOR", "1")
        .env_remove("COMPOSE_FILE")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: Json = serde_json::from_slice(&o.stdout).unwrap();
    let readers = json["readers"].as_array().unwrap();
    assert_eq!(readers.len(), 2, "db and PgBouncer, no Supavisor: {json}");
    let pgb = readers
        .iter()
        .find(|r| r["uid"] == 70)
        .unwrap_or_else(|| panic!("no uid 70 reader: {json}"));
    assert_eq!(pgb["key"], "volumes/pgbouncer-tls/server.key", "{pgb}");
    assert_eq!(pgb["loads"], true, "{pgb}");
    let copy = dir.path().join("volumes/pgbouncer-tls");
    let main = dir.path().join("volumes/tls");
    for f in ["server.crt", "server.key"] {
        assert_eq!(
            std::fs::read(copy.join(f)).unwrap(),
            std::fs::read(main.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(main.join(".pgtls-adopted").exists());
    let meta = std::fs::metadata(copy.join("server.key")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.permissions().mode() & 0o777),
        (70, 70, 0o600)
    );
    for id in ["pooler-tls", "pooler-key"] {
        let (_, item) = check_item(dir.path(), &[], id);
        assert_eq!(item["verdict"], "pass", "{item}");
    }
}

use std::collections::BTreeMap;

use super::*;
use crate::error::Result;

fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load(list: &[(&str, &str)], opts: &LoadOptions) -> Result<Project> {
    Project::load(&files(list), opts)
}

const BASE: &str = "\
services:
  db:
    image: supabase/postgres:${PG_TAG:-17.6.1.136}
    command:
      [
        \"postgres\",
        \"-c\",
        \"ssl=on\"
      ]
    environment:
      POSTGRES_PORT: ${POSTGRES_PORT}
    volumes:
      - ./volumes/db/data:/var/lib/postgresql/data:Z
  supavisor:
    image: supabase/supavisor:2.7.4
    ports:
      - ${POOLER_PROXY_PORT_TRANSACTION}:6543
";

#[test]
fn default_files_and_override_merge() {
    let over = "services:\n  db:\n    command: postgres -c max_connections=200\n    environment:\n      - EXTRA=1\n";
    let p = load(
        &[
            ("docker-compose.yml", BASE),
            ("docker-compose.override.yml", over),
            (
                ".env",
                "POSTGRES_PORT=5432\nPOOLER_PROXY_PORT_TRANSACTION=6543\n",
            ),
        ],
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        p.files,
        ["docker-compose.yml", "docker-compose.override.yml"]
    );
    let db = p.service("db").unwrap();
    let cmd = db.command.as_ref().unwrap();
    assert_eq!(cmd.value, ["postgres", "-c", "max_connections=200"]);
    assert_eq!(cmd.origin.file, "docker-compose.override.yml");
    assert_eq!(cmd.origin.line, 3);
    assert_eq!(
        db.image.as_ref().unwrap().value,
        "supabase/postgres:17.6.1.136"
    );
    assert_eq!(
        db.env("POSTGRES_PORT").unwrap().value.as_deref(),
        Some("5432")
    );
    assert_eq!(db.env("POSTGRES_PORT").unwrap().origin.line, 11);
    assert_eq!(
        db.environment_as_written["POSTGRES_PORT"].as_deref(),
        Some("${POSTGRES_PORT}")
    );
    assert_eq!(
        db.env("EXTRA").unwrap().origin.file,
        "docker-compose.override.yml"
    );
    assert_eq!(db.env("EXTRA").unwrap().origin.line, 5);
    let pooler = p.service("supavisor").unwrap();
    assert_eq!(pooler.ports[0].value.published.as_deref(), Some("6543"));
    assert_eq!(pooler.ports[0].origin.line, 17);
}

#[test]
fn compose_file_in_dotenv_skips_the_override_and_resets_a_service() {
    let pgb = "services:\n  supavisor: !reset null\n  pgbouncer:\n    image: edoburu/pgbouncer:v1.25.2-p0\n";
    let p = load(
        &[
            ("docker-compose.yml", BASE),
            (
                "docker-compose.override.yml",
                "services:\n  db:\n    command: x\n",
            ),
            ("docker-compose.pgbouncer.yml", pgb),
            (
                ".env",
                "COMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml\n",
            ),
        ],
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.selected_by, "COMPOSE_FILE (.env)");
    assert!(p.service("supavisor").is_none());
    let r = p.removal("supavisor").unwrap();
    assert_eq!(
        (r.origin.file.as_str(), r.origin.line),
        ("docker-compose.pgbouncer.yml", 2)
    );
    assert!(p.service("pgbouncer").unwrap().active);
    assert_eq!(
        p.service("db").unwrap().command.as_ref().unwrap().value[2],
        "ssl=on"
    );
    assert!(!p.warnings.is_empty(), "unset variables are reported");
}

#[test]
fn environment_wins_over_dotenv_and_separator() {
    let mut opts = LoadOptions::default();
    opts.env.insert("COMPOSE_FILE".into(), "a.yml;b.yml".into());
    opts.env.insert("COMPOSE_PATH_SEPARATOR".into(), ";".into());
    let p = load(
        &[
            ("a.yml", "services:\n  s:\n    image: a\n"),
            ("b.yml", "services:\n  s:\n    image: b\n"),
            (".env", "COMPOSE_FILE=a.yml\n"),
        ],
        &opts,
    )
    .unwrap();
    assert_eq!(p.service("s").unwrap().image.as_ref().unwrap().value, "b");
}

#[test]
fn errors_name_file_and_line() {
    let e = load(
        &[
            ("docker-compose.yml", "services:\n  s:\n    image: a\n"),
            (".env", "X=1\nCOMPOSE_FILE=docker-compose.yml:missing.yml\n"),
        ],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "\".env\" line 2: \"missing.yml\" does not exist"
    );
    let e = load(
        &[(
            "docker-compose.yml",
            "services:\n  s:\n    image: a\n    command: !bogus x\n",
        )],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("\"docker-compose.yml\" line 4: unknown tag !bogus"),
        "{e}"
    );
    let e = load(
        &[(
            "docker-compose.yml",
            "services:\n  s:\n    image: ${NEED:?set NEED}\n",
        )],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("line 3") && e.to_string().contains("set NEED"),
        "{e}"
    );
    let e = load(
        &[
            ("docker-compose.yml", "include:\n  - b.yml\nservices: {}\n"),
            ("b.yml", "include:\n  - docker-compose.yml\n"),
        ],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("include cycle"), "{e}");
    let e = load(
        &[(
            "docker-compose.yml",
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
        )],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("extends cycle") && e.to_string().contains("line"),
        "{e}"
    );
    let e = load(
        &[("docker-compose.yml", "services:\n  a: [\n")],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("\"docker-compose.yml\" line"),
        "{e}"
    );
}

#[test]
fn profiles_include_extends_reset_override() {
    let main = "include:\n  - sub/inc.yml\nservices:\n  db:\n    extends:\n      file: common.yml\n      service: pg\n    environment:\n      - B=2\n    profiles: [extra]\n";
    let inc = "services:\n  other:\n    image: o\n    volumes:\n      - ./data:/data\n";
    let common =
        "services:\n  pg:\n    image: pg\n    command: [postgres]\n    environment:\n      A: 1\n";
    let over =
        "services:\n  db:\n    command: !reset null\n    environment: !override\n      C: 3\n";
    let list = [
        ("compose.yaml", main),
        ("sub/inc.yml", inc),
        ("common.yml", common),
        ("compose.override.yaml", over),
    ];
    let p = load(&list, &LoadOptions::default()).unwrap();
    let db = p.service("db").unwrap();
    assert!(!db.active);
    assert!(db.command.is_none());
    assert_eq!(db.image.as_ref().unwrap().origin.file, "common.yml");
    assert_eq!(db.environment.len(), 1);
    assert_eq!(db.env("C").unwrap().value.as_deref(), Some("3"));
    let other = p.service("other").unwrap();
    assert_eq!(other.volumes[0].value.source.as_deref(), Some("./sub/data"));
    assert_eq!(other.volumes[0].origin.file, "sub/inc.yml");
    let mut opts = LoadOptions::default();
    opts.env.insert("COMPOSE_PROFILES".into(), "extra".into());
    assert!(load(&list, &opts).unwrap().service("db").unwrap().active);
}

//! The merged model against Compose v2 (`docker compose config`), on the bundled upstream-shaped
//! example with upstream-shaped override files, and on generated override stacks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use compose_patch::{LoadOptions, Project};
use proptest::prelude::*;

use crate::oracle::{both, require_compose_v2};

fn example(name: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/supabase/");
    std::fs::read_to_string(format!("{root}{name}")).unwrap()
}

fn fixture(name: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/project/");
    std::fs::read_to_string(format!("{root}{name}")).unwrap()
}

/// The example folder plus `extra` files; `.env` is the example's `.env.example` plus `env_extra`.
fn folder(extra: &[(&str, String)], env_extra: &str) -> Vec<(String, String)> {
    let mut v = vec![
        (
            "docker-compose.yml".to_owned(),
            example("docker-compose.yml"),
        ),
        (
            ".env".to_owned(),
            format!("{}{env_extra}", example(".env.example")),
        ),
    ];
    v.extend(extra.iter().map(|(k, t)| ((*k).to_owned(), t.clone())));
    v
}

fn judge(files: &[(String, String)], f: &[&str], env: &[(&str, &str)]) -> Project {
    require_compose_v2();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (ours, theirs) = both(&refs, f, env);
    let theirs = theirs.unwrap_or_else(|e| panic!("docker compose config failed: {e}"));
    assert_eq!(
        ours.unwrap(),
        theirs,
        "our merge differs from docker compose config"
    );
    let map: BTreeMap<String, String> = files.iter().cloned().collect();
    Project::load(
        &map,
        &LoadOptions {
            files: f.iter().map(|s| (*s).to_owned()).collect(),
            env: env
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            profiles: Vec::new(),
        },
    )
    .unwrap()
}

/// Files of a fixed case: (name, text).
type Files<'a> = &'a [(&'a str, &'a str)];

/// Found by the generated stacks in CI: an override naming a service with nothing under it.
/// Compose merges each file onto the services read so far and validates the result: an empty
/// service is fine on top of an existing one and refused ("services.NAME must be a mapping")
/// when nothing before defines it: after a `!reset`, as a new service, or in the first file.
#[test]
fn an_empty_service_is_judged_like_compose() {
    require_compose_v2();
    let base = "services:\n  db:\n    image: base\n  pooler:\n    image: base\n";
    let cases: [(Files, bool, &str); 4] = [
        (
            &[
                ("docker-compose.yml", base),
                ("o1.yml", "services:\n  pooler:\n"),
            ],
            true,
            "",
        ),
        (
            &[
                ("docker-compose.yml", base),
                ("o0.yml", "services:\n  pooler: !reset null\n"),
                ("o1.yml", "services:\n  pooler:\n"),
            ],
            false,
            "\"o1.yml\" line 2",
        ),
        (
            &[
                ("docker-compose.yml", base),
                ("o1.yml", "services:\n  extra:\n"),
            ],
            false,
            "\"o1.yml\" line 2",
        ),
        (
            &[
                (
                    "docker-compose.yml",
                    "services:\n  db:\n    image: base\n  pooler:\n",
                ),
                ("o1.yml", "services:\n  pooler:\n    image: x\n"),
            ],
            false,
            "\"docker-compose.yml\" line 4",
        ),
    ];
    for (files, accepted, place) in cases {
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        let (ours, theirs) = both(files, &names, &[]);
        if accepted {
            assert_eq!(
                ours.expect("we refused"),
                theirs.expect("compose refused"),
                "{files:?}"
            );
        } else {
            let theirs = theirs.expect_err("compose accepted");
            assert!(theirs.contains("must be a mapping"), "{theirs}");
            let ours = ours.expect_err("we accepted");
            assert!(
                ours.contains(place) && ours.contains("must be a mapping"),
                "{files:?}: {ours}"
            );
        }
    }
}

#[test]
fn an_override_that_sets_the_db_command_wins() {
    let files = folder(
        &[(
            "docker-compose.override.yml",
            fixture("override-command.yml"),
        )],
        "",
    );
    let p = judge(&files, &[], &[]);
    let cmd = p.service("db").unwrap().command.as_ref().unwrap();
    assert_eq!(cmd.origin.file, "docker-compose.override.yml");
    assert_eq!(cmd.origin.line, 5);
    assert!(cmd.value.contains(&"max_connections=300".to_owned()));
}

#[test]
fn an_override_adding_volumes_and_env_is_merged() {
    let files = folder(
        &[(
            "docker-compose.override.yml",
            fixture("override-volumes-env.yml"),
        )],
        "",
    );
    let p = judge(&files, &[], &[]);
    let db = p.service("db").unwrap();
    assert_eq!(
        db.env("PGTZ").unwrap().origin.file,
        "docker-compose.override.yml"
    );
    assert_eq!(
        db.env("POSTGRES_PORT").unwrap().value.as_deref(),
        Some("5433")
    );
    let data = db.volume("/var/lib/postgresql/data").unwrap();
    assert_eq!(data.value.source.as_deref(), Some("./volumes/db/data2"));
    assert_eq!(data.origin.line, 10);
    assert!(db.volume("/etc/postgresql-custom/extra.conf").is_some());
    assert_eq!(p.service("supavisor").unwrap().ports.len(), 3);
}

#[test]
fn pgbouncer_and_pg15_chosen_in_dotenv_and_with_f() {
    let extra = [
        (
            "docker-compose.pgbouncer.yml",
            fixture("docker-compose.pgbouncer.yml"),
        ),
        (
            "docker-compose.pg15.yml",
            fixture("docker-compose.pg15.yml"),
        ),
        ("docker-compose.s3.yml", fixture("docker-compose.s3.yml")),
        // not read: COMPOSE_FILE / -f is set
        (
            "docker-compose.override.yml",
            fixture("override-command.yml"),
        ),
    ];
    let files = folder(
        &extra,
        "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml:docker-compose.pg15.yml\n",
    );
    let p = judge(&files, &[], &[]);
    assert_eq!(p.selected_by, "COMPOSE_FILE (.env)");
    assert!(p.service("supavisor").is_none());
    assert_eq!(p.removal("supavisor").unwrap().origin.line, 4);
    assert!(p.service("pgbouncer").unwrap().active);
    let db = p.service("db").unwrap();
    assert_eq!(
        db.image.as_ref().unwrap().value,
        "supabase/postgres:15.8.1.085"
    );
    assert_eq!(
        db.command.as_ref().unwrap().origin.file,
        "docker-compose.yml"
    );

    let files = folder(&extra, "");
    let p = judge(
        &files,
        &[
            "docker-compose.yml",
            "docker-compose.pgbouncer.yml",
            "docker-compose.pg15.yml",
        ],
        &[],
    );
    assert_eq!(p.selected_by, "-f");
    assert!(p.service("supavisor").is_none());
    assert_eq!(
        p.service("db")
            .unwrap()
            .command
            .as_ref()
            .unwrap()
            .origin
            .file,
        "docker-compose.yml"
    );
    // the environment's COMPOSE_FILE wins over .env's
    let files = folder(
        &extra,
        "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml\n",
    );
    let p = judge(
        &files,
        &[],
        &[("COMPOSE_FILE", "docker-compose.yml:docker-compose.s3.yml")],
    );
    assert_eq!(p.selected_by, "COMPOSE_FILE (environment)");
    assert!(p.service("supavisor").is_some());
    assert!(p.service("minio").is_some());
}

#[test]
fn profiles_and_include() {
    let s3 = fixture("docker-compose.s3.yml").replace(
        "    image: cgr.dev/chainguard/minio\n",
        "    image: cgr.dev/chainguard/minio\n    profiles: [storage]\n",
    );
    let main = format!(
        "include:\n  - s3/compose.s3.yml\n{}",
        example("docker-compose.yml").replace("name: supabase\n", "")
    );
    let files = vec![
        ("compose.yaml".to_owned(), main),
        ("s3/compose.s3.yml".to_owned(), s3),
        (".env".to_owned(), example(".env.example")),
    ];
    let p = judge(&files, &[], &[]);
    let minio = p.service("minio").unwrap();
    assert!(!minio.active);
    let p = judge(&files, &[], &[("COMPOSE_PROFILES", "storage")]);
    let minio = p.service("minio").unwrap();
    assert!(minio.active);
    assert_eq!(
        minio.volumes[0].value.source.as_deref(),
        Some("./s3/volumes/storage")
    );
    assert_eq!(minio.volumes[0].origin.file, "s3/compose.s3.yml");
}

// ---- generated override stacks ----

const TARGETS: [&str; 4] = ["/var/lib/postgresql/data", "/etc/tls", "/etc/hba", "/x/y"];
const PORTS: [&str; 4] = [
    "5432:5432",
    "127.0.0.1:6543:6543",
    "5433:5432",
    "6543:6543/tcp",
];
const ENV: [&str; 4] = ["POSTGRES_PORT", "PGTZ", "A_B", "SSL"];

#[derive(Debug, Clone)]
enum Tagged {
    Plain,
    Reset,
    Override,
}

fn tag() -> impl Strategy<Value = Tagged> {
    prop_oneof![6 => Just(Tagged::Plain), 1 => Just(Tagged::Reset), 1 => Just(Tagged::Override)]
}

fn tag_text(t: &Tagged) -> &'static str {
    match t {
        Tagged::Plain => "",
        Tagged::Reset => " !reset",
        Tagged::Override => " !override",
    }
}

/// (tag, map form, (variable index, value))
type GenEnv = (Tagged, bool, Vec<(usize, String)>);
/// (tag, (target index, source index, read-only))
type GenVolumes = (Tagged, Vec<(usize, usize, bool)>);

#[derive(Debug, Clone)]
struct Svc {
    image: Option<String>,
    command: Option<(bool, Vec<String>, bool)>,
    entrypoint: Option<Vec<String>>,
    env: Option<GenEnv>,
    volumes: Option<GenVolumes>,
    ports: Option<(Tagged, Vec<usize>)>,
    profiles: Option<Vec<String>>,
}

fn svc() -> impl Strategy<Value = Svc> {
    let word = "[a-z][a-z0-9=_.]{0,6}";
    (
        proptest::option::of("img[a-z]{0,3}(:[0-9]{1,2})?"),
        proptest::option::of((
            any::<bool>(),
            prop::collection::vec(word, 1..4),
            prop::bool::weighted(0.15),
        )),
        proptest::option::of(prop::collection::vec(word, 1..3)),
        proptest::option::of((
            tag(),
            any::<bool>(),
            prop::collection::vec((0..ENV.len(), "[a-z0-9]{0,4}|\\$\\{V:-d\\}|\\$\\$x"), 0..4),
        )),
        proptest::option::of((
            tag(),
            prop::collection::vec((0..TARGETS.len(), 0..3usize, any::<bool>()), 0..3),
        )),
        proptest::option::of((tag(), prop::collection::vec(0..PORTS.len(), 0..3))),
        proptest::option::of(prop::collection::vec(
            prop_oneof![Just("p1".to_owned()), Just("p2".to_owned())],
            1..2,
        )),
    )
        .prop_map(
            |(image, command, entrypoint, env, volumes, ports, profiles)| Svc {
                image,
                command,
                entrypoint,
                env,
                volumes,
                ports,
                profiles,
            },
        )
}

fn render(name: &str, s: &Svc, base: bool) -> String {
    let mut t = format!("  {name}:\n");
    if let Some(i) = &s.image {
        let _ = writeln!(t, "    image: {i}");
    } else if base {
        t.push_str("    image: base\n");
    }
    if let Some((flow, args, reset)) = &s.command {
        if *reset {
            t.push_str("    command: !reset null\n");
        } else if *flow {
            let _ = writeln!(
                t,
                "    command: [{}]",
                args.iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        } else {
            let _ = writeln!(t, "    command: {}", args.join(" "));
        }
    }
    if let Some(e) = &s.entrypoint {
        t.push_str("    entrypoint:\n");
        for a in e {
            let _ = writeln!(t, "      - \"{a}\"");
        }
    }
    if let Some((tg, as_map, vars)) = &s.env {
        if matches!(tg, Tagged::Reset) {
            t.push_str("    environment: !reset {}\n");
        } else if vars.is_empty() {
        } else {
            let _ = writeln!(t, "    environment:{}", tag_text(tg));
            let mut seen = Vec::new();
            for (k, v) in vars {
                if seen.contains(k) {
                    continue;
                }
                seen.push(*k);
                if *as_map {
                    let _ = writeln!(t, "      {}: \"{v}\"", ENV[*k]);
                } else {
                    let _ = writeln!(t, "      - {}={v}", ENV[*k]);
                }
            }
        }
    }
    if let Some((tg, vols)) = &s.volumes {
        if matches!(tg, Tagged::Reset) {
            t.push_str("    volumes: !reset []\n");
        } else if !vols.is_empty() {
            let _ = writeln!(t, "    volumes:{}", tag_text(tg));
            let mut seen = Vec::new();
            for (target, src, ro) in vols {
                if seen.contains(target) {
                    continue;
                }
                seen.push(*target);
                let _ = writeln!(
                    t,
                    "      - ./d{src}:{}{}",
                    TARGETS[*target],
                    if *ro { ":ro" } else { "" }
                );
            }
        }
    }
    if let Some((tg, ports)) = &s.ports {
        if matches!(tg, Tagged::Reset) {
            t.push_str("    ports: !reset []\n");
        } else if !ports.is_empty() {
            let _ = writeln!(t, "    ports:{}", tag_text(tg));
            for p in ports {
                let _ = writeln!(t, "      - \"{}\"", PORTS[*p]);
            }
        }
    }
    if let Some(p) = &s.profiles {
        let _ = writeln!(t, "    profiles: [{}]", p.join(", "));
    }
    t
}

#[derive(Debug, Clone)]
struct Stack {
    base: (Svc, Svc),
    overrides: Vec<(Option<Svc>, Option<Svc>, bool)>,
    profiles: Option<String>,
}

fn stack() -> impl Strategy<Value = Stack> {
    (
        (svc(), svc()),
        prop::collection::vec(
            (
                proptest::option::of(svc()),
                proptest::option::of(svc()),
                prop::bool::weighted(0.15),
            ),
            1..3,
        ),
        proptest::option::of(prop_oneof![
            Just("p1".to_owned()),
            Just("p1,p2".to_owned()),
            Just("*".to_owned())
        ]),
    )
        .prop_map(|(base, overrides, profiles)| Stack {
            base,
            overrides,
            profiles,
        })
}

fn stack_files(s: &Stack) -> (Vec<(String, String)>, Vec<String>) {
    let mut files = vec![(
        "docker-compose.yml".to_owned(),
        format!(
            "services:\n{}{}",
            render("db", &s.base.0, true),
            render("pooler", &s.base.1, true)
        ),
    )];
    let mut names = vec!["docker-compose.yml".to_owned()];
    for (i, (db, pooler, reset_pooler)) in s.overrides.iter().enumerate() {
        let mut t = "services:\n".to_owned();
        if let Some(db) = db {
            t.push_str(&render("db", db, false));
        }
        if *reset_pooler {
            t.push_str("  pooler: !reset null\n");
        } else if let Some(p) = pooler {
            t.push_str(&render("pooler", p, false));
        }
        if t == "services:\n" {
            "services: {}\n".clone_into(&mut t);
        }
        let name = format!("o{i}.yml");
        files.push((name.clone(), t));
        names.push(name);
    }
    (files, names)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// On generated stacks, our merge equals `docker compose config` on the keys pgtls reads
    /// and writes, or both refuse the stack.
    #[test]
    fn merge_equals_docker_compose_config(s in stack()) {
        require_compose_v2();
        let (files, names) = stack_files(&s);
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let f: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut env = vec![("V", "val")];
        if let Some(p) = &s.profiles {
            env.push(("COMPOSE_PROFILES", p.as_str()));
        }
        let (ours, theirs) = both(&refs, &f, &env);
        match theirs {
            Ok(theirs) => prop_assert_eq!(ours.map_err(|e| TestCaseError::fail(format!("we refused: {e}\nfiles: {files:#?}")))?, theirs, "files: {:#?}", files),
            Err(e) if e.contains("must be a mapping") => {
                // An empty service (`pooler:` with nothing under it): Compose's schema refuses
                // the file, and so must we, naming the same service.
                let ours = ours.err().unwrap_or_else(|| panic!("compose refused ({e}) but we accepted\nfiles: {files:#?}"));
                prop_assert!(ours.contains("must be a mapping"), "compose: {e}\nours: {ours}");
            }
            Err(e) => {
                // Compose refuses some generated stacks (e.g. a service left without image):
                // only acceptable for those reasons.
                prop_assert!(e.contains("neither an image nor a build context") || e.contains("depends on undefined"), "compose refused: {e}\nfiles: {files:#?}");
            }
        }
    }
}

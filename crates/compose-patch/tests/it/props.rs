//! Random edits on random valid compose documents: the result is valid YAML, keeps
//! every comment, and re-applying the edits changes nothing.
#![allow(clippy::format_push_string, reason = "building test documents")]

use compose_patch::{ComposeFile, Edit, Error, Selinux, VolumeMount};
use std::fmt::Write as _;

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Cmd {
    FlowLines {
        trailing_comment: bool,
        trailing_comma: bool,
    },
    FlowInline,
    Block {
        quote: u8,
    },
    Plain,
    Absent,
}

#[derive(Debug, Clone)]
struct Svc {
    container: bool,
    cmd: Cmd,
    env_list: Option<bool>,
    env_keys: Vec<(usize, u8)>,
    volumes: Vec<(usize, u8)>,
    long_volume: Option<bool>,
    ports: Option<bool>,
    comments: Vec<bool>,
}

const NAMES: [&str; 3] = ["db", "supavisor", "kong"];
const ENV_KEYS: [&str; 4] = [
    "PGPORT",
    "POOLER_TENANT_ID",
    "GLOBAL_DOWNSTREAM_CERT_PATH",
    "REGION",
];
const ENV_VALUES: [&str; 5] = ["5432", "${POSTGRES_PORT:-5432}", "true", "local", "a b: c"];
const TARGETS: [&str; 3] = [
    "/var/lib/postgresql/data",
    "/etc/pooler/pooler.exs",
    "/etc/ssl/server.crt",
];

fn svc_strategy() -> impl Strategy<Value = Svc> {
    (
        any::<bool>(),
        prop_oneof![
            (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Cmd::FlowLines {
                trailing_comment: a,
                trailing_comma: b
            }),
            Just(Cmd::FlowInline),
            (0u8..3).prop_map(|q| Cmd::Block { quote: q }),
            Just(Cmd::Plain),
            Just(Cmd::Absent),
        ],
        proptest::option::of(any::<bool>()),
        proptest::collection::vec((0..ENV_KEYS.len(), 0u8..15), 1..4),
        proptest::collection::vec((0..TARGETS.len(), 0u8..9), 0..3),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(any::<bool>(), 8),
    )
        .prop_map(
            |(container, cmd, env_list, env_keys, volumes, long_volume, ports, comments)| Svc {
                container,
                cmd,
                env_list,
                env_keys,
                volumes,
                long_volume,
                ports,
                comments,
            },
        )
}

fn quote(s: &str, q: u8) -> String {
    match q % 3 {
        0 => s.to_owned(),
        1 => format!("'{}'", s.replace('\'', "''")),
        _ => format!("\"{s}\""),
    }
}

/// Render services; comments carry unique markers `note-N`.
fn render(svcs: &[Svc]) -> String {
    let n = std::cell::Cell::new(0);
    let note = |out: &mut String, indent: &str, on: bool| {
        if on {
            n.set(n.get() + 1);
            let _ = writeln!(out, "{indent}# note-{} about this", n.get());
        }
    };
    let mut out = String::from("# note-0 header\nservices:\n");
    for (si, s) in svcs.iter().enumerate() {
        let name = NAMES[si % NAMES.len()];
        note(&mut out, "  ", s.comments[0]);
        let _ = writeln!(out, "  {name}:");
        if s.container {
            let _ = writeln!(out, "    container_name: supabase-{name}-{si}");
        }
        out.push_str("    image: supabase/postgres:15.8.1.060\n");
        note(&mut out, "    ", s.comments[1]);
        match &s.cmd {
            Cmd::FlowLines {
                trailing_comment,
                trailing_comma,
            } => {
                out.push_str("    command:\n      [\n        \"postgres\",\n        \"-c\",\n");
                note(&mut out, "        ", s.comments[2]);
                out.push_str("        \"log_min_messages=fatal\"");
                if *trailing_comma {
                    out.push(',');
                }
                if *trailing_comment {
                    n.set(n.get() + 1);
                    let _ = write!(out, " # note-{} inside", n.get());
                }
                out.push_str("\n      ]\n");
            }
            Cmd::FlowInline => {
                out.push_str("    command: [\"postgres\", \"-c\", \"ssl=off\"] # note-x inline\n");
            }
            Cmd::Block { quote: q } => {
                out.push_str(&format!(
                    "    command:\n      - postgres\n      - {}\n      - {}\n",
                    quote("-c", *q),
                    quote("config_file=/etc/postgresql/postgresql.conf", q + 1)
                ));
                note(&mut out, "      ", s.comments[2]);
            }
            Cmd::Plain => out.push_str("    command: postgres -c log_min_messages=fatal\n"),
            Cmd::Absent => {}
        }
        if let Some(list) = s.env_list {
            out.push_str("    environment:\n");
            let mut seen = Vec::new();
            for (k, v) in &s.env_keys {
                let key = ENV_KEYS[*k];
                if !list && seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let value = ENV_VALUES[usize::from(*v) % ENV_VALUES.len()];
                if list {
                    let item = format!("{key}={value}");
                    let q = if value.contains(": ") { 1 + v % 2 } else { *v };
                    let _ = writeln!(out, "      - {}", quote(&item, q));
                } else {
                    let q = if value.contains(": ") || value == "true" || value == "5432" {
                        1 + v % 2
                    } else {
                        *v
                    };
                    let _ = writeln!(out, "      {key}: {}", quote(value, q));
                }
                note(&mut out, "      ", s.comments[3] && *v % 2 == 0);
            }
        }
        if !s.volumes.is_empty() || s.long_volume.is_some() {
            out.push_str("    volumes:\n");
            for (t, opt) in &s.volumes {
                let mode = ["", ":ro", ":Z", ":ro,z", ":z"][usize::from(*opt) % 5];
                let item = format!("./volumes/x{t}:{}{mode}", TARGETS[*t]);
                let _ = writeln!(out, "      - {}", quote(&item, *opt));
                note(&mut out, "      ", s.comments[4]);
            }
            if let Some(dash_alone) = s.long_volume {
                if dash_alone {
                    out.push_str("      -\n        type: bind\n");
                } else {
                    out.push_str("      - type: bind\n");
                }
                out.push_str(
                    "        source: ./volumes/pooler/pooler.exs\n        target: /etc/pooler/pooler.exs\n        content: |\n          params = %{\n            \"external_id\" => System.get_env(\"POOLER_TENANT_ID\")\n          }\n\n          # not a yaml comment\n",
                );
                note(&mut out, "      ", s.comments[5]);
            }
        }
        match s.ports {
            Some(true) => {
                out.push_str("    ports:\n      - ${POSTGRES_PORT}:5432\n      - \"6543:6543\"\n");
            }
            Some(false) => out.push_str("    ports: [\"5432:5432\"]\n"),
            None => {}
        }
        note(&mut out, "    ", s.comments[6]);
        out.push('\n');
    }
    out.push_str("volumes:\n  db-config:\n");
    out
}

fn edit_strategy() -> impl Strategy<Value = (usize, u8, u8, u8)> {
    (0usize..3, 0u8..5, 0u8..16, 0u8..16)
}

fn make_edit(service: &str, (_, kind, a, b): (usize, u8, u8, u8)) -> Edit {
    let names = [
        "ssl",
        "log_min_messages",
        "ssl_cert_file",
        "max_connections",
    ];
    let values = [
        "on",
        "warning",
        "/etc/ssl/server.crt",
        "100",
        "a b",
        "x'y",
        "#x",
    ];
    match kind {
        0 => Edit::CommandSettings {
            service: service.into(),
            settings: vec![
                (
                    names[usize::from(a) % 4].into(),
                    values[usize::from(b) % 7].into(),
                ),
                (
                    names[usize::from(b) % 4].into(),
                    values[usize::from(a) % 7].into(),
                ),
            ],
        },
        1 => {
            let mut m = VolumeMount::new(format!("./v/{a}"), TARGETS[usize::from(a) % 3]);
            if b % 2 == 0 {
                m = m.read_only();
            }
            if b % 3 == 0 {
                m = m.with_selinux(Selinux::Shared);
            }
            Edit::Volume {
                service: service.into(),
                mount: m,
            }
        }
        2 => Edit::Env {
            service: service.into(),
            key: ENV_KEYS[usize::from(a) % 4].into(),
            value: ["on", "x: y", "${A:-b}", "4000", "it's", "#c"][usize::from(b) % 6].into(),
        },
        3 => Edit::Port {
            service: service.into(),
            mapping: ["5432:5432", "127.0.0.1:6543:6543", "${P}:5432", "6543"][usize::from(a) % 4]
                .into(),
        },
        _ => Edit::InlineContent {
            service: service.into(),
            target: "/etc/pooler/pooler.exs".into(),
            content: [
                "x\n",
                "  indented\nnext\n",
                "no newline",
                "a\n\n",
                "# hash\n\ttab\n",
            ][usize::from(b) % 5]
                .into(),
        },
    }
}

fn markers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .match_indices("# note-")
        .map(|(i, _)| text[i..].split_whitespace().nth(1).unwrap_or("").to_owned())
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_keep_yaml_valid_and_comments(
        svcs in proptest::collection::vec(svc_strategy(), 1..4),
        edits in proptest::collection::vec(edit_strategy(), 1..6),
        crlf in any::<bool>(),
    ) {
        let text = if crlf { render(&svcs).replace('\n', "\r\n") } else { render(&svcs) };
        let before: yaml_serde::Value = yaml_serde::from_str(&text).expect("generator writes valid yaml");
        let mut file = ComposeFile::parse(&text).unwrap();
        let mut applied = Vec::new();
        for e in &edits {
            let service = NAMES[e.0 % svcs.len()];
            let edit = make_edit(service, *e);
            match file.apply(&edit) {
                Ok(_) => applied.push(edit),
                Err(err @ Error::Verification { .. }) => {
                    prop_assert!(false, "verification failure: {err}\n--- input\n{text}\n--- edit {edit:?}");
                }
                Err(_) => {
                    // Refused: the text must be unchanged by this edit.
                    prop_assert!(yaml_serde::from_str::<yaml_serde::Value>(file.text()).is_ok());
                }
            }
        }
        let out = file.text().to_owned();
        let after: Result<yaml_serde::Value, _> = yaml_serde::from_str(&out);
        prop_assert!(after.is_ok(), "invalid yaml:\n{out}");
        if applied.is_empty() {
            prop_assert_eq!(&out, &text);
            prop_assert_eq!(after.unwrap(), before);
        }
        prop_assert_eq!(markers(&text), markers(&out), "comments lost:\n{}", out);
        if crlf {
            // New lines use the file's line end (inline content may hold bare
            // line breaks only inside block scalars we rewrote).
            let lone = out.replace("\r\n", "").contains('\n');
            prop_assert!(!lone, "mixed line ends:\n{:?}", out);
        }
        // Idempotent: the same edits again leave the text as it is (edits that
        // contradict each other may flip a value and back, so compare the text).
        let mut again = ComposeFile::parse(&out).unwrap();
        again.apply_all(&applied).unwrap();
        prop_assert_eq!(again.text(), out.as_str(), "not idempotent");
        // The last edit on its own is always a no-op now.
        if let Some(last) = applied.last() {
            prop_assert!(!again.apply(last).unwrap().changed(), "not idempotent: {last:?}");
        }
    }
}

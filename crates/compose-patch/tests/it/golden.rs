use compose_patch::{ComposeFile, Edit, Selinux, VolumeMount};
use yaml_serde::Value;

use crate::support::{
    DB_SETTINGS, apply_all, comments, coolify_edits, enforce_ssl, fixture, golden, removed_lines,
    upstream_edits, view,
};

fn svc<'a>(v: &'a mut Value, name: &str) -> &'a mut yaml_serde::Mapping {
    v.get_mut("services")
        .and_then(|s| s.get_mut(name))
        .and_then(Value::as_mapping_mut)
        .unwrap()
}

fn push(m: &mut yaml_serde::Mapping, key: &str, items: &[&str]) {
    let seq = m.get_mut(key).and_then(Value::as_sequence_mut).unwrap();
    seq.extend(items.iter().map(|s| Value::String((*s).to_owned())));
}

fn db_args() -> Vec<&'static str> {
    DB_SETTINGS
        .iter()
        .flat_map(|(k, v)| ["-c", Box::leak(format!("{k}={v}").into_boxed_str()) as &str])
        .collect()
}

#[test]
fn upstream_hardening_matches_golden() {
    let input = fixture("valid/upstream.yml");
    let out = apply_all(&input, &upstream_edits());
    golden("upstream.hardened.yml", out.text());
}

#[test]
fn upstream_hardening_touches_only_the_last_command_line() {
    let input = fixture("valid/upstream.yml");
    let out = apply_all(&input, &upstream_edits());
    // Every other input line is still there, unchanged and in order; the one
    // changed line only gained the comma before its comment.
    assert_eq!(
        removed_lines(&input, out.text()),
        [
            "        \"log_min_messages=fatal\" # prevents Realtime polling queries from appearing in logs"
        ]
    );
    assert!(out.text().contains(
        "        \"log_min_messages=fatal\", # prevents Realtime polling queries from appearing in logs\n        \"-c\",\n"
    ));
    assert_eq!(comments(&input), comments(out.text()));
}

#[test]
fn upstream_typed_view_is_input_plus_exactly_the_edits() {
    let input = fixture("valid/upstream.yml");
    let out = apply_all(&input, &upstream_edits());
    let mut want = view(&input);
    let db = svc(&mut want, "db");
    push(db, "command", &db_args());
    push(
        db,
        "volumes",
        &["./volumes/db/tls:/etc/postgresql/tls:ro,Z"],
    );
    let pool = svc(&mut want, "supavisor");
    push(
        pool,
        "volumes",
        &["./volumes/pooler/tls:/etc/pooler/tls:ro,z"],
    );
    let env = pool
        .get_mut("environment")
        .and_then(Value::as_mapping_mut)
        .unwrap();
    env.insert(
        "GLOBAL_DOWNSTREAM_CERT_PATH".into(),
        "/etc/pooler/tls/server.crt".into(),
    );
    env.insert(
        "GLOBAL_DOWNSTREAM_KEY_PATH".into(),
        "/etc/pooler/tls/server.key".into(),
    );
    assert_eq!(view(out.text()), want);
}

#[test]
fn coolify_hardening_matches_golden_and_only_adds_lines() {
    let input = fixture("valid/coolify.yml");
    let file = ComposeFile::parse(&input).unwrap();
    let script = file
        .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    let out = apply_all(&input, &coolify_edits(&script));
    golden("coolify.hardened.yml", out.text());
    assert_eq!(removed_lines(&input, out.text()), Vec::<String>::new());
    assert_eq!(comments(&input), comments(out.text()));
}

#[test]
fn coolify_typed_view_is_input_plus_exactly_the_edits() {
    let input = fixture("valid/coolify.yml");
    let file = ComposeFile::parse(&input).unwrap();
    let script = file
        .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    let out = apply_all(&input, &coolify_edits(&script));
    let mut want = view(&input);
    let long = |source: &str, target: &str| {
        let mut m = yaml_serde::Mapping::new();
        m.insert("type".into(), "bind".into());
        m.insert("source".into(), source.into());
        m.insert("target".into(), target.into());
        m.insert("read_only".into(), Value::Bool(true));
        Value::Mapping(m)
    };
    let db = svc(&mut want, "supabase-db");
    push(db, "command", &db_args());
    db.get_mut("volumes")
        .and_then(Value::as_sequence_mut)
        .unwrap()
        .push(long("./volumes/db/tls", "/etc/postgresql/tls"));
    let pool = svc(&mut want, "supabase-supavisor");
    let vols = pool
        .get_mut("volumes")
        .and_then(Value::as_sequence_mut)
        .unwrap();
    vols[0]
        .as_mapping_mut()
        .unwrap()
        .insert("content".into(), enforce_ssl(&script).into());
    vols.push(long("./volumes/pooler/server.crt", "/etc/ssl/server.crt"));
    vols.push(long("./volumes/pooler/server.key", "/etc/ssl/server.key"));
    pool.insert(
        "ports".into(),
        Value::Sequence(vec!["5432:5432".into(), "6543:6543".into()]),
    );
    assert_eq!(view(out.text()), want);
    assert!(
        out.inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
            .unwrap()
            .unwrap()
            .contains("\"enforce_ssl\" => true,")
    );
}

#[test]
fn reapplying_is_a_no_op() {
    let up = fixture("valid/upstream.yml");
    let co = fixture("valid/coolify.yml");
    let script = ComposeFile::parse(&co)
        .unwrap()
        .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    for (input, edits) in [(up, upstream_edits()), (co, coolify_edits(&script))] {
        let once = apply_all(&input, &edits);
        let mut again = ComposeFile::parse(once.text()).unwrap();
        let changed = again.apply_all(&edits).unwrap();
        assert!(changed.iter().all(|c| !c.changed()), "{changed:?}");
        assert_eq!(again.text(), once.text());
    }
}

#[test]
fn crlf_and_missing_final_newline_twins() {
    let input = fixture("valid/upstream.yml");
    let want = apply_all(&input, &upstream_edits()).text().to_owned();
    let crlf = input.replace('\n', "\r\n");
    let out = apply_all(&crlf, &upstream_edits());
    assert_eq!(out.text(), want.replace('\n', "\r\n"));
    let trimmed = input.trim_end_matches('\n');
    let out = apply_all(trimmed, &upstream_edits());
    assert_eq!(out.text(), want.trim_end_matches('\n'));
}

#[test]
fn single_updates_change_one_line_each() {
    let input = fixture("valid/upstream.yml");
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Edit::CommandSettings {
                service: "db".into(),
                settings: crate::support::settings(&[("LOG_MIN_MESSAGES", "warning")]),
            },
            "        \"log_min_messages=fatal\" # prevents Realtime polling queries from appearing in logs",
            "        \"log_min_messages=warning\" # prevents Realtime polling queries from appearing in logs",
        ),
        (
            Edit::Volume {
                service: "db".into(),
                mount: VolumeMount::new("/srv/pgdata", "/var/lib/postgresql/data/"),
            },
            "      - ./volumes/db/data:/var/lib/postgresql/data:Z",
            "      - /srv/pgdata:/var/lib/postgresql/data:Z",
        ),
        (
            Edit::Volume {
                service: "supavisor".into(),
                mount: VolumeMount::new("./volumes/pooler/pooler.exs", "/etc/pooler/pooler.exs")
                    .with_selinux(Selinux::Private),
            },
            "      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:ro,z",
            "      - ./volumes/pooler/pooler.exs:/etc/pooler/pooler.exs:Z",
        ),
        (
            Edit::Env {
                service: "supavisor".into(),
                key: "POOLER_POOL_MODE".into(),
                value: "session".into(),
            },
            "      POOLER_POOL_MODE: transaction",
            "      POOLER_POOL_MODE: session",
        ),
        (
            Edit::Env {
                service: "supavisor".into(),
                key: "CLUSTER_POSTGRES".into(),
                value: "false".into(),
            },
            "      CLUSTER_POSTGRES: true",
            "      CLUSTER_POSTGRES: \"false\"",
        ),
        (
            Edit::Port {
                service: "supavisor".into(),
                mapping: "127.0.0.1:5432:5432".into(),
            },
            "      - ${POSTGRES_PORT}:5432",
            "      - \"127.0.0.1:5432:5432\"",
        ),
    ];
    for (edit, old, new) in cases {
        let mut f = ComposeFile::parse(&input).unwrap();
        assert!(f.apply(&edit).unwrap().changed(), "{edit}");
        let removed = removed_lines(&input, f.text());
        assert_eq!(removed, [old], "{edit}");
        assert_eq!(
            f.text(),
            input.replacen(&format!("{old}\n"), &format!("{new}\n"), 1),
            "{edit}"
        );
        assert!(!f.apply(&edit).unwrap().changed(), "{edit} not idempotent");
    }
}

#[test]
fn env_value_equal_to_a_yaml_bool_is_unchanged() {
    let input = fixture("valid/upstream.yml");
    let mut f = ComposeFile::parse(&input).unwrap();
    assert!(
        !f.ensure_env("supavisor", "CLUSTER_POSTGRES", "true")
            .unwrap()
            .changed()
    );
    assert!(!f.ensure_env("supavisor", "PORT", "4000").unwrap().changed());
    assert_eq!(f.text(), input);
}

#[test]
fn coolify_list_env_and_block_command_updates_keep_style() {
    let input = fixture("valid/coolify.yml");
    let mut f = ComposeFile::parse(&input).unwrap();
    assert!(
        f.ensure_env(
            "supabase-supavisor",
            "POSTGRES_PORT",
            "${POSTGRES_PORT:-6432}",
        )
        .unwrap()
        .changed()
    );
    assert!(
        f.ensure_env("supabase-supavisor", "REGION", "eu central")
            .unwrap()
            .changed()
    );
    assert!(
        f.ensure_command_settings("supabase-db", &[("log_min_messages", "warning")])
            .unwrap()
            .changed()
    );
    let removed = removed_lines(&input, f.text());
    assert_eq!(
        removed,
        [
            "      - log_min_messages=fatal",
            "      - 'POSTGRES_PORT=${POSTGRES_PORT:-5432}'",
            "      - REGION=local",
        ]
    );
    assert!(
        f.text()
            .contains("      - 'POSTGRES_PORT=${POSTGRES_PORT:-6432}'\n")
    );
    assert!(f.text().contains("      - REGION=eu central\n"));
    assert!(f.text().contains("      - log_min_messages=warning\n"));
}

#[test]
fn override_files_match_golden() {
    let up = ComposeFile::parse(&fixture("valid/upstream.yml")).unwrap();
    let text = up.override_file(&upstream_edits()).unwrap().unwrap();
    golden("upstream.override.yml", &text);
    let v = view(&text);
    let cmd = v["services"]["db"]["command"].as_sequence().unwrap();
    assert_eq!(cmd.len(), 5 + 2 * DB_SETTINGS.len());
    assert_eq!(
        v["services"]["supavisor"]["environment"]["GLOBAL_DOWNSTREAM_KEY_PATH"],
        Value::from("/etc/pooler/tls/server.key")
    );
    // Nothing to override once the base already has the edits.
    let hardened = apply_all(up.text(), &upstream_edits());
    assert_eq!(hardened.override_file(&upstream_edits()).unwrap(), None);

    let co_text = fixture("valid/coolify.yml");
    let co = ComposeFile::parse(&co_text).unwrap();
    let script = co
        .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    let text = co.override_file(&coolify_edits(&script)).unwrap().unwrap();
    golden("coolify.override.yml", &text);
    let v = view(&text);
    // Env already set in the base: not repeated.
    assert!(
        v["services"]["supabase-supavisor"]
            .get("environment")
            .is_none()
    );
    // The base file is untouched by override mode.
    assert_eq!(co.text(), co_text);
}

#[test]
fn override_refuses_to_change_an_existing_port() {
    let up = ComposeFile::parse(&fixture("valid/upstream.yml")).unwrap();
    let err = up
        .override_file(&[Edit::Port {
            service: "supavisor".into(),
            mapping: "6432:5432".into(),
        }])
        .unwrap_err();
    assert!(err.to_string().contains("only add ports"), "{err}");
}

#[test]
fn reading_helpers_on_both_layouts() {
    let up = ComposeFile::parse(&fixture("valid/upstream.yml")).unwrap();
    assert_eq!(up.find_service("supabase-pooler").unwrap(), "supavisor");
    assert_eq!(up.find_service("db").unwrap(), "db");
    assert_eq!(
        up.container_name("db").unwrap().as_deref(),
        Some("supabase-db")
    );
    assert_eq!(
        up.image("db").unwrap().as_deref(),
        Some("supabase/postgres:15.8.1.060")
    );
    assert_eq!(
        up.command_settings("db").unwrap(),
        [
            (
                "config_file".to_owned(),
                "/etc/postgresql/postgresql.conf".to_owned()
            ),
            ("log_min_messages".to_owned(), "fatal".to_owned())
        ]
    );
    assert_eq!(up.command_setting("db", "ssl").unwrap(), None);
    assert_eq!(
        up.volume_source("db", "/var/lib/postgresql/data")
            .unwrap()
            .as_deref(),
        Some("./volumes/db/data")
    );
    assert_eq!(
        up.env("supavisor", "POOLER_TENANT_ID").unwrap().as_deref(),
        Some("${POOLER_TENANT_ID}")
    );
    assert_eq!(
        up.env("supavisor", "CLUSTER_POSTGRES").unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        up.ports("supavisor").unwrap(),
        [
            "${POSTGRES_PORT}:5432",
            "${POOLER_PROXY_PORT_TRANSACTION}:6543"
        ]
    );
    let services: Vec<String> = up.services().into_iter().map(|s| s.key).collect();
    assert_eq!(
        services,
        [
            "studio",
            "kong",
            "auth",
            "rest",
            "db",
            "vector",
            "supavisor"
        ]
    );
    let pool_vols = up.volumes("supavisor").unwrap();
    assert!(pool_vols[0].read_only && pool_vols[0].selinux == Some(Selinux::Shared));

    let co = ComposeFile::parse(&fixture("valid/coolify.yml")).unwrap();
    assert_eq!(co.container_name("supabase-db").unwrap(), None);
    assert_eq!(
        co.env("supabase-supavisor", "GLOBAL_DOWNSTREAM_CERT_PATH")
            .unwrap()
            .as_deref(),
        Some("/etc/ssl/server.crt")
    );
    assert_eq!(
        co.env("supabase-db", "PGPORT").unwrap().as_deref(),
        Some("${POSTGRES_PORT:-5432}")
    );
    assert_eq!(
        co.volume_source("supabase-db", "/var/lib/postgresql/data")
            .unwrap()
            .as_deref(),
        Some("supabase-db-data")
    );
    let script = co
        .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    assert!(script.starts_with("{:ok, _} = Application.ensure_all_started(:supavisor)\n"));
    assert!(script.contains("Supavisor.Tenants.update_tenant(tenant, params)"));
    assert!(
        co.volumes("supabase-db")
            .unwrap()
            .iter()
            .any(|v| v.long_syntax && v.has_content)
    );
    assert_eq!(
        co.ports("supabase-supavisor").unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn long_syntax_volume_and_port_updates() {
    let input = fixture("valid/coolify.yml");
    let mut f = ComposeFile::parse(&input).unwrap();
    let mount =
        VolumeMount::new("./volumes/pooler/pooler-tls.exs", "/etc/pooler/pooler.exs").read_only();
    assert!(
        f.ensure_volume("supabase-supavisor", mount.clone())
            .unwrap()
            .changed()
    );
    assert!(
        !f.ensure_volume("supabase-supavisor", mount)
            .unwrap()
            .changed()
    );
    assert_eq!(
        removed_lines(&input, f.text()),
        ["        source: ./volumes/pooler/pooler.exs"]
    );
    assert!(f.text().contains(
        "        source: ./volumes/pooler/pooler-tls.exs\n        target: /etc/pooler/pooler.exs\n        content: |\n"
    ));
    // `read_only: true` goes after the last key, behind the content block.
    assert!(f.text().contains("            {:ok, _} = Supavisor.Tenants.create_tenant(params)\n          end\n        read_only: true\n\n  supabase-vector:"));
    assert_eq!(
        f.inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
            .unwrap(),
        ComposeFile::parse(&input)
            .unwrap()
            .inline_content("supabase-supavisor", "/etc/pooler/pooler.exs")
            .unwrap()
    );

    let text = "services:\n  db:\n    ports:\n      - target: 5432\n        published: \"5432\" # host\n        protocol: tcp\n";
    let mut f = ComposeFile::parse(text).unwrap();
    assert!(!f.ensure_port("db", "5432:5432").unwrap().changed());
    assert!(f.ensure_port("db", "6432:5432").unwrap().changed());
    assert_eq!(f.text(), text.replace("\"5432\" # host", "\"6432\" # host"));
    assert!(f.ensure_port("db", "6543:6543/udp").unwrap().changed());
    assert!(
        f.text()
            .ends_with("        protocol: tcp\n      - \"6543:6543/udp\"\n")
    );
}

#[test]
fn flow_inline_commands_and_other_setting_forms() {
    let text =
        "services:\n  db:\n    command: [\"postgres\", \"--ssl=off\", \"-cport=5432\"] # inline\n";
    let mut f = ComposeFile::parse(text).unwrap();
    assert_eq!(
        f.command_settings("db").unwrap(),
        [
            ("ssl".to_owned(), "off".to_owned()),
            ("port".to_owned(), "5432".to_owned())
        ]
    );
    assert!(
        f.ensure_command_settings(
            "db",
            &[
                ("ssl", "on"),
                ("port", "6432"),
                ("ssl_min_protocol_version", "TLSv1.3")
            ]
        )
        .unwrap()
        .changed()
    );
    assert_eq!(
        f.text(),
        "services:\n  db:\n    command: [\"postgres\", \"--ssl=on\", \"-cport=6432\", \"-c\", \"ssl_min_protocol_version=TLSv1.3\"] # inline\n"
    );
    let mut e = ComposeFile::parse("services:\n  db:\n    command: []\n").unwrap();
    assert!(
        e.ensure_command_settings("db", &[("ssl", "on")])
            .unwrap()
            .changed()
    );
    assert_eq!(
        e.text(),
        "services:\n  db:\n    command: [\"-c\", \"ssl=on\"]\n"
    );
}

#[test]
fn new_keys_follow_the_file_style() {
    // A service without environment in a file that uses list-form environments.
    let mut f = ComposeFile::parse(
        "services:\n  a:\n    environment:\n      - 'X=1'\n  b:\n    image: y # img\n",
    )
    .unwrap();
    assert!(f.ensure_env("b", "A", "1").unwrap().changed());
    assert_eq!(
        f.text(),
        "services:\n  a:\n    environment:\n      - 'X=1'\n  b:\n    image: y # img\n    environment:\n      - A=1\n"
    );
    let mut g = ComposeFile::parse(
        "services:\n  db:\n    image: x\n  other:\n    environment:\n      B: c\n",
    )
    .unwrap();
    assert!(g.ensure_env("db", "PGPORT", "5432").unwrap().changed());
    assert!(
        g.ensure_volume("db", VolumeMount::new("./certs", "/certs").read_only())
            .unwrap()
            .changed()
    );
    assert_eq!(
        g.text(),
        "services:\n  db:\n    image: x\n    environment:\n      PGPORT: \"5432\"\n    volumes:\n      - ./certs:/certs:ro\n  other:\n    environment:\n      B: c\n"
    );
}

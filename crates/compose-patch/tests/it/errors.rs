use compose_patch::{ComposeFile, Edit, Error, VolumeMount};

use crate::support::fixture;

#[test]
fn service_not_found_lists_the_services() {
    let mut f = ComposeFile::parse(&fixture("valid/upstream.yml")).unwrap();
    let err = f.ensure_env("supabase-supavisor", "A", "b").unwrap_err();
    assert_eq!(
        err,
        Error::ServiceNotFound {
            name: "supabase-supavisor".into(),
            available: [
                "studio",
                "kong",
                "auth",
                "rest",
                "db",
                "vector",
                "supavisor"
            ]
            .map(String::from)
            .to_vec(),
        }
    );
    assert_eq!(
        err.to_string(),
        "service \"supabase-supavisor\" not found; services: studio, kong, auth, rest, db, vector, supavisor"
    );
}

#[test]
fn duplicate_keys_are_reported_with_their_line() {
    let err = ComposeFile::parse(&fixture("invalid/duplicate-key.yml")).unwrap_err();
    let Error::DuplicateKey { line, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, 5, "{message}");
    assert_eq!(err.line(), Some(5));
    assert!(message.contains("image"), "{message}");
}

#[test]
fn invalid_yaml_is_reported_with_its_line() {
    let err = ComposeFile::parse(&fixture("invalid/bad-indent.yml")).unwrap_err();
    let Error::InvalidYaml { line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!((4..=6).contains(line), "{err}");
    assert!(
        err.to_string().starts_with("invalid yaml at line "),
        "{err}"
    );
}

#[test]
fn a_file_without_services_is_not_compose() {
    let err = ComposeFile::parse(&fixture("invalid/no-services.yml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a compose file: there is no `services` key"
    );
    assert!(matches!(
        ComposeFile::parse(""),
        Err(Error::NotCompose { .. })
    ));
    assert!(matches!(
        ComposeFile::parse("a: 1\n---\nb: 2\n"),
        Err(Error::InvalidYaml { .. })
    ));
}

#[test]
fn edits_through_aliases_anchors_and_merge_keys_are_refused() {
    let text = fixture("valid/anchors.yml");
    let mut f = ComposeFile::parse(&text).unwrap();
    // The command is an alias of a list used elsewhere.
    let err = f
        .ensure_command_settings("db", &[("ssl", "on")])
        .unwrap_err();
    assert!(matches!(err, Error::Alias { line: 15, .. }), "{err:?}");
    // The environment would come from the `<<` merge.
    let err = f.ensure_env("db", "A", "b").unwrap_err();
    assert!(matches!(err, Error::Alias { line: 13, .. }), "{err:?}");
    // Anchored values are shared with other services.
    let err = f
        .ensure_command_settings("replica", &[("ssl", "on")])
        .unwrap_err();
    assert!(matches!(err, Error::Alias { line: 18, .. }), "{err:?}");
    let err = f.ensure_env("replica", "PGPORT", "5434").unwrap_err();
    assert!(matches!(err, Error::Alias { line: 19, .. }), "{err:?}");
    assert!(err.to_string().contains("anchor"), "{err}");
    // Other keys of those services can still be edited.
    assert!(f.ensure_port("db", "5432:5432").unwrap().changed());
    assert!(f.text().contains("x-postgres-command: &pg-command\n"));
    assert!(f.text().contains("    command: *pg-command\n"));
}

#[test]
fn shell_and_block_commands_are_unexpected_shapes() {
    let mut up = ComposeFile::parse(&fixture("valid/upstream.yml")).unwrap();
    let err = up
        .ensure_command_settings("supavisor", &[("ssl", "on")])
        .unwrap_err();
    let Error::UnexpectedShape { line, found, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, 279);
    assert_eq!(found, "a flow sequence");
    assert!(err.to_string().contains("runs `/bin/sh`"), "{err}");

    let mut f = ComposeFile::parse("services:\n  db:\n    command: |\n      postgres -c ssl=off\n")
        .unwrap();
    let err = f
        .ensure_command_settings("db", &[("ssl", "on")])
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedShape { line: 3, .. }),
        "{err:?}"
    );

    let mut f = ComposeFile::parse("services:\n  db:\n    image: postgres\n").unwrap();
    let err = f
        .ensure_command_settings("db", &[("ssl", "on")])
        .unwrap_err();
    assert_eq!(
        err,
        Error::NoCommand {
            service: "db".into(),
            line: 2
        }
    );
}

#[test]
fn bad_arguments_are_refused_and_the_text_kept() {
    let text = fixture("valid/upstream.yml");
    let mut f = ComposeFile::parse(&text).unwrap();
    let bad: Vec<Edit> = vec![
        Edit::CommandSettings {
            service: "db".into(),
            settings: vec![("ssl on".into(), "x".into())],
        },
        Edit::CommandSettings {
            service: "db".into(),
            settings: vec![("ssl".into(), "a\nb".into())],
        },
        Edit::Volume {
            service: "db".into(),
            mount: VolumeMount::new("./a", "relative/path"),
        },
        Edit::Volume {
            service: "db".into(),
            mount: VolumeMount::new("./a:b", "/x"),
        },
        Edit::Env {
            service: "db".into(),
            key: "A=B".into(),
            value: "x".into(),
        },
        Edit::Port {
            service: "db".into(),
            mapping: "1:2:3:4".into(),
        },
        Edit::InlineContent {
            service: "db".into(),
            target: "/nope".into(),
            content: "x".into(),
        },
    ];
    for e in &bad {
        let err = f.apply(e).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument { .. } | Error::Unsupported { .. }
            ),
            "{e}: {err:?}"
        );
    }
    // apply_all is all or nothing.
    let mut edits = crate::support::upstream_edits();
    edits.push(bad[0].clone());
    assert!(f.apply_all(&edits).is_err());
    assert_eq!(f.text(), text);
}

#[test]
fn string_commands_are_edited_as_shell_words() {
    let mut f = ComposeFile::parse(
        "services:\n  db:\n    command: postgres -c 'ssl=off' -c config_file=/etc/pg.conf # keep\n",
    )
    .unwrap();
    assert!(
        f.ensure_command_settings(
            "db",
            &[("ssl", "on"), ("ssl_ca_file", "/etc/ca dir/ca.crt")]
        )
        .unwrap()
        .changed()
    );
    assert_eq!(
        f.text(),
        "services:\n  db:\n    command: postgres -c ssl=on -c config_file=/etc/pg.conf -c 'ssl_ca_file=/etc/ca dir/ca.crt' # keep\n"
    );
    assert_eq!(
        f.command_setting("db", "ssl_ca_file").unwrap().as_deref(),
        Some("/etc/ca dir/ca.crt")
    );
    assert!(
        !f.ensure_command_settings("db", &[("ssl", "on")])
            .unwrap()
            .changed()
    );
}

#[test]
fn keep_chomped_content_keeps_its_trailing_blank_lines() {
    let text = "services:\n  db:\n    image: x\n    volumes:\n      - type: bind\n        source: ./p\n        target: /etc/pooler/pooler.exs\n        content: |\n          params\n\n          # c\n\nvolumes:\n  db-config:\n";
    let mut f = ComposeFile::parse(text).unwrap();
    assert!(
        f.set_inline_content("db", "/etc/pooler/pooler.exs", "a\n\n")
            .unwrap()
            .changed()
    );
    assert!(f.text().contains("        content: |+\n          a\n\n"));
    let mount = VolumeMount::new("./v/0", "/var/lib/postgresql/data").read_only();
    assert!(f.ensure_volume("db", mount).unwrap().changed());
    assert!(
        f.text()
            .contains("          a\n\n      - type: bind\n        source: ./v/0\n"),
        "{}",
        f.text()
    );
    assert_eq!(
        f.inline_content("db", "/etc/pooler/pooler.exs")
            .unwrap()
            .as_deref(),
        Some("a\n\n")
    );
}

#[test]
fn folded_content_is_read_by_its_meaning_and_not_rewritten() {
    let text = "services:\n  pooler:\n    image: x\n    volumes:\n      - type: bind\n        source: ./p.exs\n        target: /etc/pooler/pooler.exs\n        content: >\n          params = %{\n            \"a\" => 1\n          }\n";
    let mut f = ComposeFile::parse(text).unwrap();
    // The file Coolify writes holds the folded meaning: lines joined with spaces.
    let content = f
        .inline_content("pooler", "/etc/pooler/pooler.exs")
        .unwrap()
        .unwrap();
    assert_eq!(content, "params = %{\n  \"a\" => 1\n}\n");
    // Same content: nothing to do, no error.
    assert!(
        !f.set_inline_content("pooler", "/etc/pooler/pooler.exs", &content)
            .unwrap()
            .changed()
    );
    let e = f
        .set_inline_content("pooler", "/etc/pooler/pooler.exs", "other\n")
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("folded block (`content: >`)"), "{msg}");
    assert!(msg.contains("line 8"), "{msg}");
    assert_eq!(f.text(), text, "nothing changed");
}

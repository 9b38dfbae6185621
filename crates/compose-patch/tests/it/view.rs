//! `ServiceView`: the typed read of a service, from the same reader the edits are checked against.

use compose_patch::ComposeFile;

const TEXT: &str = r#"services:
  db:
    container_name: supabase-db
    image: supabase/postgres:15.8.1.060
    command: postgres -c "log_line_prefix=%m [%p]" -cssl=on --port=5433
    environment:
      POSTGRES_PORT: 5432
      EMPTY:
    ports:
      - "127.0.0.1:5432:5432"
      - target: 6543
        published: "${POOLER_PORT}"
        protocol: TCP
    networks: [default, internal]
    volumes:
      - ./volumes/db/data:/var/lib/postgresql/data:Z
      - db-config:/etc/postgresql-custom
      - type: bind
        source: ./volumes/pooler/pooler.exs
        target: /etc/pooler/pooler.exs
        content: |
          x = 1
  pooler:
    image: supavisor
    environment:
      - A=1
      - B
    networks:
      internal:
        aliases: [p]
"#;

#[test]
fn a_service_reads_as_one_typed_view() {
    let file = ComposeFile::parse(TEXT).unwrap();
    let db = file.service_view("supabase-db").unwrap();
    assert_eq!(db.key, "db");
    assert_eq!(db.line, 2);
    assert_eq!(
        db.command.as_deref().unwrap(),
        [
            "postgres",
            "-c",
            "log_line_prefix=%m [%p]",
            "-cssl=on",
            "--port=5433"
        ]
    );
    assert_eq!(
        db.settings,
        [
            ("log_line_prefix".to_owned(), "%m [%p]".to_owned()),
            ("ssl".to_owned(), "on".to_owned()),
            ("port".to_owned(), "5433".to_owned()),
        ]
    );
    assert_eq!(
        db.environment,
        [
            ("POSTGRES_PORT".to_owned(), Some("5432".to_owned())),
            ("EMPTY".to_owned(), None),
        ]
    );
    let ports: Vec<String> = db.ports.iter().map(ToString::to_string).collect();
    assert_eq!(ports, ["127.0.0.1:5432:5432", "${POOLER_PORT}:6543"]);
    assert_eq!(db.ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(db.networks, ["default", "internal"]);
    assert!(db.volumes[0].bind && !db.volumes[1].bind && db.volumes[2].bind);
    assert_eq!(db.volumes[2].content.as_deref(), Some("x = 1\n"));

    let views = file.service_views();
    assert_eq!(views.len(), 2);
    let pooler = &views[1];
    assert_eq!(
        pooler.environment,
        [
            ("A".to_owned(), Some("1".to_owned())),
            ("B".to_owned(), None)
        ]
    );
    assert_eq!(pooler.networks, ["internal"]);
    assert_eq!(pooler.command, None);
}

#[test]
fn network_ipam_reads_subnets_and_gateways() {
    let text = "services:\n  db:\n    image: x\n    networks: [backend]\nnetworks:\n  backend:\n    enable_ipv6: true\n    ipam:\n      driver: default\n      config:\n        - subnet: 172.31.213.0/24\n          gateway: 172.31.213.254\n        - subnet: \"fd00:5eed:e2e::/64\"\n        - ip_range: 10.1.0.0/24\n  other: {}\n";
    let c = compose_patch::ComposeFile::parse(text).unwrap();
    let ipam = c.network_ipam("backend");
    assert_eq!(
        ipam,
        [
            compose_patch::Ipam {
                subnet: "172.31.213.0/24".into(),
                gateway: Some("172.31.213.254".into()),
            },
            compose_patch::Ipam {
                subnet: "fd00:5eed:e2e::/64".into(),
                gateway: None,
            },
        ]
    );
    assert!(c.network_ipam("other").is_empty());
    assert!(c.network_ipam("default").is_empty());
}

#[test]
fn remove_volume_drops_exactly_that_item_and_is_idempotent() {
    let text = "services:\n  db:\n    image: x\n    volumes:\n      - ./a:/a:Z\n      # keep me\n      - ./volumes/tls/server.crt:/etc/ssl/server.crt:ro,z\n      - type: bind\n        source: ./b\n        target: /b\n  other:\n    image: y\n";
    let mut f = compose_patch::ComposeFile::parse(text).unwrap();
    assert!(
        f.remove_volume("db", "/etc/ssl/server.crt")
            .unwrap()
            .changed()
    );
    assert_eq!(
        f.text(),
        "services:\n  db:\n    image: x\n    volumes:\n      - ./a:/a:Z\n      # keep me\n      - type: bind\n        source: ./b\n        target: /b\n  other:\n    image: y\n"
    );
    assert!(f.remove_volume("db", "/b").unwrap().changed());
    assert_eq!(
        f.text(),
        "services:\n  db:\n    image: x\n    volumes:\n      - ./a:/a:Z\n      # keep me\n  other:\n    image: y\n"
    );
    assert!(!f.remove_volume("db", "/nothing").unwrap().changed());
    // the last mount stays: an empty `volumes:` would change the key's shape
    let err = f.remove_volume("db", "/a").unwrap_err();
    assert!(err.to_string().contains("no other mount"), "{err}");
    let mut flow = compose_patch::ComposeFile::parse(
        "services:\n  db:\n    volumes: [\"./a:/a\", \"./b:/b\"]\n",
    )
    .unwrap();
    assert!(
        flow.remove_volume("db", "/a")
            .unwrap_err()
            .to_string()
            .contains("flow sequence")
    );
}

use super::*;

#[test]
fn settings_from_command_forms() {
    let svc = Service {
        command: ["postgres", "-c", "ssl=on", "-cport=5433", "--hba_file=/x"]
            .map(String::from)
            .to_vec(),
        ..Service::default()
    };
    let s = svc.pg_settings();
    assert_eq!(s.get("ssl").map(String::as_str), Some("on"));
    assert_eq!(s.get("port").map(String::as_str), Some("5433"));
    assert_eq!(s.get("hba_file").map(String::as_str), Some("/x"));
}

#[test]
fn a_quoted_string_command_is_read_with_shell_words() {
    let text = "services:\n  db:\n    image: x\n    command: postgres -c \"log_line_prefix=%m [%p]\" -c ssl=on\n";
    let svcs = parse_services(text).unwrap();
    let s = svcs[0].pg_settings();
    assert_eq!(
        s.get("log_line_prefix").map(String::as_str),
        Some("%m [%p]")
    );
    assert_eq!(s.get("ssl").map(String::as_str), Some("on"));
}

#[test]
fn mounts_short_and_long() {
    let text = "services:\n  s:\n    volumes:\n      - ./a:/b:ro,z\n      - named:/c\n      - type: bind\n        source: ./p.exs\n        target: /etc/pooler/pooler.exs\n        content: |\n          x = 1\n";
    let svcs = parse_services(text).unwrap();
    let v = &svcs[0].volumes;
    assert!(v[0].read_only && v[0].bind);
    assert!(!v[1].bind);
    assert_eq!(v[2].content.as_deref(), Some("x = 1\n"));
    assert_eq!(relative_host_path("./a/b"), Some(PathBuf::from("a/b")));
    assert_eq!(relative_host_path("named"), None);
}

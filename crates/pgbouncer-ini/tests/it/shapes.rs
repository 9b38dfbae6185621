//! Files in the shapes deployments write: a user's mounted pgbouncer.ini with commented-out
//! TLS settings, and an `%include` after the edited key.

use pgbouncer_ini::Document;

const MOUNTED: &str = include_str!("../fixtures/valid/mounted.ini");

#[test]
fn mounted_file_hardened_keeps_everything_else() {
    let mut doc = Document::parse(MOUNTED).unwrap();
    assert_eq!(
        doc.get("pgbouncer", "client_tls_sslmode"),
        None,
        "a commented-out line is no setting"
    );
    assert_eq!(doc.get("pgbouncer", "logfile"), Some(""));
    assert_eq!(
        doc.get("pgbouncer", "auth_query"),
        Some("SELECT * FROM pgbouncer.get_auth($1)")
    );
    for (k, v) in [
        ("client_tls_sslmode", "require"),
        ("client_tls_cert_file", "/etc/pgbouncer/tls/server.crt"),
        ("client_tls_key_file", "/etc/pgbouncer/tls/server.key"),
    ] {
        assert!(doc.set("pgbouncer", k, v).unwrap());
    }
    let out = doc.to_string();
    let expected = MOUNTED.replace(
        "default_pool_size = 20\n",
        "default_pool_size = 20\nclient_tls_sslmode = require\nclient_tls_cert_file = /etc/pgbouncer/tls/server.crt\nclient_tls_key_file = /etc/pgbouncer/tls/server.key\n",
    );
    assert_eq!(out, expected);
    // The include comes after the new lines: a caller must say it may override them.
    let inc = doc.includes();
    assert_eq!(inc.len(), 1);
    let key_line = doc
        .get_entry("pgbouncer", "client_tls_sslmode")
        .unwrap()
        .line;
    assert!(inc[0].line > key_line);
}

#[test]
fn crlf_twin_and_no_final_newline_twin() {
    let crlf = MOUNTED.replace('\n', "\r\n");
    let mut doc = Document::parse(&crlf).unwrap();
    assert_eq!(doc.to_string(), crlf);
    doc.set("pgbouncer", "client_tls_sslmode", "require")
        .unwrap();
    assert!(
        doc.to_string()
            .contains("default_pool_size = 20\r\nclient_tls_sslmode = require\r\n")
    );

    let bare = MOUNTED.trim_end_matches('\n');
    let mut doc = Document::parse(bare).unwrap();
    assert_eq!(doc.to_string(), bare);
    doc.set("databases", "extra", "host=db").unwrap();
    assert!(
        doc.to_string()
            .starts_with(&MOUNTED[..MOUNTED.find("* = host=db port=5432\n").unwrap() + 22])
    );
}

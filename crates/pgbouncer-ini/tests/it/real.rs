//! The real PgBouncer (Debian's, started by pgtest on 127.0.0.1) loads the file the editor wrote
//! and behaves as the settings say: plaintext refused with its `SSL required`, verify-full TLS
//! admitted. LF and CRLF twins.

use pgbouncer_ini::{Document, PGBOUNCER};
use pgtest::{Pg, PgBouncer, Pki};

#[test]
fn real_pgbouncer_requires_tls_after_the_edit() {
    let pki = Pki::new();
    let leaf = pki.leaf("bouncer", "DNS:localhost,IP:127.0.0.1", 30);
    let pg = Pg::builder().start().expect("starting PostgreSQL");
    for crlf in [false, true] {
        let b = PgBouncer::builder(&pg)
            .file("tls.crt", &leaf.cert, 0o644)
            .file("tls.key", &leaf.key, 0o600);
        let dir = b.dir().to_path_buf();
        let written = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
        let seen = written.clone();
        let b = b.edit_ini(move |ini| {
            let ini = format!(";; TLS settings added by pgbouncer-ini\n{ini}");
            let ini = if crlf { ini.replace('\n', "\r\n") } else { ini };
            let mut doc = Document::parse(&ini).expect("pgtest's ini parses");
            let cert = dir.join("tls.crt").display().to_string();
            let key = dir.join("tls.key").display().to_string();
            for (k, v) in [
                ("client_tls_sslmode", "require"),
                ("client_tls_cert_file", cert.as_str()),
                ("client_tls_key_file", key.as_str()),
                ("client_tls_protocols", "secure"),
            ] {
                doc.set(PGBOUNCER, k, v).expect("a valid edit");
            }
            let out = doc.to_string();
            assert!(out.starts_with(&ini[..ini.find("listen_port").unwrap_or(0)]));
            *seen.borrow_mut() = out.clone();
            out
        });
        let bouncer = b.start().expect("PgBouncer loads the edited file");
        let on_disk = std::fs::read_to_string(bouncer.dir().join("pgbouncer.ini")).unwrap();
        assert_eq!(on_disk, *written.borrow());
        assert_eq!(on_disk.contains("\r\n"), crlf);
        let plain = bouncer.psql("sslmode=disable", "select 1");
        assert!(
            !plain.success && plain.stderr.contains("SSL required"),
            "crlf={crlf}: {}",
            plain.stderr
        );
        let tls = bouncer.psql(
            &format!(
                "sslmode=verify-full sslrootcert={}",
                pki.ca_path().display()
            ),
            "select 1",
        );
        assert!(
            tls.success,
            "crlf={crlf}: {}\n{}",
            tls.stderr,
            bouncer.log()
        );
        assert_eq!(tls.stdout, "1");
    }
}

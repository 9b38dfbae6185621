//! The writer: modes at creation, owners, backups, protection of CA keys, idempotence.

use std::fs;
use std::os::unix::fs::MetadataExt;

use pgtls_certs::{
    Ca, CaParams, CertKit, Error, FileMeta, RenewOptions, ServerParams, WriteFilesOptions,
    WriteOptions, WriteStatus, file_meta, inspect, load_ca_dir, renew_files, write_atomic,
    write_files,
};

fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn keys_are_0600_and_certs_0644_even_with_a_loose_umask_and_replaced_with_backup() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.key");
    let out = write_atomic(&key, b"one", &WriteOptions::key()).unwrap();
    assert_eq!(out.status, WriteStatus::Created);
    assert_eq!(out.backup, None);
    assert_eq!(file_meta(&key).unwrap().mode, 0o600);

    // same bytes again: nothing written
    let out = write_atomic(&key, b"one", &WriteOptions::key()).unwrap();
    assert_eq!(out.status, WriteStatus::Unchanged);

    let out = write_atomic(&key, b"two", &WriteOptions::key()).unwrap();
    assert_eq!(out.status, WriteStatus::Replaced);
    let bak = out.backup.unwrap();
    assert_eq!(bak.file_name().unwrap(), "server.key");
    assert_eq!(
        bak.parent().unwrap().parent().unwrap(),
        dir.path().join(".pgtls-backups")
    );
    assert_eq!(file_meta(bak.parent().unwrap()).unwrap().mode, 0o700);
    assert_eq!(fs::read(&bak).unwrap(), b"one");
    assert_eq!(fs::read(&key).unwrap(), b"two");
    assert_eq!(file_meta(&bak).unwrap().mode, 0o600);

    // a second replacement in the same second gets a distinct backup name
    let out = write_atomic(&key, b"three", &WriteOptions::key()).unwrap();
    assert_ne!(out.backup.unwrap(), bak);

    let crt = dir.path().join("server.crt");
    write_atomic(&crt, b"cert", &WriteOptions::cert()).unwrap();
    assert_eq!(file_meta(&crt).unwrap().mode, 0o644);

    // a wrong mode on identical contents is repaired
    fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = write_atomic(&key, b"three", &WriteOptions::key()).unwrap();
    assert_eq!(out.status, WriteStatus::Replaced);
    assert_eq!(file_meta(&key).unwrap().mode, 0o600);

    // no temporary files are left behind
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("pgtls-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn owner_is_set_when_root() {
    if !running_as_root() {
        eprintln!("skipped: chown to another user needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.key");
    let mut opts = WriteOptions::key();
    opts.owner = Some("999:998".parse().unwrap());
    write_atomic(&key, b"k", &opts).unwrap();
    assert_eq!(
        file_meta(&key).unwrap(),
        FileMeta {
            mode: 0o600,
            uid: 999,
            gid: 998
        }
    );
}

#[test]
fn init_writes_four_files_and_never_replaces_a_different_ca_key() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_ca_dir(dir.path()).unwrap().is_none());
    let kit = CertKit::generate(&CaParams::default(), &ServerParams::new(["db"]), None).unwrap();
    let outcomes = write_files(dir.path(), &kit.files(), &WriteFilesOptions::default()).unwrap();
    assert!(outcomes.iter().all(|o| o.status == WriteStatus::Created));
    for (name, mode) in [
        ("ca.crt", 0o644),
        ("ca.key", 0o600),
        ("server.crt", 0o644),
        ("server.key", 0o600),
    ] {
        assert_eq!(
            file_meta(&dir.path().join(name)).unwrap().mode,
            mode,
            "{name}"
        );
    }

    // second run reuses the CA: CA files unchanged, server files replaced with backups
    let ca = load_ca_dir(dir.path()).unwrap().unwrap();
    let kit2 =
        CertKit::generate(&CaParams::default(), &ServerParams::new(["db"]), Some(ca)).unwrap();
    let outcomes = write_files(dir.path(), &kit2.files(), &WriteFilesOptions::default()).unwrap();
    let statuses: Vec<WriteStatus> = outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            WriteStatus::Unchanged,
            WriteStatus::Unchanged,
            WriteStatus::Replaced,
            WriteStatus::Replaced
        ]
    );

    // a fresh CA would replace the key: refused, and nothing at all is written
    let server_before = fs::read(dir.path().join("server.crt")).unwrap();
    let kit3 = CertKit::generate(&CaParams::default(), &ServerParams::new(["db"]), None).unwrap();
    let err = write_files(dir.path(), &kit3.files(), &WriteFilesOptions::default()).unwrap_err();
    assert_eq!(
        err,
        Error::WouldOverwrite {
            path: dir.path().join("ca.key")
        }
    );
    assert_eq!(
        fs::read(dir.path().join("server.crt")).unwrap(),
        server_before
    );
    // with force it goes through, and the old CA key is kept as a backup
    let outcomes = write_files(
        dir.path(),
        &kit3.files(),
        &WriteFilesOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(outcomes[1].backup.is_some());
    assert_eq!(
        fs::read_to_string(dir.path().join("ca.key")).unwrap(),
        kit3.ca.key_pem()
    );
}

#[test]
fn renew_files_keeps_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::create(&CaParams::default()).unwrap();
    let leaf = ca.issue_server(&ServerParams::new(["db"])).unwrap();
    let crt = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    let (owner, key_mode, crt_mode) = if running_as_root() {
        (Some("101:104".parse().unwrap()), 0o640, 0o444)
    } else {
        (None, 0o400, 0o444)
    };
    for (path, pem, mode) in [
        (&crt, &leaf.cert_pem, crt_mode),
        (&key, &leaf.key_pem, key_mode),
    ] {
        write_atomic(
            path,
            pem.as_bytes(),
            &WriteOptions {
                mode,
                owner,
                backup: false,
                protect_existing: false,
            },
        )
        .unwrap();
    }
    let before_crt = file_meta(&crt).unwrap();
    let before_key = file_meta(&key).unwrap();
    let out = renew_files(&ca, &crt, &key, &RenewOptions::default()).unwrap();
    assert_ne!(out.old_serial, out.new_serial);
    assert_eq!(
        inspect(fs::read(&crt).unwrap()).unwrap().serial,
        out.new_serial
    );
    assert_eq!(file_meta(&crt).unwrap(), before_crt);
    assert_eq!(file_meta(&key).unwrap(), before_key);
    assert!(
        pgtls_certs::key_matches_cert(fs::read(&key).unwrap(), fs::read(&crt).unwrap()).unwrap()
    );
    assert_eq!(
        fs::read(out.cert.backup.unwrap()).unwrap(),
        leaf.cert_pem.as_bytes()
    );
    assert_eq!(
        fs::read(out.key.unwrap().backup.unwrap()).unwrap(),
        leaf.key_pem.as_bytes()
    );
}

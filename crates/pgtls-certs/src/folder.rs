//! Certificate folders as `pgtls certs` keeps them: a kit made into a folder (CA reused when
//! present), a client pair issued next to it, and the written server key judged by the one
//! key-file rule. Every write goes through [`write_atomic_with`] with one [`Backups`] folder
//! per run.

use std::path::Path;

use crate::ca::{CaParams, CertAndKey, CertKit, PlannedFile, ServerParams};
use crate::error::{Error, Result};
use crate::keyfile::{KeyFileFacts, KeyFileVerdict, KeyReader, key_file_verdict};
use crate::writer::{Backups, Owner, WriteOptions, WriteOutcome, load_ca_dir, write_atomic_with};

/// The SANs a server certificate gets when none are asked for.
pub const DEFAULT_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Makes the kit for `dir`: the CA found there (`ca.crt` + `ca.key`) or a new one from `ca`,
/// and a server certificate from `server` (its SANs default to [`DEFAULT_SANS`]). With
/// `create`, the folder is made first; nothing else is written.
///
/// # Errors
/// The folder cannot be made, only half a CA is there or it does not load, or generating fails.
pub fn kit_for_dir(
    dir: &Path,
    ca: &CaParams,
    server: &ServerParams,
    create: bool,
) -> Result<CertKit> {
    if create {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
    }
    let existing = load_ca_dir(dir)?;
    let mut server = server.clone();
    if server.sans.is_empty() {
        server.sans = DEFAULT_SANS.map(String::from).to_vec();
    }
    CertKit::generate(ca, &server, existing)
}

/// Writes the kit's files into `dir` in order (a replaced file kept in one backup folder,
/// `dir/.pgtls-backups/<timestamp>/`); `owner` is given to the server files, the CA's stay the
/// writing process's. `written` sees each file once it is written.
///
/// # Errors
/// The first write that fails (an existing, different CA key is never replaced), naming it.
pub fn write_kit(
    dir: &Path,
    kit: &CertKit,
    owner: Option<Owner>,
    written: &mut dyn FnMut(&PlannedFile, &WriteOutcome),
) -> Result<()> {
    let mut backups = Backups::new(dir);
    for file in kit.files() {
        let is_ca = file.name.starts_with("ca.");
        let outcome = write_atomic_with(
            &dir.join(&file.name),
            &file.contents,
            &WriteOptions {
                mode: file.mode,
                owner: if is_ca { None } else { owner },
                backup: true,
                protect_existing: file.protect_existing,
            },
            Some(&mut backups),
            &|_| Ok(()),
        )?;
        written(&file, &outcome);
    }
    Ok(())
}

/// Writes a client pair as `dir/<user>.crt` (0644) and `dir/<user>.key` (0600), backups kept.
///
/// # Errors
/// The first write that fails, naming it.
pub fn write_client(dir: &Path, user: &str, pair: &CertAndKey) -> Result<[WriteOutcome; 2]> {
    let mut backups = Backups::new(dir);
    let mut one = |ext: &str, pem: &str, opts: WriteOptions| {
        let path = dir.join(format!("{user}.{ext}"));
        write_atomic_with(
            &path,
            pem.as_bytes(),
            &opts,
            Some(&mut backups),
            &|_| Ok(()),
        )
    };
    let cert = one("crt", &pair.cert_pem, WriteOptions::cert())?;
    let key = one("key", &pair.key_pem, WriteOptions::key())?;
    Ok([cert, key])
}

/// The server key at `path` judged by the one key-file rule for `owner` (the server's user)
/// or, without it, for the only users it can load for: the file's own non-root owner, else any
/// server user (a key written by root with mode 0600 loads for none). Returns the verdict and
/// whom it was judged for, as words ("a server running as 105:106").
///
/// # Errors
/// The file cannot be examined.
pub fn server_key_verdict(
    path: &Path,
    owner: Option<Owner>,
) -> std::result::Result<(KeyFileVerdict, String), crate::KeyFileProblem> {
    let facts = KeyFileFacts::of(path)?;
    let (reader, whom) = match owner {
        Some(o) => (
            KeyReader::new(o.uid, o.gid),
            format!("a server running as {}:{}", o.uid, o.gid),
        ),
        None if facts.uid != 0 => (
            KeyReader::new(facts.uid, facts.gid),
            format!("a server running as uid {} only", facts.uid),
        ),
        None => (
            KeyReader::new(u32::MAX - 1, facts.gid),
            "any server user".to_owned(),
        ),
    };
    let verdict = key_file_verdict(&path.display().to_string(), facts, reader);
    Ok((verdict, whom))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn a_kit_is_made_written_judged_and_its_ca_reused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("tls");
        let params = ServerParams {
            sans: Vec::new(),
            ..ServerParams::new(["x"])
        };
        let kit = kit_for_dir(&d, &CaParams::default(), &params, true).unwrap();
        assert!(kit.ca_created);
        let mut names = Vec::new();
        write_kit(&d, &kit, None, &mut |f, _| names.push(f.name.clone())).unwrap();
        assert_eq!(names, ["ca.crt", "ca.key", "server.crt", "server.key"]);
        let pem = std::fs::read_to_string(d.join("server.crt")).unwrap();
        assert!(crate::covers_host(&pem, "::1").unwrap());
        let ca = kit.ca.cert_pem();
        let ok = crate::check_against(&pem, Some(ca), Some("::1")).unwrap();
        assert!(!ok.failed() && ok.chain == Some(Ok(())), "{ok:?}");
        let other = crate::Ca::create(&CaParams::default()).unwrap();
        let bad = crate::check_against(&pem, Some(other.cert_pem()), Some("db")).unwrap();
        assert!(bad.failed() && bad.chain.as_ref().is_some_and(Result::is_err));
        assert_eq!(bad.host, Some(("db".to_owned(), false)));
        let again = kit_for_dir(&d, &CaParams::default(), &params, false).unwrap();
        assert!(!again.ca_created, "the CA in the folder is reused");

        let me = std::fs::metadata(d.join("server.key")).unwrap();
        let (verdict, whom) = server_key_verdict(&d.join("server.key"), None).unwrap();
        if me.uid() == 0 {
            assert!(
                !verdict.loads(),
                "a root-owned 0600 key loads for no server user"
            );
            assert_eq!(whom, "any server user");
        } else {
            assert!(verdict.loads(), "{verdict:?}");
            assert_eq!(whom, format!("a server running as uid {} only", me.uid()));
        }

        let pair = kit
            .ca
            .issue_client(&crate::ClientParams::new("app"))
            .unwrap();
        let [crt, key] = write_client(&d, "app", &pair).unwrap();
        assert_eq!(crt.path, d.join("app.crt"));
        let mode = std::fs::metadata(&key.path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

//! `pgtls certs renew` in a folder: decides with [`crate::renew_due`] when asked to, then renews
//! `server.crt` with the private CA, or goes back to it from an adopted certificate.

use std::path::Path;

use pgtls_certs::RenewOptions;

use crate::renew_due::{Due, adopted_note, due_at};
use crate::{Context as _, Error, Result};

/// What `pgtls certs renew` is asked to do in a folder.
pub struct RenewRequest<'a> {
    /// The folder of `server.crt` and `server.key`.
    pub dir: &'a Path,
    /// The folder of the private CA's `ca.crt` and `ca.key`.
    pub ca_dir: &'a Path,
    /// `--if-due`: renew only inside the renewal window, at the Unix time this returns (asked
    /// only when the certificate is not an adopted one; an error is the caller's, for example a
    /// malformed `--now`). `None`: renew whatever the date.
    pub if_due_at: Option<&'a dyn Fn() -> Result<i64>>,
    /// Keep the server key (`--reuse-key`).
    pub reuse_key: bool,
    /// The new certificate's validity in days.
    pub days: u32,
    /// Say what would happen, write nothing.
    pub dry_run: bool,
}

/// What a [`renew`] run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Renewed {
    /// Nothing was written: not due, or a dry run.
    Nothing,
    /// `server.crt` (and its key, unless reused) were replaced: the services that read them
    /// must reload to serve it.
    Written,
}

/// `pgtls certs renew`: decides with [`due_at`] when asked to, then renews `server.crt` with the
/// private CA, or, when it is still a certificate adopted from a public CA, goes back to the
/// private CA ([`crate::adopt::return_to_private`]). The report's lines are handed to `emit` as
/// they happen (built by [`crate::report::certs`]), so a later error follows what was said.
///
/// # Errors
/// No CA in `ca_dir` (a refusal), a certificate that is not the CA's, an unreadable file, a
/// failed write, or `emit`'s own error.
pub fn renew(
    req: &RenewRequest<'_>,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<Renewed> {
    use crate::report::certs as text;
    let mut say = |s: &str| {
        emit(s).map_err(|source| Error::Io {
            context: "writing the report".into(),
            source,
        })
    };
    let (dir, ca_dir) = (req.dir, req.ca_dir);
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let adopted = adopted_note(dir)?;
    if let Some(now) = req.if_due_at {
        // the time is not read for an adopted certificate (its ACME client renews it)
        let now = if adopted.is_some() { 0 } else { now()? };
        let due = due_at(dir, adopted.as_ref(), now)?;
        say(&format!("{}\n", text::due_line(&cert, &due)))?;
        if !matches!(due, Due::Due { .. }) {
            return Ok(Renewed::Nothing);
        }
    }
    let d = ca_dir.display();
    let ca = pgtls_certs::load_ca_dir(ca_dir)
        .with_context(|| format!("loading the CA in \"{d}\""))?
        .ok_or_else(|| {
            Error::Refused(format!(
                "no ca.crt and ca.key in \"{d}\": pass --ca-dir (pgtls harden keeps the CA in volumes/tls-ca)"
            ))
        })?;
    if let Some(note) = &adopted {
        if req.dry_run {
            say(&text::back_to_private_text(note, None))?;
            return Ok(Renewed::Nothing);
        }
        let written = crate::adopt::return_to_private(&ca, dir, note, req.days)
            .with_context(|| format!("going back to the private CA in \"{}\"", dir.display()))?;
        say(&text::back_to_private_text(note, Some(&written)))?;
        return Ok(Renewed::Written);
    }
    let opts = RenewOptions {
        reuse_key: req.reuse_key,
        days: Some(req.days),
    };
    if req.dry_run {
        let what = pgtls_certs::renew_preview(&ca, &cert, &opts)
            .with_context(|| format!("\"{}\" against the CA in \"{d}\"", cert.display()))?;
        say(&format!("{what}\n"))?;
        return Ok(Renewed::Nothing);
    }
    let outcome = pgtls_certs::renew_files(&ca, &cert, &key, &opts)
        .with_context(|| format!("renewing \"{}\"", cert.display()))?;
    say(&format!("{}\n", text::renewed_line(&cert, &outcome)))?;
    Ok(Renewed::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_previews_renews_and_refuses_without_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        crate::certs_init::written_kit(dir.path(), 90);
        let serial = || {
            let pem = std::fs::read_to_string(dir.path().join("server.crt")).unwrap();
            pgtls_certs::inspect(&pem).unwrap().serial
        };
        let before = serial();
        let said = std::cell::RefCell::new(String::new());
        let mut emit = |s: &str| {
            said.borrow_mut().push_str(s);
            Ok(())
        };
        let mut req = RenewRequest {
            dir: dir.path(),
            ca_dir: dir.path(),
            if_due_at: None,
            reuse_key: false,
            days: 30,
            dry_run: true,
        };
        assert_eq!(renew(&req, &mut emit).unwrap(), Renewed::Nothing);
        assert_eq!(serial(), before, "a dry run wrote");
        // --if-due at issue time: not due, nothing written, the reason said
        let now = || {
            Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs().cast_signed())
                .unwrap())
        };
        req.if_due_at = Some(&now);
        req.dry_run = false;
        assert_eq!(renew(&req, &mut emit).unwrap(), Renewed::Nothing);
        assert_eq!(serial(), before, "renewed while not due");
        req.if_due_at = None;
        assert_eq!(renew(&req, &mut emit).unwrap(), Renewed::Written);
        assert_ne!(serial(), before, "not renewed");
        assert!(said.borrow().contains("renewed "), "{}", said.borrow());
        let empty = tempfile::tempdir().unwrap();
        req.ca_dir = empty.path();
        let err = renew(&req, &mut emit).unwrap_err();
        assert!(
            err.is_refusal() && err.to_string().contains("no ca.crt and ca.key"),
            "{err}"
        );
    }
}

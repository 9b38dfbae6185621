//! `pgtls certs init`'s decisions before anything is written: refuse to replace a server
//! certificate without `force`, the warnings of the key types asked for, and the certificates
//! made in memory ([`pgtls_certs::kit_for_dir`]: an existing CA in the folder is reused).
//!
//! ```
//! use pgtls_harden::certs_init::{InitRequest, plan};
//!
//! let dir = tempfile::tempdir()?;
//! let sans = vec!["db".to_owned()];
//! let req = InitRequest::new(dir.path(), &sans, pgtls_certs::KeyType::EcdsaP256);
//! let (warnings, kit) = plan(&InitRequest { dry_run: true, ..req })?;
//! assert!(warnings.is_empty());
//! assert!(kit.ca_created);
//! assert!(!dir.path().join("server.crt").exists(), "a dry run writes nothing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use pgtls_certs::{CaParams, CertKit, KeyType, ServerParams};

use crate::{Context as _, Error, Result};

/// What `pgtls certs init` is asked to make.
#[derive(Debug, Clone, Copy)]
pub struct InitRequest<'a> {
    /// The folder the CA and the server certificate go to.
    pub out: &'a Path,
    /// The server certificate's names.
    pub sans: &'a [String],
    /// The server key's type.
    pub key_type: KeyType,
    /// The CA key's type.
    pub ca_key_type: KeyType,
    /// The server certificate's validity in days.
    pub days: u32,
    /// The CA's validity in days.
    pub ca_days: u32,
    /// Replace an existing `server.crt`/`server.key`.
    pub force: bool,
    /// Make nothing on disk (not even the folder).
    pub dry_run: bool,
}

impl<'a> InitRequest<'a> {
    /// A request with the defaults of `pgtls certs init` (825 days, a CA of 3650 days, the
    /// same key type for the CA).
    pub fn new(out: &'a Path, sans: &'a [String], key_type: KeyType) -> Self {
        Self {
            out,
            sans,
            key_type,
            ca_key_type: key_type,
            days: crate::harden::DEFAULT_DAYS,
            ca_days: CaParams::default().days,
            force: false,
            dry_run: false,
        }
    }
}

/// The warnings of the key types asked for and the certificates made in memory.
///
/// # Errors
/// A refusal when `server.crt` or `server.key` exists without `force`; the folder cannot be
/// made (unless a dry run), half a CA is there, or generating fails.
pub fn plan(req: &InitRequest<'_>) -> Result<(Vec<&'static str>, CertKit)> {
    for name in ["server.crt", "server.key"] {
        if req.out.join(name).exists() && !req.force {
            return Err(Error::Refused(format!(
                "\"{}\" exists: pass --force to replace it, or renew it with `pgtls certs renew --dir {}`",
                req.out.join(name).display(),
                req.out.display()
            )));
        }
    }
    let (kt, ca_kt) = (req.key_type, req.ca_key_type);
    let warnings = [kt.warning(), ca_kt.warning().filter(|_| ca_kt != kt)]
        .into_iter()
        .flatten()
        .collect();
    let ca = CaParams {
        key_type: ca_kt,
        days: req.ca_days,
        ..CaParams::default()
    };
    let server = ServerParams {
        sans: req.sans.to_vec(),
        days: req.days,
        key_type: kt,
        common_name: None,
    };
    let kit = pgtls_certs::kit_for_dir(req.out, &ca, &server, !req.dry_run)
        .with_context(|| format!("making the certificates in \"{}\"", req.out.display()))?;
    Ok((warnings, kit))
}

/// A CA and a server certificate for `db` valid `days` days, written into `dir` (the tests'
/// starting point).
#[cfg(test)]
pub(crate) fn written_kit(dir: &Path, days: u32) {
    let sans = ["db".to_owned()];
    let req = InitRequest::new(dir, &sans, KeyType::EcdsaP256);
    let (_, kit) = plan(&InitRequest { days, ..req }).unwrap();
    pgtls_certs::write_kit(dir, &kit, None, &mut |_, _| {}).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_replace_without_force_and_warns_of_ed25519() {
        let dir = tempfile::tempdir().unwrap();
        let sans = vec!["db".to_owned()];
        let req = InitRequest::new(dir.path(), &sans, KeyType::Ed25519);
        let (warnings, kit) = plan(&req).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        pgtls_certs::write_kit(dir.path(), &kit, None, &mut |_, _| {}).unwrap();
        let err = plan(&req).unwrap_err();
        assert!(
            err.is_refusal() && err.to_string().contains("--force"),
            "{err}"
        );
        assert!(plan(&InitRequest { force: true, ..req }).is_ok());
    }
}

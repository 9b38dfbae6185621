//! Whether `pgtls certs renew --if-due` renews the server certificate of a folder now.
//!
//! Two facts decide it: whether `server.crt` is still a certificate adopted from a public CA
//! ([`adopted_note`]: its ACME client renews it, so the private CA's timer leaves it alone), and
//! else whether the certificate is inside the renewal window of
//! [`pgtls_certs::RenewalPolicy::default`] (a third of the lifetime or 30 days left) at a given
//! time ([`due_at`]).
//!
//! ```
//! use pgtls_harden::renew_due::{Due, due_at};
//!
//! let dir = tempfile::tempdir()?;
//! // no server.crt: an error naming the file
//! let err = due_at(dir.path(), None, 0).unwrap_err();
//! assert!(err.to_string().starts_with("reading \""), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use pgtls_certs::RenewalPolicy;

use crate::adopt::{AdoptedNote, is_adopted};
use crate::{Context as _, Error, Result};

/// What `--if-due` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Due {
    /// `server.crt` was adopted from a public CA (`pgtls certs adopt`) and still is that
    /// certificate: its ACME client renews it.
    Adopted {
        /// Where the adopted certificate came from.
        source: String,
    },
    /// Outside the renewal window.
    NotDue {
        /// Whole days left at the time asked about.
        days_left: i64,
        /// notAfter, RFC 3339.
        not_after: String,
    },
    /// Inside the renewal window.
    Due {
        /// Why (how much of the lifetime is left).
        reason: String,
    },
}

/// The note `pgtls certs adopt` left in `tls_dir`, when `server.crt` there is still the adopted
/// certificate (a renewal back to the private CA replaces it, and the note no longer applies).
pub fn adopted_note(tls_dir: &Path) -> Result<Option<AdoptedNote>> {
    let pem = std::fs::read_to_string(tls_dir.join("server.crt")).unwrap_or_default();
    Ok(AdoptedNote::read(tls_dir)?.filter(|n| is_adopted(Some(n), &pem)))
}

/// Whether `server.crt` in `tls_dir` is due at `now_unix`; `adopted` is [`adopted_note`]'s answer.
pub fn due_at(tls_dir: &Path, adopted: Option<&AdoptedNote>, now_unix: i64) -> Result<Due> {
    if let Some(n) = adopted {
        return Ok(Due::Adopted {
            source: n.source.clone(),
        });
    }
    let cert = tls_dir.join("server.crt");
    let what = || format!("reading \"{}\"", cert.display());
    let pem = std::fs::read_to_string(&cert).map_err(|source| Error::Io {
        context: what(),
        source,
    })?;
    let info = pgtls_certs::inspect(&pem).with_context(what)?;
    Ok(match RenewalPolicy::default().reason_at(&info, now_unix) {
        None => Due::NotDue {
            days_left: info.days_left_at(now_unix),
            not_after: info.not_after,
        },
        Some(reason) => Due::Due { reason },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_outside_the_window() {
        let dir = tempfile::tempdir().unwrap();
        crate::certs_init::written_kit(dir.path(), 90);
        assert!(adopted_note(dir.path()).unwrap().is_none());
        let pem = std::fs::read_to_string(dir.path().join("server.crt")).unwrap();
        let info = pgtls_certs::inspect(&pem).unwrap();
        let issued = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs().cast_signed())
            .unwrap();
        match due_at(dir.path(), None, issued).unwrap() {
            Due::NotDue {
                days_left,
                not_after,
            } => {
                assert!((89..=90).contains(&days_left), "{days_left}");
                assert_eq!(not_after, info.not_after);
            }
            other => panic!("{other:?}"),
        }
        // 70 days on, 20 of 90 left: less than a third
        let later = issued + 70 * 86_400;
        assert!(matches!(
            due_at(dir.path(), None, later).unwrap(),
            Due::Due { .. }
        ));
    }
}

//! What `pgtls certs adopt` starts from: the certificate a public CA issued, and the folder and
//! deployment it goes into.
//!
//! A public CA's certificate arrives in one of three ways: files named by the user, an ACME
//! client's hook environment (certbot's `RENEWED_LINEAGE`, lego's `LEGO_CERT_PATH` and
//! `LEGO_CERT_KEY_PATH`), or Traefik's `acme.json`. [`CertSource::read`] turns each into the PEM
//! text [`adopt`](crate::adopt::adopt) takes, with a description of where it came from.
//! [`AdoptTarget::find`] turns the folder the user named (a deployment folder, or the folder
//! holding `server.crt` itself) into the certificate folder and the deployment it belongs to.
//! [`AdoptReport::to_json`] is the command's JSON contract.
//!
//! ```
//! use pgtls_harden::adopt_input::{CertSource, CertSourceError};
//!
//! // no flags and no hook environment: nothing to adopt
//! let none = CertSource::HookEnv.read(&|_| None);
//! assert!(matches!(none, Err(CertSourceError::NoneGiven)));
//! ```

use std::path::{Path, PathBuf};

use crate::adopt::{AdoptReport, AdoptStatus};
use crate::paths::TLS_DIR;
use crate::{Context as _, FsSource, Layout};

/// Where the certificate and key come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSource<'a> {
    /// A full chain and a key, as files.
    Files {
        /// The full chain (PEM: the server certificate first, then its issuers).
        cert: &'a Path,
        /// The private key (PEM, unencrypted).
        key: &'a Path,
    },
    /// The certificate for `domain` in Traefik's `acme.json` (v2 and v3).
    TraefikAcme {
        /// The `acme.json` file.
        file: &'a Path,
        /// The name looked up (an entry's `main` or one of its `sans`).
        domain: &'a str,
        /// The certificate resolver; `None`: whichever holds `domain`.
        resolver: Option<&'a str>,
    },
    /// The ACME client's hook environment: certbot's `$RENEWED_LINEAGE/fullchain.pem` and
    /// `privkey.pem`, else lego's `$LEGO_CERT_PATH` and `$LEGO_CERT_KEY_PATH`.
    HookEnv,
}

/// The certificate and key read from a [`CertSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInput {
    /// The full chain (PEM).
    pub fullchain: String,
    /// The private key (PEM).
    pub key: String,
    /// Where they came from, for the report (the files and how they were found).
    pub source: String,
}

/// Why a [`CertSource`] gave no certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertSourceError {
    /// [`CertSource::HookEnv`] with neither certbot's nor lego's variables set.
    #[error(
        "no certificate given: pass --cert FULLCHAIN --key KEY or --from-traefik-acme FILE --domain NAME, or run as certbot's --deploy-hook ($RENEWED_LINEAGE) or lego's --renew-hook/--run-hook ($LEGO_CERT_PATH)"
    )]
    NoneGiven,
    /// A file could not be read.
    #[error("reading \"{}\"", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `acme.json` holds no usable certificate for the domain: a [`crate::Error::Context`]
    /// naming the file over the refusal of [`crate::adopt::from_traefik_acme`] (so
    /// [`crate::Error::is_refusal`] holds).
    #[error(transparent)]
    Acme(Box<crate::Error>),
}

fn read(path: &Path) -> Result<String, CertSourceError> {
    std::fs::read_to_string(path).map_err(|source| CertSourceError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl CertSource<'_> {
    /// Reads the certificate and key; `env` looks up the hook environment (pass
    /// `&|k| std::env::var(k).ok()`). Empty variables count as unset.
    pub fn read(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<CertInput, CertSourceError> {
        let (cert, key, what) = match *self {
            Self::TraefikAcme {
                file,
                domain,
                resolver,
            } => {
                let text = read(file)?;
                let (fullchain, key, src) =
                    crate::adopt::from_traefik_acme(&text, domain, resolver)
                        .with_context(|| format!("reading \"{}\"", file.display()))
                        .map_err(|e| CertSourceError::Acme(Box::new(e)))?;
                return Ok(CertInput {
                    fullchain,
                    key,
                    source: format!("{src} ({})", file.display()),
                });
            }
            Self::Files { cert, key } => (cert.to_path_buf(), key.to_path_buf(), "--cert/--key"),
            Self::HookEnv => {
                let var = |k: &str| env(k).filter(|v| !v.is_empty());
                if let Some(lineage) = var("RENEWED_LINEAGE") {
                    let l = PathBuf::from(lineage);
                    (
                        l.join("fullchain.pem"),
                        l.join("privkey.pem"),
                        "certbot deploy hook ($RENEWED_LINEAGE)",
                    )
                } else if let (Some(c), Some(k)) =
                    (var("LEGO_CERT_PATH"), var("LEGO_CERT_KEY_PATH"))
                {
                    (
                        c.into(),
                        k.into(),
                        "lego hook ($LEGO_CERT_PATH, $LEGO_CERT_KEY_PATH)",
                    )
                } else {
                    return Err(CertSourceError::NoneGiven);
                }
            }
        };
        Ok(CertInput {
            fullchain: read(&cert)?,
            key: read(&key)?,
            source: format!("{} and {} ({what})", cert.display(), key.display()),
        })
    }
}

/// Where an adopted certificate goes.
#[derive(Debug, Clone)]
pub struct AdoptTarget {
    /// The folder of `server.crt` and `server.key`: the deployment's `volumes/tls` when the
    /// named folder is a deployment folder, else the named folder.
    pub tls_dir: PathBuf,
    /// The deployment named (`--deployment`) or implied (the named folder, when it holds
    /// `volumes/tls`).
    pub deployment: Option<PathBuf>,
    /// The deployment and its layout (whose key readers the key must suit): the one named or
    /// implied, else the one found among the certificate folder's parents.
    pub found: Option<(PathBuf, Layout)>,
}

impl AdoptTarget {
    /// The target for the folder the user named (`dir`) and the `--deployment` given, if any.
    pub fn find(dir: &Path, deployment: Option<&Path>) -> Self {
        let in_deployment = dir.join(TLS_DIR);
        let tls_dir = if in_deployment.is_dir() {
            in_deployment
        } else {
            dir.to_path_buf()
        };
        let deployment = deployment
            .map(Path::to_path_buf)
            .or_else(|| (tls_dir != dir).then(|| dir.to_path_buf()));
        let found = match &deployment {
            Some(d) => Layout::detect(&FsSource::new(d), None)
                .ok()
                .map(|l| (d.clone(), l)),
            None => crate::effect::find_deployment(&tls_dir.join("server.crt")),
        };
        Self {
            tls_dir,
            deployment,
            found,
        }
    }
}

/// What `pgtls certs adopt` did: the adoption, and when the certificate changed, what making it
/// take effect printed and whether it was confirmed.
#[derive(Debug)]
pub struct AdoptRun {
    /// The adoption.
    pub report: AdoptReport,
    /// The lines of [`crate::effect::take_effect`] and whether it succeeded (`None`: nothing
    /// changed, nothing to reload).
    pub effect: Option<(Vec<String>, bool)>,
}

impl AdoptRun {
    /// Whether making the change take effect failed (a reload not confirmed): exit 1.
    pub fn failed(&self) -> bool {
        self.effect.as_ref().is_some_and(|(_, ok)| !ok)
    }

    /// The JSON of `pgtls certs adopt --json`.
    pub fn to_json(&self) -> serde_json::Value {
        self.report
            .to_json(self.effect.as_ref().map(|(l, _)| l.as_slice()))
    }
}

impl AdoptTarget {
    /// Adopts `input` into this target ([`crate::adopt::adopt`], at the current time) and, when
    /// the certificate changed, makes it take effect in the deployment through the Docker engine
    /// of this host (`reload`: signal and confirm on the wire, else print the actions).
    ///
    /// # Errors
    /// The adoption's refusals (a key that does not match, an expired leaf, ...), a failed write,
    /// or a failed reload step.
    pub fn adopt_and_apply(
        &self,
        input: &CertInput,
        names: &[String],
        owner: Option<pgtls_certs::Owner>,
        dry_run: bool,
        reload: bool,
    ) -> crate::Result<AdoptRun> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().cast_signed());
        let report = crate::adopt::adopt(&crate::adopt::AdoptRequest {
            dir: &self.tls_dir,
            fullchain: &input.fullchain,
            key: &input.key,
            source: input.source.clone(),
            names,
            owner,
            now,
            dry_run,
            deployment: self.found.as_ref().map(|(d, l)| (d.as_path(), l)),
        })?;
        let effect = if report.status == crate::adopt::AdoptStatus::Adopted {
            let engine = crate::docker::DockerCli::from_env();
            let cert = self.tls_dir.join("server.crt");
            Some(crate::effect::take_effect(
                &cert,
                self.deployment.as_deref(),
                reload,
                &engine,
                &[crate::effect::Change::Certificates],
                Some(&cert),
            )?)
        } else {
            None
        };
        Ok(AdoptRun { report, effect })
    }
}

impl AdoptReport {
    /// The JSON of `pgtls certs adopt --json` (ARCHITECTURE.md "Output contracts"); `effect` is
    /// what making the change take effect printed, when it was attempted.
    pub fn to_json(&self, effect: Option<&[String]>) -> serde_json::Value {
        serde_json::json!({
            "status": self.status,
            "changed": self.status == AdoptStatus::Adopted,
            "source": self.source,
            "dir": self.dir,
            "subject": self.leaf.subject,
            "issuer": self.leaf.issuer,
            "sans": self.leaf.sans,
            "not_after": self.leaf.not_after,
            "days_left": self.leaf.days_left,
            "key": self.leaf.key,
            "sha256": self.leaf.sha256,
            "chain": self.chain.iter().map(|c| &c.subject).collect::<Vec<_>>(),
            "files": self.files.iter().map(|(p, s)| serde_json::json!({"path": p, "status": s})).collect::<Vec<_>>(),
            "backup_dir": self.backup_dir,
            "key_mode": format!("{:04o}", self.key_mode),
            "key_owner": format!("{}:{}", self.key_owner.0, self.key_owner.1),
            "readers": self.readers.iter().map(|(r, v)| serde_json::json!({"who": r.who, "uid": r.uid, "key": r.key, "loads": v.is_none(), "reason": v})).collect::<Vec<_>>(),
            "warnings": self.warnings,
            "effect": effect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn files_are_read_and_named() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = (d.path().join("fullchain.pem"), d.path().join("privkey.pem"));
        std::fs::write(&c, "CERT").unwrap();
        std::fs::write(&k, "KEY").unwrap();
        let got = CertSource::Files { cert: &c, key: &k }
            .read(&|_| None)
            .unwrap();
        assert_eq!((got.fullchain.as_str(), got.key.as_str()), ("CERT", "KEY"));
        assert!(
            got.source.ends_with("privkey.pem (--cert/--key)"),
            "{}",
            got.source
        );
    }

    #[test]
    fn certbot_wins_over_lego_and_empty_counts_as_unset() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("fullchain.pem"), "CERTBOT").unwrap();
        std::fs::write(d.path().join("privkey.pem"), "K").unwrap();
        std::fs::write(d.path().join("lego.crt"), "LEGO").unwrap();
        let lineage = d.path().display().to_string();
        let lego_crt = d.path().join("lego.crt").display().to_string();
        let lego_key = d.path().join("privkey.pem").display().to_string();
        let both = [
            ("RENEWED_LINEAGE", lineage.as_str()),
            ("LEGO_CERT_PATH", lego_crt.as_str()),
            ("LEGO_CERT_KEY_PATH", lego_key.as_str()),
        ];
        let got = CertSource::HookEnv.read(&env(&both)).unwrap();
        assert_eq!(got.fullchain, "CERTBOT");
        assert!(
            got.source
                .ends_with("(certbot deploy hook ($RENEWED_LINEAGE))")
        );
        let lego_only = [
            ("RENEWED_LINEAGE", ""),
            ("LEGO_CERT_PATH", lego_crt.as_str()),
            ("LEGO_CERT_KEY_PATH", lego_key.as_str()),
        ];
        let got = CertSource::HookEnv.read(&env(&lego_only)).unwrap();
        assert_eq!(got.fullchain, "LEGO");
        let half = [("LEGO_CERT_PATH", lego_crt.as_str())];
        assert!(matches!(
            CertSource::HookEnv.read(&env(&half)),
            Err(CertSourceError::NoneGiven)
        ));
    }

    #[test]
    fn a_missing_file_and_a_bad_acme_json_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope.pem");
        let err = CertSource::Files {
            cert: &missing,
            key: &missing,
        }
        .read(&|_| None)
        .unwrap_err();
        assert!(matches!(&err, CertSourceError::Read { path, .. } if *path == missing));
        let acme = d.path().join("acme.json");
        std::fs::write(&acme, "not json").unwrap();
        let err = CertSource::TraefikAcme {
            file: &acme,
            domain: "db.example.com",
            resolver: None,
        }
        .read(&|_| None)
        .unwrap_err();
        let CertSourceError::Acme(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.to_string(), format!("reading \"{}\"", acme.display()));
        assert!(e.is_refusal(), "{e:?}");
    }

    #[test]
    fn a_deployment_folder_means_its_volumes_tls() {
        let d = tempfile::tempdir().unwrap();
        let t = AdoptTarget::find(d.path(), None);
        assert_eq!(t.tls_dir, d.path());
        assert!(t.deployment.is_none());
        std::fs::create_dir_all(d.path().join(TLS_DIR)).unwrap();
        let t = AdoptTarget::find(d.path(), None);
        assert_eq!(t.tls_dir, d.path().join(TLS_DIR));
        assert_eq!(t.deployment.as_deref(), Some(d.path()));
        // no compose file: a deployment named but no layout detected
        assert!(t.found.is_none());
    }
}

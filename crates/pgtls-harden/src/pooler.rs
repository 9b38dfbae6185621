//! Supavisor's tenant script wherever it lives: a standalone `pooler.exs`, or inline in a
//! compose file as the `content:` of the pooler's bind mount at [`POOLER_EXS_TARGET`]
//! (Coolify's layout). [`PoolerScript::harden`] edits it with [`pooler_exs::harden`] and
//! returns the whole file before and after, ready for a diff and the one writer.
//!
//! ```
//! use pgtls_harden::pooler::PoolerScript;
//!
//! let compose = "services:\n  supabase-supavisor:\n    image: supabase/supavisor:2.7.4\n    volumes:\n      - type: bind\n        source: ./volumes/pooler/pooler.exs\n        target: /etc/pooler/pooler.exs\n        content: |\n          params = %{\"external_id\" => \"t\"}\n          {:ok, _} = Supavisor.Tenants.create_tenant(params)\n";
//! let script = PoolerScript::from_compose("docker-compose.yml".as_ref(), compose, None)?;
//! let edit = script.harden(&pooler_exs::HardenOptions { enforce_ssl: true, ..Default::default() })?;
//! assert!(edit.after.contains("\"enforce_ssl\" => true"));
//! # Ok::<(), pgtls_harden::Error>(())
//! ```

use std::path::{Path, PathBuf};

use compose_patch::ComposeFile;

use crate::error::{Context as _, Error, Result};
pub use crate::layout::POOLER_EXS_TARGET;

/// The pooler service names looked for when none is given.
pub const POOLER_SERVICES: [&str; 3] = ["supabase-supavisor", "supavisor", "supabase-pooler"];

/// The tenant script and the file holding it.
#[derive(Debug, Clone)]
pub struct PoolerScript {
    /// The file (the script itself, or the compose file).
    pub path: PathBuf,
    /// The script's text.
    pub text: String,
    compose: Option<(ComposeFile, String)>,
}

/// A script edit: the whole file before and after, and what changed in the script.
#[derive(Debug, Clone)]
pub struct PoolerEdit {
    /// The file's text before.
    pub before: String,
    /// The file's text after.
    pub after: String,
    /// What [`pooler_exs::harden`] did to the script.
    pub report: pooler_exs::HardenReport,
}

impl PoolerScript {
    /// A standalone `pooler.exs` read from `path`.
    pub fn from_file(path: &Path, text: String) -> Self {
        Self {
            path: path.to_path_buf(),
            text,
            compose: None,
        }
    }

    /// The script inline in the compose file at `path` (text `compose`), in `service` or the
    /// first of [`POOLER_SERVICES`] present.
    ///
    /// # Errors
    /// The compose does not parse, no pooler service is found (a usage error), or the service
    /// keeps no inline `content:` for [`POOLER_EXS_TARGET`] (a refusal: pass the file instead).
    pub fn from_compose(path: &Path, compose: &str, service: Option<&str>) -> Result<Self> {
        let shown = path.display();
        let file = ComposeFile::parse(compose).with_context(|| format!("reading \"{shown}\""))?;
        let service = match service {
            Some(s) => s.to_owned(),
            None => POOLER_SERVICES
                .into_iter()
                .find_map(|s| file.find_service(s).ok())
                .ok_or_else(|| Error::Message("invalid value \"\" for --service: no supavisor / supabase-supavisor service; name it with --service".into()))?,
        };
        let text = file
            .inline_content(&service, POOLER_EXS_TARGET)
            .with_context(|| format!("reading service \"{service}\" in \"{shown}\""))?
            .ok_or_else(|| {
                Error::Refused(format!(
                    "service \"{service}\" in \"{shown}\" has no inline `content:` for {POOLER_EXS_TARGET}: pass the pooler.exs file instead"
                ))
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
            compose: Some((file, service)),
        })
    }

    /// Edits the script; an inline one is put back into its compose file.
    ///
    /// # Errors
    /// The script cannot be edited safely, or the compose cannot take it back.
    pub fn harden(&self, options: &pooler_exs::HardenOptions) -> Result<PoolerEdit> {
        let report = pooler_exs::harden(&self.text, options)
            .with_context(|| format!("editing the script in \"{}\"", self.path.display()))?;
        let (before, after) = match &self.compose {
            None => (self.text.clone(), report.text.clone()),
            Some((compose, service)) => {
                let mut compose = compose.clone();
                let before = compose.text().to_owned();
                let _ = compose.set_inline_content(service, POOLER_EXS_TARGET, &report.text)?;
                (before, compose.text().to_owned())
            }
        };
        Ok(PoolerEdit {
            before,
            after,
            report,
        })
    }
}

/// Whether the pooler can route by SNI, as far as its image tag tells.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SniRouting {
    /// Supavisor 2.9.0 or later (`sni_hostname` routing since 2.9.0, supabase/supavisor
    /// bd4eff25).
    Supported {
        /// The image.
        image: String,
    },
    /// The version is not known (no image, a tag without a version): said, not refused.
    Unknown {
        /// Why.
        why: String,
    },
}

/// The SNI gate for `sni_hostname` on the pooler `image` (`None`: not known): a Supavisor tag
/// before 2.9.0 is refused: finding a tenant by the SNI a client sent came in 2.9.0
/// (supabase/supavisor bd4eff25; `Tenants.get_tenant(nil, sni_hostname)`), so on an older
/// release the setting routes nothing.
///
/// # Errors
/// [`Error::Refused`] for a Supavisor image whose tag names a version before 2.9.0.
pub fn sni_routing(image: Option<&str>) -> Result<SniRouting> {
    let Some(image) = image else {
        return Ok(SniRouting::Unknown {
            why: "the pooler image is not known here (no deployment folder above the script mounts it); SNI routing needs Supavisor 2.9.0 or later".into(),
        });
    };
    if crate::supavisor::has_sni_routing(image) {
        return Ok(SniRouting::Supported {
            image: image.to_owned(),
        });
    }
    match crate::supavisor::image_version(image) {
        Some((a, b, c)) if crate::supavisor::is_supavisor(image) => Err(Error::Refused(format!(
            "the pooler image {image} is Supavisor {a}.{b}.{c}: finding a tenant by its sni_hostname (SNI routing) came in 2.9.0, so the setting would route nothing; set the pooler image to supabase/supavisor:2.9.6 or later (2.9.6 also fixes a TLS hang of libpq's asynchronous API), then set the host name"
        ))),
        _ => Ok(SniRouting::Unknown {
            why: format!(
                "the pooler image {image} names no Supavisor version: SNI routing needs Supavisor 2.9.0 or later"
            ),
        }),
    }
}

/// `pooler set --sni-hostname`'s gate on the pooler's version: the image from the merged
/// Compose model of `compose`'s folder, else of the deployment that mounts the tenant script
/// `script` ([`script_pooler_image`]); returns the verdict mark (`pass` or `warn`) and the line
/// to show. The host name itself is checked by [`pooler_exs::check_sni_hostname`].
///
/// # Errors
/// [`Error::Refused`] for a Supavisor before 2.9.0 ([`sni_routing`]).
pub fn sni_gate(compose: Option<&Path>, script: Option<&Path>) -> Result<(&'static str, String)> {
    let image = match compose {
        Some(compose) => match merged_pooler_image(compose) {
            Ok(image) => image,
            Err(e) => {
                return Ok((
                    "warn",
                    format!(
                        "the pooler's version was not checked ({e}); SNI routing needs Supavisor 2.9.0 or later"
                    ),
                ));
            }
        },
        None => script
            .and_then(script_pooler_image)
            .and_then(|(_, image)| image),
    };
    Ok(match sni_routing(image.as_deref())? {
        SniRouting::Supported { image } => (
            "pass",
            format!("{image} routes by SNI (Supavisor 2.9.0 or later)"),
        ),
        SniRouting::Unknown { why } => ("warn", why),
    })
}

/// The pooler image Compose runs for the compose file at `compose`: from the merged model of its
/// folder as Compose reads it by default (`COMPOSE_FILE`, `.env`, the override file) when that
/// model reads `compose`, else from `compose` alone (`-f compose`). `None` when no pooler
/// service with an image is found.
///
/// # Errors
/// The folder's compose files cannot be read or merged.
pub fn merged_pooler_image(compose: &Path) -> Result<Option<String>> {
    let dir = match compose.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = compose
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tree = crate::tree::Tree::new(&dir, None);
    let default = crate::layout::ComposeInvocation::from_process(Vec::new());
    let layout = match crate::layout::detect_with(&tree, None, &default) {
        Ok(l) if l.files.iter().any(|f| f.as_os_str() == name.as_str()) => l,
        _ => crate::layout::detect_with(
            &tree,
            None,
            &crate::layout::ComposeInvocation::from_process(vec![name]),
        )?,
    };
    Ok(layout.pooler.and_then(|p| p.image))
}

/// The deployment a standalone tenant script belongs to and the pooler image Compose runs there:
/// the nearest of the script's parent folders (up to four) whose merged Compose model mounts
/// this very file as the pooler's tenant script. `None` when no such folder is found.
pub fn script_pooler_image(script: &Path) -> Option<(PathBuf, Option<String>)> {
    let file = std::fs::canonicalize(script).ok()?;
    let default = crate::layout::ComposeInvocation::from_process(Vec::new());
    file.ancestors().skip(1).take(4).find_map(|dir| {
        let tree = crate::tree::Tree::new(dir, None);
        let layout = crate::layout::detect_with(&tree, None, &default).ok()?;
        let pooler = layout.pooler.as_ref()?;
        let mount = crate::layout::tenant_script_mount(pooler)?;
        let host = crate::layout::relative_host_path(&mount.source)?;
        (std::fs::canonicalize(dir.join(host)).ok()? == file)
            .then(|| (dir.to_path_buf(), pooler.image.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_routing_by_the_pooler_tag() {
        assert!(matches!(
            sni_routing(Some("supabase/supavisor:2.9.10")),
            Ok(SniRouting::Supported { .. })
        ));
        assert!(matches!(
            sni_routing(Some("supabase/supavisor:v2.9.0")),
            Ok(SniRouting::Supported { .. })
        ));
        let e = sni_routing(Some("supabase/supavisor:2.7.4")).unwrap_err();
        assert!(e.is_refusal(), "{e}");
        assert!(
            e.to_string().contains("Supavisor 2.7.4") && e.to_string().contains("2.9.0"),
            "{e}"
        );
        assert!(matches!(
            sni_routing(Some("supabase/supavisor:${TAG}")),
            Ok(SniRouting::Unknown { .. })
        ));
        assert!(matches!(sni_routing(None), Ok(SniRouting::Unknown { .. })));
    }

    #[test]
    fn a_compose_without_the_script_is_refused_and_a_missing_service_is_a_usage_error() {
        let no_content = "services:\n  supavisor:\n    image: supabase/supavisor:2.7.4\n";
        let err = PoolerScript::from_compose(Path::new("c.yml"), no_content, None).unwrap_err();
        assert!(err.is_refusal(), "{err}");
        let err = PoolerScript::from_compose(
            Path::new("c.yml"),
            "services:\n  db:\n    image: x\n",
            None,
        )
        .unwrap_err();
        assert!(!err.is_refusal());
        assert!(err.to_string().contains("--service"), "{err}");
    }

    #[test]
    fn a_standalone_script_is_edited_in_place() {
        let text = "params = %{\"external_id\" => \"t\"}\n{:ok, _} = Supavisor.Tenants.create_tenant(params)\n";
        let s = PoolerScript::from_file(Path::new("pooler.exs"), text.into());
        let edit = s
            .harden(&pooler_exs::HardenOptions {
                enforce_ssl: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(edit.before, text);
        assert!(
            edit.after.contains("\"enforce_ssl\" => true"),
            "{}",
            edit.after
        );
    }
}

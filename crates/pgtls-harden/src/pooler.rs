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

#[cfg(test)]
mod tests {
    use super::*;

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

//! `--reload` and its absence: making a renewal or an hba edit take effect in its deployment.

use crate::error::Outcome;
use crate::output::Out;

/// Prints (or, with `--reload`, does) what makes a renewal (`cert`) or an hba edit of `path`
/// take effect in its deployment.
pub fn take_effect(
    out: &mut Out,
    path: &std::path::Path,
    a: &crate::cli::EffectArgs,
    cert: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    use pgtls_harden::effect::{self, Change};
    let change = [cert.map_or(Change::Hba, |_| Change::Certificates)];
    let (engine, dep) = (
        pgtls_harden::docker::DockerCli::from_env(),
        a.deployment.as_deref(),
    );
    let how = pgtls_harden::ComposeInvocation::from_process(a.compose_file.clone());
    let (lines, ok) = effect::take_effect_with(path, dep, &how, a.reload, &engine, &change, cert)?;
    lines.iter().try_for_each(|l| out.line(l))?;
    Ok(Outcome::from_failed(!ok))
}

//! `pgtls pooler ...`.

use anyhow::Context as _;
use pgtls_harden::pooler::PoolerScript;
use pgtls_harden::report;
use pooler_exs::Script;

use crate::cli::{PoolerCommand, PoolerInspectArgs, PoolerSetArgs, PoolerSource};
use crate::cmd::edit::{read_text, show_and_write};
use crate::error::{Error, Outcome};
use crate::output::Out;

pub fn run(cmd: &PoolerCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        PoolerCommand::Set(a) => set(a, out),
        PoolerCommand::Inspect(a) => inspect(a, out),
    }
}

fn load(src: &PoolerSource) -> anyhow::Result<PoolerScript> {
    if let Some(path) = &src.file {
        return Ok(PoolerScript::from_file(path, read_text(path)?));
    }
    let path = src.compose.clone().context("pass FILE or --compose FILE")?;
    let text = read_text(&path)?;
    Ok(PoolerScript::from_compose(
        &path,
        &text,
        src.service.as_deref(),
    )?)
}

fn set(a: &PoolerSetArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    if !a.enforce_ssl && !a.upstream_ssl && !a.upsert && a.sni_hostname.is_none() {
        anyhow::bail!(Error::BadValue {
            flag: "pooler set",
            value: String::new(),
            reason:
                "nothing to set: pass --enforce-ssl, --upstream-ssl, --upsert or --sni-hostname"
                    .into(),
        });
    }
    let sni_note = match &a.sni_hostname {
        Some(host) => Some(sni_gate(host, &a.source)?),
        None => None,
    };
    let script = load(&a.source)?;
    let edit = script.harden(&pooler_exs::HardenOptions {
        enforce_ssl: a.enforce_ssl,
        upstream_ca: a
            .upstream_ssl
            .then(|| a.upstream_ca.clone().unwrap_or_default()),
        upsert: a.upsert,
        sni_hostname: a.sni_hostname.clone(),
    })?;
    if let Some((mark, note)) = &sni_note {
        out.line(&format!("{} {note}", out.mark(mark)))?;
    }
    show_and_write(
        out,
        &script.path,
        &edit.before,
        &edit.after,
        !a.mode.dry_run,
    )?;
    out.raw(&report::pooler::set_text(&edit.report, out.painter()))?;
    Ok(Outcome::Ok)
}

/// `--sni-hostname`: a DNS name (an IP address is a usage error), on a pooler that routes by
/// SNI (a Supavisor tag before 2.9.0 is refused); the line to show about the version.
fn sni_gate(host: &str, src: &PoolerSource) -> anyhow::Result<(&'static str, String)> {
    if let Err(pooler_exs::Error::InvalidSniHostname { reason, .. }) =
        pooler_exs::check_sni_hostname(host)
    {
        anyhow::bail!(Error::BadValue {
            flag: "--sni-hostname",
            value: host.to_owned(),
            reason,
        });
    }
    Ok(pgtls_harden::pooler::sni_gate(
        src.compose.as_deref(),
        src.file.as_deref(),
    )?)
}

fn inspect(a: &PoolerInspectArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let source = load(&a.source)?;
    let path = &source.path;
    let script = Script::parse(&source.text)
        .with_context(|| format!("reading the script in \"{}\"", path.display()))?;
    let i = script
        .inspect()
        .with_context(|| format!("inspecting \"{}\"", path.display()))?;
    if a.json {
        out.json(&i)?;
    } else {
        out.raw(&report::pooler::inspect_text(&i, out.painter()))?;
    }
    Ok(Outcome::Ok)
}

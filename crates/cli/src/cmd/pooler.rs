//! `pgtls pooler ...`.

use anyhow::Context as _;
use pgtls_harden::pooler::{PoolerScript, SniRouting};
use pooler_exs::{Script, TenantLogic};

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
    let report = edit.report;
    for change in &report.changes {
        out.line(&format!(
            "{} {} (script line {})",
            out.mark("changed"),
            change.detail,
            change.line
        ))?;
    }
    for w in &report.warnings {
        out.line(&format!("{} {w}", out.mark("warn")))?;
    }
    if report.tenant_logic == TenantLogic::CreateOnly {
        out.line("  fix: add --upsert, or run the API call `pgtls harden <folder>` prints under Next steps")?;
    }
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
    let image = match &src.compose {
        Some(compose) => match pgtls_harden::pooler::merged_pooler_image(compose) {
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
        None => src
            .file
            .as_deref()
            .and_then(pgtls_harden::pooler::script_pooler_image)
            .and_then(|(_, image)| image),
    };
    Ok(match pgtls_harden::pooler::sni_routing(image.as_deref())? {
        SniRouting::Supported { image } => (
            "pass",
            format!("{image} routes by SNI (Supavisor 2.9.0 or later)"),
        ),
        SniRouting::Unknown { why } => ("warn", why),
        _ => (
            "warn",
            "SNI routing needs Supavisor 2.9.0 or later".to_owned(),
        ),
    })
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
        return Ok(Outcome::Ok);
    }
    out.line(&format!(
        "params map:   line {}{}",
        i.params_line,
        i.params_variable
            .as_deref()
            .map(|v| format!(", bound to `{v}`"))
            .unwrap_or_default()
    ))?;
    out.line(&format!("keys:         {}", i.params_keys.join(", ")))?;
    out.line(&format!("enforce_ssl:  {}", i.enforce_ssl.describe()))?;
    out.line(&format!("upstream_ssl: {}", i.upstream_ssl.describe()))?;
    out.line(&format!("tenant logic: {}", i.tenant_logic.describe()))?;
    out.line(&format!(
        "{} enforce_ssl reaches an existing tenant: {}",
        out.mark(if i.enforce_ssl_reaches_existing_tenant {
            "pass"
        } else {
            "warn"
        }),
        if i.enforce_ssl_reaches_existing_tenant {
            "yes"
        } else {
            "no"
        }
    ))?;
    Ok(Outcome::Ok)
}

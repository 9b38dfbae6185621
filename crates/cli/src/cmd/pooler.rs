//! `pgtls pooler ...`.

use anyhow::Context as _;
use pgtls_harden::pooler::PoolerScript;
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
    if !a.enforce_ssl && !a.upstream_ssl && !a.upsert {
        anyhow::bail!(Error::BadValue {
            flag: "pooler set",
            value: String::new(),
            reason: "nothing to set: pass --enforce-ssl, --upstream-ssl or --upsert".into(),
        });
    }
    let script = load(&a.source)?;
    let edit = script.harden(&pooler_exs::HardenOptions {
        enforce_ssl: a.enforce_ssl,
        upstream_ca: a
            .upstream_ssl
            .then(|| a.upstream_ca.clone().unwrap_or_default()),
        upsert: a.upsert,
    })?;
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

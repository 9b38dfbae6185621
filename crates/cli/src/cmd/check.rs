//! `pgtls check`.

use crate::checklist::Checklist;
use crate::cli::CheckArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::output::{Out, Style};

pub fn run(args: &CheckArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    crate::cmd::textfile::check_output(args.format, args.output.as_deref())?;
    let dep = &args.deployment;
    let mut req = deployment::request(dep);
    req.expiry_warn_days = args.expiry_warn_days;
    let done = pgtls_harden::run::check(&req, &deployment::engine())?;
    let (tree, layout, facts, checks) = (&done.tree, &done.layout, &done.facts, &done.checks);
    if args.format == Some(crate::cli::ReportFormat::Prometheus) {
        crate::cmd::textfile::checklist(args, checks)?;
    } else if dep.json || args.format == Some(crate::cli::ReportFormat::Json) {
        out.json(&done.to_json())?;
    } else {
        let kind = layout.kind.name();
        let title = format!("pgtls check {} ({kind} layout)", tree.src().display());
        out.line(&out.paint(Style::Bold, &title))?;
        match &facts.user {
            Some(u) => out.line(&format!(
                "  db user {} ({})",
                u.ids(),
                u.source.describe()
            ))?,
            None => out.line(
                "  db user unknown: pass --pg-owner UID:GID (`docker compose exec db id postgres` tells it)",
            )?,
        }
        render_items(out, checks)?;
        let failed = checks.failing().len();
        out.line("")?;
        if failed == 0 && layout.kind == pgtls_harden::LayoutKind::Coolify {
            out.line(&out.paint(
                Style::Yellow,
                "The checks on the files in this folder passed; Coolify's own copy of the compose was not checked (unknown, see coolify-compose).",
            ))?;
        } else if failed == 0 {
            out.line(&out.paint(Style::Green, "All checks passed."))?;
        } else {
            out.line(&out.paint(Style::Red, &format!("{failed} check(s) failed.")))?;
        }
    }
    Ok(Outcome::from_failed(checks.failed()))
}

/// One line per item: mark, id, reason, and the fix when it does not pass.
pub fn render_items(out: &mut Out, checks: &Checklist) -> anyhow::Result<()> {
    for item in &checks.items {
        out.line(&format!(
            "  {} {:<20} {}",
            out.mark(item.verdict.as_str()),
            item.id,
            item.detail
        ))?;
        if let Some(fix) = &item.fix {
            out.line(&format!("  {:<22} fix: {fix}", ""))?;
        }
    }
    Ok(())
}

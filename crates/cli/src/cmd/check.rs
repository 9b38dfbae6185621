//! `pgtls check`.

use crate::cli::CheckArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::output::{Out, Style};
use pgtls_harden::checklist::{Checklist, Verdict};
use pgtls_harden::report;

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
        out.line("")?;
        render_checklist(out, "Checklist", checks, dep.verbose)?;
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

/// The checklist under `heading`: a count per verdict on the heading line, then one line per
/// item that does not pass (a warning's first clause; a failing item whole, its fix under it). With
/// `verbose`, every item with its whole reason and fix.
pub fn render_checklist(
    out: &mut Out,
    heading: &str,
    checks: &Checklist,
    verbose: bool,
) -> anyhow::Result<()> {
    let count = |v: Verdict| checks.items.iter().filter(|i| i.verdict == v).count();
    let mut counts = vec![format!("{} pass", count(Verdict::Pass))];
    for (n, what) in [
        (count(Verdict::Warn), "warn"),
        (count(Verdict::Fail), "fail"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {what}"));
        }
    }
    out.line(&format!(
        "{}: {}",
        out.paint(Style::Bold, heading),
        counts.join(", ")
    ))?;
    for item in &checks.items {
        if !verbose && item.verdict == Verdict::Pass {
            continue;
        }
        // a failing item in full: few, and what must be fixed; a warning's first clause
        let detail = if verbose || item.verdict == Verdict::Fail {
            item.detail.clone()
        } else {
            report::first_clause(&item.detail, 24, 110)
        };
        out.line(&format!(
            "  {} {:<20} {detail}",
            out.mark(item.verdict.as_str()),
            item.id,
        ))?;
        if let Some(fix) = (item.fix.as_ref()).filter(|_| verbose || item.verdict == Verdict::Fail)
        {
            out.line(&format!("  {:<22} fix: {fix}", ""))?;
        }
    }
    Ok(())
}

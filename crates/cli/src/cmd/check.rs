//! `pgtls check`.

use crate::checklist::{self, CheckOptions, Checklist};
use crate::cli::CheckArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::harden;
use crate::output::{Out, Style};
use crate::plan::Staging;

pub fn run(args: &CheckArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dep = &args.deployment;
    let (tree, layout) = deployment::with_dir(deployment::open(dep, None), &dep.dir)?;
    let facts = deployment::with_dir(deployment::db_facts(dep, &tree, &layout), &dep.dir)?;
    let mut extra = dep.domain.clone();
    extra.extend(dep.san.iter().cloned());
    let staging = Staging::new(&tree);
    let mut checks = checklist::run(
        &staging,
        &layout,
        &CheckOptions {
            db_user: facts.user.clone(),
            sans: harden::wanted_sans(&layout, &extra),
            expiry_warn_days: args.expiry_warn_days,
            trust: Some(deployment::with_dir(
                deployment::trust(&tree, &layout, &[]),
                &dep.dir,
            )?),
        },
    );
    // what Coolify holds in its database cannot be seen from here: unknown, never a pass
    if let Some(item) = pgtls_harden::via_coolify::check_item(&layout, &tree) {
        checks.items.insert(0, item);
    }
    if dep.json {
        let mut report = serde_json::to_value(&checks)?;
        if let (Some(obj), serde_json::Value::Object(extra)) =
            (report.as_object_mut(), facts.json())
        {
            obj.extend(extra);
        }
        out.json(&report)?;
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
        render_items(out, &checks)?;
        let failed = checks
            .items
            .iter()
            .filter(|i| i.verdict == checklist::Verdict::Fail)
            .count();
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

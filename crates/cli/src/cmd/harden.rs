//! `pgtls harden`.

use crate::cli::HardenArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::output::{Out, Style};
use pgtls_harden::run::{self, CoolifyTarget, HardenRun};
use pgtls_harden::{StepStatus, Warning, checklist, effect, report, via_coolify as coolify};

pub fn run(args: &HardenArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dep = &args.deployment;
    let mut req = deployment::request(dep);
    req.out.clone_from(&args.out);
    req.trusted.clone_from(&args.trusted_cidr);
    req.key_type = args.key_type.map(crate::cli::key_type);
    req.days = args.days;
    req.pooler_upsert = args.pooler_upsert;
    req.dry_run = args.dry_run;
    req.follow_symlinks = args.follow_symlinks;
    req.coolify = args.coolify_url.as_ref().map(|url| CoolifyTarget {
        url: url.clone(),
        token: pgtls_harden::coolify::Token::from_env(coolify::TOKEN_ENV),
        service: args.coolify_service.clone(),
        restart: args.coolify_restart,
    });
    let engine = deployment::engine();
    let done = run::harden(&req, &engine)?;
    // --reload: the db reloaded / the pooler restarted when only certificates or pg_hba.conf
    // changed, confirmed on the wire (pgtls_harden::effect)
    let reload = (args.reload && !args.dry_run && done.tree.in_place())
        .then(|| effect::after_harden(&dep.dir, &done.layout, &done.plan.steps, &engine));
    let outcome = match &reload {
        Some((_, false)) => Outcome::Findings,
        _ => checklist_outcome(args, &done.checks),
    };
    if dep.json {
        let mut json = done.to_json();
        if let (Some((lines, ok)), Some(obj)) = (&reload, json.as_object_mut()) {
            obj.insert(
                "reload".into(),
                serde_json::json!({"ok": ok, "lines": lines}),
            );
        }
        out.json(&json)?;
        return Ok(outcome);
    }
    render(args, &done, out)?;
    if let Some((lines, _)) = &reload {
        lines.iter().try_for_each(|l| out.line(l))?;
    }
    Ok(outcome)
}

/// The human report: one screen of facts (a line per step, per warning with its code, per
/// checklist item that does not pass, per next step), then the diffs. `--verbose` adds every
/// note, the text of each warning, every checklist item with its fix and the full next steps.
fn render(args: &HardenArgs, done: &HardenRun, out: &mut Out) -> anyhow::Result<()> {
    let HardenRun {
        plan,
        tree,
        user,
        checks,
        applied,
        paste_file,
        coolify_notes,
        next_steps,
        ..
    } = done;
    let verbose = args.deployment.verbose;
    let changed = done.changed();
    let layout_name = plan.layout.description();
    let target = if tree.in_place() {
        "editing in place".to_owned()
    } else {
        format!("writing a hardened copy to {}", tree.dest().display())
    };
    out.line(&out.paint(
        Style::Bold,
        &format!(
            "pgtls harden {}: {layout_name}, {target}",
            tree.src().display()
        ),
    ))?;
    out.line(&format!(
        "  server key owner {} ({})",
        user.ids(),
        user.source.describe()
    ))?;
    if let Some(trust) = &done.trust {
        out.line(&format!(
            "  trusted networks {} ({})",
            trust.cidrs.join(", "),
            trust.source.describe()
        ))?;
    }
    // the deployment-state warning comes before anything is shown as planned or written
    let state = done.state_warning();
    match &state {
        Some(w) => warning_line(out, w, verbose)?,
        None => out.line(&format!("  database: {}", plan.pgdata.describe()))?,
    }
    if args.dry_run {
        out.line(&out.paint(Style::Yellow, "  dry run: nothing will be written"))?;
    }
    out.line("")?;
    out.line(&out.paint(Style::Bold, "Plan"))?;
    for step in &plan.steps {
        let status = match step.status {
            StepStatus::Changed => "changed",
            StepStatus::Unchanged => "unchanged",
            StepStatus::Skipped => "skipped",
        };
        let first = step.notes.first().cloned().unwrap_or_default();
        out.line(&format!(
            "  {} {:<15} {:<9}  {first}",
            out.mark(status),
            step.id,
            status
        ))?;
        if verbose {
            for note in step.notes.iter().skip(1) {
                out.line(&format!("  {:<28}  {note}", ""))?;
            }
        }
    }
    let warnings: Vec<_> = (done.warnings().into_iter())
        .filter(|w| Some(w) != state.as_ref())
        .collect();
    if !warnings.is_empty() {
        out.line("")?;
        let hint = if verbose {
            ""
        } else {
            " (why and what to do: --verbose, or pgtls explain CODE)"
        };
        out.line(&format!("{}{hint}", out.paint(Style::Bold, "Warnings")))?;
        for w in &warnings {
            warning_line(out, w, verbose)?;
        }
    }
    out.line("")?;
    let heading = if args.dry_run {
        "Checklist (after applying this plan)"
    } else {
        "Checklist"
    };
    crate::cmd::check::render_checklist(out, heading, checks, verbose)?;
    if !coolify_notes.is_empty() {
        out.line("")?;
        out.line(&out.paint(Style::Bold, "Coolify"))?;
        for n in coolify_notes {
            out.line(&format!("  {n}"))?;
        }
    }
    out.line("")?;
    out.line(&out.paint(Style::Bold, "Next steps"))?;
    for (i, s) in next_steps.iter().enumerate() {
        match report::first_line(s) {
            (head, true) if !verbose => {
                out.line(&format!("  {}. {head} (the commands: --verbose)", i + 1))?;
            }
            _ => out.line(&format!("  {}. {s}", i + 1))?,
        }
    }
    out.line("")?;
    match (applied, changed, args.dry_run) {
        (_, false, _) => out.line(&out.paint(
            Style::Green,
            "Nothing to do: every step is already applied; no file was changed.",
        ))?,
        (_, true, true) => out.line(&format!(
            "Dry run: {} file(s) would be written. Run again without --dry-run to apply.",
            plan.changes.len()
        ))?,
        (Some(a), true, false) => {
            out.line(&out.paint(
                Style::Green,
                &format!("Wrote {} file(s) atomically.", a.written.len()),
            ))?;
            if let Some(b) = &a.backup_dir {
                out.line(&format!("Backups of replaced files: {}", b.display()))?;
            }
        }
        (None, true, false) => {}
    }
    if let Some(paste) = paste_file {
        out.line(&format!(
            "The hardened compose is in {}: Coolify does not read it until you paste it (Next steps).",
            tree.dest().join(paste).display()
        ))?;
    }
    if checks.failed() {
        let failing: Vec<String> = (checks.failing().iter())
            .map(|i| format!("{} ({})", i.id, i.detail))
            .collect();
        let verb = if args.dry_run { "would fail" } else { "fails" };
        let tail = if args.allow_failed_checks {
            "exit 0 because of --allow-failed-checks"
        } else {
            "fix these, or pass --allow-failed-checks to exit 0 anyway"
        };
        out.line(&out.paint(
            Style::Red,
            &format!(
                "The checklist of the hardened deployment {verb}: {}; {tail}.",
                failing.join("; ")
            ),
        ))?;
    }
    // the diffs last: the point of --dry-run, read after the summary
    let shown = done.shown_changes();
    if !shown.is_empty() {
        out.line("")?;
        out.line(&out.paint(Style::Bold, "Changes"))?;
        for change in shown {
            out.raw(&crate::render::change(change, out))?;
        }
    }
    Ok(())
}

/// `! CODE  title`, and with `verbose` the text written for this deployment under it.
fn warning_line(out: &mut Out, w: &Warning, verbose: bool) -> anyhow::Result<()> {
    out.line(&format!(
        "  {} {:<24} {}",
        out.mark("warn"),
        w.code.as_str(),
        w.title()
    ))?;
    if verbose {
        out.line(&format!("  {:<27}{}", "", w.text))?;
    }
    Ok(())
}

/// Exit 1 when the checklist of the hardened state fails, unless `--allow-failed-checks`.
fn checklist_outcome(args: &HardenArgs, checks: &checklist::Checklist) -> Outcome {
    Outcome::from_failed(checks.failed() && !args.allow_failed_checks)
}

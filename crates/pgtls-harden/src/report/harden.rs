//! The human reports of `pgtls harden` and `pgtls check`, and harden's JSON with `--reload`, built
//! from a [`HardenRun`] and a [`CheckRun`].

use crate::checklist::{Checklist, Verdict};
use crate::report::paint::{Lines, Paint, Style};
use crate::report::{Warning, first_clause, first_line};
use crate::run::{CheckRun, HardenRun};
use crate::step::StepStatus;

/// How much of a harden report to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct HardenView {
    /// Every note, each warning's text, every checklist item with its fix, the full next steps.
    pub verbose: bool,
    /// A failing checklist exits 0 (the closing line says so).
    pub allow_failed_checks: bool,
}

/// `pgtls harden --json`: [`HardenRun::to_json`], plus `"reload": {"ok", "lines"}` when the run
/// reloaded the services (`reload`: the lines reported and whether the change took effect).
pub fn json(done: &HardenRun, reload: Option<&(Vec<String>, bool)>) -> serde_json::Value {
    let mut json = done.to_json();
    if let (Some((lines, ok)), Some(obj)) = (reload, json.as_object_mut()) {
        obj.insert(
            "reload".into(),
            serde_json::json!({"ok": ok, "lines": lines}),
        );
    }
    json
}

/// The human report of a harden run: one screen of facts (a line per step, per warning with its
/// code, per checklist item that does not pass, per next step), then the diffs.
/// [`HardenView::verbose`] adds every note, the text of each warning, every checklist item with
/// its fix and the full next steps.
pub fn text(done: &HardenRun, view: HardenView, p: Paint) -> String {
    let HardenRun {
        plan,
        tree,
        user,
        checks,
        applied,
        paste_file,
        coolify_notes,
        next_steps,
        dry_run,
        ..
    } = done;
    let (verbose, dry_run) = (view.verbose, *dry_run);
    let mut out = Lines::default();
    let changed = done.changed();
    let layout_name = plan.layout.description();
    let target = if tree.in_place() {
        "editing in place".to_owned()
    } else {
        format!("writing a hardened copy to {}", tree.dest().display())
    };
    out.line(p.paint(
        Style::Bold,
        &format!(
            "pgtls harden {}: {layout_name}, {target}",
            tree.src().display()
        ),
    ));
    out.line(format!(
        "  server key owner {} ({})",
        user.ids(),
        user.source.describe()
    ));
    if let Some(trust) = &done.trust {
        out.line(format!(
            "  trusted networks {} ({})",
            trust.cidrs.join(", "),
            trust.source.describe()
        ));
    }
    // the deployment-state warning comes before anything is shown as planned or written
    let state = done.state_warning();
    match &state {
        Some(w) => warning_line(&mut out, w, verbose, p),
        None => out.line(format!("  database: {}", plan.pgdata.describe())),
    }
    if dry_run {
        out.line(p.paint(Style::Yellow, "  dry run: nothing will be written"));
    }
    out.line("");
    out.line(p.paint(Style::Bold, "Plan"));
    for step in &plan.steps {
        let status = match step.status {
            StepStatus::Changed => "changed",
            StepStatus::Unchanged => "unchanged",
            StepStatus::Skipped => "skipped",
        };
        let first = step.notes.first().cloned().unwrap_or_default();
        out.line(format!(
            "  {} {:<15} {:<9}  {first}",
            p.mark(status),
            step.id,
            status
        ));
        if verbose {
            for note in step.notes.iter().skip(1) {
                out.line(format!("  {:<28}  {note}", ""));
            }
        }
    }
    let warnings: Vec<_> = (done.warnings().into_iter())
        .filter(|w| Some(w) != state.as_ref())
        .collect();
    if !warnings.is_empty() {
        out.line("");
        let hint = if verbose {
            ""
        } else {
            " (why and what to do: --verbose, or pgtls explain CODE)"
        };
        out.line(format!("{}{hint}", p.paint(Style::Bold, "Warnings")));
        for w in &warnings {
            warning_line(&mut out, w, verbose, p);
        }
    }
    out.line("");
    let heading = if dry_run {
        "Checklist (after applying this plan)"
    } else {
        "Checklist"
    };
    out.0.push_str(&checklist(heading, checks, verbose, p));
    if !coolify_notes.is_empty() {
        out.line("");
        out.line(p.paint(Style::Bold, "Coolify"));
        for n in coolify_notes {
            out.line(format!("  {n}"));
        }
    }
    out.line("");
    out.line(p.paint(Style::Bold, "Next steps"));
    for (i, s) in next_steps.iter().enumerate() {
        match first_line(s) {
            (head, true) if !verbose => {
                out.line(format!("  {}. {head} (the commands: --verbose)", i + 1));
            }
            _ => out.line(format!("  {}. {s}", i + 1)),
        }
    }
    out.line("");
    match (applied, changed, dry_run) {
        (_, false, _) => out.line(p.paint(
            Style::Green,
            "Nothing to do: every step is already applied; no file was changed.",
        )),
        (_, true, true) => out.line(format!(
            "Dry run: {} file(s) would be written. Run again without --dry-run to apply.",
            plan.changes.len()
        )),
        (Some(a), true, false) => {
            out.line(p.paint(
                Style::Green,
                &format!("Wrote {} file(s) atomically.", a.written.len()),
            ));
            if let Some(b) = &a.backup_dir {
                out.line(format!("Backups of replaced files: {}", b.display()));
            }
        }
        (None, true, false) => {}
    }
    if let Some(paste) = paste_file {
        out.line(format!(
            "The hardened compose is in {}: Coolify does not read it until you paste it (Next steps).",
            tree.dest().join(paste).display()
        ));
    }
    if checks.failed() {
        let failing: Vec<String> = (checks.failing().iter())
            .map(|i| format!("{} ({})", i.id, i.detail))
            .collect();
        let verb = if dry_run { "would fail" } else { "fails" };
        let tail = if view.allow_failed_checks {
            "exit 0 because of --allow-failed-checks"
        } else {
            "fix these, or pass --allow-failed-checks to exit 0 anyway"
        };
        out.line(p.paint(
            Style::Red,
            &format!(
                "The checklist of the hardened deployment {verb}: {}; {tail}.",
                failing.join("; ")
            ),
        ));
    }
    // the diffs last: the point of --dry-run, read after the summary
    let shown = done.shown_changes();
    if !shown.is_empty() {
        out.line("");
        out.line(p.paint(Style::Bold, "Changes"));
        for change in shown {
            out.0.push_str(&p.diff(&change.render()));
        }
    }
    out.0
}

/// `! CODE  title`, and with `verbose` the text written for this deployment under it.
fn warning_line(out: &mut Lines, w: &Warning, verbose: bool, p: Paint) {
    out.line(format!(
        "  {} {:<24} {}",
        p.mark("warn"),
        w.code.as_str(),
        w.title()
    ));
    if verbose {
        out.line(format!("  {:<27}{}", "", w.text));
    }
}

/// The checklist under `heading`: a count per verdict on the heading line, then one line per
/// item that does not pass (a warning's first clause; a failing item whole, its fix under it).
/// With `verbose`, every item with its whole reason and fix.
pub fn checklist(heading: &str, checks: &Checklist, verbose: bool, p: Paint) -> String {
    let mut out = Lines::default();
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
    out.line(format!(
        "{}: {}",
        p.paint(Style::Bold, heading),
        counts.join(", ")
    ));
    for item in &checks.items {
        if !verbose && item.verdict == Verdict::Pass {
            continue;
        }
        // a failing item in full: few, and what must be fixed; a warning's first clause
        let detail = if verbose || item.verdict == Verdict::Fail {
            item.detail.clone()
        } else {
            first_clause(&item.detail, 24, 110)
        };
        out.line(format!(
            "  {} {:<20} {detail}",
            p.mark(item.verdict.as_str()),
            item.id,
        ));
        if let Some(fix) = (item.fix.as_ref()).filter(|_| verbose || item.verdict == Verdict::Fail)
        {
            out.line(format!("  {:<22} fix: {fix}", ""));
        }
    }
    out.0
}

/// The human report of `pgtls check`: the folder and its layout, the db user, the checklist and
/// a closing verdict (with Coolify, a pass says Coolify's own copy was not checked).
pub fn check_text(done: &CheckRun, verbose: bool, p: Paint) -> String {
    let (tree, layout, facts, checks) = (&done.tree, &done.layout, &done.facts, &done.checks);
    let mut out = Lines::default();
    let kind = layout.kind.name();
    let title = format!("pgtls check {} ({kind} layout)", tree.src().display());
    out.line(p.paint(Style::Bold, &title));
    match &facts.user {
        Some(u) => out.line(format!("  db user {} ({})", u.ids(), u.source.describe())),
        None => out.line(
            "  db user unknown: pass --pg-owner UID:GID (`docker compose exec db id postgres` tells it)",
        ),
    }
    out.line("");
    out.0.push_str(&checklist("Checklist", checks, verbose, p));
    let failed = checks.failing().len();
    out.line("");
    if failed == 0 && layout.kind == crate::LayoutKind::Coolify {
        out.line(p.paint(
            Style::Yellow,
            "The checks on the files in this folder passed; Coolify's own copy of the compose was not checked (unknown, see coolify-compose).",
        ));
    } else if failed == 0 {
        out.line(p.paint(Style::Green, "All checks passed."));
    } else {
        out.line(p.paint(Style::Red, &format!("{failed} check(s) failed.")));
    }
    out.0
}

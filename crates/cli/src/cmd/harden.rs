//! `pgtls harden`.

use crate::apply::{self, ApplyOptions};
use crate::checklist::{self, CheckOptions};
use crate::cli::HardenArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::harden::{self, DEFAULT_TRUSTED, HardenOptions, StepStatus};
use crate::layout;
use crate::output::{Out, Style};
use crate::plan::FileKind;

pub fn run(args: &HardenArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dep = &args.deployment;
    let (tree, layout) =
        deployment::with_dir(deployment::open(dep, args.out.as_deref()), &dep.dir)?;
    let Some(owner) = deployment::pg_owner(dep, &tree, &layout)? else {
        return Err(deployment::owner_refusal(&layout).into());
    };
    let mut extra = dep.domain.clone();
    extra.extend(dep.san.iter().cloned());
    let trusted = if args.trusted_cidr.is_empty() {
        DEFAULT_TRUSTED.map(String::from).to_vec()
    } else {
        args.trusted_cidr.clone()
    };
    let opts = HardenOptions {
        extra_sans: extra,
        pg_owner: owner.ids,
        trusted,
        key_type: args.key_type.map(crate::cli::key_type),
        days: args.days,
        pooler_upsert: args.pooler_upsert,
    };
    let (plan, staging) = deployment::with_dir(harden::plan(&tree, &layout, &opts), &dep.dir)?;

    // the checklist of the state after applying (staged in memory)
    let compose_after = staging.read_text(&layout.compose)?.unwrap_or_default();
    let layout_after = layout::detect_text(
        tree.src(),
        &layout.compose,
        &compose_after,
        Some(layout.kind),
    )?;
    let checks = checklist::run(
        &staging,
        &layout_after,
        &CheckOptions {
            pg_uid: Some(owner.ids.0),
            sans: harden::wanted_sans(&layout, &opts.extra_sans),
            expiry_warn_days: 30,
        },
    );

    // setting another owner needs root: refuse before writing anything rather than half-way
    let owner_problem = owner_problem(&plan.changes);
    if let (Some(problem), false) = (&owner_problem, args.dry_run) {
        return Err(crate::error::Error::Refused(problem.clone()).into());
    }
    let applied = if args.dry_run || !plan.changed() {
        None
    } else {
        Some(
            apply::apply(
                tree.dest(),
                &plan.dirs,
                &plan.changes,
                &ApplyOptions::from_env(),
            )
            .map_err(anyhow::Error::from)
            .map_err(|e| {
                e.context(format!(
                    "applying the plan to \"{}\"",
                    tree.dest().display()
                ))
            })?,
        )
    };

    if dep.json {
        let steps: Vec<_> = plan
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "status": s.status, "files": s.files, "warnings": s.warnings,
                    "notes": s.notes,
                })
            })
            .collect();
        out.json(&serde_json::json!({
            "layout": plan.layout,
            "changed": plan.changed(),
            "dry_run": args.dry_run,
            "source": tree.src(),
            "destination": tree.dest(),
            "pg_owner": format!("{}:{}", owner.ids.0, owner.ids.1),
            "steps": steps,
            "changes": plan.changes.iter().map(harden::change_json).collect::<Vec<_>>(),
            "warnings": plan.warnings,
            "next_steps": plan.next_steps,
            "checklist": checks,
            "applied": applied,
        }))?;
        return Ok(Outcome::Ok);
    }

    let layout_name = match plan.layout {
        pgtls_harden::LayoutKind::Upstream => "upstream supabase/docker layout",
        pgtls_harden::LayoutKind::Coolify => "Coolify layout",
    };
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
        "  server key owner {}:{} ({})",
        owner.ids.0, owner.ids.1, owner.source
    ))?;
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
        for note in step.notes.iter().skip(1) {
            out.line(&format!("  {:<28}  {note}", ""))?;
        }
        for w in &step.warnings {
            out.line(&format!("  {:<28}  {} {w}", "", out.mark("warn")))?;
        }
    }
    let shown: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.kind != FileKind::Copy)
        .collect();
    if !shown.is_empty() {
        out.line("")?;
        out.line(&out.paint(Style::Bold, "Changes"))?;
        for change in shown {
            out.raw(&crate::render::change(change, out))?;
        }
    }
    if !plan.warnings.is_empty() || owner_problem.is_some() {
        out.line("")?;
        out.line(&out.paint(Style::Bold, "Warnings"))?;
        for w in plan.warnings.iter().chain(owner_problem.iter()) {
            out.line(&format!("  {} {w}", out.mark("warn")))?;
        }
    }
    out.line("")?;
    let heading = if args.dry_run {
        "Checklist (after applying this plan)"
    } else {
        "Checklist"
    };
    out.line(&out.paint(Style::Bold, heading))?;
    crate::cmd::check::render_items(out, &checks)?;
    out.line("")?;
    match (&applied, plan.changed(), args.dry_run) {
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
    out.line("")?;
    out.line(&out.paint(Style::Bold, "Next steps"))?;
    for (i, s) in plan.next_steps.iter().enumerate() {
        out.line(&format!("  {}. {s}", i + 1))?;
    }
    Ok(Outcome::Ok)
}

/// When not running as root, files planned for another owner cannot be written: say so.
fn owner_problem(changes: &[crate::plan::FileChange]) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let me = std::fs::metadata("/proc/self").ok()?.uid();
    if me == 0 {
        return None;
    }
    let (uid, gid) = changes
        .iter()
        .filter_map(|c| c.owner)
        .find(|(uid, _)| *uid != me)?;
    Some(format!(
        "the server key must be owned by {uid}:{gid}, but pgtls runs as uid {me} and only root can give files away: run it with sudo, or pass --pg-owner with your own uid:gid for a test copy"
    ))
}

//! `pgtls harden`.

use crate::apply::{self, ApplyOptions};
use crate::checklist::{self, CheckOptions};
use crate::cli::HardenArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::harden::{self, HardenOptions, StepStatus};
use crate::layout;
use crate::output::{Out, Style};
use crate::plan::FileKind;
use pgtls_harden::{effect, via_coolify as coolify};

/// How long a run waits for another run on the same deployment before refusing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub fn run(args: &HardenArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dep = &args.deployment;
    let dest = args.out.as_deref().unwrap_or(&dep.dir);
    if !args.follow_symlinks {
        deployment::with_dir(
            apply::refuse_symlinks(dest).map_err(anyhow::Error::from),
            &dep.dir,
        )?;
    }
    // one run at a time on a deployment: taken before anything is read, held until the end
    // (a --out folder that does not exist yet is made, and the run restarted under the lock,
    // only once the plan is known to be writable: see below)
    let lock_later = !args.dry_run && !dest.exists();
    let _lock = if args.dry_run || lock_later || !dep.dir.is_dir() {
        None
    } else {
        Some(deployment::with_dir(
            apply::DeploymentLock::acquire(dest, LOCK_WAIT).map_err(anyhow::Error::from),
            &dep.dir,
        )?)
    };
    let api = match &args.coolify_url {
        Some(url) => Some(deployment::with_dir(
            coolify::open(
                &dep.dir,
                url,
                pgtls_harden::coolify::Token::from_env(coolify::TOKEN_ENV),
                args.coolify_service.as_deref(),
                dep.layout.map(Into::into),
            ),
            &dep.dir,
        )?),
        None => None,
    };
    let (tree, layout, api) = if let Some(o) = api {
        (o.tree, o.layout, Some((o.client, o.uuid)))
    } else {
        let (t, l) = deployment::with_dir(deployment::open(dep, args.out.as_deref()), &dep.dir)?;
        (t, l, None)
    };
    let facts = deployment::with_dir(deployment::db_facts(dep, &tree, &layout), &dep.dir)?;
    let Some(user) = facts.user.clone() else {
        return Err(crate::error::Error::Refused(facts.refusal.clone()).into());
    };
    if let Some(conflict) = &facts.conflict {
        return Err(crate::error::Error::Refused(conflict.clone()).into());
    }
    let mut extra = dep.domain.clone();
    extra.extend(dep.san.iter().cloned());
    let trust = deployment::with_dir(
        deployment::trust(&tree, &layout, &args.trusted_cidr),
        &dep.dir,
    )?;
    let opts = HardenOptions {
        extra_sans: extra,
        pg_owner: (user.uid, user.gid),
        owner_source: user.source.clone(),
        docker_remap: facts.engine.remapped.clone(),
        trusted: trust.cidrs.clone(),
        excluded: trust.excluded_addrs(),
        trust: Some(trust.clone()),
        key_type: args.key_type.map(crate::cli::key_type),
        days: args.days,
        pooler_upsert: args.pooler_upsert,
    };
    let (mut plan, staging) = deployment::with_dir(harden::plan(&tree, &layout, &opts), &dep.dir)?;
    let routed = coolify::route_compose(&mut plan, &layout, &tree, api.is_some())?;
    let (to_coolify, paste_file) = (routed.to_coolify, routed.paste_file);

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
            db_user: Some(user.clone()),
            sans: harden::wanted_sans(&layout, &opts.extra_sans),
            expiry_warn_days: 30,
            trust: opts.trust.clone(),
        },
    );

    // setting another owner needs root: refuse before writing anything rather than half-way
    let me = std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m));
    let owner_problem = pgtls_harden::owner::owner_problem(&plan.changes, me);
    if let (Some(problem), false) = (&owner_problem, args.dry_run) {
        return Err(crate::error::Error::Refused(problem.clone()).into());
    }
    if lock_later {
        std::fs::create_dir_all(dest).map_err(|e| {
            anyhow::Error::from(e).context(format!("creating \"{}\"", dest.display()))
        })?;
        return run(args, out);
    }
    let changed = plan.changed() || to_coolify.is_some();
    // Coolify API: the host files first (recorded to put back), then the PATCH
    let saved = if api.is_some() && !args.dry_run && plan.changed() {
        let paths: Vec<_> = plan.changes.iter().map(|c| c.path.clone()).collect();
        Some(coolify::save(tree.dest(), &paths)?)
    } else {
        None
    };
    let applied = if args.dry_run || !plan.changed() {
        None
    } else {
        Some(
            apply::apply(
                tree.dest(),
                &plan.dirs,
                &plan.changes,
                &ApplyOptions::with_backups(),
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
    let mut stored = coolify::Stored::default();
    if let (Some((client, uuid)), false) = (&api, args.dry_run) {
        let undo = saved.as_deref().zip(applied.as_ref());
        stored = coolify::store(
            (client, uuid),
            tree.dest(),
            &layout,
            &plan.changes,
            to_coolify.as_ref(),
            undo,
            args.coolify_restart,
        )?;
    }
    let mut next_steps = plan.next_steps.clone();
    let mut coolify_notes = Vec::new();
    let first = match (&api, &paste_file) {
        (Some((client, uuid)), _) => {
            let (notes, next) = coolify::notes(
                (client, uuid),
                &stored,
                args.dry_run,
                plan.changed(),
                to_coolify.is_some(),
                &layout,
                &plan.changes,
            );
            coolify_notes = notes;
            Some(next)
        }
        (None, Some(paste)) => Some(coolify::paste_step(paste)),
        (None, None) => None,
    };
    if let (Some(f), Some(step)) = (first, next_steps.first_mut()) {
        *step = f;
    }
    let coolify_json = api.as_ref().map(|(client, uuid)| {
        serde_json::json!({
            "url": client.url(),
            "service": uuid,
            "compose_changed": to_coolify.is_some(),
            "patched": stored.patched,
            "restart": stored.restarted,
        })
    });

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
            "changed": changed,
            "dry_run": args.dry_run,
            "source": tree.src(),
            "destination": tree.dest(),
            "pg_owner": user.ids(),
            "db_user": facts.json()["db_user"],
            "deployment": facts.json()["deployment"],
            "docker_engine": facts.json()["docker_engine"],
            "trusted_networks": trust.json(),
            "steps": steps,
            "changes": plan.changes.iter().chain(&to_coolify).map(harden::change_json).collect::<Vec<_>>(),
            "warnings": plan.warnings,
            "next_steps": next_steps,
            "coolify_notes": coolify_notes,
            "checklist": checks,
            "coolify": coolify_json,
            "paste_file": paste_file,
            "applied": applied,
        }))?;
        return Ok(checklist_outcome(args, &checks));
    }

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
    out.line(&format!(
        "  trusted networks {} ({})",
        trust.cidrs.join(", "),
        trust.source.describe()
    ))?;
    // the deployment-state warning comes before anything is shown as planned or written
    let state = harden::state_warning(&plan.pgdata, &layout);
    match &state {
        Some(w) => out.line(&format!("  {} {w}", out.mark("warn")))?,
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
        for note in step.notes.iter().skip(1) {
            out.line(&format!("  {:<28}  {note}", ""))?;
        }
        for w in &step.warnings {
            out.line(&format!("  {:<28}  {} {w}", "", out.mark("warn")))?;
        }
    }
    let shown: Vec<_> = to_coolify
        .iter()
        .chain(&plan.changes)
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
        for w in plan
            .warnings
            .iter()
            .filter(|w| Some(*w) != state.as_ref())
            .chain(owner_problem.iter())
        {
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
    match (&applied, changed, args.dry_run) {
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
    if let Some(paste) = &paste_file {
        out.line(&format!(
            "The hardened compose is in {}: Coolify does not read it until you paste it (Next steps).",
            tree.dest().join(paste).display()
        ))?;
    }
    if !coolify_notes.is_empty() {
        out.line("")?;
        out.line(&out.paint(Style::Bold, "Coolify"))?;
        for n in &coolify_notes {
            out.line(&format!("  {n}"))?;
        }
    }
    out.line("")?;
    out.line(&out.paint(Style::Bold, "Next steps"))?;
    for (i, s) in next_steps.iter().enumerate() {
        out.line(&format!("  {}. {s}", i + 1))?;
    }
    if checks.failed() {
        let failing: Vec<String> = checks
            .items
            .iter()
            .filter(|i| i.verdict == checklist::Verdict::Fail)
            .map(|i| format!("{} ({})", i.id, i.detail))
            .collect();
        out.line("")?;
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
    let engine = pgtls_harden::docker::DockerCli::from_env();
    if args.reload && !args.dry_run && tree.in_place() {
        let (lines, ok) = effect::after_harden(&dep.dir, &layout, &plan.steps, &engine);
        lines.iter().try_for_each(|l| out.line(l))?;
        if !ok {
            return Ok(Outcome::Findings);
        }
    }
    Ok(checklist_outcome(args, &checks))
}

/// Exit 1 when the checklist of the hardened state fails, unless `--allow-failed-checks`.
fn checklist_outcome(args: &HardenArgs, checks: &checklist::Checklist) -> Outcome {
    Outcome::from_failed(checks.failed() && !args.allow_failed_checks)
}

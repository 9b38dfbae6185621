//! `pgtls harden`.

use anyhow::Context as _;

use crate::apply::{self, ApplyOptions};
use crate::checklist::{self, CheckOptions};
use crate::cli::HardenArgs;
use crate::cmd::{coolify, deployment};
use crate::error::Outcome;
use crate::harden::{self, DEFAULT_TRUSTED, HardenOptions, StepStatus};
use crate::layout;
use crate::output::{Out, Style};
use crate::plan::FileKind;

pub fn run(args: &HardenArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dep = &args.deployment;
    let api = match &args.coolify_url {
        Some(url) => Some(deployment::with_dir(coolify::open(args, url), &dep.dir)?),
        None => None,
    };
    let (tree, layout, api) = if let Some(o) = api {
        (o.tree, o.layout, Some((o.client, o.uuid)))
    } else {
        let (t, l) = deployment::with_dir(deployment::open(dep, args.out.as_deref()), &dep.dir)?;
        (t, l, None)
    };
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
    let (mut plan, staging) = deployment::with_dir(harden::plan(&tree, &layout, &opts), &dep.dir)?;
    // Coolify rewrites docker-compose.yml from its own copy at every deploy: the compose goes
    // to Coolify through the API, or into a file to paste there; never (only) onto the disk.
    let coolify_folder =
        layout.kind == pgtls_harden::LayoutKind::Coolify && tree.in_place() && api.is_none();
    let compose_at = plan
        .changes
        .iter()
        .position(|c| c.path == layout.compose)
        .filter(|_| api.is_some() || coolify_folder);
    let compose_change = compose_at.map(|i| plan.changes.remove(i));
    let mut paste_file = None;
    let mut to_coolify = None;
    if let Some(mut c) = compose_change {
        if api.is_some() {
            // sent with PATCH below (and shown in the diff)
            to_coolify = Some(c);
        } else if coolify_folder {
            let paste = std::path::PathBuf::from(coolify::PASTE_FILE);
            c.before = tree.read(&paste)?;
            c.path.clone_from(&paste);
            if c.before.as_deref() != Some(c.after.as_slice()) {
                plan.changes.push(c);
            }
            paste_file = Some(paste);
        }
    }

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
    let me = std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m));
    let owner_problem = pgtls_harden::owner::owner_problem(&plan.changes, me);
    if let (Some(problem), false) = (&owner_problem, args.dry_run) {
        return Err(crate::error::Error::Refused(problem.clone()).into());
    }
    let changed = plan.changed() || to_coolify.is_some();
    // Host files first, then the PATCH: Coolify makes a folder (`mkdir -p`) where a newly
    // mounted file is missing when it processes the new compose, so the files must exist
    // before it sees the compose. A failed PATCH puts every file back.
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
    let mut patched = false;
    let mut storage_note = None;
    let mut restarted = None;
    if let (Some((client, uuid)), false) = (&api, args.dry_run) {
        if let Some(c) = &to_coolify {
            let text = String::from_utf8_lossy(&c.after);
            if let Err(e) = client.set_compose(uuid, &text) {
                let msg = match (&saved, &applied) {
                    (Some(saved), Some(applied)) => {
                        let problems = coolify::rollback(tree.dest(), saved, applied);
                        if problems.is_empty() {
                            "the host files written before the PATCH were put back: nothing in the folder was changed".to_owned()
                        } else {
                            format!(
                                "the host files were written before the PATCH and could not all be put back: {}",
                                problems.join("; ")
                            )
                        }
                    }
                    _ => "nothing in the folder was changed".to_owned(),
                };
                return Err(anyhow::Error::from(pgtls_harden::Error::from(e))
                    .context(format!("storing the hardened compose in Coolify ({msg})")));
            }
            patched = true;
        }
        if let Some((change, target)) = coolify::tenant_change(&layout, &plan.changes) {
            let pooler = layout
                .pooler
                .as_ref()
                .map_or("supabase-supavisor", |p| p.key.as_str());
            storage_note = Some(coolify::sync_storage(
                client,
                uuid,
                &change.path,
                &target,
                &String::from_utf8_lossy(&change.after),
                pooler,
            ));
        }
        if args.coolify_restart {
            let message = client
                .restart(uuid)
                .map_err(pgtls_harden::Error::from)
                .with_context(|| {
                    format!(
                        "asking Coolify to restart service {uuid} (the compose {} stored; restart it from Coolify)",
                        if patched { "is" } else { "was already" }
                    )
                })?;
            restarted = Some(message);
        }
    }
    let mut next_steps = plan.next_steps.clone();
    let mut coolify_notes: Vec<String> = Vec::new();
    if let Some((client, uuid)) = &api {
        let get = format!("GET {}/api/v1/services/{uuid}", client.url());
        coolify_notes.push(format!(
            "{get}: Coolify's copy of the compose was read and hardened in memory"
        ));
        if args.dry_run {
            coolify_notes.push("dry run: only that GET was sent; nothing was written and nothing was sent to Coolify".to_owned());
            if to_coolify.is_some() {
                coolify_notes.push("a real run stores the compose with PATCH; Coolify re-serialises a stored compose (Yaml::dump(Yaml::parse(...))), so comments and formatting in its copy do not survive that path".to_owned());
            }
        } else if patched {
            coolify_notes.push(format!("PATCH {}/api/v1/services/{uuid}: Coolify stored the hardened compose. Coolify re-serialises a stored compose (Yaml::dump(Yaml::parse(...))): comments and formatting in its copy do not survive this path", client.url()));
            if plan.changed() {
                coolify_notes.push("the host files (certificates, pg_hba.conf, tenant script) were written into the folder first, because Coolify makes a folder where a newly mounted file is missing".to_owned());
                coolify_notes.push("Coolify records each newly mounted single file (the pooler's server.crt and server.key, pg_hba.conf) as a file storage of the service and reads its content into its own database".to_owned());
            }
        } else if to_coolify.is_none() {
            coolify_notes
                .push("Coolify's compose is already hardened: nothing was sent".to_owned());
        }
        if let Some((tenant, _)) = coolify::tenant_change(&layout, &plan.changes) {
            coolify_notes.push(format!(
                "Coolify keeps its own copy of {} (a file storage of the pooler; a changed `content:` in the compose does not replace it) and writes it back when that storage is saved in its UI",
                tenant.path.display(),
            ));
        }
        coolify_notes.extend(storage_note.clone());
        if let Some(first) = next_steps.first_mut() {
            *first = match (&restarted, args.dry_run) {
                (Some(m), _) => format!("Coolify answered the restart: {m}; the containers pick up the new compose and files when it has run"),
                (None, true) => "run again without --dry-run to store the compose in Coolify and write the host files".to_owned(),
                (None, false) => "restart the service in Coolify (or run again with --coolify-restart) so the containers use the new compose and files".to_owned(),
            };
        }
    } else if let Some(paste) = &paste_file
        && let Some(first) = next_steps.first_mut()
    {
        {
            *first = format!(
                "NOT DONE YET: Coolify still holds the old compose. Open the service in Coolify, choose \"Edit Compose File\", replace the compose with the content of {} (in this folder), save, then restart the service. It was made from the docker-compose.yml on disk: if Coolify's copy differs (the editor shows it), carry the changes in the diff above over by hand instead. A deploy or restart before pasting rewrites docker-compose.yml from Coolify's copy and drops these compose edits (the files under volumes/ stay). With an API token, pgtls does this itself: COOLIFY_TOKEN=... pgtls harden <folder> --coolify-url <url>",
                paste.display()
            );
        }
    }
    let coolify_json = api.as_ref().map(|(client, uuid)| {
        serde_json::json!({
            "url": client.url(),
            "service": uuid,
            "compose_changed": to_coolify.is_some(),
            "patched": patched,
            "restart": restarted,
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
            "pg_owner": format!("{}:{}", owner.ids.0, owner.ids.1),
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
        return Ok(Outcome::Ok);
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
    Ok(Outcome::Ok)
}

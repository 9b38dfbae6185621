//! `pgtls harden`.

use crate::cli::HardenArgs;
use crate::cmd::deployment;
use crate::error::Outcome;
use crate::output::Out;
use pgtls_harden::run::{self, CoolifyTarget};
use pgtls_harden::{checklist, effect, report, via_coolify as coolify};

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
        out.json(&report::harden::json(&done, reload.as_ref()))?;
        return Ok(outcome);
    }
    let view = report::harden::HardenView {
        verbose: dep.verbose,
        allow_failed_checks: args.allow_failed_checks,
    };
    out.raw(&report::harden::text(&done, view, out.painter()))?;
    if let Some((lines, _)) = &reload {
        lines.iter().try_for_each(|l| out.line(l))?;
    }
    Ok(outcome)
}

/// Exit 1 when the checklist of the hardened state fails, unless `--allow-failed-checks`.
fn checklist_outcome(args: &HardenArgs, checks: &checklist::Checklist) -> Outcome {
    Outcome::from_failed(checks.failed() && !args.allow_failed_checks)
}

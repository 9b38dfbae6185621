//! `pgtls certs ...`.

use anyhow::Context as _;
use pgtls_certs::{ClientParams, Owner, RenewalPolicy, load_ca_dir};

use crate::cli::key_type;
use crate::cli::{
    CertsAdoptArgs, CertsCommand, CertsInitArgs, CertsInspectArgs, CertsIssueClientArgs,
    CertsNeedsRenewalArgs, CertsRenewArgs, CertsRenewTimerArgs,
};
use crate::cmd::edit::read_text;
use crate::cmd::effect::take_effect;
use crate::error::{Error, Outcome, parse_db_owner};
use crate::output::Out;
use pgtls_harden::certs_renew::{self, RenewRequest, Renewed};
use pgtls_harden::report::certs as certs_report;

pub fn run(cmd: &CertsCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        CertsCommand::Init(a) => init(a, out),
        CertsCommand::IssueClient(a) => issue_client(a, out),
        CertsCommand::Inspect(a) => inspect(a, out),
        CertsCommand::NeedsRenewal(a) => needs_renewal(a, out),
        CertsCommand::Renew(a) => {
            let r = renew(a, out);
            match &a.textfile {
                // written whatever the outcome (an error is a failed run), then the outcome
                Some(f) => {
                    let written =
                        crate::cmd::textfile::renewal(&a.dir, f, matches!(r, Ok(Outcome::Ok)));
                    match (r, written) {
                        (Ok(_), Err(e)) => Err(e),
                        (r, _) => r,
                    }
                }
                None => r,
            }
        }
        CertsCommand::Adopt(a) => adopt(a, out),
        CertsCommand::RenewTimer(a) => renew_timer(a, out),
    }
}

/// `--owner UID:GID`.
fn owner(o: Option<&str>) -> anyhow::Result<Option<Owner>> {
    let parse = |o| parse_db_owner("--owner", o).map(|(uid, gid)| Owner { uid, gid });
    Ok(o.map(parse).transpose()?)
}

/// The CA in `dir`, refused (with `hint` after the reason) when there is none.
fn load_ca(dir: &std::path::Path, hint: &str) -> anyhow::Result<pgtls_certs::Ca> {
    let d = dir.display();
    let ca = load_ca_dir(dir).with_context(|| format!("loading the CA in \"{d}\""))?;
    Ok(ca.ok_or_else(|| Error::Refused(format!("no ca.crt and ca.key in \"{d}\"{hint}")))?)
}

/// A certificate file's PEM and what `inspect` reads in it.
fn read_cert(file: &std::path::Path) -> anyhow::Result<(String, pgtls_certs::CertInfo)> {
    let pem = read_text(file)?;
    let info =
        pgtls_certs::inspect(&pem).with_context(|| format!("reading \"{}\"", file.display()))?;
    Ok((pem, info))
}

fn create_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating \"{}\"", dir.display()))
}

fn init(a: &CertsInitArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let owner = owner(a.owner.as_deref())?;
    let (warnings, kit) = pgtls_harden::certs_init::plan(&pgtls_harden::certs_init::InitRequest {
        out: &a.out,
        sans: &a.san,
        key_type: key_type(a.key_type),
        ca_key_type: key_type(a.ca_key_type.unwrap_or(a.key_type)),
        days: a.days,
        ca_days: a.ca_days,
        force: a.force,
        dry_run: a.dry_run,
    })?;
    out.raw(&certs_report::init_text(
        &warnings,
        &kit,
        &a.out,
        a.dry_run,
        out.painter(),
    ))?;
    if a.dry_run {
        return Ok(Outcome::Ok);
    }
    // one backup folder for the run: <out>/.pgtls-backups/<timestamp>/
    let mut shown = Ok(());
    pgtls_certs::write_kit(&a.out, &kit, owner, &mut |file, outcome| {
        let path = a.out.join(&file.name);
        if shown.is_ok() {
            let st = outcome.status.as_str();
            shown = out.line(&certs_report::written_line(&path, st, Some(file.mode)));
        }
    })
    .with_context(|| format!("writing into \"{}\"", a.out.display()))?;
    shown?;
    key_verdict(&a.out.join("server.key"), owner, out)
}

/// The written server key judged by the one key-file rule: for the `--owner` user, or, without
/// it, for any server user (a key this process wrote as root with mode 0600 loads for none).
/// A key that does not load is a warning: the certificates exist as asked, the owner is the
/// user's to fix.
fn key_verdict(
    path: &std::path::Path,
    owner: Option<Owner>,
    out: &mut Out,
) -> anyhow::Result<Outcome> {
    let (verdict, whom) = pgtls_certs::server_key_verdict(path, owner)?;
    let p = out.painter();
    out.raw(&certs_report::key_verdict_text(
        &verdict,
        &whom,
        path,
        owner.is_some(),
        p,
    ))?;
    Ok(Outcome::Ok)
}

fn issue_client(a: &CertsIssueClientArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let ca = load_ca(&a.ca_dir, "")?;
    if !a.dry_run {
        create_dir(&a.out)?;
    }
    let cert = ca
        .issue_client(&ClientParams {
            user: a.user.clone(),
            days: a.days,
            key_type: key_type(a.key_type),
        })
        .context("issuing the client certificate")?;
    if a.dry_run {
        out.raw(&certs_report::client_text(&a.out, &a.user, None))?;
        return Ok(Outcome::Ok);
    }
    let written = pgtls_certs::write_client(&a.out, &a.user, &cert)
        .with_context(|| format!("writing into \"{}\"", a.out.display()))?;
    out.raw(&certs_report::client_text(&a.out, &a.user, Some(&written)))?;
    Ok(Outcome::Ok)
}

fn inspect(a: &CertsInspectArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    crate::cmd::textfile::check_output(a.format, a.output.as_deref())?;
    let (pem, info) = read_cert(&a.file)?;
    let ca_pem = a.ca.as_deref().map(read_text).transpose()?;
    let checked = pgtls_certs::check_against(&pem, ca_pem.as_deref(), a.host.as_deref())
        .context("checking the host name")?;
    let failed = checked.failed();
    if a.format == Some(crate::cli::ReportFormat::Prometheus) {
        crate::cmd::textfile::certificate(a, &info, &checked)?;
        return Ok(Outcome::from_failed(failed));
    }
    if a.json || a.format == Some(crate::cli::ReportFormat::Json) {
        out.json(&certs_report::inspect_json(&info, &checked))?;
    } else {
        out.raw(&certs_report::inspect_text(&info, &checked, out.painter()))?;
    }
    Ok(Outcome::from_failed(failed))
}

fn needs_renewal(a: &CertsNeedsRenewalArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let (_, info) = read_cert(&a.file)?;
    let policy = a
        .within
        .map_or_else(RenewalPolicy::default, RenewalPolicy::within_days);
    let reason = pgtls_certs::renewal_reason(&info, &policy);
    let (r, p) = (reason.as_deref(), out.painter());
    if a.json {
        out.json(&certs_report::needs_renewal_json(&a.file, &info, r))?;
    } else {
        out.raw(&certs_report::needs_renewal_text(&a.file, &info, r, p))?;
    }
    Ok(Outcome::from_failed(reason.is_some()))
}

fn renew(a: &CertsRenewArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let now = || {
        match &a.now {
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map(time::OffsetDateTime::unix_timestamp)
            .map_err(|e| {
                pgtls_harden::Error::Message(format!(
                    "invalid value \"{t}\" for --now: not an RFC 3339 time such as 2026-12-07T12:00:00Z ({e})"
                ))
            }),
        None => Ok(time::OffsetDateTime::now_utc().unix_timestamp()),
    }
    };
    let req = RenewRequest {
        dir: &a.dir,
        ca_dir: a.ca_dir.as_deref().unwrap_or(&a.dir),
        if_due_at: a.if_due.then_some(&now as &dyn Fn() -> _),
        reuse_key: a.reuse_key,
        days: a.days,
        dry_run: a.dry_run,
    };
    match certs_renew::renew(&req, &mut |s| out.raw(s))? {
        Renewed::Written => take_effect(out, &a.dir, &a.effect, Some(&a.dir.join("server.crt"))),
        _ => Ok(Outcome::Ok),
    }
}

fn adopt(a: &CertsAdoptArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    use pgtls_harden::adopt_input::{AdoptTarget, CertSource, CertSourceError};
    let owner = owner(a.owner.as_deref())?;
    let source = match (&a.from_traefik_acme, &a.cert, &a.key) {
        (Some(file), ..) => CertSource::TraefikAcme {
            file,
            domain: a.domain.first().map_or("", String::as_str),
            resolver: a.resolver.as_deref(),
        },
        (None, Some(cert), Some(key)) => CertSource::Files { cert, key },
        _ => CertSource::HookEnv,
    };
    let input = source
        .read(&|k| std::env::var(k).ok())
        .map_err(|e| match e {
            CertSourceError::NoneGiven => anyhow::Error::from(Error::BadValue {
                flag: "--cert",
                value: String::new(),
                reason: e.to_string(),
            }),
            // the refusal itself, so that it exits 1 like every refusal
            CertSourceError::Acme(e) => anyhow::Error::from(*e),
            e => e.into(),
        })?;
    let target = AdoptTarget::find(&a.dir, a.effect.deployment.as_deref());
    let run = target.adopt_and_apply(&input, &a.domain, owner, a.dry_run, a.effect.reload)?;
    if a.json {
        out.json(&run.to_json())?;
        return Ok(Outcome::from_failed(run.failed()));
    }
    out.raw(&certs_report::adopt_text(&run.report, out.painter()))?;
    if let Some((lines, _)) = &run.effect {
        lines.iter().try_for_each(|l| out.line(l))?;
    }
    Ok(Outcome::from_failed(run.failed()))
}

fn renew_timer(a: &CertsRenewTimerArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let dir = std::path::absolute(&a.dir)
        .with_context(|| format!("resolving \"{}\"", a.dir.display()))?;
    let pgtls = match &a.pgtls {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("finding this pgtls binary")?,
    };
    let mut timer = pgtls_harden::renewal::RenewTimer::new(&dir, &pgtls);
    if let Some(t) = &a.textfile {
        let t = std::path::absolute(t).with_context(|| format!("resolving \"{}\"", t.display()))?;
        // every run would fail writing its file: refuse to install that
        if a.install && a.root.is_none() && !t.is_dir() {
            return Err(Error::BadValue {
                flag: "--textfile",
                value: t.display().to_string(),
                reason: "not a folder: create it, or name node_exporter's --collector.textfile.directory".into(),
            }
            .into());
        }
        timer = timer.with_textfile(&t);
    }
    if !a.install {
        out.raw(&timer.print())?;
        return Ok(Outcome::Ok);
    }
    let report = timer.install_on(a.root.as_deref(), a.cron)?;
    report.iter().try_for_each(|l| out.line(l))?;
    Ok(Outcome::Ok)
}

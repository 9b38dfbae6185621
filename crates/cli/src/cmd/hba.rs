//! `pgtls hba ...`.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context as _;
use pg_hba::{
    Connection, Document, Encryption, HbaFile, LintOptions, ParseOptions, PgVersion, Policy,
    Severity,
};

use crate::cli::{
    HbaApplyPolicyArgs, HbaCheckArgs, HbaCommand, HbaExplainArgs, HbaFileArgs, HbaFmtArgs,
    HbaLintArgs, PgVersionArg,
};
use crate::cmd::edit::{read_text, show_and_write};
use crate::cmd::effect::take_effect;
use crate::error::{Error, Outcome};
use crate::output::{Out, Style};
use pgtls_harden::report;

pub fn run(cmd: &HbaCommand, out: &mut Out) -> anyhow::Result<Outcome> {
    match cmd {
        HbaCommand::Check(a) => check(a, out),
        HbaCommand::Lint(a) => lint(a, out),
        HbaCommand::Explain(a) => explain(a, out),
        HbaCommand::Fmt(a) => fmt(a, out),
        HbaCommand::ApplyPolicy(a) => apply_policy(a, out),
    }
}

fn options(path: &Path, version: PgVersionArg) -> ParseOptions {
    ParseOptions {
        version: match version {
            PgVersionArg::V15 => PgVersion::V15,
            PgVersionArg::V16 => PgVersion::V16,
            PgVersionArg::V17 => PgVersion::V17,
        },
        file_name: path.display().to_string(),
    }
}

fn load(path: &Path, version: PgVersionArg) -> anyhow::Result<(String, Document)> {
    let text = read_text(path)?;
    let doc = Document::parse(&text, options(path, version));
    Ok((text, doc))
}

/// The file with its include records and `@file` lists followed on disk.
fn load_all(path: &Path, version: PgVersionArg) -> anyhow::Result<HbaFile> {
    Ok(HbaFile::new(load(path, version)?.1, &pg_hba::Disk))
}

fn check(a: &HbaCheckArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let HbaFileArgs { file, pg_version } = &a.hba;
    let text = read_text(file)?;
    // include records and `@file` lists: the files they name are checked too, as the server
    // reads them (missing files, errors inside them, with their own file and line)
    let opts = options(file, *pg_version);
    let checked = pg_hba::validate_with_includes(&text, &opts, &pg_hba::Disk);
    drop(text);
    if a.json {
        out.json(&report::hba::check_json(&checked))?;
    } else {
        let (name, major, p) = (&opts.file_name, opts.version.major(), out.painter());
        out.raw(&report::hba::check_text(name, &checked, major, p))?;
    }
    Ok(Outcome::from_failed(!checked.diagnostics.is_empty()))
}

fn lint(a: &HbaLintArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hba = load_all(&a.hba.file, a.hba.pg_version)?;
    let findings = hba.findings(&LintOptions {
        ssl: a.ssl_off.then_some(false),
    });
    let failed = findings.iter().any(|f| f.severity >= Severity::Warning);
    if a.json {
        out.json(&report::hba::lint_json(&findings))?;
    } else {
        let file = a.hba.file.display().to_string();
        out.raw(&report::hba::lint_text(&file, &findings, out.painter()))?;
    }
    Ok(Outcome::from_failed(failed))
}

fn explain(a: &HbaExplainArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let hba = load_all(&a.file, a.pg_version)?;
    let encryption = if a.ssl {
        Encryption::Ssl
    } else if a.gss {
        Encryption::Gss
    } else {
        Encryption::None
    };
    let mut conn = if a.local {
        Connection::local(&a.database, &a.user)
    } else {
        let addr = a.addr.as_deref().unwrap_or_default();
        let ip: IpAddr = addr.parse().map_err(|_| Error::BadValue {
            flag: "--addr",
            value: addr.to_owned(),
            reason: "not an IP address".into(),
        })?;
        Connection::host(ip, &a.database, &a.user).with_encryption(encryption)
    };
    conn.replication = a.replication;
    let e = hba.explain(&conn);
    let allowed = e.outcome == pg_hba::Outcome::Allow;
    if a.json {
        out.json(&e)?;
    }
    if e.outcome == pg_hba::Outcome::Unknown {
        // No verdict is claimed: exit 2 with the reason.
        anyhow::bail!(
            "no verdict for \"{}\": {}",
            a.file.display(),
            e.reason.as_deref().unwrap_or("a file could not be read")
        );
    }
    if !a.json {
        // A rule from an included file is named by file and line, and shown as it reads.
        out.raw(&report::hba::explain_text(&hba, &e, out.painter()))?;
    }
    Ok(Outcome::from_failed(!allowed))
}

fn fmt(a: &HbaFmtArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let (text, mut doc) = load(&a.file, PgVersionArg::V15)?;
    doc.align_columns();
    let after = doc.to_string();
    if a.dry_run {
        out.raw(&after)?;
    } else {
        show_and_write(out, &a.file, &text, &after, true)?;
    }
    Ok(Outcome::Ok)
}

fn apply_policy(a: &HbaApplyPolicyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let text = read_text(&a.file)?;
    let cidrs = pgtls_harden::harden::trusted_or_default(&a.trusted_cidr);
    let policy = Policy::with_trusted(&cidrs)
        .context("reading --trusted-cidr")?
        .excluding(a.refuse_plaintext_from.iter().copied());
    let (after, warnings) = policy
        .apply_text(&text, options(&a.file, PgVersionArg::V15))
        .with_context(|| format!("applying the policy to \"{}\"", a.file.display()))?;
    show_and_write(out, &a.file, &text, &after, !a.mode.dry_run)?;
    for w in &warnings {
        out.line(&format!("{} {w}", out.paint(Style::Yellow, "warning:")))?;
    }
    if a.mode.dry_run || text == after && !a.effect.reload {
        return Ok(Outcome::Ok);
    }
    take_effect(out, &a.file, &a.effect, None)
}

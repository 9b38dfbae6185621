//! The `pg_hba.conf` items: `hba-valid` (valid for the deployment's PostgreSQL, TLS-only for remote
//! clients) and `hba-trust` (no plaintext for the addresses that must not get it).

use crate::ids::CheckId;
use std::collections::BTreeMap;

use super::items::{Ctx, FileRef, HARDEN_FIX};

pub(super) fn check_hba(
    cx: &mut Ctx<'_, '_>,
    hba: Option<&FileRef>,
    settings: &BTreeMap<String, String>,
    trust: Option<&crate::trust::TrustedNetworks>,
    major: Option<&crate::pgmajor::PgMajor>,
) {
    let version = major.map_or(pg_hba::PgVersion::V15, crate::pgmajor::PgMajor::version);
    let judged = major.map_or_else(
        || "PostgreSQL 15 (assumed)".to_owned(),
        crate::pgmajor::PgMajor::describe,
    );
    let Some((container, host)) = hba else {
        cx.fail(
            CheckId::HbaValid,
            "hba_file is not set: the image's default pg_hba.conf accepts plaintext from 0.0.0.0/0 and ::0/0",
            HARDEN_FIX,
        );
        return;
    };
    let read = host.as_ref().map(|h| cx.staging.read_text(h));
    if let Some(Err(e)) = &read {
        cx.fail(
            CheckId::HbaValid,
            format!("{container} cannot be read: {e}"),
            "fix the file (it must be UTF-8 text)",
        );
        return;
    }
    let Some(text) = read.and_then(Result::ok).flatten() else {
        cx.fail(
            CheckId::HbaValid,
            format!("{container} is not readable from the host"),
            HARDEN_FIX,
        );
        return;
    };
    let name = host
        .as_ref()
        .map_or_else(|| container.clone(), |h| h.display().to_string());
    let doc = pg_hba::Document::parse(
        &text,
        pg_hba::ParseOptions {
            file_name: name,
            version,
        },
    );
    let errors = doc.validate();
    let disagreement = major.map(|m| m.notes.join("; ")).unwrap_or_default();
    let list = || -> String {
        errors
            .iter()
            .map(|d| format!("{}:{}: {}", d.file, d.line, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(m) = major.and_then(|m| m.mismatch.as_ref()) {
        // the server cannot start on this data directory: a fail whatever the lines say
        let lines = if errors.is_empty() {
            "its lines are valid".to_owned()
        } else {
            format!("invalid: {}", list())
        };
        cx.fail(
            CheckId::HbaValid,
            format!("{}; pg_hba.conf judged by {judged}: {lines}", m.describe()),
            m.fix(),
        );
        if !errors.is_empty() {
            return;
        }
    } else if errors.is_empty() && !disagreement.is_empty() {
        cx.warn(
            CheckId::HbaValid,
            format!("pg_hba.conf is valid for {judged}, but {disagreement}"),
            "make the db image and the data directory agree, or pass --pg-version",
        );
    } else if errors.is_empty() {
        cx.pass(
            CheckId::HbaValid,
            format!("pg_hba.conf is valid for {judged}"),
        );
    } else {
        cx.fail(
            CheckId::HbaValid,
            format!("invalid for {judged}: {}", list()),
            "fix the lines (pgtls hba check FILE)",
        );
        return;
    }
    let ssl = settings
        .get("ssl")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    let findings = pg_hba::lint(&doc, &pg_hba::LintOptions { ssl });
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == pg_hba::Severity::Error)
        .collect();
    let warnings: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == pg_hba::Severity::Warning)
        .collect();
    let fmt = |fs: &[&pg_hba::Finding]| {
        fs.iter()
            .map(|f| format!("line {} {}: {}", f.line, f.code, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !errors.is_empty() {
        cx.fail(
            CheckId::HbaLint,
            fmt(&errors),
            "pgtls hba lint FILE shows hints; pgtls hba apply-policy FILE fixes the policy",
        );
    } else if !warnings.is_empty() {
        cx.warn(
            CheckId::HbaLint,
            fmt(&warnings),
            "pgtls hba lint FILE shows hints",
        );
    } else {
        cx.pass(
            CheckId::HbaLint,
            "no security findings (trust, weak methods, public plaintext, missing rejects)",
        );
    }
    if let Some(t) = trust {
        check_trust(cx, &doc, t);
    }
}

/// `hba-trust`: every gateway and proxy address known now is refused plaintext by the file (a
/// proxy recreated with a new address since harden ran is not); unknown when nothing could be
/// looked up.
fn check_trust(cx: &mut Ctx<'_, '_>, doc: &pg_hba::Document, t: &crate::trust::TrustedNetworks) {
    let admitted: Vec<String> = t
        .excluded
        .iter()
        .filter_map(|e| {
            let conn = pg_hba::Connection::host(e.addr, "postgres", "postgres")
                .with_encryption(pg_hba::Encryption::None);
            let x = pg_hba::explain(doc, &conn);
            (x.outcome == pg_hba::Outcome::Allow).then(|| {
                format!(
                    "{} ({}) by line {}",
                    e.addr,
                    e.why.split(':').next().unwrap_or_default(),
                    x.line.unwrap_or_default()
                )
            })
        })
        .collect();
    if !admitted.is_empty() {
        cx.fail(
            CheckId::HbaTrust,
            format!("plaintext admitted from {}", admitted.join("; ")),
            "run `pgtls harden <folder>` again (it refuses plaintext from each gateway and proxy the Docker engine reports now), then reload the db",
        );
    } else if let Some(w) = t.warnings.first() {
        cx.warn(
            CheckId::HbaTrust,
            format!(
                "trusted networks {} ({}): {w}",
                t.cidrs.join(", "),
                t.source.describe()
            ),
            "run pgtls check where the Docker engine answers and the deployment runs",
        );
    } else {
        cx.pass(
            CheckId::HbaTrust,
            format!(
                "plaintext refused from the {} gateway and proxy addresses of {}",
                t.excluded.len(),
                t.source.describe()
            ),
        );
    }
}

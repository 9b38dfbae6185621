//! The reports of the `pgtls certs` commands, human and JSON, built from pgtls-certs'
//! [`CertInfo`] and [`Coverage`], the key-file verdict, [`Due`] and the [`AdoptReport`].

use std::path::{Path, PathBuf};

use pgtls_certs::{CertInfo, CertKit, Coverage, KeyFileVerdict, RenewOutcome, WriteOutcome};

use crate::adopt::{AdoptReport, AdoptStatus, AdoptedNote};
use crate::renew_due::Due;
use crate::report::paint::{Lines, Paint};

/// `pgtls certs inspect --json`: the [`CertInfo`] keys, plus `chain_valid` (and `chain_error`)
/// when a CA was given, `host` and `host_covered` when a host was.
pub fn inspect_json(info: &CertInfo, checked: &Coverage) -> serde_json::Value {
    let mut v = serde_json::to_value(info).unwrap_or_default();
    if let Some(c) = &checked.chain {
        v["chain_valid"] = serde_json::json!(c.is_ok());
        if let Err(e) = c {
            v["chain_error"] = serde_json::json!(e);
        }
    }
    if let Some((h, ok)) = &checked.host {
        v["host"] = serde_json::json!(h);
        v["host_covered"] = serde_json::json!(ok);
    }
    v
}

/// `pgtls certs inspect`: a `name value` line per field, then the chain and host verdicts.
pub fn inspect_text(info: &CertInfo, checked: &Coverage, p: Paint) -> String {
    let mut out = Lines::default();
    let rows = [
        ("subject", info.subject.clone()),
        ("issuer", info.issuer.clone()),
        ("serial", info.serial.clone()),
        ("sans", info.sans.join(", ")),
        ("not before", info.not_before.clone()),
        (
            "not after",
            format!("{} ({} days left)", info.not_after, info.days_left),
        ),
        ("key", info.key.clone()),
        ("signature", info.signature.clone()),
        ("CA", info.is_ca.to_string()),
        ("EKU", info.ext_key_usage.join(", ")),
        ("sha256", info.sha256.clone()),
    ];
    for (k, v) in rows {
        out.line(format!("{k:<11} {v}"));
    }
    match &checked.chain {
        Some(Ok(())) => out.line(format!("{} chains to the CA", p.mark("pass"))),
        Some(Err(e)) => out.line(format!("{} does not chain to the CA: {e}", p.mark("fail"))),
        None => {}
    }
    if let Some((h, ok)) = &checked.host {
        let verdict = if *ok { "pass" } else { "fail" };
        let says = if *ok { "covers" } else { "does not cover" };
        out.line(format!("{} {says} `{h}` (verify-full)", p.mark(verdict)));
    }
    out.0
}

/// `pgtls certs needs-renewal --json`: `file`, `due`, `reason`, `days_left`, `not_after`.
pub fn needs_renewal_json(file: &Path, info: &CertInfo, reason: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "file": file, "due": reason.is_some(), "reason": reason,
        "days_left": info.days_left, "not_after": info.not_after,
    })
}

/// `pgtls certs needs-renewal`: one line, due with the reason or not due with the days left.
pub fn needs_renewal_text(file: &Path, info: &CertInfo, reason: Option<&str>, p: Paint) -> String {
    let f = file.display();
    match reason {
        Some(r) => format!("{} {f}: renewal due: {r}\n", p.mark("fail")),
        None => format!(
            "{} {f}: not due ({} days left, until {})\n",
            p.mark("pass"),
            info.days_left,
            info.not_after
        ),
    }
}

/// The written server key judged for `whom` (`pgtls certs init`): a pass line, or a warning with
/// the fix (the `chmod`/`chown` command for `key` only when an owner was given).
pub fn key_verdict_text(
    verdict: &KeyFileVerdict,
    whom: &str,
    key: &Path,
    owner_given: bool,
    p: Paint,
) -> String {
    if verdict.loads() {
        return format!("{} server.key loads for {whom}\n", p.mark("pass"));
    }
    let mut out = Lines::default();
    out.line(format!(
        "{} server.key does not load for {whom}: {}",
        p.mark("warn"),
        verdict.message().unwrap_or_default()
    ));
    out.line(format!(
        "  fix: pass --owner UID:GID of the server's postgres user (PostgreSQL never runs as root){}",
        verdict
            .fix()
            .filter(|_| owner_given)
            .map(|f| format!(", or {}", f.command(&key.display().to_string())))
            .unwrap_or_default()
    ));
    out.0
}

/// `pgtls certs renew --if-due`: the line for `cert` in state `due`.
pub fn due_line(cert: &Path, due: &Due) -> String {
    let c = cert.display();
    match due {
        Due::Adopted { source } => format!(
            "{c}: adopted from {source}; its ACME client renews it (the hook runs pgtls certs adopt); nothing done"
        ),
        Due::NotDue {
            days_left,
            not_after,
        } => format!(
            "{c}: not due ({days_left} days left, until {not_after}; renewed when a third of the lifetime or 30 days are left); nothing done"
        ),
        Due::Due { reason } => format!("{c}: renewal due: {reason}"),
    }
}

/// `pgtls certs renew`: the serials before and after, and whether the key is new.
pub fn renewed_line(cert: &Path, outcome: &RenewOutcome) -> String {
    format!(
        "renewed {}: serial {} -> {} (mode and owner kept{})",
        cert.display(),
        outcome.old_serial,
        outcome.new_serial,
        if outcome.key.is_some() {
            ", new key"
        } else {
            ", key reused"
        }
    )
}

fn format_days(days: i64) -> String {
    if days == 1 {
        "1 day".into()
    } else {
        format!("{days} days")
    }
}

/// `pgtls certs adopt`: warnings, what was adopted (or would be, or is already served), the
/// files, then each reader of the key and whether it loads it.
pub fn adopt_text(report: &AdoptReport, p: Paint) -> String {
    let mut out = Lines::default();
    for w in &report.warnings {
        out.line(format!("{} {w}", p.mark("warn")));
    }
    let what = format!(
        "{} (issued by {}, {} left, until {}; {})",
        report.leaf.sans.join(", "),
        report.leaf.issuer,
        format_days(report.leaf.days_left),
        report.leaf.not_after,
        report.leaf.key
    );
    match report.status {
        AdoptStatus::Unchanged => out.line(format!(
            "unchanged: {} already serves {what}; nothing written, nothing reloaded",
            report.dir.join("server.crt").display()
        )),
        AdoptStatus::WouldAdopt => {
            out.line(format!("would adopt {what} from {}", report.source));
            for (f, _) in &report.files {
                out.line(format!("  would write {}", f.display()));
            }
            out.line("(dry run: nothing was written)");
        }
        AdoptStatus::Adopted => {
            out.line(format!("adopted {what} from {}", report.source));
            for (f, st) in &report.files {
                out.line(written_line(f, st, None));
            }
            if let Some(b) = &report.backup_dir {
                out.line(format!("  backups in {}", b.display()));
            }
        }
    }
    for (r, v) in &report.readers {
        match v {
            None if r.own_copy() => out.line(format!(
                "{} {} (its own copy) mode 0600 owner {}:{} loads for {}",
                p.mark("pass"),
                r.key.display(),
                r.uid,
                r.gid,
                r.who
            )),
            None => out.line(format!(
                "{} server.key mode {:04o} owner {}:{} loads for {}",
                p.mark("pass"),
                report.key_mode,
                report.key_owner.0,
                report.key_owner.1,
                r.who
            )),
            Some(why) => out.line(format!("{} {}: {why}", p.mark("fail"), r.who)),
        }
    }
    out.0
}

/// `pgtls certs init` before writing: the key-type `warnings`, whether the CA is new, and with
/// `dry_run` each file that would be written into `dir` and that nothing was.
pub fn init_text(warnings: &[&str], kit: &CertKit, dir: &Path, dry_run: bool, p: Paint) -> String {
    let mut out = Lines::default();
    for w in warnings {
        out.line(format!("{} {w}", p.mark("warn")));
    }
    out.line(if kit.ca_created {
        "new CA created"
    } else {
        "existing CA reused"
    });
    if dry_run {
        for file in kit.files() {
            out.line(format!("  would write {}", file.describe_in(dir)));
        }
        out.line("(dry run: nothing was written)");
    }
    out.0
}

/// A file written: `  created   path`, with its mode when given (`(mode 0600)`).
pub fn written_line(path: &Path, status: &str, mode: Option<u32>) -> String {
    match mode {
        Some(m) => format!("  {status:<9} {} (mode {m:04o})", path.display()),
        None => format!("  {status:<9} {}", path.display()),
    }
}

/// `pgtls certs issue-client`: with `written` `None` (a dry run) the files that would be written,
/// else each file written; then how a client uses them.
pub fn client_text(dir: &Path, user: &str, written: Option<&[WriteOutcome]>) -> String {
    let Some(written) = written else {
        let d = dir.display();
        return format!(
            "would write {d}/{user}.crt and {d}/{user}.key (mode 0600); nothing was written\n"
        );
    };
    let mut out = Lines::default();
    for o in written {
        out.line(written_line(&o.path, o.status.as_str(), None));
    }
    out.line(format!(
        "use with: sslmode=verify-full sslcert={user}.crt sslkey={user}.key (pg_hba: hostssl ... cert, or clientcert=verify-full)",
    ));
    out.0
}

/// `pgtls certs renew` of an adopted certificate: with `written` `None` (a dry run) what would
/// replace it, else that it was replaced and each file written.
pub fn back_to_private_text(note: &AdoptedNote, written: Option<&[(PathBuf, &str)]>) -> String {
    let Some(written) = written else {
        let names = if note.private_sans.is_empty() {
            "the adopted certificate's names".to_owned()
        } else {
            note.private_sans.join(", ")
        };
        return format!(
            "would replace the adopted certificate ({}) with a leaf of the private CA for {names}; nothing was written\n",
            note.source
        );
    };
    let mut out = Lines::default();
    out.line(format!(
        "back to the private CA: the adopted certificate ({}) is replaced (mode and owner kept)",
        note.source
    ));
    for (f, st) in written {
        out.line(written_line(f, st, None));
    }
    out.0
}

//! The `certificates` step: the CA and the server certificate and key, reused while they chain,
//! match and cover the wanted names.

use std::collections::BTreeSet;
use std::path::Path;

use pgtls_certs::{Ca, CaParams, RenewalPolicy, ServerParams};

use super::options::HardenOptions;
use crate::apply::DirSpec;
use crate::error::{Context as _, Error, Result};
use crate::ids::StepId;
use crate::layout::Layout;
use crate::paths::{CA_DIR, DB_TLS_TARGET, TLS_DIR};
use crate::plan::{FileKind, Staging};
use crate::report::{Code, Warning};
use crate::step::Step;

/// The SANs the server certificate needs: the db and pooler service and container names,
/// `localhost`, `127.0.0.1`, `::1`, then the user's names.
pub fn wanted_sans(layout: &Layout, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = layout.db.network_names();
    if let Some(p) = &layout.pgbouncer {
        names.extend(p.network_names());
    }
    if let Some(p) = &layout.pooler {
        names.extend(p.network_names());
    }
    names.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
    names.extend(
        extra
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
    );
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()));
    names
}

fn cert_summary(pem: &str) -> String {
    match pgtls_certs::inspect(pem) {
        Ok(info) => format!(
            "certificate {} ({}, SANs {}, expires {}, sha256 {}…)",
            info.subject,
            info.key,
            if info.sans.is_empty() {
                "none".to_owned()
            } else {
                info.sans.join(" ")
            },
            info.not_after,
            info.sha256.get(..11).unwrap_or(&info.sha256)
        ),
        Err(_) => "certificate".to_owned(),
    }
}

fn key_summary(kind: &str) -> String {
    format!("{kind} private key")
}

pub(super) fn plan_certificates(
    staging: &mut Staging<'_>,
    layout: &Layout,
    opts: &HardenOptions,
    dirs: &mut Vec<DirSpec>,
    warnings: &mut Vec<Warning>,
) -> Result<Step> {
    let mut step = Step::new(StepId::Certificates);
    let ca_crt = Path::new(CA_DIR).join("ca.crt");
    let ca_key = Path::new(CA_DIR).join("ca.key");
    let tls = Path::new(TLS_DIR);
    let kt = opts.key_type.unwrap_or_default();
    if let Some(w) = kt.warning() {
        step.warnings.push(Warning::new(Code::KeyType, w));
    }
    let ca = match (staging.read(&ca_crt)?, staging.read(&ca_key)?) {
        (Some(c), Some(k)) => {
            let ca = Ca::load(&c, &k).with_context(|| {
                format!(
                    "loading the existing CA from \"{}\" and \"{}\"",
                    ca_crt.display(),
                    ca_key.display()
                )
            })?;
            step.notes
                .push(format!("existing CA reused ({})", ca.subject()));
            if let Some(meta) = staging.tree().meta(&ca_key).filter(|m| m.mode & 0o077 != 0) {
                warnings.push(Warning::new(Code::CaKeyExposed, format!(
                    "THE CA KEY WAS EXPOSED: \"{}\" is mode {:04o}, readable by other users of this host; it is rewritten 0600 now, but anyone who read it can issue certificates your clients trust. Make a new CA (move {CA_DIR}/ away and rerun harden), then give clients the new ca.crt",
                    ca_key.display(),
                    meta.mode
                )));
            }
            ca
        }
        (None, None) => {
            let ca = Ca::create(&CaParams {
                key_type: kt,
                ..CaParams::default()
            })
            .context("creating the CA")?;
            step.notes.push(format!(
                "new private CA ({}), key kept on the host in {CA_DIR}/ (never mounted)",
                ca.subject()
            ));
            ca
        }
        (Some(c), None)
            if let Some(k) = staging
                .read(Path::new(crate::apply::CA_KEY_PENDING))?
                .filter(|k| Ca::load(&c, k).is_ok()) =>
        {
            // an interrupted run wrote the CA certificate but had not yet renamed the staged
            // key to ca.key: adopt it (apply renames it into place first)
            let ca = Ca::load(&c, &k).with_context(|| {
                format!(
                    "adopting the staged CA key \"{}\"",
                    crate::apply::CA_KEY_PENDING
                )
            })?;
            step.notes.push(format!(
                "CA key staged by an interrupted run adopted ({}): {} completed",
                ca.subject(),
                ca_key.display()
            ));
            ca
        }
        (Some(_), None) => {
            return Err(Error::Refused(format!(
                "\"{}\" exists but \"{}\" does not: restore the CA key, or move the CA certificate away to create a new CA",
                ca_crt.display(),
                ca_key.display()
            )));
        }
        (None, Some(_)) => {
            return Err(Error::Refused(format!(
                "\"{}\" exists but \"{}\" does not: restore the CA certificate, or move the key away to create a new CA",
                ca_key.display(),
                ca_crt.display()
            )));
        }
    };
    let key_desc = ca.key_type().description();
    dirs.push(DirSpec {
        path: CA_DIR.into(),
        mode: 0o700,
        owner: None,
    });
    dirs.push(DirSpec {
        path: TLS_DIR.into(),
        mode: 0o755,
        owner: None,
    });
    let changed = staging.write_exact(
        &ca_crt,
        ca.cert_pem().as_bytes().to_vec(),
        0o644,
        None,
        FileKind::Certificate,
        Some(cert_summary(ca.cert_pem())),
    )?;
    step.touch(&ca_crt, changed);
    let changed = staging.write_exact(
        &ca_key,
        ca.key_pem().as_bytes().to_vec(),
        0o600,
        None,
        FileKind::PrivateKey,
        Some(key_summary(key_desc)),
    )?;
    step.touch(&ca_key, changed);

    let sans = wanted_sans(layout, &opts.extra_sans);
    let network: Vec<String> = wanted_sans(layout, &[]);
    let stray: Vec<String> = opts
        .extra_sans
        .iter()
        .filter(|n| {
            !n.contains('.')
                && !n.contains(':')
                && !network.iter().any(|w| w.eq_ignore_ascii_case(n))
        })
        .map(|n| format!("`{n}`"))
        .collect();
    if !stray.is_empty() {
        warnings.push(Warning::new(Code::SanUnreachable, format!(
            "{} is not a service or container name on this compose network, so no client there can reach the server by it (the usual recipe lists `supabase-supavisor`, but the upstream pooler container is `supabase-pooler`); names here: {}",
            stray.join(", "),
            network.join(", ")
        )));
    }
    let crt_path = tls.join("server.crt");
    let key_path = tls.join("server.key");
    let existing = match (staging.read(&crt_path)?, staging.read(&key_path)?) {
        (Some(c), Some(k)) => Some((
            String::from_utf8_lossy(&c).into_owned(),
            String::from_utf8_lossy(&k).into_owned(),
        )),
        _ => None,
    };
    let adopted_note = staging
        .read_text(&tls.join(crate::adopt::ADOPTED_NOTE))?
        .and_then(|t| crate::adopt::AdoptedNote::parse(&t));
    let mut keep_adopted = None;
    if let (Some(note), Some((cert, key))) = (&adopted_note, &existing)
        && crate::adopt::is_adopted(Some(note), cert)
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match pgtls_certs::check_adoptable(cert, key, &opts.extra_sans, now) {
            Ok(checked) => {
                step.notes.push(format!(
                    "adopted certificate kept ({}; issued by {}, until {}): its ACME client renews it; pgtls certs renew goes back to the private CA",
                    note.source, checked.leaf.issuer, checked.leaf.not_after
                ));
                warnings.extend(
                    checked
                        .warnings
                        .into_iter()
                        .map(|w| Warning::new(Code::AdoptedCertificate, w)),
                );
                keep_adopted = Some((cert.clone(), key.clone()));
            }
            Err(e) => step.notes.push(format!(
                "the adopted certificate ({}) can no longer serve ({e}): a leaf of the private CA replaces it",
                note.source
            )),
        }
    }
    let decision = existing.as_ref().map(|(cert, key)| {
        reusable(cert, key, ca.cert_pem(), &sans)?;
        match (opts.key_type, pgtls_certs::inspect(cert)) {
            (Some(_), Ok(info)) if info.key != kt.description() => Err(format!(
                "its key is {} and --key-type asks for {}",
                info.key,
                kt.description()
            )),
            _ => Ok(()),
        }
    });
    let (cert_pem, key_pem) = match (existing, decision) {
        _ if keep_adopted.is_some() => keep_adopted.unwrap_or_default(),
        (Some((cert, key)), Some(Ok(()))) => {
            step.notes.push("existing server certificate kept (chains to the CA, matches its key, covers every SAN, not due for renewal)".into());
            if let Ok(info) = pgtls_certs::inspect(&cert) {
                let stray: Vec<String> = info
                    .sans
                    .iter()
                    .filter(|s| !sans.iter().any(|w| w.eq_ignore_ascii_case(s)))
                    .map(|s| format!("`{s}`"))
                    .collect();
                if !stray.is_empty() {
                    warnings.push(Warning::new(Code::SanUnreachable, format!("the server certificate names {} which are not service or container names on this compose network nor given with --domain/--san (the usual recipe lists `supabase-supavisor`, but the upstream pooler container is `supabase-pooler`)", stray.join(", "))));
                }
            }
            (cert, key)
        }
        (_, decision) => {
            if let Some(Err(why)) = decision {
                step.notes
                    .push(format!("server certificate reissued: {why}"));
            }
            let issued = ca
                .issue_server(&ServerParams {
                    sans: sans.clone(),
                    days: opts.days,
                    key_type: kt,
                    common_name: None,
                })
                .context("issuing the server certificate")?;
            step.notes
                .push(format!("server certificate for {}", sans.join(", ")));
            (issued.cert_pem, issued.key_pem)
        }
    };
    let owner = Some(opts.pg_owner);
    let tls_ca = tls.join("ca.crt");
    let changed = staging.write_exact(
        &tls_ca,
        ca.cert_pem().as_bytes().to_vec(),
        0o644,
        owner,
        FileKind::Certificate,
        Some(cert_summary(ca.cert_pem())),
    )?;
    step.touch(&tls_ca, changed);
    let changed = staging.write_exact(
        &crt_path,
        cert_pem.as_bytes().to_vec(),
        0o644,
        owner,
        FileKind::Certificate,
        Some(cert_summary(&cert_pem)),
    )?;
    step.touch(&crt_path, changed);
    let key_kind = pgtls_certs::inspect(&cert_pem)
        .map(|i| i.key)
        .unwrap_or_default();
    let changed = staging.write_exact(
        &key_path,
        key_pem.into_bytes(),
        0o600,
        owner,
        FileKind::PrivateKey,
        Some(key_summary(&key_kind)),
    )?;
    step.touch(&key_path, changed);
    let (uid, gid) = opts.pg_owner;
    // the key as written, judged by the one rule from the reader's side
    let verdict = pgtls_certs::key_file_verdict(
        &format!("{DB_TLS_TARGET}/server.key"),
        pgtls_certs::KeyFileFacts {
            is_regular_file: true,
            uid,
            gid,
            mode: 0o600,
        },
        pgtls_certs::KeyReader::new(uid, gid),
    );
    if let Some(message) = verdict.message() {
        return Err(Error::Refused(format!(
            "a key owned by {uid}:{gid} with mode 0600 would not load: {message}"
        )));
    }
    step.notes.push(format!(
        "server.key mode 0600 owned by {uid}:{gid}: the db container's postgres user ({})",
        opts.owner_source.describe()
    ));
    let note = Path::new(crate::owner::STATE_NOTE);
    let user = crate::owner::DbUser {
        uid,
        gid,
        groups: Vec::new(),
        source: opts.owner_source.clone(),
    };
    let changed = staging.write(
        note,
        crate::owner::note_text(&user).into_bytes(),
        0o644,
        None,
        FileKind::Text,
        None,
    )?;
    step.touch(note, changed);
    Ok(step)
}

/// Whether an existing server cert/key pair can stay: `Err(reason)` when it must be reissued.
pub fn reusable(cert: &str, key: &str, ca_pem: &str, sans: &[String]) -> Result<(), String> {
    pgtls_certs::verify_chain(cert, ca_pem)
        .map_err(|e| format!("it does not chain to the CA ({e})"))?;
    match pgtls_certs::key_matches_cert(key, cert) {
        Ok(true) => {}
        Ok(false) => return Err("server.key does not match server.crt".into()),
        Err(e) => return Err(format!("server.key cannot be read ({e})")),
    }
    for name in sans {
        if !pgtls_certs::covers_host(cert, name).unwrap_or(false) {
            return Err(format!("it does not cover `{name}`"));
        }
    }
    let info = pgtls_certs::inspect(cert).map_err(|e| e.to_string())?;
    if let Some(reason) = pgtls_certs::renewal_reason(&info, &RenewalPolicy::default()) {
        return Err(format!("renewal due: {reason}"));
    }
    Ok(())
}

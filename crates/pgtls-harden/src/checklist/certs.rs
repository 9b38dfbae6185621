//! The certificate items: the CA, the server certificate (names, expiry, chain; an adopted one's
//! full chain against this host's roots) and the key's permissions for the user that reads it.

use std::path::Path;

use pgtls_certs::{KeyFileFacts, KeyFileVerdict, KeyReader, RenewalPolicy, key_file_verdict};

use super::items::{CheckOptions, Ctx, FileRef, HARDEN_FIX};
use crate::ids::CheckId;
use crate::owner::DbUser;

/// The CA kept on the host (`volumes/tls-ca/`, the `ca.crt` clients are given): its key
/// matches it and is private, the server certificate chains to it, and the db's `ssl_ca_file`
/// is the same CA.
pub(super) fn check_ca(cx: &mut Ctx<'_, '_>, cert: Option<&FileRef>, db_ca: Option<&FileRef>) {
    let (crt_rel, key_rel) = (
        Path::new(crate::apply::CA_CRT),
        Path::new(crate::apply::CA_KEY),
    );
    let (Some(ca_pem), key_pem) = (cx.text(crt_rel), cx.text(key_rel)) else {
        cx.warn(
            CheckId::CaKey,
            format!(
                "no CA certificate at {}: cannot tell which CA clients are given",
                crt_rel.display()
            ),
            "keep the CA in volumes/tls-ca/ (pgtls harden does)",
        );
        return;
    };
    let mut problems = Vec::new();
    match &key_pem {
        None => problems.push(format!(
            "{} is missing: no certificate can be issued or renewed",
            key_rel.display()
        )),
        Some(key_pem) => {
            if let Err(e) = pgtls_certs::Ca::load(&ca_pem, key_pem) {
                problems.push(format!(
                    "{} does not belong to {} ({e})",
                    key_rel.display(),
                    crt_rel.display()
                ));
            }
            if let Some((mode, _)) = cx.staging.mode_owner(key_rel)
                && mode & 0o077 != 0
            {
                problems.push(format!(
                    "{} is mode {mode:04o}: the CA key was exposed to other users of this host; make a new CA",
                    key_rel.display()
                ));
            }
        }
    }
    let read = |f: Option<&FileRef>| f.and_then(|(_, h)| h.as_ref()).and_then(|h| cx.text(h));
    let adopted = adopted_note(cx, cert).is_some();
    if let Some(cert_pem) = read(cert)
        && !adopted
        && let Err(e) = pgtls_certs::verify_chain(&cert_pem, &ca_pem)
    {
        problems.push(format!(
            "the server certificate does not chain to {}, the CA clients are given ({e})",
            crt_rel.display()
        ));
    }
    if let Some(db_ca_pem) = read(db_ca)
        && db_ca_pem.trim() != ca_pem.trim()
    {
        problems.push(format!(
            "the db's ssl_ca_file is not the CA in {}",
            crt_rel.display()
        ));
    }
    if problems.is_empty() {
        cx.pass(
            CheckId::CaKey,
            format!(
                "{} matches {} (mode 0600 or stricter); {}",
                key_rel.display(),
                crt_rel.display(),
                if adopted {
                    "the server certificate is adopted from a public CA (clients use their system roots); this CA stays for client certificates and for `pgtls certs renew`"
                } else {
                    "the server certificate chains to it"
                }
            ),
        );
    } else {
        cx.fail(
            CheckId::CaKey,
            problems.join("; "),
            "restore the CA from .pgtls-backups/, or move volumes/tls-ca/ away and run `pgtls harden <folder>` to make a new CA (then give clients the new ca.crt)",
        );
    }
}

/// The adoption note beside the server certificate, when it names that certificate.
fn adopted_note(cx: &Ctx<'_, '_>, cert: Option<&FileRef>) -> Option<crate::adopt::AdoptedNote> {
    let host = cert.and_then(|(_, h)| h.as_ref())?;
    let cert_pem = cx.text(host)?;
    cx.text(&host.parent()?.join(crate::adopt::ADOPTED_NOTE))
        .and_then(|t| crate::adopt::AdoptedNote::parse(&t))
        .filter(|n| crate::adopt::is_adopted(Some(n), &cert_pem))
}

pub(super) fn check_certificates(
    cx: &mut Ctx<'_, '_>,
    cert: Option<&FileRef>,
    key: Option<&FileRef>,
    ca: Option<&FileRef>,
    opts: &CheckOptions,
) {
    let read = |cx: &Ctx<'_, '_>, f: Option<&FileRef>| {
        f.and_then(|(_, h)| h.as_ref()).and_then(|h| cx.text(h))
    };
    let (cert_pem, key_pem, ca_pem) = (read(cx, cert), read(cx, key), read(cx, ca));
    let (Some(cert_pem), Some(key_pem)) = (cert_pem, key_pem) else {
        cx.fail(
            CheckId::Certificates,
            "server certificate or key not found on the host",
            HARDEN_FIX,
        );
        return;
    };
    cx.pass(CheckId::Certificates, "server certificate and key present");
    let adopted = adopted_note(cx, cert);
    if let Some(note) = &adopted {
        check_adopted_chain(cx, &cert_pem, note);
    }
    match &ca_pem {
        _ if adopted.is_some() => {}
        None => cx.fail(
            CheckId::CertificateChain,
            "CA certificate (ssl_ca_file) not found",
            HARDEN_FIX,
        ),
        Some(ca_pem) => match pgtls_certs::verify_chain(&cert_pem, ca_pem) {
            Ok(()) => cx.pass(
                CheckId::CertificateChain,
                "server certificate chains to the CA",
            ),
            Err(e) => cx.fail(
                CheckId::CertificateChain,
                format!("server certificate does not chain to the CA: {e}"),
                "reissue it: pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca",
            ),
        },
    }
    match pgtls_certs::key_matches_cert(&key_pem, &cert_pem) {
        Ok(true) => cx.pass(CheckId::KeyMatches, "server.key matches server.crt"),
        Ok(false) => cx.fail(
            CheckId::KeyMatches,
            "server.key does not belong to server.crt (PostgreSQL refuses to start)",
            HARDEN_FIX,
        ),
        Err(e) => cx.fail(
            CheckId::KeyMatches,
            format!("server.key cannot be read: {e}"),
            "write an unencrypted PEM key",
        ),
    }
    if let Some((container, Some(host))) = key {
        check_key_permissions(cx, container, host, opts.db_user.as_ref());
    }
    // a public certificate names public DNS names only: the compose network's names and the
    // loopback addresses cannot be in it (services there connect without TLS, FACTS §9)
    let public = |n: &&String| {
        adopted.is_none()
            || (n.contains('.')
                && n.parse::<std::net::IpAddr>().is_err()
                && !n.ends_with("localhost"))
    };
    let missing: Vec<&String> = opts
        .sans
        .iter()
        .filter(public)
        .filter(|n| !pgtls_certs::covers_host(&cert_pem, n).unwrap_or(false))
        .collect();
    if adopted.is_some() && missing.is_empty() {
        let public: Vec<&str> = opts
            .sans
            .iter()
            .filter(public)
            .map(String::as_str)
            .collect();
        cx.pass(
            CheckId::CertificateSans,
            if public.is_empty() {
                "adopted certificate: no public name given (pass --domain NAME to have it checked); the compose network's names are not in a public certificate and need not be".to_owned()
            } else {
                format!(
                    "adopted certificate covers {}; the compose network's names are not in a public certificate and need not be",
                    public.join(", ")
                )
            },
        );
    } else if missing.is_empty() {
        cx.pass(
            CheckId::CertificateSans,
            format!("SANs cover {}", opts.sans.join(", ")),
        );
    } else {
        cx.fail(
            CheckId::CertificateSans,
            format!(
                "not covered: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "reissue with the names clients use: pgtls harden <folder> --domain NAME",
        );
    }
    match pgtls_certs::inspect(&cert_pem) {
        Ok(info) => {
            let reason = pgtls_certs::renewal_reason(&info, &RenewalPolicy::default());
            if adopted.is_some() {
                // an ACME client renews it (certbot and Traefik at 30 days left): fewer than
                // that means its renewal or the hook that runs `certs adopt` is not working
                let fix = "renew it with its ACME client (certbot renew, lego renew; Traefik renews by itself) and let its hook run pgtls certs adopt --reload";
                if info.days_left < 0 {
                    cx.fail(
                        CheckId::CertificateExpiry,
                        format!("adopted certificate expired on {}", info.not_after),
                        fix,
                    );
                } else if info.days_left < 30 || info.days_left < i64::from(opts.expiry_warn_days) {
                    cx.warn(
                        CheckId::CertificateExpiry,
                        format!(
                            "adopted certificate: {} days left (until {}); its ACME client should have renewed it by now",
                            info.days_left, info.not_after
                        ),
                        fix,
                    );
                } else {
                    cx.pass(
                        CheckId::CertificateExpiry,
                        format!(
                            "adopted certificate: {} days left (until {}); renewed by its ACME client",
                            info.days_left, info.not_after
                        ),
                    );
                }
                return;
            }
            if info.days_left < 0 {
                cx.fail(
                    CheckId::CertificateExpiry,
                    format!("expired on {}", info.not_after),
                    "pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca",
                );
            } else if info.days_left < i64::from(opts.expiry_warn_days) || reason.is_some() {
                cx.warn(
                    CheckId::CertificateExpiry,
                    format!("{} days left ({})", info.days_left, reason.unwrap_or_default()),
                    "pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca, then SELECT pg_reload_conf()",
                );
            } else {
                cx.pass(
                    CheckId::CertificateExpiry,
                    format!("{} days left (until {})", info.days_left, info.not_after),
                );
            }
        }
        Err(e) => cx.fail(
            CheckId::CertificateExpiry,
            format!("cannot read the certificate: {e}"),
            HARDEN_FIX,
        ),
    }
}

/// The bundle of CA certificates clients use as "the system roots" on Debian and Ubuntu
/// (ca-certificates; OpenSSL's default `SSL_CERT_FILE`).
pub const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `certificate-chain` for an adopted certificate: the full chain in order (each certificate
/// issued by the next), and whether the top of it is issued by a root in this host's store.
fn check_adopted_chain(cx: &mut Ctx<'_, '_>, cert_pem: &str, note: &crate::adopt::AdoptedNote) {
    if let Err(e) = pgtls_certs::check_chain_order(cert_pem) {
        cx.fail(
            CheckId::CertificateChain,
            format!("adopted certificate ({}): {e}", note.source),
            "adopt the full chain again: pgtls certs adopt <folder> --cert fullchain.pem --key privkey.pem",
        );
        return;
    }
    let chain = pgtls_certs::inspect_chain(cert_pem).unwrap_or_default();
    let Some(top) = chain.last() else { return };
    let roots = std::fs::read_to_string(SYSTEM_ROOTS).ok();
    let in_store = roots.as_deref().is_some_and(|r| {
        pgtls_certs::verify_chain(
            pgtls_certs::normalize_chain_pem(cert_pem)
                .ok()
                .and_then(|c| {
                    c.split_inclusive("-----END CERTIFICATE-----\n")
                        .last()
                        .map(str::to_owned)
                })
                .unwrap_or_default(),
            r,
        )
        .is_ok()
    });
    let path = if chain.len() > 1 {
        format!(
            "{} certificates in order, up to \"{}\"",
            chain.len(),
            top.issuer
        )
    } else {
        format!(
            "a lone certificate issued by \"{}\" (no intermediate)",
            top.issuer
        )
    };
    if in_store {
        cx.pass(
            CheckId::CertificateChain,
            format!(
                "adopted certificate ({}): {path}, a root in this host's store ({SYSTEM_ROOTS})",
                note.source
            ),
        );
    } else {
        cx.warn(
            CheckId::CertificateChain,
            format!(
                "adopted certificate ({}): {path}; that root is not in this host's store ({SYSTEM_ROOTS}), so whether clients trust it depends on theirs",
                note.source
            ),
            "clients verify it with their system roots: sslrootcert=system (libpq 16+), see pgtls connstr --ca system",
        );
    }
}

/// `key-permissions`: [`pgtls_certs::key_file_verdict`] on the key's owner and mode, for the
/// db user when known. When it is not, the most favourable reader the file allows (its owner,
/// or a member of its group for a root-owned key) is judged: if even that one cannot load it,
/// no server can (a root-owned 0600 key); otherwise the verdict is `warn`, never `pass`.
fn check_key_permissions(
    cx: &mut Ctx<'_, '_>,
    container: &str,
    host: &Path,
    user: Option<&DbUser>,
) {
    let Some((mode, Some((uid, gid)))) = cx.staging.mode_owner(host) else {
        cx.fail(
            CheckId::KeyPermissions,
            "server.key mode/owner unknown",
            HARDEN_FIX,
        );
        return;
    };
    let facts = KeyFileFacts {
        is_regular_file: cx.staging.tree().meta(host).is_none_or(|m| m.is_file),
        uid,
        gid,
        mode,
    };
    let shown_host = host.display().to_string();
    let what = format!("server.key mode {mode:04o} owner {uid}:{gid}");
    let fail = |cx: &mut Ctx<'_, '_>, verdict: &KeyFileVerdict, reader: Option<&DbUser>| {
        let detail = match verdict {
            KeyFileVerdict::Refused {
                message,
                detail: Some(d),
                ..
            } => format!("{what}: PostgreSQL refuses it: {message} ({d})"),
            KeyFileVerdict::PassesCheckButUnreadable {
                message, reason, ..
            } => {
                format!(
                    "{what}: passes PostgreSQL's permission check, then the server cannot read it ({reason}): {message}"
                )
            }
            other => format!(
                "{what}: PostgreSQL refuses it: {}",
                other.message().unwrap_or_default()
            ),
        };
        let fix = match (verdict.fix(), reader) {
            (Some(fix), Some(_)) => format!(
                "{} (pgtls harden --pg-owner does this)",
                fix.command(&shown_host)
            ),
            _ => "give the key to the db container's postgres user with mode 0600: pgtls harden --pg-owner UID:GID (find it with `docker compose exec db id postgres`)".to_owned(),
        };
        cx.fail(CheckId::KeyPermissions, detail, fix);
    };
    if let Some(user) = user {
        let verdict = key_file_verdict(container, facts, user.reader());
        if verdict.loads() {
            cx.pass(
                CheckId::KeyPermissions,
                format!(
                    "{what}: the server, running as {} ({}), loads it",
                    user.ids(),
                    user.source.describe()
                ),
            );
        } else {
            fail(cx, &verdict, Some(user));
        }
    } else {
        // the reader the file is most likely to admit
        let best = if uid == 0 {
            KeyReader::new(u32::MAX - 1, gid)
        } else {
            KeyReader::new(uid, gid)
        };
        let verdict = key_file_verdict(container, facts, best);
        if verdict.loads() {
            let only_if = if uid == 0 {
                format!("only if the server user is in group {gid}")
            } else {
                format!("only if the db container's postgres uid is {uid}")
            };
            cx.warn(
                CheckId::KeyPermissions,
                format!("{what}: loads {only_if}; which uid the server runs as is unknown"),
                "pass --pg-owner UID:GID (find it with `docker compose exec db id postgres`)",
            );
        } else {
            fail(cx, &verdict, None);
        }
    }
}

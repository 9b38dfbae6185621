//! `--format prometheus` of `check` and `certs inspect`, and `certs renew --textfile`: the
//! `node_exporter` textfile metrics (pgtls-exporter's exposition) of a checklist, a certificate
//! and a renewal run (feature `textfile`).

use std::path::Path;

use pgtls_certs::{CertInfo, Coverage};
use pgtls_exporter::{CertificateFile, ChecklistItem};

use crate::checklist::Checklist;

/// The checklist of the deployment in `dir` as metrics, stamped `now` (Unix seconds).
pub fn checklist(dir: &Path, checks: &Checklist, now: f64) -> String {
    let items: Vec<_> = (checks.items.iter())
        .map(|i| ChecklistItem {
            id: i.id.as_str(),
            verdict: i.verdict.as_str(),
        })
        .collect();
    pgtls_exporter::checklist_metrics(&dir.display().to_string(), &items, now)
}

/// The certificate `inspect` read from `file` as metrics, with the chain and host verdicts.
pub fn certificate(file: &Path, info: &CertInfo, checked: &Coverage) -> String {
    pgtls_exporter::certificate_metrics(&certificate_file(file, info, checked))
}

/// A renewal run over `dir` (`certs renew --textfile`): the certificate there as it is after the
/// run (when it can be read) and whether the run succeeded, stamped `now`.
pub fn renewal(dir: &Path, success: bool, now: f64) -> String {
    let cert = dir.join("server.crt");
    let info =
        (std::fs::read_to_string(&cert).ok()).and_then(|pem| pgtls_certs::inspect(&pem).ok());
    let none = Coverage {
        chain: None,
        host: None,
    };
    let file = info.map(|i| certificate_file(&cert, &i, &none));
    pgtls_exporter::renewal_metrics(&dir.display().to_string(), file.as_ref(), success, now)
}

/// The metrics' view of a certificate `inspect` read from `file`.
/// Prints `text` to stdout, or, with `output`, writes it atomically to that file (mode 0644: the
/// collector runs as another user; no backup: the file is a snapshot).
///
/// # Errors
/// Writing to stdout or the file fails.
pub fn emit(text: &str, output: Option<&Path>) -> crate::Result<()> {
    use std::io::Write as _;
    let Some(path) = output else {
        let mut o = std::io::stdout().lock();
        return o
            .write_all(text.as_bytes())
            .and_then(|()| o.flush())
            .map_err(|source| crate::Error::Io {
                context: "writing the metrics to stdout".into(),
                source,
            });
    };
    let opts = pgtls_certs::WriteOptions {
        backup: false,
        ..pgtls_certs::WriteOptions::cert()
    };
    pgtls_certs::write_atomic_with(path, text.as_bytes(), &opts, None, &|_| Ok(()))?;
    Ok(())
}

/// Now as a whole Unix second (a textfile's timestamp).
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64().floor())
}

fn certificate_file(file: &Path, info: &CertInfo, checked: &Coverage) -> CertificateFile {
    CertificateFile {
        file: file.display().to_string(),
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        serial: info.serial.clone(),
        sans: info.sans.clone(),
        sha256: info.sha256.clone(),
        not_before: info.not_before.clone(),
        not_after: info.not_after.clone(),
        chain_valid: checked.chain.as_ref().map(Result::is_ok),
        host: checked.host.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_and_a_failed_renewal_as_metrics() {
        let kit = pgtls_certs::CertKit::generate(
            &pgtls_certs::CaParams::default(),
            &pgtls_certs::ServerParams::new(["db"]),
            None,
        )
        .unwrap();
        let info = pgtls_certs::inspect(&kit.server.cert_pem).unwrap();
        let checked = Coverage {
            chain: Some(Ok(())),
            host: Some(("db".into(), true)),
        };
        let text = certificate(Path::new("tls/server.crt"), &info, &checked);
        assert!(text.contains("{file=\"tls/server.crt\"}"), "{text}");
        assert_eq!(
            text,
            pgtls_exporter::certificate_metrics(&certificate_file(
                Path::new("tls/server.crt"),
                &info,
                &checked
            ))
        );
        let tmp = tempfile::tempdir().unwrap();
        let run = renewal(tmp.path(), false, 1_700_000_000.0);
        let dir = tmp.path().display().to_string();
        assert_eq!(
            run,
            pgtls_exporter::renewal_metrics(&dir, None, false, 1_700_000_000.0)
        );
    }
}

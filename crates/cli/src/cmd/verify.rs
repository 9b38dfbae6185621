//! `pgtls verify`: probes targets concurrently with a progress line on a terminal.

use std::io::{IsTerminal, Write as _};

use anyhow::Context as _;
use pgtls_probe::{ProbeOptions, parse_targets};

use crate::cli::VerifyArgs;
use crate::cmd::edit::read_text;
use crate::error::{Error, Outcome};
use crate::output::Out;

pub fn run(a: &VerifyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let mut inputs = a.targets.clone();
    if let Some(file) = &a.targets_file {
        inputs.extend(pgtls_probe::target_lines(&read_text(file)?));
    }
    if inputs.is_empty() {
        anyhow::bail!(Error::BadValue {
            flag: "TARGET",
            value: String::new(),
            reason: "no targets: give HOST[:PORT] arguments or --targets-file".into(),
        });
    }
    let targets = parse_targets(&inputs).context("reading the targets")?;
    let mut opts = ProbeOptions::default()
        .with_user(a.user.clone())
        .with_database(a.database.clone())
        .with_tenant(a.tenant.clone())
        .with_server_name(a.host_name.clone())
        .with_timeout(a.timeout)
        .with_concurrency(usize::from(a.concurrency))
        .with_expiry_warn_days(a.expiry_warn_days)
        .with_deep(a.deep);
    if let Some(var) = &a.password_env {
        opts = opts.with_password(Some(std::env::var(var).map_err(|_| Error::BadValue {
            flag: "--password-env",
            value: var.clone(),
            reason: "the environment variable is not set".into(),
        })?));
    }
    if let Some(ca) = &a.ca {
        opts = opts.with_ca_file(ca).context("reading --ca")?;
    }
    if let (Some(cert), Some(key)) = (&a.client_cert, &a.client_key) {
        opts = opts
            .with_client_cert_files(cert, key)
            .context("reading --client-cert/--client-key")?;
    }
    let progress = !a.json && targets.len() > 1 && std::io::stderr().is_terminal();
    let total = targets.len();
    let mut finished = 0;
    let report = pgtls_probe::verify_blocking_with(&targets, &opts, |i, report| {
        finished += 1;
        if progress {
            let mut err = std::io::stderr().lock();
            let shown = targets.get(i).map(ToString::to_string).unwrap_or_default();
            let verdict = report.verdict.as_str();
            let _ = write!(
                err,
                "\r\x1b[2Kprobing: {finished}/{total} done (last: {shown} {verdict})"
            );
            let _ = err.flush();
        }
    })
    .context("starting the async runtime")?;
    if progress {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
    if a.json {
        out.line(&report.to_json())?;
    } else {
        out.raw(&report.render(out.color()))?;
    }
    Ok(Outcome::from_failed(
        report.verdict != pgtls_probe::OverallVerdict::Pass,
    ))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    fn parse(flag: &str, value: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["pgtls", "verify", "127.0.0.1:1", &format!("{flag}={value}")])
    }

    /// Every duration and count flag of `verify` over hostile values: a clear usage error
    /// (clap's exit 2) or a bounded value, never a panic (#19: `--timeout 1e300` was exit 101).
    #[test]
    fn duration_and_count_flags_are_bounded() {
        let rejected: &[(&str, &[&str])] = &[
            (
                "--timeout",
                &[
                    "1e300", "1e19", "3600.001", "inf", "-inf", "NaN", "0", "-1", "-0", "", "5s",
                    "1e-12", "0x10",
                ],
            ),
            (
                "--concurrency",
                &["0", "4097", "-1", "18446744073709551616", "1e3", ""],
            ),
            (
                "--expiry-warn-days",
                &["-1", "36501", "4294967296", "1.5", ""],
            ),
        ];
        for (flag, values) in rejected {
            for v in *values {
                let e = match std::panic::catch_unwind(|| parse(flag, v)) {
                    Ok(r) => r
                        .err()
                        .unwrap_or_else(|| panic!("{flag} {v:?} was accepted")),
                    Err(e) => std::panic::resume_unwind(e),
                };
                assert_eq!(e.exit_code(), 2, "{flag} {v:?}: {e}");
                assert!(e.to_string().contains(flag), "{flag} {v:?}: {e}");
            }
        }
        let accepted: &[(&str, &[&str])] = &[
            ("--timeout", &["0.001", "5", "3600", "1e3", " 2.5 "]),
            ("--concurrency", &["1", "256", "4096"]),
            ("--expiry-warn-days", &["0", "14", "36500"]),
        ];
        for (flag, values) in accepted {
            for v in *values {
                let cli = parse(flag, v).unwrap_or_else(|e| panic!("{flag} {v:?}: {e}"));
                let Command::Verify(a) = cli.command else {
                    panic!("not verify")
                };
                assert!(a.timeout > std::time::Duration::ZERO);
                assert!(a.timeout <= pgtls_probe::MAX_TIMEOUT);
                assert!((1..=4096).contains(&a.concurrency));
            }
        }
    }

    /// Numbers across the whole f64 range (every power of ten, signs, subnormals, the edges)
    /// given to `--timeout` parse to a bounded duration or are a usage error.
    #[test]
    fn any_timeout_number_is_bounded_or_refused() {
        let mut values: Vec<f64> = (-324..=308).map(|e| 10f64.powi(e)).collect();
        values.extend([
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            3600.0,
            3_600.000_000_1,
            1.5e-9,
        ]);
        let negated: Vec<f64> = values.iter().map(|v| -v).collect();
        values.extend(negated);
        for x in values {
            for v in [format!("{x}"), format!("{x:e}")] {
                match parse("--timeout", &v) {
                    Ok(cli) => {
                        let Command::Verify(a) = cli.command else {
                            panic!("not verify")
                        };
                        assert!(
                            a.timeout > std::time::Duration::ZERO
                                && a.timeout <= pgtls_probe::MAX_TIMEOUT,
                            "{v}"
                        );
                        assert!(x > 0.0 && x <= 3600.0, "{v} accepted");
                    }
                    Err(e) => assert_eq!(e.exit_code(), 2, "{v}: {e}"),
                }
            }
        }
    }
}

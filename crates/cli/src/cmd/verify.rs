//! `pgtls verify`: probes targets concurrently with a progress line on a terminal.

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use pgtls_probe::{ProbeOptions, Report, Target, parse_targets, probe};

use crate::cli::VerifyArgs;
use crate::cmd::edit::read_text;
use crate::error::{Error, Outcome};
use crate::output::Out;

pub fn run(a: &VerifyArgs, out: &mut Out) -> anyhow::Result<Outcome> {
    let mut inputs = a.targets.clone();
    if let Some(file) = &a.targets_file {
        let text = read_text(file)?;
        inputs.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    if inputs.is_empty() {
        anyhow::bail!(Error::BadValue {
            flag: "TARGET",
            value: String::new(),
            reason: "no targets: give HOST[:PORT] arguments or --targets-file".into(),
        });
    }
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        anyhow::bail!(Error::BadValue {
            flag: "--timeout",
            value: a.timeout.to_string(),
            reason: "must be a positive number of seconds".into()
        });
    }
    let targets = parse_targets(&inputs).context("reading the targets")?;
    let mut opts = ProbeOptions::default();
    opts.user.clone_from(&a.user);
    opts.database.clone_from(&a.database);
    opts.tenant.clone_from(&a.tenant);
    opts.server_name.clone_from(&a.host_name);
    opts.timeout = Duration::from_secs_f64(a.timeout);
    if let Some(var) = &a.password_env {
        opts.password = Some(std::env::var(var).map_err(|_| Error::BadValue {
            flag: "--password-env",
            value: var.clone(),
            reason: "the environment variable is not set".into(),
        })?);
    }
    if let Some(ca) = &a.ca {
        opts = opts.with_ca_file(ca).context("reading --ca")?;
    }
    let progress = !a.json && targets.len() > 1 && std::io::stderr().is_terminal();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reports = runtime.block_on(probe_all(targets, opts, a.concurrency.max(1), progress));
    let report = Report::new(reports);
    if a.json {
        out.line(&report.to_json())?;
    } else {
        out.raw(&report.render(out.color()))?;
    }
    Ok(Outcome::from_failed(
        report.verdict != pgtls_probe::OverallVerdict::Pass,
    ))
}

async fn probe_all(
    targets: Vec<Target>,
    opts: ProbeOptions,
    concurrency: usize,
    progress: bool,
) -> Vec<pgtls_probe::TargetReport> {
    let total = targets.len();
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let opts = Arc::new(opts);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (i, t) in targets.into_iter().enumerate() {
        let (sem, opts, tx) = (Arc::clone(&sem), Arc::clone(&opts), tx.clone());
        tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            let report = probe(&t, &opts).await;
            let _ = tx.send((i, t, report));
        });
    }
    drop(tx);
    let mut results: Vec<Option<pgtls_probe::TargetReport>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    while let Some((i, t, report)) = rx.recv().await {
        done += 1;
        if progress {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2Kprobing: {done}/{total} done (last: {t} {})",
                report.verdict.as_str()
            );
            let _ = err.flush();
        }
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(report);
        }
    }
    if progress {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
    results.into_iter().flatten().collect()
}

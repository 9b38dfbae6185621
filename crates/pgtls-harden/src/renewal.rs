//! Unattended renewal of the private leaf: a systemd service and timer (or a cron line where
//! there is no systemd) running `pgtls certs renew --if-due --reload` once a day at a random
//! time, so the leaf is renewed inside its renewal window (a third of its lifetime or 30 days
//! left, [`pgtls_certs::RenewalPolicy`]) without a person.
//!
//! The model is certbot's own `certbot.timer` (twice a day, randomised, the renewal decided by
//! the command, not the timer) and `step ca renew --daemon` (two thirds of the lifetime, with
//! jitter). systemd facts used: `Type=oneshot` services log their output to the journal under
//! the unit's name; `RandomizedDelaySec=` spreads timers; `Persistent=true` runs a missed
//! activation at the next boot (systemd.timer(5)).

use std::path::{Path, PathBuf};

use pgtls_certs::{Backups, WriteOptions, WriteStatus};

use crate::error::{Error, Result};

/// The units for one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewTimer {
    /// Unit name without suffix, e.g. `pgtls-renew-srv-supabase`.
    pub name: String,
    /// The deployment folder (absolute).
    pub dir: PathBuf,
    /// The command the service runs.
    pub command: Vec<String>,
}

fn slug(dir: &Path) -> String {
    let s: String = dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "root".into() } else { s }
}

/// Quotes one argument for systemd's `ExecStart=` and for `/bin/sh` alike (double quotes, with
/// `\`, `"`, `$` and `` ` `` escaped) when it holds anything but safe characters.
fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@+,".contains(c))
    {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl RenewTimer {
    /// The units for the deployment in `dir` (absolute), run by the binary `pgtls`. A folder
    /// with `volumes/tls` is a deployment (its CA in `volumes/tls-ca`, and `--reload`); any
    /// other folder is a certificate folder holding its CA.
    pub fn new(dir: &Path, pgtls: &Path) -> Self {
        let tls = dir.join(crate::paths::TLS_DIR);
        let mut command = vec![
            pgtls.to_string_lossy().into_owned(),
            "certs".into(),
            "renew".into(),
        ];
        if tls.is_dir() {
            command.extend([
                "--dir".into(),
                tls.to_string_lossy().into_owned(),
                "--ca-dir".into(),
                dir.join(crate::paths::CA_DIR)
                    .to_string_lossy()
                    .into_owned(),
                "--if-due".into(),
                "--reload".into(),
                "--deployment".into(),
                dir.to_string_lossy().into_owned(),
            ]);
        } else {
            command.extend([
                "--dir".into(),
                dir.to_string_lossy().into_owned(),
                "--if-due".into(),
            ]);
        }
        RenewTimer {
            name: format!("pgtls-renew-{}", slug(dir)),
            dir: dir.to_path_buf(),
            command,
        }
    }

    /// Adds `--textfile DIR/NAME.prom` to the command: after every run the service (and the
    /// cron line) writes the certificate's metrics and the run's outcome for `node_exporter`'s
    /// textfile collector in `dir`.
    #[must_use]
    pub fn with_textfile(mut self, dir: &Path) -> Self {
        self.command.extend([
            "--textfile".into(),
            dir.join(format!("{}.prom", self.name))
                .to_string_lossy()
                .into_owned(),
        ]);
        self
    }

    fn command_line(&self) -> String {
        self.command
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `.service` unit.
    pub fn service(&self) -> String {
        format!(
            "# written by pgtls certs renew-timer; rerun it to update (an unchanged file is not rewritten)\n[Unit]\nDescription=pgtls: renew the private server certificate of {} when due\nAfter=docker.service network-online.target\nWants=network-online.target\n\n[Service]\nType=oneshot\nExecStart={}\n",
            self.dir.display(),
            self.command_line()
        )
    }

    /// The `.timer` unit: daily, up to an hour of random delay, catching up after downtime.
    pub fn timer(&self) -> String {
        format!(
            "# written by pgtls certs renew-timer\n[Unit]\nDescription=pgtls: daily renewal check of {}\n\n[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1h\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
            self.dir.display()
        )
    }

    /// The `/etc/cron.d` file for hosts without systemd: once a day at a minute and hour
    /// derived from the folder (so deployments spread), plus up to an hour of random delay;
    /// the output goes to syslog through `logger`.
    pub fn cron(&self) -> String {
        let h = self
            .name
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
        format!(
            "# written by pgtls certs renew-timer: daily renewal check of {}\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n{} {} * * * root sleep $(shuf -i 0-3600 -n 1) && {} 2>&1 | logger -t {}\n",
            self.dir.display(),
            h % 60,
            (h / 60) % 24,
            self.command_line(),
            self.name
        )
    }

    /// Everything `--print` shows.
    pub fn print(&self) -> String {
        let metrics = self
            .command
            .iter()
            .skip_while(|a| *a != "--textfile")
            .nth(1)
            .map(|f| format!("# after every run: {f} (node_exporter's textfile collector)\n"))
            .unwrap_or_default();
        format!(
            "# /etc/systemd/system/{0}.service\n{1}\n# /etc/systemd/system/{0}.timer\n{2}\n# enable: systemctl daemon-reload && systemctl enable --now {0}.timer\n# outcome: journalctl -u {0}.service\n{4}\n# without systemd: /etc/cron.d/{0}\n{3}",
            self.name,
            self.service(),
            self.timer(),
            self.cron(),
            metrics
        )
    }

    /// `pgtls certs renew-timer --install`: under `root` (units written, nothing enabled) or on
    /// this host (`/`, enabled), as systemd units when systemd runs this host or when writing
    /// under `root`, else (or with `cron`) as a cron file. See [`RenewTimer::install`].
    ///
    /// # Errors
    /// As [`RenewTimer::install`].
    pub fn install_on(&self, root: Option<&Path>, cron: bool) -> Result<Vec<String>> {
        let systemd = !cron && (root.is_some() || Path::new("/run/systemd/system").is_dir());
        self.install(root.unwrap_or(Path::new("/")), systemd, root.is_none())
    }

    /// Writes the units under `root` (`/` normally) or the cron file, through the one writer
    /// (a replaced file is kept in the deployment's `.pgtls-backups/`); an unchanged file is not
    /// rewritten. With `enable`, `systemctl daemon-reload` and `enable --now` run when a unit
    /// changed or the timer is not enabled yet. Returns the lines to print.
    pub fn install(&self, root: &Path, systemd: bool, enable: bool) -> Result<Vec<String>> {
        let mut backups = Backups::new(&self.dir);
        let mut lines = Vec::new();
        let mut changed = false;
        let files: Vec<(PathBuf, String)> = if systemd {
            let d = root.join("etc/systemd/system");
            vec![
                (d.join(format!("{}.service", self.name)), self.service()),
                (d.join(format!("{}.timer", self.name)), self.timer()),
            ]
        } else {
            vec![(root.join("etc/cron.d").join(&self.name), self.cron())]
        };
        for (path, text) in &files {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::Io {
                    context: format!("creating \"{}\"", parent.display()),
                    source: e,
                })?;
            }
            let o = pgtls_certs::write_atomic_with(
                path,
                text.as_bytes(),
                &WriteOptions {
                    mode: 0o644,
                    owner: None,
                    backup: true,
                    protect_existing: false,
                },
                Some(&mut backups),
                &|_| Ok(()),
            )?;
            changed |= o.status != WriteStatus::Unchanged;
            lines.push(format!("{:<9} {}", o.status.as_str(), path.display()));
        }
        if let Some(b) = backups.dir() {
            lines.push(format!("backups in {}", b.display()));
        }
        if systemd && enable {
            let unit = format!("{}.timer", self.name);
            let enabled = std::process::Command::new("systemctl")
                .args(["is-enabled", "--quiet", &unit])
                .status()
                .is_ok_and(|s| s.success());
            if changed || !enabled {
                for args in [
                    vec!["daemon-reload"],
                    vec!["enable", "--now", unit.as_str()],
                ] {
                    let st = std::process::Command::new("systemctl")
                        .args(&args)
                        .status()
                        .map_err(|e| Error::Io {
                            context: "running systemctl".into(),
                            source: e,
                        })?;
                    if !st.success() {
                        return Err(Error::Message(format!(
                            "systemctl {} failed ({st})",
                            args.join(" ")
                        )));
                    }
                }
                lines.push(format!("enabled {unit}: systemctl list-timers {unit}; outcome: journalctl -u {}.service", self.name));
            } else {
                lines.push(format!(
                    "{unit} already enabled and unchanged; nothing to do"
                ));
            }
        } else if systemd {
            lines.push(format!(
                "not enabled (files written under {}): systemctl daemon-reload && systemctl enable --now {}.timer",
                root.display(),
                self.name
            ));
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_name_the_deployment() {
        let t = RenewTimer::new(
            Path::new("/srv/my supabase"),
            Path::new("/usr/local/bin/pgtls"),
        );
        assert_eq!(t.name, "pgtls-renew-srv-my-supabase");
        assert!(
            t.service().contains(
                "ExecStart=/usr/local/bin/pgtls certs renew --dir \"/srv/my supabase\" --if-due\n"
            ),
            "{}",
            t.service()
        );
        assert!(t.timer().contains("RandomizedDelaySec=1h"));
        assert!(
            t.cron()
                .contains(" root sleep $(shuf -i 0-3600 -n 1) && /usr/local/bin/pgtls certs renew")
        );
        assert_eq!(quote("a$b"), "\"a\\$b\"");
        let t = t.with_textfile(Path::new("/var/lib/prometheus/node-exporter"));
        assert!(t.service().ends_with(
            " --if-due --textfile /var/lib/prometheus/node-exporter/pgtls-renew-srv-my-supabase.prom\n"
        ));
        assert!(t.cron().contains(" --textfile /var/lib/prometheus/node-exporter/pgtls-renew-srv-my-supabase.prom 2>&1 | logger"));
    }

    #[test]
    fn install_is_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let dep = d.path().join("dep");
        std::fs::create_dir_all(dep.join("volumes/tls")).unwrap();
        let t = RenewTimer::new(&dep, Path::new("/usr/bin/pgtls"));
        assert!(t.command.contains(&"--reload".to_owned()));
        let root = d.path().join("root");
        let first = t.install(&root, true, false).unwrap();
        assert!(first[0].starts_with("created"), "{first:?}");
        let second = t.install(&root, true, false).unwrap();
        assert!(
            second[0].starts_with("unchanged") && second[1].starts_with("unchanged"),
            "{second:?}"
        );
        let cron = t.install(&root, false, false).unwrap();
        assert!(cron[0].starts_with("created"), "{cron:?}");
        // under a root: the systemd units (already there), never enabled; cron when asked
        let under = t.install_on(Some(&root), false).unwrap();
        assert_eq!(under, second);
        assert!(t.install_on(Some(&root), true).unwrap()[0].starts_with("unchanged"));
    }
}

//! The Docker engine through the `docker` CLI, for owner resolution: every call bounded by a
//! timeout, nothing pulled, nothing left running.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::owner::Engine;

/// The `docker` CLI. `PGTLS_DOCKER=0` switches it off (then no engine is asked).
#[derive(Debug)]
pub struct DockerCli {
    bin: String,
    available: std::cell::OnceCell<bool>,
}

impl DockerCli {
    /// The engine found on `PATH` (`PGTLS_DOCKER` may name another binary, or `0` for none).
    pub fn from_env() -> Self {
        Self {
            bin: std::env::var("PGTLS_DOCKER").unwrap_or_else(|_| "docker".into()),
            available: std::cell::OnceCell::new(),
        }
    }

    /// Runs `docker args...` with a deadline; stdout on exit 0, else the error text.
    fn run(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        let mut child = Command::new(&self.bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > timeout => {
                    // our own child, by its handle
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`docker {}` gave no answer within {} s",
                        args.join(" "),
                        timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(e.to_string()),
            }
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        if status.success() {
            Ok(out)
        } else {
            Err(err.trim().to_owned())
        }
    }
}

const QUICK: Duration = Duration::from_secs(5);
const CONTAINER_RUN: Duration = Duration::from_secs(20);

impl Engine for DockerCli {
    fn available(&self) -> bool {
        *self.available.get_or_init(|| {
            self.bin != "0"
                && self
                    .run(&["version", "--format", "{{.Server.Version}}"], QUICK)
                    .is_ok_and(|v| !v.trim().is_empty())
        })
    }

    fn security_options(&self) -> Vec<String> {
        self.run(&["info", "--format", "{{json .SecurityOptions}}"], QUICK)
            .ok()
            .and_then(|t| serde_json::from_str::<Vec<String>>(t.trim()).ok())
            .unwrap_or_default()
    }

    fn db_container(
        &self,
        dir: &Path,
        service: &str,
        _container_name: Option<&str>,
    ) -> Option<String> {
        let dir = std::fs::canonicalize(dir).ok()?;
        let filter_service = format!("label=com.docker.compose.service={service}");
        let filter_dir = format!(
            "label=com.docker.compose.project.working_dir={}",
            dir.display()
        );
        let ids = self
            .run(
                &[
                    "ps",
                    "-q",
                    "--filter",
                    &filter_service,
                    "--filter",
                    &filter_dir,
                ],
                QUICK,
            )
            .ok()?;
        // by id, found by the compose labels: a `container_name` alone could be another
        // deployment's container
        ids.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned)
    }

    fn id_in_container(&self, container: &str) -> Result<String, String> {
        self.run(&["exec", container, "id", "postgres"], QUICK)
    }

    fn id_in_image(&self, image: &str) -> Result<Option<String>, String> {
        if self
            .run(&["image", "inspect", "--format", "{{.Id}}", image], QUICK)
            .is_err()
        {
            return Ok(None);
        }
        self.run(
            &[
                "run",
                "--rm",
                "--pull",
                "never",
                "--network",
                "none",
                "--entrypoint",
                "id",
                image,
                "postgres",
            ],
            CONTAINER_RUN,
        )
        .map(Some)
    }

    fn signal(&self, container: &str, signal: &str) -> Result<(), String> {
        self.run(&["kill", "--signal", signal, container], QUICK)
            .map(drop)
    }

    fn restart(&self, container: &str) -> Result<(), String> {
        self.run(&["restart", container], CONTAINER_RUN).map(drop)
    }

    fn addresses(&self, container: &str) -> Vec<std::net::IpAddr> {
        let f = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}} {{end}}";
        let o = self.run(&["inspect", "--format", f, container], QUICK);
        let words = o.iter().flat_map(|o| o.split_whitespace());
        words.filter_map(|a| a.parse().ok()).collect()
    }
}

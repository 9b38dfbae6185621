//! The Docker engine through the `docker` CLI: owner resolution ([`crate::owner`]) and the
//! networks of the db container (`trust`). Every call is bounded by a timeout, nothing
//! is pulled, nothing is left running.
//!
//! What is read, and why it is enough (checked against Docker Engine 20.10 on this project's
//! test host):
//! - `docker inspect CONTAINER` → `.NetworkSettings.Networks`: per attached network its id, the
//!   container's IPv4/IPv6 addresses and the network's `Gateway` / `IPv6Gateway` (the address
//!   the bridge holds on that network: where the host's own traffic, Docker's userland proxy
//!   included, comes from).
//! - `docker network inspect ID...` → `.IPAM.Config[]` (`Subnet`, `Gateway`; an IPv6 subnet
//!   often lists no gateway, the container's `IPv6Gateway` says it) and `.Containers` (name and
//!   `IPv4Address`/`IPv6Address` in CIDR form) for the other containers on the network.

use std::io::Read as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::owner::{Engine, EngineNetwork, NetworkContainer};

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
        let mut nap = Duration::from_millis(1);
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
                // most calls end within a few tens of milliseconds: poll often at first
                Ok(None) => {
                    std::thread::sleep(nap);
                    nap = (nap * 2).min(Duration::from_millis(10));
                }
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

/// `GET /_ping` on `/var/run/docker.sock` answers `200 OK` (only when neither `DOCKER_HOST` nor
/// `DOCKER_CONTEXT` points the CLI elsewhere).
fn default_socket_pings() -> bool {
    use std::io::Write as _;
    if std::env::var_os("DOCKER_HOST").is_some() || std::env::var_os("DOCKER_CONTEXT").is_some() {
        return false;
    }
    let Ok(mut s) = std::os::unix::net::UnixStream::connect("/var/run/docker.sock") else {
        return false;
    };
    let _ = s.set_read_timeout(Some(QUICK));
    let _ = s.set_write_timeout(Some(QUICK));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// Whether `name` is an executable file in a `PATH` folder.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            std::fs::metadata(d.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
const CONTAINER_RUN: Duration = Duration::from_secs(20);

impl Engine for DockerCli {
    fn available(&self) -> bool {
        *self.available.get_or_init(|| {
            if self.bin == "0" {
                return false;
            }
            // the default engine answers its ping on the default socket: no CLI start needed
            // (about 30 ms); any other set-up (DOCKER_HOST, a context, rootless, another binary)
            // asks the CLI, which knows it
            if self.bin == "docker" && default_socket_pings() && on_path("docker") {
                return true;
            }
            self.run(&["version", "--format", "{{.Server.Version}}"], QUICK)
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

    fn effective_hba(
        &self,
        container: &str,
    ) -> Result<crate::container_files::ContainerHba, String> {
        crate::container_files::ContainerFiles::from_env()
            .with_bin(&self.bin)
            .effective_hba(container)
            .map_err(|e| e.to_string())
    }

    fn server_version_in_container(&self, container: &str) -> Result<String, String> {
        self.run(&["exec", container, "postgres", "--version"], QUICK)
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

    fn networks_of(&self, container: &str) -> Result<Vec<EngineNetwork>, String> {
        let attached = self.run(
            &[
                "inspect",
                "--format",
                "{{json .NetworkSettings.Networks}}",
                container,
            ],
            QUICK,
        )?;
        let mut nets = parse_attached(&attached)?;
        if nets.is_empty() {
            return Ok(nets);
        }
        let mut args = vec!["network", "inspect"];
        args.extend(nets.iter().map(|n| n.id.as_str()));
        let text = self.run(&args, QUICK)?;
        merge_network_inspect(&mut nets, &text)?;
        Ok(nets)
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

fn ip_of(v: &serde_json::Value) -> Option<IpAddr> {
    let s = v.as_str()?.trim();
    s.split('/').next()?.parse().ok()
}

/// `.NetworkSettings.Networks` of `docker inspect` (a map from network name).
///
/// # Errors
/// Text that is not that JSON.
pub fn parse_attached(text: &str) -> Result<Vec<EngineNetwork>, String> {
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("docker inspect: unexpected output ({e})"))?;
    let Some(map) = v.as_object() else {
        return Ok(Vec::new());
    };
    Ok(map
        .iter()
        .map(|(name, n)| {
            let mut gateways: Vec<IpAddr> = Vec::new();
            for key in ["Gateway", "IPv6Gateway"] {
                if let Some(ip) = ip_of(&n[key]) {
                    gateways.push(ip);
                }
            }
            let mut addrs = Vec::new();
            for key in ["IPAddress", "GlobalIPv6Address"] {
                if let Some(ip) = ip_of(&n[key]) {
                    addrs.push(ip);
                }
            }
            EngineNetwork {
                name: name.clone(),
                id: n["NetworkID"].as_str().unwrap_or(name).to_owned(),
                subnets: Vec::new(),
                gateways,
                self_addrs: addrs,
                containers: Vec::new(),
            }
        })
        .collect())
}

/// Adds subnets, IPAM gateways and the other containers from `docker network inspect` output.
///
/// # Errors
/// Text that is not that JSON.
pub fn merge_network_inspect(nets: &mut [EngineNetwork], text: &str) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("docker network inspect: unexpected output ({e})"))?;
    for item in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let id = item["Id"].as_str().unwrap_or_default();
        let name = item["Name"].as_str().unwrap_or_default();
        let Some(net) = nets.iter_mut().find(|n| n.id == id || n.name == name) else {
            continue;
        };
        for cfg in item["IPAM"]["Config"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(subnet) = cfg["Subnet"].as_str() {
                net.subnets.push(subnet.to_owned());
            }
            if let Some(gw) = ip_of(&cfg["Gateway"])
                && !net.gateways.contains(&gw)
            {
                net.gateways.push(gw);
            }
        }
        if let Some(map) = item["Containers"].as_object() {
            for c in map.values() {
                let addrs: Vec<IpAddr> = ["IPv4Address", "IPv6Address"]
                    .iter()
                    .filter_map(|k| ip_of(&c[*k]))
                    .collect();
                net.containers.push(NetworkContainer {
                    name: c["Name"].as_str().unwrap_or_default().to_owned(),
                    addrs,
                });
            }
        }
    }
    Ok(())
}

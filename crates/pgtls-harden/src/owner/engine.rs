//! What the Docker engine is asked: the [`Engine`] trait (`id postgres` in the db container or
//! image, the engine's remap mode, the deployment's networks), [`NoEngine`] when there is none, and
//! the parser for `id`'s output.

use std::path::Path;

/// The Docker engine, as far as owner resolution needs it.
pub trait Engine {
    /// Whether an engine answers on this host.
    fn available(&self) -> bool;
    /// The engine's security options (`docker info`: `name=userns`, `name=rootless`, ...).
    fn security_options(&self) -> Vec<String>;
    /// The id of the running db container of the deployment in `dir` (compose service
    /// `service`, `container_name` when set), if any.
    fn db_container(
        &self,
        dir: &Path,
        service: &str,
        container_name: Option<&str>,
    ) -> Option<String>;
    /// The output of `id postgres` in a running container.
    fn id_in_container(&self, container: &str) -> Result<String, String>;
    /// The output of `id postgres` in a local image; `Ok(None)` when the image is not present.
    fn id_in_image(&self, image: &str) -> Result<Option<String>, String>;
    /// The output of `postgres --version` in a running container (`postgres (PostgreSQL) 17.6`).
    fn server_version_in_container(&self, container: &str) -> Result<String, String> {
        let _ = container;
        Err("no Docker engine".into())
    }
    /// Sends `signal` (`HUP`) to a container's main process (`docker kill --signal`).
    fn signal(&self, container: &str, signal: &str) -> Result<(), String> {
        let _ = (container, signal);
        Err("no Docker engine".into())
    }
    /// Restarts a container (`docker restart`).
    fn restart(&self, container: &str) -> Result<(), String> {
        let _ = container;
        Err("no Docker engine".into())
    }
    /// The container's addresses on its networks.
    fn addresses(&self, container: &str) -> Vec<std::net::IpAddr> {
        let _ = container;
        Vec::new()
    }
    /// The networks a running container is attached to, with their subnets, gateways and the
    /// other containers on them (see `trust`).
    ///
    /// # Errors
    /// The engine cannot tell (the default: this engine does not look networks up).
    fn networks_of(&self, container: &str) -> Result<Vec<EngineNetwork>, String> {
        let _ = container;
        Err("this engine does not look networks up".into())
    }
    /// The `pg_hba.conf` the PostgreSQL server in a container loads, and its text
    /// ([`crate::container_files`]).
    ///
    /// # Errors
    /// The engine cannot tell (the default: this engine does not read container files).
    fn effective_hba(
        &self,
        container: &str,
    ) -> Result<crate::container_files::ContainerHba, String> {
        let _ = container;
        Err("this engine does not read files from containers".into())
    }
}

/// One Docker network a container is attached to, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct EngineNetwork {
    /// The network's name (`<project>_default` for compose's default network).
    pub name: String,
    /// The network's id.
    pub id: String,
    /// Its subnets (IPv4 and IPv6), `IP/bits`.
    pub subnets: Vec<String>,
    /// Its gateways: the host's own address on the network.
    pub gateways: Vec<std::net::IpAddr>,
    /// The inspected container's own addresses on it.
    pub self_addrs: Vec<std::net::IpAddr>,
    /// The containers on it (the inspected one included).
    pub containers: Vec<NetworkContainer>,
}

/// A container on a network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NetworkContainer {
    /// Its name.
    pub name: String,
    /// Its addresses on that network.
    pub addrs: Vec<std::net::IpAddr>,
}

/// No engine: owner resolution uses the files and the flag only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEngine;

impl Engine for NoEngine {
    fn available(&self) -> bool {
        false
    }
    fn security_options(&self) -> Vec<String> {
        Vec::new()
    }
    fn db_container(&self, _: &Path, _: &str, _: Option<&str>) -> Option<String> {
        None
    }
    fn id_in_container(&self, _: &str) -> Result<String, String> {
        Err("no Docker engine".into())
    }
    fn id_in_image(&self, _: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// Parses `id` output (`uid=105(postgres) gid=106(postgres) groups=106(postgres),103(ssl-cert)`,
/// GNU coreutils and busybox alike) into `(uid, gid, supplementary groups)`.
pub fn parse_id(text: &str) -> Option<(u32, u32, Vec<u32>)> {
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
    };
    let num = |s: &str| s.split('(').next()?.trim().parse::<u32>().ok();
    let uid = num(field("uid")?)?;
    let gid = num(field("gid")?)?;
    let groups = field("groups")
        .map(|g| g.split(',').filter_map(num).filter(|g| *g != gid).collect())
        .unwrap_or_default();
    Some((uid, gid, groups))
}

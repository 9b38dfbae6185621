//! The path mapping: a container path in a compose service to its host path through the
//! service's bind mounts, and the container port of a port spec. Below the planner and the
//! checklist, which both read the deployment through it.

use std::path::PathBuf;

use crate::layout::{Layout, Service};

/// Maps a container path in the db service to a host path through its bind mounts.
pub fn host_path_for(layout: &Layout, container: &str) -> Option<PathBuf> {
    host_path_in(&layout.db, container)
}

/// Maps a container path in `svc` to a host path (relative when the bind source is `./...`).
pub fn host_path_in(svc: &Service, container: &str) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    for m in svc.volumes.iter().filter(|m| m.bind) {
        let target = m.target.trim_end_matches('/');
        let rest = if container == target {
            Some("")
        } else {
            container
                .strip_prefix(target)
                .and_then(|r| r.strip_prefix('/'))
        };
        if let (Some(rest), Some(host)) = (rest, crate::layout::relative_host_path(&m.source)) {
            let host = if rest.is_empty() {
                host
            } else {
                host.join(rest)
            };
            if best.as_ref().is_none_or(|(len, _)| target.len() > *len) {
                best = Some((target.len(), host));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// The container port of a compose port spec (`[ip:][published:]target[/proto]`).
pub fn container_port(spec: &str) -> Option<&str> {
    let spec = spec.split('/').next()?;
    let last = spec.rsplit(':').next()?;
    Some(last.trim_matches(|c| c == '"' || c == '\''))
}

//! Which networks may reach the db without TLS, which addresses inside them may not, and how we
//! know.
//!
//! Internal services (auth, rest, storage, realtime, meta, Supavisor's own connections) talk to
//! the db over the compose network without TLS, so that network must stay exempt; nothing else
//! should be. The list is decided from facts, in this order, and the plan says which one was
//! used ([`TrustSource`]):
//!
//! 1. `--trusted-cidr` (the user says so);
//! 2. the Docker engine on this host, when it answers and the deployment's db container is
//!    running (found by its compose labels): the IPv4 and IPv6 subnets of every network the
//!    container is attached to;
//! 3. the compose file's declared `ipam` subnets of the networks the db service joins;
//! 4. the private ranges ([`crate::paths::DEFAULT_TRUSTED`]), with a warning naming what else
//!    lives there (cloud private networks, VPNs, LANs) and how to narrow it.
//!
//! Inside a trusted network some addresses carry other people's connections
//! ([`Exclusion`], refused without TLS by `hostnossl ... ADDR/32 reject` lines placed before the
//! trust lines, see [`pg_hba::Policy::excluded`]):
//! - the network's **gateway**: the host's own address on the bridge. Connections from the
//!   host's loopback to a published port go through Docker's userland proxy (`docker-proxy`) and
//!   arrive from it;
//! - **proxy containers** on the network (`*-proxy`, as Coolify names the nginx stream proxy of
//!   "Make it publicly available"): they forward public clients without the PROXY protocol, so
//!   PostgreSQL sees the proxy's Docker address for every public client.
//!
//! Without an engine only declared (or Docker's default: the first address of a subnet)
//! gateways are known; the warning then says how to check for a proxy by hand.
//!
//! [`decide`] is pure over the [`Engine`] trait, so every source is unit-tested with a fake.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use crate::owner::{Engine, EngineNetwork};
use crate::paths::DEFAULT_TRUSTED;

/// Where the trusted list came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TrustSource {
    /// `--trusted-cidr`.
    Flag,
    /// The networks the running db container is attached to, from the Docker engine.
    Engine {
        /// The db container's id.
        container: String,
        /// The networks' names.
        networks: Vec<String>,
    },
    /// The compose file's `ipam` subnets.
    Compose {
        /// The compose network keys.
        networks: Vec<String>,
    },
    /// The private ranges.
    Default,
}

impl TrustSource {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Flag => "from --trusted-cidr".to_owned(),
            Self::Engine {
                container,
                networks,
            } => format!(
                "the Docker networks of the running db container {} ({})",
                short_id(container),
                networks.join(", ")
            ),
            Self::Compose { networks } => format!(
                "the ipam subnets the compose file declares for {}",
                networks.join(", ")
            ),
            Self::Default => "the private ranges: no network facts found".to_owned(),
        }
    }
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// An address refused without TLS although it sits in a trusted network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    /// The address.
    pub addr: IpAddr,
    /// Why (gateway of which network, which proxy container).
    pub why: String,
}

/// The decision: trusted CIDRs, excluded addresses, and what could not be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedNetworks {
    /// Where the CIDRs came from.
    pub source: TrustSource,
    /// Networks allowed without TLS, `IP/bits`.
    pub cidrs: Vec<String>,
    /// Addresses inside them refused without TLS.
    pub excluded: Vec<Exclusion>,
    /// What the engine said when it was asked (or why it was not).
    pub engine: String,
    /// What the user should know (wide ranges, proxies that could not be looked up).
    pub warnings: Vec<crate::report::Warning>,
}

impl TrustedNetworks {
    /// The excluded addresses.
    pub fn excluded_addrs(&self) -> Vec<IpAddr> {
        self.excluded.iter().map(|e| e.addr).collect()
    }

    /// The `trusted_networks` JSON value of the plan.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source,
            "detail": self.source.describe(),
            "cidrs": self.cidrs,
            "excluded": self.excluded,
            "engine": self.engine,
        })
    }
}

/// What [`decide`] reads besides the engine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrustInputs<'a> {
    /// `--trusted-cidr` values (empty: decide from facts).
    pub flag: &'a [String],
    /// The deployment folder (the compose project's working directory).
    pub dir: &'a Path,
    /// The db service's key.
    pub service: &'a str,
    /// Its `container_name`, when set.
    pub container_name: Option<&'a str>,
    /// The compose networks the db service joins (empty: `default`).
    pub service_networks: &'a [String],
    /// The compose file, for its `ipam` declarations.
    pub compose: Option<&'a compose_patch::ComposeFile>,
}

/// How a user checks by hand what the engine would have told.
const CHECK_BY_HAND: &str = "check by hand: `docker network inspect NETWORK` (IPAM.Config[].Gateway and the Containers) and `docker ps --filter name=-proxy`, then run harden again where the engine answers, or pass --trusted-cidr";

/// [`decide`] for a detected deployment: its db service, its compose file (read from `tree`).
///
/// # Errors
/// The compose file cannot be read or parsed.
pub(crate) fn for_layout(
    tree: &crate::Tree,
    layout: &crate::Layout,
    flag: &[String],
    engine: &dyn Engine,
) -> crate::Result<TrustedNetworks> {
    let text = tree.read_text(&layout.compose)?.unwrap_or_default();
    let compose = compose_patch::ComposeFile::parse(&text).ok();
    Ok(decide(
        &TrustInputs {
            flag,
            dir: tree.src(),
            service: &layout.db.key,
            container_name: layout.db.container_name.as_deref(),
            service_networks: &layout.db.networks,
            compose: compose.as_ref(),
        },
        engine,
    ))
}

/// Decides the trusted networks and exclusions (see the module docs for the order).
pub(crate) fn decide(inputs: &TrustInputs<'_>, engine: &dyn Engine) -> TrustedNetworks {
    let (nets, engine_said) = engine_networks(inputs, engine);
    let mut warnings = Vec::new();
    let mut excluded = Vec::new();
    let compose_nets: Vec<String> = if inputs.service_networks.is_empty() {
        vec!["default".to_owned()]
    } else {
        inputs.service_networks.to_vec()
    };
    let ipam: Vec<(String, compose_patch::Ipam)> = inputs
        .compose
        .map(|c| {
            compose_nets
                .iter()
                .flat_map(|n| c.network_ipam(n).into_iter().map(move |i| (n.clone(), i)))
                .collect()
        })
        .unwrap_or_default();

    let (source, cidrs) = if !inputs.flag.is_empty() {
        (TrustSource::Flag, inputs.flag.to_vec())
    } else if let Some((container, nets)) = nets.as_ref().filter(|(_, n)| has_subnets(n)) {
        let cidrs = dedup(nets.iter().flat_map(|n| n.subnets.iter().cloned()));
        (
            TrustSource::Engine {
                container: container.clone(),
                networks: nets.iter().map(|n| n.name.clone()).collect(),
            },
            cidrs,
        )
    } else if !ipam.is_empty() {
        (
            TrustSource::Compose {
                networks: dedup(ipam.iter().map(|(n, _)| n.clone())),
            },
            dedup(ipam.iter().map(|(_, i)| i.subnet.clone())),
        )
    } else {
        warnings.push(crate::report::Warning::new(crate::report::Code::TrustWide, format!(
            "trusting {} without TLS: besides Docker's networks these ranges hold cloud private networks (Hetzner's default is 10.0.0.0/16), VPNs and LANs, whose other machines may then log in without TLS. Narrow it: run harden again while the deployment runs (the db container's networks are read from the Docker engine), declare ipam subnets for the compose network, or pass --trusted-cidr",
            DEFAULT_TRUSTED.join(", ")
        )));
        (
            TrustSource::Default,
            DEFAULT_TRUSTED.map(String::from).to_vec(),
        )
    };

    if let Some((_, nets)) = &nets {
        for n in nets {
            for gw in &n.gateways {
                push(
                    &mut excluded,
                    *gw,
                    format!(
                        "gateway of Docker network {}: the host's own connections, Docker's userland proxy for published ports included, come from it",
                        n.name
                    ),
                );
            }
            for c in &n.containers {
                let name = c.name.trim_start_matches('/');
                let is_db = c.addrs.iter().any(|a| n.self_addrs.contains(a));
                if name.ends_with("-proxy") && !is_db {
                    for a in &c.addrs {
                        push(
                            &mut excluded,
                            *a,
                            format!(
                                "proxy container {name} on {}: it forwards public clients without the PROXY protocol",
                                n.name
                            ),
                        );
                    }
                }
            }
        }
    } else {
        // Docker gives a bridge network's gateway the subnet's first address unless told.
        for (net, i) in &ipam {
            let gw = i
                .gateway
                .as_deref()
                .and_then(|g| g.parse().ok())
                .or_else(|| first_host(&i.subnet));
            if let Some(gw) = gw {
                let how = if i.gateway.is_some() {
                    "declared"
                } else {
                    "Docker's default, the subnet's first address"
                };
                push(
                    &mut excluded,
                    gw,
                    format!(
                        "gateway of compose network {net} ({how}): the host's own connections, Docker's userland proxy for published ports included, come from it"
                    ),
                );
            }
        }
        warnings.push(crate::report::Warning::new(crate::report::Code::TrustProxyUnknown, format!(
            "no proxy could be looked up ({engine_said}): a public-port proxy on the compose network (Coolify's `<uuid>-proxy` for \"Make it publicly available\") forwards every public client from its Docker address, and connections from the host's loopback to a published port arrive from the network's gateway through Docker's userland proxy; both would get the trusted networks' plaintext exemption. {CHECK_BY_HAND}"
        )));
    }
    TrustedNetworks {
        source,
        cidrs,
        excluded,
        engine: engine_said,
        warnings,
    }
}

fn has_subnets(nets: &[EngineNetwork]) -> bool {
    nets.iter().any(|n| !n.subnets.is_empty())
}

fn push(out: &mut Vec<Exclusion>, addr: IpAddr, why: String) {
    if !out.iter().any(|e| e.addr == addr) {
        out.push(Exclusion { addr, why });
    }
}

fn dedup<I: IntoIterator<Item = String>>(items: I) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The first host address of `IP/bits` (the network address plus one).
fn first_host(cidr: &str) -> Option<IpAddr> {
    let c: pg_hba::Cidr = cidr.parse().ok()?;
    Some(match c.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(c.bits)).unwrap_or(0);
            IpAddr::from(std::net::Ipv4Addr::from(
                (u32::from(a) & mask).checked_add(1)?,
            ))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(c.bits)).unwrap_or(0);
            IpAddr::from(std::net::Ipv6Addr::from(
                (u128::from(a) & mask).checked_add(1)?,
            ))
        }
    })
}

/// The db container and its networks, or why not.
fn engine_networks(
    inputs: &TrustInputs<'_>,
    engine: &dyn Engine,
) -> (Option<(String, Vec<EngineNetwork>)>, String) {
    if !engine.available() {
        return (
            None,
            "no Docker engine answers on this host (or PGTLS_DOCKER=0)".to_owned(),
        );
    }
    let dir = std::fs::canonicalize(inputs.dir).unwrap_or_else(|_| inputs.dir.to_path_buf());
    let Some(id) = engine.db_container(&dir, inputs.service, inputs.container_name) else {
        return (
            None,
            format!(
                "the Docker engine answers but runs no db container of this deployment (compose service {} in {})",
                inputs.service,
                dir.display()
            ),
        );
    };
    match engine.networks_of(&id) {
        Ok(nets) if has_subnets(&nets) => {
            let said = format!(
                "db container {} on {}",
                short_id(&id),
                nets.iter()
                    .map(|n| format!("{} ({})", n.name, n.subnets.join(", ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (Some((id, nets)), said)
        }
        Ok(_) => (
            None,
            format!(
                "the db container {} is attached to no network with a subnet",
                short_id(&id)
            ),
        ),
        Err(e) => (
            None,
            format!(
                "the networks of the db container {} could not be read: {e}",
                short_id(&id)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::NetworkContainer;
    use std::path::PathBuf;

    /// A fake engine: one running db container on the given networks.
    struct Fake {
        running: Option<&'static str>,
        nets: Vec<EngineNetwork>,
    }

    impl Engine for Fake {
        fn available(&self) -> bool {
            true
        }
        fn security_options(&self) -> Vec<String> {
            Vec::new()
        }
        fn db_container(&self, _: &Path, service: &str, _: Option<&str>) -> Option<String> {
            assert_eq!(service, "db");
            self.running.map(str::to_owned)
        }
        fn id_in_container(&self, _: &str) -> Result<String, String> {
            Err("unused".into())
        }
        fn id_in_image(&self, _: &str) -> Result<Option<String>, String> {
            Ok(None)
        }
        fn networks_of(&self, c: &str) -> Result<Vec<EngineNetwork>, String> {
            assert_eq!(Some(c), self.running);
            Ok(self.nets.clone())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn compose_net() -> EngineNetwork {
        EngineNetwork {
            name: "supabase_default".into(),
            id: "n1".into(),
            subnets: vec!["172.19.0.0/16".into(), "fd00:5eed:e2e::/64".into()],
            gateways: vec![ip("172.19.0.1"), ip("fd00:5eed:e2e::1")],
            self_addrs: vec![ip("172.19.0.2")],
            containers: vec![
                NetworkContainer {
                    name: "supabase-db".into(),
                    addrs: vec![ip("172.19.0.2")],
                },
                NetworkContainer {
                    name: "w4k8-proxy".into(),
                    addrs: vec![ip("172.19.0.7"), ip("fd00:5eed:e2e::7")],
                },
                NetworkContainer {
                    name: "supabase-pooler".into(),
                    addrs: vec![ip("172.19.0.3")],
                },
            ],
        }
    }

    const COMPOSE: &str = "services:\n  db:\n    image: supabase/postgres:15.8.1.060\nnetworks:\n  default:\n    ipam:\n      config:\n        - subnet: 172.31.213.0/24\n        - subnet: \"fd00:5eed:e2e::/64\"\n          gateway: \"fd00:5eed:e2e::fe\"\n";

    fn inputs<'a>(
        flag: &'a [String],
        compose: Option<&'a compose_patch::ComposeFile>,
        dir: &'a Path,
    ) -> TrustInputs<'a> {
        TrustInputs {
            flag,
            dir,
            service: "db",
            container_name: Some("supabase-db"),
            service_networks: &[],
            compose,
        }
    }

    #[test]
    fn the_engine_wins_over_the_compose_file() {
        let compose = compose_patch::ComposeFile::parse(COMPOSE).unwrap();
        let dir = PathBuf::from("/nonexistent/deploy");
        let fake = Fake {
            running: Some("0123456789abcdef"),
            nets: vec![compose_net()],
        };
        let t = decide(&inputs(&[], Some(&compose), &dir), &fake);
        assert!(matches!(t.source, TrustSource::Engine { .. }), "{t:?}");
        assert_eq!(t.cidrs, ["172.19.0.0/16", "fd00:5eed:e2e::/64"]);
        assert_eq!(
            t.excluded_addrs(),
            [
                ip("172.19.0.1"),
                ip("fd00:5eed:e2e::1"),
                ip("172.19.0.7"),
                ip("fd00:5eed:e2e::7")
            ]
        );
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert!(t.excluded[2].why.contains("w4k8-proxy"));
    }

    #[test]
    fn the_flag_overrides_but_the_engine_still_names_gateways_and_proxies() {
        let dir = PathBuf::from("/nonexistent/deploy");
        let fake = Fake {
            running: Some("0123456789abcdef"),
            nets: vec![compose_net()],
        };
        let flag = vec!["172.16.0.0/12".to_owned()];
        let t = decide(&inputs(&flag, None, &dir), &fake);
        assert_eq!(t.source, TrustSource::Flag);
        assert_eq!(t.cidrs, flag);
        assert_eq!(t.excluded.len(), 4);
    }

    #[test]
    fn no_running_container_falls_back_to_compose_ipam_with_default_gateways() {
        let compose = compose_patch::ComposeFile::parse(COMPOSE).unwrap();
        let dir = PathBuf::from("/nonexistent/deploy");
        let fake = Fake {
            running: None,
            nets: Vec::new(),
        };
        let t = decide(&inputs(&[], Some(&compose), &dir), &fake);
        assert_eq!(
            t.source,
            TrustSource::Compose {
                networks: vec!["default".into()]
            }
        );
        assert_eq!(t.cidrs, ["172.31.213.0/24", "fd00:5eed:e2e::/64"]);
        assert_eq!(
            t.excluded_addrs(),
            [ip("172.31.213.1"), ip("fd00:5eed:e2e::fe")]
        );
        assert!(t.engine.contains("runs no db container"), "{}", t.engine);
        assert_eq!(t.warnings.len(), 1);
        assert!(t.warnings[0].contains("docker ps --filter name=-proxy"));
    }

    #[test]
    fn nothing_known_keeps_the_private_ranges_and_says_what_they_hold() {
        let compose =
            compose_patch::ComposeFile::parse("services:\n  db:\n    image: x\n").unwrap();
        let dir = PathBuf::from("/nonexistent/deploy");
        let t = decide(&inputs(&[], Some(&compose), &dir), &crate::NoEngine);
        assert_eq!(t.source, TrustSource::Default);
        assert_eq!(t.cidrs, DEFAULT_TRUSTED);
        assert!(t.excluded.is_empty());
        assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
        assert!(t.warnings[0].contains("VPNs and LANs"));
        assert!(t.warnings[1].contains("userland proxy"));
        assert!(t.engine.contains("no Docker engine"));
    }

    #[test]
    fn the_decision_feeds_the_policy_so_the_gateway_is_refused_plaintext() {
        use pg_hba::{Encryption::None as Plain, Encryption::Ssl, Outcome};
        let dir = PathBuf::from("/nonexistent/deploy");
        let fake = Fake {
            running: Some("0123456789abcdef"),
            nets: vec![compose_net()],
        };
        let t = decide(&inputs(&[], None, &dir), &fake);
        let policy = pg_hba::Policy::with_trusted(&t.cidrs)
            .unwrap()
            .excluding(t.excluded_addrs());
        let doc = pg_hba::Document::parse(
            pg_hba::SUPABASE_DEFAULT_HBA,
            pg_hba::ParseOptions::default(),
        );
        let (out, warnings) = policy.apply(&doc).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let verdict = |a: &str, enc| {
            pg_hba::explain(
                &out,
                &pg_hba::Connection::host(ip(a), "postgres", "postgres").with_encryption(enc),
            )
            .outcome
        };
        for a in [
            "172.19.0.1",
            "172.19.0.7",
            "fd00:5eed:e2e::1",
            "fd00:5eed:e2e::7",
        ] {
            assert_eq!(verdict(a, Plain), Outcome::Reject, "{a}\n{out}");
            assert_eq!(verdict(a, Ssl), Outcome::Allow, "{a}");
        }
        for a in ["172.19.0.3", "fd00:5eed:e2e::3"] {
            assert_eq!(verdict(a, Plain), Outcome::Allow, "{a}\n{out}");
        }
        for a in ["10.0.0.4", "192.168.1.1", "172.17.0.5"] {
            assert_eq!(verdict(a, Plain), Outcome::Reject, "{a}\n{out}");
        }
    }

    #[test]
    fn first_host_of_subnets() {
        assert_eq!(first_host("172.18.0.0/16"), Some(ip("172.18.0.1")));
        assert_eq!(first_host("172.18.5.9/16"), Some(ip("172.18.0.1")));
        assert_eq!(first_host("fd00:1::/64"), Some(ip("fd00:1::1")));
        assert_eq!(first_host("nonsense"), None);
    }
}

//! What the user asked for ([`HardenOptions`]) and its defaults: below every step, which all
//! read it.

use pgtls_certs::KeyType;

use crate::owner::OwnerSource;
use crate::paths::DEFAULT_TRUSTED;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct HardenOptions {
    /// Extra SANs (`--domain`, `--san`).
    pub extra_sans: Vec<String>,
    /// Owner of the server key: the db container's postgres user.
    pub pg_owner: (u32, u32),
    /// Where that answer came from (recorded in the plan and in the state note).
    pub owner_source: OwnerSource,
    /// The Docker engine's userns-remap or rootless mode, when known: the pooler's root then
    /// cannot read a 0600 key it does not own.
    pub docker_remap: Option<String>,
    /// Trusted CIDRs.
    pub trusted: Vec<String>,
    /// Addresses inside them refused without TLS (gateways, proxies: see `trust`).
    pub excluded: Vec<std::net::IpAddr>,
    /// Where the trusted list came from and what could not be known (`trust::decide`):
    /// shown in the pg-hba step (`None`: the list was given as is).
    pub trust: Option<crate::trust::TrustedNetworks>,
    /// Key algorithm asked for (`None`: keep what exists, ECDSA P-256 for new keys).
    pub key_type: Option<KeyType>,
    /// Server certificate validity.
    pub days: u32,
    /// Rewrite create-only pooler.exs into an upsert.
    pub pooler_upsert: bool,
    /// The deployment's PostgreSQL major ([`crate::pgmajor`]); `None`: 15's rules, said so.
    pub pg_major: Option<crate::pgmajor::PgMajor>,
    /// The running db container's own `pg_hba.conf` as the engine read it (or why not): the
    /// base of a new file when the deployment mounts none ([`crate::hba_base`]). `None`: the
    /// engine was not asked (the image's default as pgtls carries it is used, said so).
    pub running_hba: Option<crate::hba_base::RunningHba>,
}

impl HardenOptions {
    /// The defaults the CLI uses: the server key owned by `pg_owner`, the private ranges
    /// ([`DEFAULT_TRUSTED`]) trusted, the existing key type kept (ECDSA P-256 for new keys), a
    /// 825-day server certificate, the pooler script left create-only.
    pub fn new(pg_owner: (u32, u32)) -> Self {
        Self {
            extra_sans: Vec::new(),
            pg_owner,
            owner_source: OwnerSource::Flag,
            docker_remap: None,
            trusted: DEFAULT_TRUSTED.map(String::from).to_vec(),
            excluded: Vec::new(),
            trust: None,
            key_type: None,
            days: DEFAULT_DAYS,
            pooler_upsert: false,
            pg_major: None,
            running_hba: None,
        }
    }
}

/// The networks given (`--trusted-cidr`), or [`DEFAULT_TRUSTED`] when none.
pub fn trusted_or_default(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        DEFAULT_TRUSTED.map(String::from).to_vec()
    } else {
        given.to_vec()
    }
}

/// Default validity of a new server certificate, in days.
pub const DEFAULT_DAYS: u32 = 825;

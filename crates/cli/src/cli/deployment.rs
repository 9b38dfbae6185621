//! `harden`, `check` and `explain`: the commands that read a deployment folder.

use std::path::PathBuf;

use clap::Args;

use super::common::{KeyTypeArg, LayoutKind, PgVersionArg, ReportFormat};

pub(super) const HARDEN_HELP: &str = "Examples:
  pgtls harden examples/supabase --out target/demo --pg-owner 105:106 --dry-run
  pgtls harden /srv/supabase/docker --dry-run --domain db.example.com
  pgtls harden /data/coolify/services/abc123 --pg-owner 105:106 --json
  pgtls harden . --trusted-cidr 172.16.0.0/12 --pooler-upsert
  COOLIFY_TOKEN=... pgtls harden /data/coolify/services/abc123 --pg-owner 105:106 \\
      --coolify-url https://coolify.example.com --coolify-restart

Coolify owns a service's compose: it rewrites docker-compose.yml from its database at every
deploy. With --coolify-url (and an API token allowed to read sensitive data in COOLIFY_TOKEN)
pgtls reads Coolify's copy, hardens it, writes the host files and stores the compose back
(Coolify re-serialises it: comments in the compose do not survive). Without it, a Coolify
folder gets docker-compose.pgtls.yml to paste into the service's \"Edit Compose File\".

Steps: certificates (CA reused when present), pg_hba.conf (hardened policy), db service
(-c ssl settings, read-only mounts), pooler service (cert mounts, env, ports), pooler tenant
(enforce_ssl). A second run reports that nothing needs doing.

Exit codes:
  0  planned/applied (or nothing to do)
  1  refused to proceed for a reason you can fix (for example no fact tells the db user's uid:
     pass --pg-owner; `docker compose exec db id postgres` tells it)
  2  usage error or unexpected runtime error (nothing is half-written: see the report)";

pub(super) const CHECK_HELP: &str = "Examples:
  pgtls check /srv/supabase/docker
  pgtls check target/demo --json

Exit codes:
  0  every item passed (warnings allowed)
  1  at least one item failed
  2  usage error or unexpected runtime error";

/// `pgtls explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The code, as harden prints it (W-REQUIRE-MITM; case and the W- prefix optional).
    #[arg(value_name = "CODE")]
    pub code: Option<String>,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) const EXPLAIN_HELP: &str = "Examples:
  pgtls explain                      every warning code with its one-line title
  pgtls explain W-REQUIRE-MITM       why it matters and what to do

Exit codes: 0 explained, 2 unknown code or usage error";

/// Arguments shared by `harden` and `check` to locate and describe the deployment.
#[derive(Debug, Clone, Args)]
pub struct DeploymentArgs {
    /// The deployment folder (upstream `supabase/docker` or a Coolify service folder).
    pub dir: PathBuf,
    /// Force the layout instead of detecting it.
    #[arg(long, value_enum)]
    pub layout: Option<LayoutKind>,
    /// A compose file, relative to DIR, as `docker compose -f` takes it (repeatable, merged in
    /// order). Default: COMPOSE_FILE (environment, then DIR/.env), else compose.yaml /
    /// docker-compose.yml plus its override file, as Compose v2 reads them.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<String>,
    /// Extra DNS name clients use (added to the certificate SANs).
    #[arg(long, value_name = "NAME")]
    pub domain: Vec<String>,
    /// Extra SAN: a DNS name or an IP address.
    #[arg(long, value_name = "NAME_OR_IP")]
    pub san: Vec<String>,
    /// The db container's postgres user as UID:GID, owner of the server key (default: the owner
    /// of an initialized host PGDATA, else `id postgres` through Docker, else the note of a
    /// previous run; never root).
    #[arg(long, value_name = "UID:GID")]
    pub pg_owner: Option<String>,
    /// The PostgreSQL major whose pg_hba.conf rules apply (default: the db image's tag, else
    /// PG_VERSION in an initialized host PGDATA, else 15).
    #[arg(long, value_enum)]
    pub pg_version: Option<PgVersionArg>,
    /// Output as JSON (stable keys, see ARCHITECTURE.md).
    #[arg(long)]
    pub json: bool,
    /// Human output in full: every note, each warning's text, every checklist item and fix.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// `pgtls harden`.
#[derive(Debug, Clone, Args)]
pub struct HardenArgs {
    /// Where the deployment is and who owns it.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Show the plan and diffs; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// After applying: reload the db / restart the pooler when only certificates or
    /// pg_hba.conf changed, and check the served certificate on the wire.
    #[arg(long)]
    pub reload: bool,
    /// Write a hardened copy into this folder instead of editing in place.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Networks allowed to connect without TLS (repeatable). Default: the running db container's
    /// Docker networks (IPv4 and IPv6), else the compose file's ipam subnets, else the private
    /// ranges; their gateways and `*-proxy` containers are refused plaintext either way.
    #[arg(long, value_name = "CIDR")]
    pub trusted_cidr: Vec<String>,
    /// Key algorithm: new keys use it (default ecdsa-p256); given explicitly, an existing server
    /// certificate with another key type is reissued.
    #[arg(long, value_enum)]
    pub key_type: Option<KeyTypeArg>,
    /// Validity of a new server certificate in days.
    #[arg(long, value_name = "N", default_value_t = 825,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Rewrite a create-only pooler.exs into an upsert (update_tenant) so enforce_ssl reaches an existing tenant.
    #[arg(long)]
    pub pooler_upsert: bool,
    /// Write through a symlinked volumes/, volumes/tls, volumes/tls-ca or .pgtls-backups
    /// (refused by default: keys and backups would land outside the deployment folder).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Exit 0 even when the checklist of the hardened deployment fails (by default that is exit
    /// 1 with the failing items; the files are written either way).
    #[arg(long)]
    pub allow_failed_checks: bool,
    /// Harden through Coolify's API (token in the COOLIFY_TOKEN environment variable): read the
    /// service's compose from Coolify, harden it, write the host files into DIR and store the
    /// compose back with PATCH /api/v1/services/UUID. Without it, a Coolify folder gets
    /// docker-compose.pgtls.yml to paste into Coolify.
    #[arg(long, value_name = "URL", conflicts_with = "out")]
    pub coolify_url: Option<String>,
    /// The Coolify service uuid (default: the name of DIR, /data/coolify/services/UUID).
    #[arg(long, value_name = "UUID", requires = "coolify_url")]
    pub coolify_service: Option<String>,
    /// After storing the compose, ask Coolify to restart the service.
    #[arg(long, requires = "coolify_url")]
    pub coolify_restart: bool,
}

/// `pgtls check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Where the deployment is and who owns it.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Warn when the server certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_warn_days: u32,
    /// Output format (json is the same as --json; prometheus: node_exporter textfile metrics).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// With --format prometheus: write the metrics to FILE atomically (a *.prom file in
    /// node_exporter's --collector.textfile.directory) instead of stdout.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub output: Option<PathBuf>,
}

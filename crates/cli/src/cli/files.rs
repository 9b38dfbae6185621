//! `pgtls hba ...` and `pgtls pooler ...`: single-file editors.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{DiffWriteArgs, EffectArgs, PgVersionArg};

/// `pgtls hba ...`.
#[derive(Debug, Subcommand)]
pub enum HbaCommand {
    /// Validate every line the way PostgreSQL does (exit 1 on invalid lines).
    #[command(after_help = "Examples:
  pgtls hba check volumes/db/pg_hba.conf
  pgtls hba check pg_hba.conf --pg-version 16 --json

Exit codes: 0 valid, 1 invalid lines, 2 error")]
    Check(HbaCheckArgs),
    /// Security lint: trust from networks, weak methods, plaintext from public ranges, shadowed rules.
    #[command(after_help = "Examples:
  pgtls hba lint volumes/db/pg_hba.conf
  pgtls hba lint pg_hba.conf --ssl-off --json

Exit codes: 0 clean (info findings allowed), 1 warnings or errors, 2 error")]
    Lint(HbaLintArgs),
    /// Which line matches a connection, and what PostgreSQL would answer.
    #[command(after_help = "Examples:
  pgtls hba explain pg_hba.conf --user postgres --database postgres --addr 203.0.113.7 --plain
  pgtls hba explain pg_hba.conf --user app --database app --local

Exit codes: 0 allowed, 1 rejected or no matching entry, 2 error (also when an included file cannot be read: no verdict)")]
    Explain(HbaExplainArgs),
    /// Align columns (opt-in normalisation; everything else preserved).
    #[command(after_help = "Examples:
  pgtls hba fmt pg_hba.conf              rewrite it in place (atomic, with a backup)
  pgtls hba fmt pg_hba.conf --dry-run    print the aligned file, write nothing

Exit codes: 0 done, 2 error")]
    Fmt(HbaFmtArgs),
    /// Apply the hardening policy (trusted CIDRs without TLS, hostssl elsewhere, explicit rejects).
    #[command(after_help = "Examples:
  pgtls hba apply-policy pg_hba.conf --dry-run
  pgtls hba apply-policy pg_hba.conf --trusted-cidr 10.0.0.0/8

Exit codes: 0 done (or nothing to do), 2 error")]
    ApplyPolicy(HbaApplyPolicyArgs),
}

/// A pg_hba.conf and the PostgreSQL version whose rules apply (`hba check`, `hba lint`).
#[derive(Debug, Clone, Args)]
pub struct HbaFileArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// PostgreSQL version whose rules apply.
    #[arg(long, value_enum, default_value_t = PgVersionArg::V15)]
    pub pg_version: PgVersionArg,
}

/// `pgtls hba check`.
#[derive(Debug, Clone, Args)]
pub struct HbaCheckArgs {
    /// The file and the rules that apply.
    #[command(flatten)]
    pub hba: HbaFileArgs,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls hba lint`.
#[derive(Debug, Clone, Args)]
pub struct HbaLintArgs {
    /// The file and the rules that apply.
    #[command(flatten)]
    pub hba: HbaFileArgs,
    /// The server runs with ssl=off (hostssl rules can never match).
    #[arg(long)]
    pub ssl_off: bool,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls hba explain`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["local", "addr"])))]
#[command(group(clap::ArgGroup::new("encryption").args(["ssl", "gss", "plain"])))]
pub struct HbaExplainArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// Role name.
    #[arg(long)]
    pub user: String,
    /// Database name.
    #[arg(long)]
    pub database: String,
    /// A unix-socket connection.
    #[arg(long)]
    pub local: bool,
    /// Client IP address of a TCP connection.
    #[arg(long, value_name = "IP")]
    pub addr: Option<String>,
    /// The connection uses TLS.
    #[arg(long)]
    pub ssl: bool,
    /// The connection uses GSSAPI encryption.
    #[arg(long)]
    pub gss: bool,
    /// The connection is unencrypted (the default).
    #[arg(long)]
    pub plain: bool,
    /// A physical replication connection.
    #[arg(long)]
    pub replication: bool,
    /// PostgreSQL version whose rules apply.
    #[arg(long, value_enum, default_value_t = PgVersionArg::V15)]
    pub pg_version: PgVersionArg,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls hba fmt`.
#[derive(Debug, Clone, Args)]
pub struct HbaFmtArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// Print the aligned file; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for compatibility: writing is the default.
    #[arg(long, hide = true)]
    pub write: bool,
}

/// `pgtls hba apply-policy`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("mode").args(["dry_run", "write"])))]
pub struct HbaApplyPolicyArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// Networks allowed without TLS (default: the Docker private ranges); repeatable.
    #[arg(long, value_name = "CIDR")]
    pub trusted_cidr: Vec<String>,
    /// An address inside a trusted network refused without TLS (a Docker gateway, a proxy
    /// container): `hostnossl all all ADDR/32 reject` before the trust lines; repeatable.
    #[arg(long, value_name = "ADDR")]
    pub refuse_plaintext_from: Vec<std::net::IpAddr>,
    /// Show the diff, or write.
    #[command(flatten)]
    pub mode: DiffWriteArgs,
    /// Where the change must take effect.
    #[command(flatten)]
    pub effect: EffectArgs,
}

/// `pgtls pooler ...`.
#[derive(Debug, Subcommand)]
pub enum PoolerCommand {
    /// Set enforce_ssl (and optionally upstream TLS) in the tenant parameters.
    #[command(after_help = "Examples:
  pgtls pooler set volumes/pooler/pooler.exs --enforce-ssl --dry-run
  pgtls pooler set volumes/pooler/pooler.exs --enforce-ssl --upsert
  pgtls pooler set --compose docker-compose.yml --service supabase-supavisor --enforce-ssl
  pgtls pooler set --compose docker-compose.yml --sni-hostname pooler.example.com

Exit codes: 0 done (or nothing to do), 1 refused (--sni-hostname on a Supavisor before 2.9.0),
2 error (an IP address given to --sni-hostname included)")]
    Set(PoolerSetArgs),
    /// Show the tenant parameter keys, enforce_ssl and the tenant logic (create-only / upsert).
    #[command(after_help = "Examples:
  pgtls pooler inspect volumes/pooler/pooler.exs
  pgtls pooler inspect --compose docker-compose.yml --service supabase-supavisor --json

Exit codes: 0 shown, 2 error")]
    Inspect(PoolerInspectArgs),
}

/// Where the pooler.exs script lives.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("script").required(true).args(["file", "compose"])))]
pub struct PoolerSource {
    /// A standalone pooler.exs.
    pub file: Option<PathBuf>,
    /// A compose file keeping the script inline (`content: |` of a bind mount).
    #[arg(long, value_name = "FILE")]
    pub compose: Option<PathBuf>,
    /// The pooler service in --compose (default: supavisor / supabase-supavisor).
    #[arg(long, value_name = "NAME", requires = "compose")]
    pub service: Option<String>,
}

/// `pgtls pooler set`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("mode").args(["dry_run", "write"])))]
pub struct PoolerSetArgs {
    /// Which script.
    #[command(flatten)]
    pub source: PoolerSource,
    /// Set `"enforce_ssl" => true`.
    #[arg(long)]
    pub enforce_ssl: bool,
    /// Set `"upstream_ssl" => true` with `"upstream_verify" => "peer"` (needs --upstream-ca).
    #[arg(long, requires = "upstream_ca")]
    pub upstream_ssl: bool,
    /// CA file path inside the pooler container, read at run time for upstream verification.
    #[arg(long, value_name = "PATH")]
    pub upstream_ca: Option<String>,
    /// Rewrite a create-only script into an upsert using update_tenant/2.
    #[arg(long)]
    pub upsert: bool,
    /// Set the tenant's `sni_hostname`: Supavisor 2.9.0+ then finds the tenant by the host name
    /// TLS clients send (SNI), so plain user names work. A DNS name, never an IP address
    /// (clients send no SNI for one); refused when the pooler image (read with --compose from
    /// the merged Compose model) is a Supavisor before 2.9.0.
    #[arg(long, value_name = "HOST")]
    pub sni_hostname: Option<String>,
    /// Show the diff, or write.
    #[command(flatten)]
    pub mode: DiffWriteArgs,
}

/// `pgtls pooler inspect`.
#[derive(Debug, Clone, Args)]
pub struct PoolerInspectArgs {
    /// Which script.
    #[command(flatten)]
    pub source: PoolerSource,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

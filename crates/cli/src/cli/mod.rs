//! The command-line grammar (clap derive). Every subcommand documents its exit codes.

// Doc comments here are the `--help` text users read: backticks would show up literally, and
// flags are naturally many booleans.
#![allow(
    clippy::doc_markdown,
    clippy::struct_excessive_bools,
    reason = "doc comments are --help text; CLI flags are booleans"
)]

mod certs;
mod common;
mod deployment;
mod files;
mod probe;

use clap::{Parser, Subcommand, ValueEnum};

pub use certs::{
    CertsAdoptArgs, CertsCommand, CertsInitArgs, CertsInspectArgs, CertsIssueClientArgs,
    CertsNeedsRenewalArgs, CertsRenewArgs, CertsRenewTimerArgs,
};
pub use common::{
    DiffWriteArgs, EffectArgs, KeyTypeArg, LayoutKind, PgVersionArg, ReportFormat, key_type,
};
pub use deployment::{CheckArgs, DeploymentArgs, ExplainArgs, HardenArgs};
pub use files::{
    HbaApplyPolicyArgs, HbaCheckArgs, HbaCommand, HbaExplainArgs, HbaFileArgs, HbaFmtArgs,
    HbaLintArgs, PoolerCommand, PoolerInspectArgs, PoolerSetArgs, PoolerSource,
};
pub use probe::{ClientArg, ConnstrArgs, ExporterArgs, PoolerArg, VerifyArgs};

/// Harden PostgreSQL TLS for a self-hosted Supabase, then prove it from the wire.
#[derive(Debug, Parser)]
#[command(
    name = "pgtls",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:
  pgtls harden ./supabase/docker --dry-run       show the plan, write nothing
  pgtls harden ./supabase/docker                 apply it (atomic, with backups)
  pgtls check ./supabase/docker                  the pre-deployment checklist
  pgtls verify db.example.com --ca volumes/tls-ca/ca.crt
  pgtls connstr --host db.example.com --tenant my-tenant --ca ./ca.crt
  pgtls explain W-REQUIRE-MITM                   the why behind a warning code

Exit codes:
  0  success / every check passed
  1  checks failed, findings, or refused to proceed for a reason you can fix
  2  usage error or unexpected runtime error

Colour is used only when stdout is a terminal and NO_COLOR is not set."
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless `NO_COLOR` is set.
    Auto,
    /// Always colour (still never with `NO_COLOR`).
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan and apply the whole TLS recipe to a Supabase deployment folder.
    #[command(after_help = deployment::HARDEN_HELP)]
    Harden(HardenArgs),
    /// Verify the pre-deployment checklist from the files (certificates, pg_hba.conf, compose, pooler).
    #[command(after_help = deployment::CHECK_HELP)]
    Check(CheckArgs),
    /// Probe live endpoints: TLS offered and verified, plaintext refused.
    #[command(after_help = probe::VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Private CA and certificates: create, inspect, monitor, renew.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Read, validate, explain and edit pg_hba.conf.
    #[command(subcommand)]
    Hba(HbaCommand),
    /// Edit and inspect Supavisor's pooler.exs (standalone or inline in a compose file).
    #[command(subcommand)]
    Pooler(PoolerCommand),
    /// Print verified connection strings for common clients (direct 5432 and pooled 6543).
    #[command(after_help = probe::CONNSTR_HELP)]
    Connstr(ConnstrArgs),
    /// Serve verify's checks to Prometheus: GET /probe?target=HOST:PORT[&module=NAME].
    #[command(after_help = probe::EXPORTER_HELP)]
    Exporter(ExporterArgs),
    /// Explain a warning code of harden's report (W-...); without CODE, list every code.
    #[command(after_help = deployment::EXPLAIN_HELP)]
    Explain(ExplainArgs),
}

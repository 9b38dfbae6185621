//! Values and flag groups more than one subcommand takes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Deployment layouts `harden` and `check` understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutKind {
    /// The upstream `supabase/docker` folder (docker-compose.yml + volumes/).
    Upstream,
    /// A Coolify service folder (`supabase-db`, `supabase-supavisor`, inline pooler.exs).
    Coolify,
}

impl From<LayoutKind> for pgtls_harden::LayoutKind {
    fn from(kind: LayoutKind) -> Self {
        match kind {
            LayoutKind::Upstream => Self::Upstream,
            LayoutKind::Coolify => Self::Coolify,
        }
    }
}

/// Maps the command-line key type to pgtls-certs'.
pub fn key_type(arg: KeyTypeArg) -> pgtls_certs::KeyType {
    use pgtls_certs::KeyType;
    match arg {
        KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
        KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
        KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
        KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
        KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
        KeyTypeArg::Ed25519 => KeyType::Ed25519,
    }
}

/// Key algorithms for new keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum KeyTypeArg {
    /// ECDSA P-256 with SHA-256 (every common client accepts it).
    #[default]
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// ECDSA P-384.
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    /// RSA 2048 (legacy clients).
    #[value(name = "rsa2048")]
    Rsa2048,
    /// RSA 3072.
    #[value(name = "rsa3072")]
    Rsa3072,
    /// RSA 4096.
    #[value(name = "rsa4096")]
    Rsa4096,
    /// Ed25519 (poorly supported by clients).
    #[value(name = "ed25519")]
    Ed25519,
}

/// `--format` of `check` and `certs inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The human report (default).
    Text,
    /// JSON (as --json).
    Json,
    /// Prometheus text exposition, for node_exporter's textfile collector.
    Prometheus,
}

/// The deployment a renewed certificate or an edited pg_hba.conf belongs to.
#[derive(Debug, Clone, Args)]
pub struct EffectArgs {
    /// The deployment folder (default: found among the file's parent folders).
    #[arg(long, value_name = "DIR")]
    pub deployment: Option<PathBuf>,
    /// A compose file of the deployment, relative to it, as `docker compose -f` takes it
    /// (repeatable; default: COMPOSE_FILE, else the default names plus the override file).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        requires = "deployment"
    )]
    pub compose_file: Vec<String>,
    /// Do it (SIGHUP the db, restart the pooler) and check the served certificate on the wire.
    #[arg(long)]
    pub reload: bool,
}

/// PostgreSQL major versions pg_hba.conf rules are checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PgVersionArg {
    /// PostgreSQL 15 (the Supabase image).
    #[default]
    #[value(name = "15")]
    V15,
    /// PostgreSQL 16.
    #[value(name = "16")]
    V16,
    /// PostgreSQL 17.
    #[value(name = "17")]
    V17,
}

/// `--dry-run` (show the diff, write nothing) and the hidden `--write` of the single-file editors
/// (`hba apply-policy`, `pooler set`).
#[derive(Debug, Clone, Args)]
pub struct DiffWriteArgs {
    /// Show the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for compatibility: writing (atomic, with a backup) is the default.
    #[arg(long, hide = true)]
    pub write: bool,
}

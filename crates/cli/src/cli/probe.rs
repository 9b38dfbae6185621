//! `verify`, `exporter` and `connstr`: the commands that talk to (or about) live endpoints.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub(super) const VERIFY_HELP: &str = "Examples:
  pgtls verify db.example.com                      probes db.example.com:5432 and :6543
  pgtls verify 127.0.0.1:5432 --ca volumes/tls-ca/ca.crt
  pgtls verify db.example.com:6543 --tenant my-tenant --json
  pgtls verify --targets-file endpoints.txt --concurrency 8
  pgtls verify db.example.com:5432 --ca ca.crt --deep      also versions, ciphers, client certs
  pgtls verify db.example.com:5432 --ca ca.crt --client-cert app.crt --client-key app.key

By default each target costs the server two connections (one TLS handshake with the optional
login on it, one plaintext startup that must be refused) and one FATAL log line: cheap enough
to run from monitoring every minute. --deep adds tls-versions, ciphers, client-certificate,
pipelined-data and direct-tls (about 27 connections on PostgreSQL). A timeout is inconclusive,
never a failure; under load a timed-out target is retried once.

Exit codes:
  0  on every target TLS works, verification passes (when --ca is given) and plaintext is refused
  1  any target failed or was inconclusive
  2  usage error or unexpected runtime error";

pub(super) const CONNSTR_HELP: &str = "Examples:
  pgtls connstr --host db.example.com --ca /etc/ssl/supabase-ca.crt
  pgtls connstr --host db.example.com --tenant my-tenant --client prisma
  pgtls connstr --host db.example.com --tenant my-tenant --client prisma6   (Prisma <= 6, prisma migrate)
  pgtls connstr --host db.example.com --client all --json
  DB_PASSWORD='p@ss#1' pgtls connstr --host db.example.com --password-env DB_PASSWORD

Clients: libpq (psql, psycopg), jdbc (pgjdbc), prisma (Prisma >= 7, @prisma/adapter-pg),
prisma6 (Prisma <= 6 engine; prisma.config.ts datasource.url for migrate in Prisma 7),
node-postgres, asyncpg, npgsql.

Exit codes:
  0  printed
  2  usage error: an empty value, a control character, a host that is not a host name or IP
     address, port 0";

pub(super) const EXPORTER_HELP: &str = "Examples:
  pgtls exporter --allow-target 10.0.0.0/8 --ca /etc/pgtls/ca.crt
  pgtls exporter --listen 127.0.0.1:9761 --config /etc/pgtls/exporter.yml
  curl 'http://127.0.0.1:9761/probe?target=10.0.0.5:5432'

Prometheus scrapes /probe once per target (examples/prometheus/prometheus.yml has the
relabelling); /metrics has the exporter's own metrics. Only targets matching the allowlist
(--allow-target and the config's allow_targets) are probed; anything else gets 403 and no
connection. A probe's deadline is the module's timeout, lowered to the scrape timeout
(X-Prometheus-Scrape-Timeout-Seconds) minus --timeout-offset.

Exit codes:
  2  usage error, bad configuration (file:line: problem), or the address cannot be bound
  (it serves until stopped)";

/// `pgtls verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// `HOST[:PORT]`; without a port both 5432 and 6543 are probed.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Read more targets from a file (one per line, `#` comments).
    #[arg(long, value_name = "FILE")]
    pub targets_file: Option<PathBuf>,
    /// CA certificate (PEM) to verify the server chain and host name against.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Role used for the plaintext-refused probe.
    #[arg(long, default_value = "postgres")]
    pub user: String,
    /// Database used for the plaintext-refused probe.
    #[arg(long, default_value = "postgres")]
    pub database: String,
    /// Supavisor tenant: the probe user on port 6543 becomes `<user>.<tenant>`.
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
    /// Environment variable holding a password for the optional authenticated check.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Time limit per check, in seconds (more than 0, at most 3600).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
    /// The host name clients use, when probing by another name or address: the certificate is
    /// checked against it (libpq's `host` with `hostaddr`), e.g. before DNS points at the server.
    #[arg(long, value_name = "NAME")]
    pub host_name: Option<String>,
    /// How many targets to probe at once (1 to 4096).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: u16,
    /// `expiry` fails when the certificate has fewer days left than this (0 to 36500).
    #[arg(long, value_name = "DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub expiry_warn_days: u32,
    /// Also run tls-versions, ciphers, client-certificate, pipelined-data and direct-tls
    /// (tens of connections and server log lines per target; the default uses two).
    #[arg(long)]
    pub deep: bool,
    /// Client certificate (PEM) to present for the authenticated check (pg_hba `cert`).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key (PEM, unencrypted).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--timeout`: seconds as a decimal number, more than 0 and at most 3600.
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "\"{s}\": must be more than 0 and at most 3600 seconds"
        ));
    }
    let d = std::time::Duration::from_secs_f64(secs);
    if d.is_zero() {
        return Err(format!("\"{s}\": must be at least 1 nanosecond"));
    }
    Ok(d)
}

/// Clients `connstr` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientArg {
    /// libpq / psql.
    Libpq,
    /// pgjdbc.
    Jdbc,
    /// Prisma 7 and later (@prisma/adapter-pg, node-postgres rules).
    Prisma,
    /// Prisma 6 and earlier (own engine), and prisma.config.ts datasource.url for migrate.
    Prisma6,
    /// node-postgres (pg).
    #[value(name = "node-postgres")]
    NodePostgres,
    /// asyncpg.
    Asyncpg,
    /// Npgsql (.NET).
    Npgsql,
    /// All of the above.
    All,
}

impl ClientArg {
    /// The client asked for, `None` for `all`.
    pub fn client(self) -> Option<pgtls_harden::Client> {
        use pgtls_harden::Client;
        match self {
            ClientArg::Libpq => Some(Client::Libpq),
            ClientArg::Jdbc => Some(Client::Jdbc),
            ClientArg::Prisma => Some(Client::Prisma),
            ClientArg::Prisma6 => Some(Client::Prisma6),
            ClientArg::NodePostgres => Some(Client::NodePostgres),
            ClientArg::Asyncpg => Some(Client::Asyncpg),
            ClientArg::Npgsql => Some(Client::Npgsql),
            ClientArg::All => None,
        }
    }
}

/// `pgtls connstr`.
#[derive(Debug, Clone, Args)]
pub struct ConnstrArgs {
    /// Host name clients use (must be a SAN of the server certificate).
    #[arg(long)]
    pub host: String,
    /// Supavisor tenant id (pooled user becomes `<user>.<tenant>`).
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
    /// Path of the CA certificate on the client machine, or `system` for a certificate from a
    /// public CA (`pgtls certs adopt`): the strings then use each client's system roots.
    #[arg(long, value_name = "PATH", default_value = "ca.crt")]
    pub ca: String,
    /// Which client(s).
    #[arg(long, value_enum, default_value_t = ClientArg::All)]
    pub client: ClientArg,
    /// Database role.
    #[arg(long, default_value = "postgres")]
    pub user: String,
    /// Database name.
    #[arg(long, default_value = "postgres")]
    pub database: String,
    /// Password to write into the strings (percent-encoded or quoted); without it pgtls prints
    /// the placeholder `[YOUR-PASSWORD]`. Visible to other users in the process list while pgtls
    /// runs: prefer --password-env.
    #[arg(long, conflicts_with = "password_env")]
    pub password: Option<String>,
    /// Environment variable holding the password (kept out of the process list and the shell's
    /// quoting rules).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Direct (session) port (1-65535).
    #[arg(long, default_value_t = 5432)]
    pub port: u16,
    /// Pooled (transaction mode) port (1-65535).
    #[arg(long, default_value_t = 6543)]
    pub pooler_port: u16,
    /// Supavisor 2.9+ SNI routing: the pooled user is the plain role and the tenant is found by
    /// the host name (the tenant's sni_hostname); needs a host name, not an IP address.
    #[arg(long)]
    pub sni: bool,
    /// The pooler on the pooled port: `supavisor` (user `<user>.<tenant>`) or `pgbouncer`
    /// (upstream's docker-compose.pgbouncer.yml; the user carries no tenant).
    #[arg(long, value_enum, default_value_t = PoolerArg::Supavisor)]
    pub pooler: PoolerArg,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls exporter`.
#[derive(Debug, Clone, Args)]
pub struct ExporterArgs {
    /// Address to listen on (default 0.0.0.0:9761).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// YAML file with modules, allow_targets, max_concurrent_probes, timeout_offset.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A target that may be probed: CIDR, IP address, host name or *.domain (repeatable).
    #[arg(long = "allow-target", value_name = "CIDR|HOST")]
    pub allow_targets: Vec<String>,
    /// Default module: CA certificate (PEM) to verify the chain and host name against.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Default module: the name the certificate is checked against instead of the target's host.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Default module: role for the plaintext-refused probe (default postgres).
    #[arg(long)]
    pub user: Option<String>,
    /// Default module: database for the plaintext-refused probe (default postgres).
    #[arg(long)]
    pub database: Option<String>,
    /// Default module: Supavisor tenant (the user becomes <user>.<tenant>).
    // The help text shows the angle brackets as written; rustdoc must not read them as HTML.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
    /// Default module: run the deep checks too (about 27 connections per scrape).
    #[arg(long)]
    pub deep: bool,
    /// Default module: time limit per probe, e.g. 10s or 500ms (default 10s).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Default module: expiry fails with fewer days left than this (default 14).
    #[arg(long, value_name = "DAYS")]
    pub expiry_warn_days: Option<u32>,
    /// Probes running at once (1 to 4096, default 64); more wait briefly, then get 503.
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Subtracted from Prometheus's scrape timeout to get a probe's deadline (default 500ms).
    #[arg(long, value_name = "DURATION")]
    pub timeout_offset: Option<String>,
}

/// Poolers `connstr` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolerArg {
    /// Supavisor (the default self-hosted pooler).
    Supavisor,
    /// PgBouncer (the edoburu image of upstream's docker-compose.pgbouncer.yml).
    Pgbouncer,
}

impl PoolerArg {
    /// The library's kind.
    pub fn kind(self) -> pgtls_harden::PoolerKind {
        match self {
            Self::Supavisor => pgtls_harden::PoolerKind::Supavisor,
            Self::Pgbouncer => pgtls_harden::PoolerKind::PgBouncer,
        }
    }
}

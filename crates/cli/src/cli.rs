//! The command-line grammar (clap derive). Every subcommand documents its exit codes.

// Doc comments here are the `--help` text users read: backticks would show up literally, and
// flags are naturally many booleans.
#![allow(
    clippy::doc_markdown,
    clippy::struct_excessive_bools,
    reason = "doc comments are --help text; CLI flags are booleans"
)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[command(after_help = HARDEN_HELP)]
    Harden(HardenArgs),
    /// Verify the pre-deployment checklist from the files (certificates, pg_hba.conf, compose, pooler).
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Probe live endpoints: TLS offered and verified, plaintext refused.
    #[command(after_help = VERIFY_HELP)]
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
    #[command(after_help = CONNSTR_HELP)]
    Connstr(ConnstrArgs),
    /// Serve verify's checks to Prometheus: GET /probe?target=HOST:PORT[&module=NAME].
    #[command(after_help = EXPORTER_HELP)]
    Exporter(ExporterArgs),
    /// Explain a warning code of harden's report (W-...); without CODE, list every code.
    #[command(after_help = EXPLAIN_HELP)]
    Explain(ExplainArgs),
}

const EXPORTER_HELP: &str = "Examples:
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

const EXPLAIN_HELP: &str = "Examples:
  pgtls explain                      every warning code with its one-line title
  pgtls explain W-REQUIRE-MITM       why it matters and what to do

Exit codes: 0 explained, 2 unknown code or usage error";

const HARDEN_HELP: &str = "Examples:
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

const CHECK_HELP: &str = "Examples:
  pgtls check /srv/supabase/docker
  pgtls check target/demo --json

Exit codes:
  0  every item passed (warnings allowed)
  1  at least one item failed
  2  usage error or unexpected runtime error";

const VERIFY_HELP: &str = "Examples:
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

const CONNSTR_HELP: &str = "Examples:
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

/// `pgtls certs ...`.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create (or reuse) a CA and issue a server certificate into DIR.
    #[command(after_help = "Examples:
  pgtls certs init --out volumes/tls --san db --san supabase-db --san db.example.com
  pgtls certs init --out ./tls --key-type rsa2048 --owner 105:106

Writes ca.crt, ca.key (0600), server.crt, server.key (0600). An existing CA in DIR is reused,
never overwritten (unless --force).

Exit codes: 0 written, 1 refused (existing files, use --force), 2 usage or runtime error")]
    Init(CertsInitArgs),
    /// Issue a client certificate (CN = role) signed by the CA in --ca-dir.
    #[command(after_help = "Examples:
  pgtls certs issue-client --ca-dir volumes/tls-ca --user app --out ./client

Exit codes: 0 written, 2 usage or runtime error")]
    IssueClient(CertsIssueClientArgs),
    /// Show a certificate's subject, SANs, expiry, key and fingerprint.
    #[command(after_help = "Examples:
  pgtls certs inspect volumes/tls/server.crt
  pgtls certs inspect server.crt --ca ca.crt --host db.example.com --json

Exit codes: 0 shown (and chain/host checks passed), 1 a requested check failed, 2 error")]
    Inspect(CertsInspectArgs),
    /// Exit 1 when the certificate is due for renewal (for cron and monitoring).
    #[command(after_help = "Examples:
  pgtls certs needs-renewal volumes/tls/server.crt || pgtls certs renew --dir volumes/tls

Exit codes: 0 not due, 1 renewal due, 2 error")]
    NeedsRenewal(CertsNeedsRenewalArgs),
    /// Renew the server certificate in DIR with the same subject and SANs, keeping mode and owner.
    #[command(after_help = "Examples:
  pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca            prints the action per service
  pgtls certs renew --dir volumes/tls --ca-dir volumes/tls-ca --reload   does it, checks the wire

Exit codes: 0 renewed, 2 error")]
    Renew(CertsRenewArgs),
    /// Install a certificate from a public CA (certbot, lego, Caddy, Traefik) as the server certificate.
    #[command(after_help = "Examples:
  pgtls certs adopt /srv/supabase --cert /etc/letsencrypt/live/db.example.com/fullchain.pem \\
      --key /etc/letsencrypt/live/db.example.com/privkey.pem --domain db.example.com --reload
  certbot renew --deploy-hook 'pgtls certs adopt /srv/supabase --reload'     (reads $RENEWED_LINEAGE)
  lego ... renew --renew-hook 'pgtls certs adopt /srv/supabase --reload'     (reads $LEGO_CERT_PATH, $LEGO_CERT_KEY_PATH)
  pgtls certs adopt /srv/supabase --from-traefik-acme /data/coolify/proxy/acme.json --domain db.example.com --reload

DIR is the deployment folder (its volumes/tls) or the folder holding server.crt and server.key.
Without --cert/--key/--from-traefik-acme the files come from the ACME client's hook
environment: certbot's $RENEWED_LINEAGE/fullchain.pem and privkey.pem, else lego's
$LEGO_CERT_PATH and $LEGO_CERT_KEY_PATH. Refused with nothing changed: a key that does not
match, a chain out of order, an expired or not yet valid certificate, a key the servers
cannot load. The private CA stays (client certificates; `pgtls certs renew` goes back to it).
The same certificate again is a no-op: nothing written, nothing reloaded.

Exit codes: 0 adopted or unchanged, 1 refused (nothing changed), 2 usage or runtime error")]
    Adopt(CertsAdoptArgs),
    /// Print or install a systemd timer (or a cron line) that renews the private leaf when due.
    #[command(after_help = "Examples:
  pgtls certs renew-timer /srv/supabase --print
  pgtls certs renew-timer /srv/supabase --install
  pgtls certs renew-timer /srv/supabase --install --textfile /var/lib/prometheus/node-exporter

The service runs `pgtls certs renew --if-due --reload` daily at a random time (RandomizedDelaySec);
it renews only inside the renewal window (a third of the lifetime or 30 days left) and logs to the
journal (journalctl -u NAME). With --textfile it also writes, after every run and atomically,
NAME.prom: the certificate's pgtls_certificate_* metrics, pgtls_renewal_last_run_timestamp_seconds
and pgtls_renewal_last_success (1 when the run exited 0). Installing again with the same content
rewrites nothing.

Exit codes: 0 printed or installed, 2 usage or runtime error")]
    RenewTimer(CertsRenewTimerArgs),
}

/// `pgtls certs adopt`.
#[derive(Debug, Clone, Args)]
pub struct CertsAdoptArgs {
    /// The deployment folder (its volumes/tls), or the folder holding server.crt and server.key.
    pub dir: PathBuf,
    /// The full chain (PEM: the server certificate first, then its issuers).
    #[arg(
        long,
        value_name = "FULLCHAIN",
        requires = "key",
        conflicts_with = "from_traefik_acme"
    )]
    pub cert: Option<PathBuf>,
    /// The private key (PEM, unencrypted).
    #[arg(long, value_name = "KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Read the certificate for --domain out of Traefik's acme.json (v2 and v3).
    #[arg(long, value_name = "FILE", requires = "domain")]
    pub from_traefik_acme: Option<PathBuf>,
    /// The certificate resolver in acme.json (default: the one holding --domain).
    #[arg(long, value_name = "NAME", requires = "from_traefik_acme")]
    pub resolver: Option<String>,
    /// A name clients use (warned when the certificate does not cover it; with
    /// --from-traefik-acme, the first is the certificate looked up); repeatable.
    #[arg(long, value_name = "NAME")]
    pub domain: Vec<String>,
    /// Owner of the key as UID:GID when there is no server.key to take it from.
    #[arg(long, value_name = "UID:GID")]
    pub owner: Option<String>,
    /// Show what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where the change must take effect.
    #[command(flatten)]
    pub effect: EffectArgs,
}

/// `pgtls certs renew-timer`.
#[derive(Debug, Clone, Args)]
pub struct CertsRenewTimerArgs {
    /// The deployment folder (its volumes/tls and volumes/tls-ca).
    pub dir: PathBuf,
    /// Write the units (or the cron file) and enable the timer.
    #[arg(long, conflicts_with = "print")]
    pub install: bool,
    /// Print the units and the cron line (the default).
    #[arg(long)]
    pub print: bool,
    /// Install a cron file in /etc/cron.d instead of systemd units.
    #[arg(long)]
    pub cron: bool,
    /// The pgtls binary the service runs (default: this one).
    #[arg(long, value_name = "PATH")]
    pub pgtls: Option<PathBuf>,
    /// Write under this root instead of / (for packaging and tests; nothing is enabled then).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// After each run, write the certificate's metrics and the run's outcome to NAME.prom in
    /// this node_exporter textfile collector folder (typically
    /// /var/lib/prometheus/node-exporter); default: none.
    #[arg(long, value_name = "DIR")]
    pub textfile: Option<PathBuf>,
}

/// `pgtls certs init`.
#[derive(Debug, Clone, Args)]
pub struct CertsInitArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub key_type: KeyTypeArg,
    /// Key algorithm of a new CA (default: the same as --key-type), e.g. the recipe's
    /// `--ca-key-type rsa4096 --key-type rsa2048`. An existing CA keeps its key.
    #[arg(long, value_enum, value_name = "KEY_TYPE")]
    pub ca_key_type: Option<KeyTypeArg>,
    /// SAN (DNS name or IP); repeatable. Default: localhost, 127.0.0.1, ::1.
    #[arg(long, value_name = "NAME_OR_IP")]
    pub san: Vec<String>,
    /// Server certificate validity in days.
    #[arg(long, value_name = "N", default_value_t = 825,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// CA validity in days.
    #[arg(long, value_name = "N", default_value_t = 3650,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub ca_days: u32,
    /// Owner of server.key/server.crt as UID:GID.
    #[arg(long, value_name = "UID:GID")]
    pub owner: Option<String>,
    /// Overwrite existing server files (the CA key is still reused).
    #[arg(long)]
    pub force: bool,
    /// Show what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `pgtls certs issue-client`.
#[derive(Debug, Clone, Args)]
pub struct CertsIssueClientArgs {
    /// Folder holding ca.crt and ca.key.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Database role (the certificate CN).
    #[arg(long, value_name = "ROLE")]
    pub user: String,
    /// Output folder for `<ROLE>.crt` and `<ROLE>.key`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub key_type: KeyTypeArg,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 825,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Show what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `pgtls certs inspect`.
#[derive(Debug, Clone, Args)]
pub struct CertsInspectArgs {
    /// PEM certificate (or chain; the first is inspected).
    pub file: PathBuf,
    /// Check that the certificate chains to this CA.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Check that this host name or IP is covered (verify-full semantics).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
    /// Output format (json is the same as --json; prometheus: node_exporter textfile metrics).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// With --format prometheus: write the metrics to FILE atomically instead of stdout.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub output: Option<PathBuf>,
}

/// `pgtls certs needs-renewal`.
#[derive(Debug, Clone, Args)]
pub struct CertsNeedsRenewalArgs {
    /// PEM certificate.
    pub file: PathBuf,
    /// Due when fewer than this many days are left (default: a third of the lifetime or 30 days).
    #[arg(long, value_name = "DAYS")]
    pub within: Option<u32>,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls certs renew`.
#[derive(Debug, Clone, Args)]
pub struct CertsRenewArgs {
    /// Folder holding server.crt and server.key.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Folder holding ca.crt and ca.key (default: DIR).
    #[arg(long, value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,
    /// Keep the existing key instead of generating a new one.
    #[arg(long)]
    pub reuse_key: bool,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 825,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Show what would be renewed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Renew only inside the renewal window (a third of the lifetime or 30 days left); outside
    /// it, do nothing and exit 0 (what the renewal timer runs).
    #[arg(long)]
    pub if_due: bool,
    /// Judge the window at this time (RFC 3339) instead of now: for tests and rehearsals;
    /// the new certificate is still dated from the real clock.
    #[arg(long, value_name = "TIME", requires = "if_due")]
    pub now: Option<String>,
    /// After the run, whatever its outcome, write node_exporter textfile metrics here
    /// (atomically): the certificate's `pgtls_certificate_*` and the run's
    /// `pgtls_renewal_last_run_timestamp_seconds` and `pgtls_renewal_last_success`.
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,
    /// Where the change must take effect.
    #[command(flatten)]
    pub effect: EffectArgs,
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

/// `pgtls hba check`.
#[derive(Debug, Clone, Args)]
pub struct HbaCheckArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// PostgreSQL version whose rules apply.
    #[arg(long, value_enum, default_value_t = PgVersionArg::V15)]
    pub pg_version: PgVersionArg,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pgtls hba lint`.
#[derive(Debug, Clone, Args)]
pub struct HbaLintArgs {
    /// The pg_hba.conf file.
    pub file: PathBuf,
    /// PostgreSQL version whose rules apply.
    #[arg(long, value_enum, default_value_t = PgVersionArg::V15)]
    pub pg_version: PgVersionArg,
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
    /// Show the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for compatibility: writing (atomic, with a backup) is the default.
    #[arg(long, hide = true)]
    pub write: bool,
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

Exit codes: 0 done (or nothing to do), 2 error")]
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
    /// Show the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accepted for compatibility: writing (atomic, with a backup) is the default.
    #[arg(long, hide = true)]
    pub write: bool,
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

//! `pgtls certs ...`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{EffectArgs, KeyTypeArg, ReportFormat};

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

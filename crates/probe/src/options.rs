//! [`ProbeOptions`]: who the probe claims to be, what it trusts, how long it waits, how much it runs.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::ssl::SslContext;
use openssl::x509::X509;

use crate::cert::CaBundle;
use crate::error::{Error, Result};

/// The longest [`ProbeOptions::with_timeout`] accepted; longer values are clamped to it.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most targets probed at once; larger values are clamped to it.
pub const MAX_CONCURRENCY: usize = 4096;
/// The largest [`ProbeOptions::with_expiry_warn_days`] accepted; larger values are clamped.
pub const MAX_EXPIRY_WARN_DAYS: u32 = 36_500;

/// A client certificate and its key, presented when the server asks for one.
#[derive(Clone)]
pub(crate) struct ClientIdentity {
    pub(crate) cert: X509,
    pub(crate) chain: Vec<X509>,
    pub(crate) key: PKey<Private>,
}

/// How to probe: identities for the plaintext and authenticated checks, trust, time limits,
/// concurrency, and whether to run the deep checks.
///
/// Built from [`ProbeOptions::default`] with `with_*` setters:
///
/// ```
/// use std::time::Duration;
/// use pgtls_probe::ProbeOptions;
///
/// let opts = ProbeOptions::default()
///     .with_user("app")
///     .with_tenant(Some("t1".into()))
///     .with_timeout(Duration::from_secs(3))
///     .with_concurrency(64)
///     .with_deep(true);
/// assert_eq!(opts.effective_user(), "app.t1");
/// assert_eq!(opts.concurrency(), 64);
/// assert!(opts.deep());
/// ```
#[derive(Clone)]
pub struct ProbeOptions {
    pub(crate) user: String,
    pub(crate) database: String,
    pub(crate) tenant: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) expiry_warn_days: u32,
    pub(crate) application_name: String,
    pub(crate) server_name: Option<String>,
    pub(crate) concurrency: usize,
    pub(crate) deep: bool,
    pub(crate) retry: bool,
    pub(crate) ca: Option<CaBundle>,
    pub(crate) client: Option<ClientIdentity>,
    /// The verifying OpenSSL context for this trust (built once, on first use).
    pub(crate) verify_ctx: Arc<OnceLock<std::result::Result<SslContext, String>>>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            user: "postgres".into(),
            database: "postgres".into(),
            tenant: None,
            password: None,
            timeout: Duration::from_secs(5),
            expiry_warn_days: 14,
            application_name: "pgtls-probe".into(),
            server_name: None,
            concurrency: 8,
            deep: false,
            retry: true,
            ca: None,
            client: None,
            verify_ctx: Arc::new(OnceLock::new()),
        }
    }
}

impl fmt::Debug for ProbeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeOptions")
            .field("user", &self.user)
            .field("database", &self.database)
            .field("tenant", &self.tenant)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("expiry_warn_days", &self.expiry_warn_days)
            .field("application_name", &self.application_name)
            .field("server_name", &self.server_name)
            .field("concurrency", &self.concurrency)
            .field("deep", &self.deep)
            .field("ca", &self.ca)
            .field("client_certificate", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::CaFile {
        path: path.display().to_string(),
        reason: format!("{what}: {}", e.to_string().to_lowercase()),
    })
}

impl ProbeOptions {
    /// User for the plaintext StartupMessage and the authenticated check (default `postgres`).
    #[must_use]
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Database name (default `postgres`).
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = database.into();
        self
    }

    /// Supavisor tenant: when set, the user sent is `<user>.<tenant>`.
    #[must_use]
    pub fn with_tenant(mut self, tenant: Option<String>) -> Self {
        self.tenant = tenant;
        self
    }

    /// Password for the optional authenticated check; `None` (and no client certificate)
    /// skips that check.
    #[must_use]
    pub fn with_password(mut self, password: Option<String>) -> Self {
        self.password = password;
        self
    }

    /// Time limit for each check's network steps together (default 5 s; clamped to
    /// 1 ms..=[`MAX_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.clamp(Duration::from_millis(1), MAX_TIMEOUT);
        self
    }

    /// `expiry` fails when fewer days than this are left (default 14; at most
    /// [`MAX_EXPIRY_WARN_DAYS`]).
    #[must_use]
    pub fn with_expiry_warn_days(mut self, days: u32) -> Self {
        self.expiry_warn_days = days.min(MAX_EXPIRY_WARN_DAYS);
        self
    }

    /// `application_name` sent in each StartupMessage (default `pgtls-probe`).
    #[must_use]
    pub fn with_application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// The name clients will use, when it is not the target's host: the host-name check and
    /// the authenticated login use it while the connections go to the target (libpq's `host`
    /// + `hostaddr`). `None` (default): the target's host.
    #[must_use]
    pub fn with_server_name(mut self, name: Option<String>) -> Self {
        self.server_name = name;
        self
    }

    /// How many targets [`probe_many`](crate::probe_many) probes at once (default 8; clamped
    /// to 1..=[`MAX_CONCURRENCY`]).
    #[must_use]
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.clamp(1, MAX_CONCURRENCY);
        self
    }

    /// Also run the deep checks (`tls-versions`, `ciphers`, `client-certificate`,
    /// `pipelined-data`, `direct-tls`): many more connections and server log lines.
    #[must_use]
    pub fn with_deep(mut self, deep: bool) -> Self {
        self.deep = deep;
        self
    }

    /// Retry once, after a short backoff, a target whose network steps timed out while other
    /// targets were in flight (default on).
    #[must_use]
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// Trust the certificates in this PEM file (verify-full semantics) instead of the system roots.
    pub fn with_ca_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = read_file(path, "cannot read")?;
        self.with_ca_pem(&pem, &path.display().to_string())
    }

    /// Trust the certificates in `pem`; `name` is used in error messages.
    pub fn with_ca_pem(mut self, pem: &[u8], name: &str) -> Result<Self> {
        self.ca = Some(CaBundle::from_pem(pem, name)?);
        self.verify_ctx = Arc::new(OnceLock::new());
        Ok(self)
    }

    /// Present this client certificate (PEM, leaf first, then any intermediates) and key
    /// (PEM) when the server asks for one; the authenticated check then runs even without a
    /// password (for `pg_hba` `cert` lines).
    pub fn with_client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = read_file(cert, "client certificate: cannot read")?;
        let key_pem = read_file(key, "client key: cannot read")?;
        self.with_client_cert_pem(
            &cert_pem,
            &key_pem,
            &cert.display().to_string(),
            &key.display().to_string(),
        )
    }

    /// [`with_client_cert_files`](Self::with_client_cert_files) from PEM bytes; the names are
    /// used in error messages.
    pub fn with_client_cert_pem(
        mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_name: &str,
        key_name: &str,
    ) -> Result<Self> {
        let bad = |path: &str, reason: String| Error::CaFile {
            path: path.to_string(),
            reason,
        };
        let mut certs = X509::stack_from_pem(cert_pem)
            .map_err(|_| bad(cert_name, "client certificate: not PEM certificates".into()))?;
        if certs.is_empty() {
            return Err(bad(
                cert_name,
                "client certificate: holds no certificate".into(),
            ));
        }
        let cert = certs.remove(0);
        let key = PKey::private_key_from_pem(key_pem).map_err(|_| {
            bad(
                key_name,
                "client key: not an unencrypted PEM private key".into(),
            )
        })?;
        let matches = cert.public_key().is_ok_and(|p| p.public_eq(&key));
        if !matches {
            return Err(bad(
                key_name,
                format!("client key: does not match the certificate in \"{cert_name}\""),
            ));
        }
        self.client = Some(ClientIdentity {
            cert,
            chain: certs,
            key,
        });
        Ok(self)
    }

    /// True when a CA was given (chain and hostname then decide the verdict).
    pub fn has_ca(&self) -> bool {
        self.ca.is_some()
    }

    /// True when a client certificate was given.
    pub fn has_client_cert(&self) -> bool {
        self.client.is_some()
    }

    /// The user name sent to the server: `user` or `user.tenant`.
    pub fn effective_user(&self) -> String {
        match &self.tenant {
            Some(t) if !t.is_empty() => format!("{}.{t}", self.user),
            _ => self.user.clone(),
        }
    }

    /// The per-check time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many targets are probed at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Whether the deep checks run.
    pub fn deep(&self) -> bool {
        self.deep
    }

    /// The days-left threshold of `expiry`.
    pub fn expiry_warn_days(&self) -> u32 {
        self.expiry_warn_days
    }

    /// The user (without tenant).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The name the certificate is checked against, when not the target's host.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// Whether the authenticated check runs (a password or a client certificate was given).
    pub(crate) fn wants_login(&self) -> bool {
        self.password.is_some() || self.client.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let o = ProbeOptions::default()
            .with_password(Some("secret".into()))
            .with_tenant(Some("t1".into()));
        assert!(!format!("{o:?}").contains("secret"));
        assert_eq!(o.effective_user(), "postgres.t1");
    }

    #[test]
    fn bounds_are_clamped() {
        let o = ProbeOptions::default()
            .with_timeout(Duration::MAX)
            .with_concurrency(usize::MAX)
            .with_expiry_warn_days(u32::MAX);
        assert_eq!(o.timeout(), MAX_TIMEOUT);
        assert_eq!(o.concurrency(), MAX_CONCURRENCY);
        assert_eq!(o.expiry_warn_days(), MAX_EXPIRY_WARN_DAYS);
        let o = o.with_timeout(Duration::ZERO).with_concurrency(0);
        assert_eq!(o.timeout(), Duration::from_millis(1));
        assert_eq!(o.concurrency(), 1);
    }
}

//! What `connstr` builds for: the [`Client`]s it knows, the [`Target`] (host, port, user, database,
//! tenant, CA) checked before any string is built, its [`InputError`], and the [`ClientStrings`] it
//! returns.

use std::fmt;
use std::net::Ipv6Addr;

/// The password pgtls prints when none is given (left unencoded so it is seen and replaced).
pub const PASSWORD_PLACEHOLDER: &str = "[YOUR-PASSWORD]";
/// The tenant pgtls prints in the pooled user when none is given.
pub const TENANT_PLACEHOLDER: &str = "<tenant-id>";

/// A client `connstr` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Client {
    /// libpq / psql (and psycopg, which hands the string to libpq).
    Libpq,
    /// pgjdbc.
    Jdbc,
    /// Prisma ≥ 7 (client through `@prisma/adapter-pg`, that is node-postgres).
    Prisma,
    /// Prisma ≤ 6 with its own engine, and Prisma's schema engine (migrate) in every version.
    Prisma6,
    /// node-postgres (`pg`).
    NodePostgres,
    /// asyncpg.
    Asyncpg,
    /// Npgsql (.NET).
    Npgsql,
}

impl Client {
    /// Every client, in the order `--client all` prints them.
    pub const ALL: [Client; 7] = [
        Client::Libpq,
        Client::Jdbc,
        Client::Prisma,
        Client::Prisma6,
        Client::NodePostgres,
        Client::Asyncpg,
        Client::Npgsql,
    ];

    /// The id used on the command line and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Client::Libpq => "libpq",
            Client::Jdbc => "jdbc",
            Client::Prisma => "prisma",
            Client::Prisma6 => "prisma6",
            Client::NodePostgres => "node-postgres",
            Client::Asyncpg => "asyncpg",
            Client::Npgsql => "npgsql",
        }
    }

    /// Which versions and which part of the client the strings are for.
    pub fn applies_to(self) -> &'static str {
        match self {
            Client::Libpq => "libpq-based clients: psql, psycopg 3, psycopg2, libpq's URI syntax",
            Client::Jdbc => "pgjdbc 42.x",
            Client::Prisma => {
                "Prisma 7 and later: the connectionString of @prisma/adapter-pg (node-postgres)"
            }
            Client::Prisma6 => {
                "Prisma 6 and earlier (built-in engine: schema url / DATABASE_URL), and datasource.url in prisma.config.ts for prisma migrate in Prisma 7"
            }
            Client::NodePostgres => "node-postgres (pg) 8.x",
            Client::Asyncpg => "asyncpg",
            Client::Npgsql => "Npgsql",
        }
    }
}

/// What to connect to. Check it with [`Target::check`] (done by [`build`](super::build)).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Host name or IP address (must be a certificate SAN); IPv6 with or without brackets.
    pub host: &'a str,
    /// Supavisor tenant; `None` prints [`TENANT_PLACEHOLDER`].
    pub tenant: Option<&'a str>,
    /// CA path on the client machine.
    pub ca: &'a str,
    /// Role.
    pub user: &'a str,
    /// Database.
    pub database: &'a str,
    /// Password; `None` prints [`PASSWORD_PLACEHOLDER`].
    pub password: Option<&'a str>,
    /// Direct port.
    pub port: u16,
    /// Pooled port.
    pub pooler_port: u16,
    /// Supavisor 2.9+'s SNI routing: the pooled user is the plain role and Supavisor finds the
    /// tenant by the host name the client sends in TLS (the tenant's `sni_hostname`).
    pub sni: bool,
    /// Which pooler serves the pooled port: Supavisor's pooled user carries the tenant
    /// (`<user>.<tenant>`), PgBouncer's does not.
    pub pooler: crate::PoolerKind,
}

/// A value `connstr` cannot build a safe string from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The command-line flag the value came from.
    pub flag: &'static str,
    /// The value, as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value \"{}\" for {}: {}",
            self.value.escape_debug(),
            self.flag,
            self.reason
        )
    }
}

impl std::error::Error for InputError {}

pub(super) fn bad(flag: &'static str, value: &str, reason: impl Into<String>) -> InputError {
    InputError {
        flag,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

pub(super) fn check_text(flag: &'static str, value: &str) -> Result<(), InputError> {
    if value.is_empty() {
        return Err(bad(flag, value, "empty"));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(bad(
            flag,
            value,
            format!(
                "contains the control character U+{:04X}, which no connection string can carry safely",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// The host without IPv6 brackets, when it is a host name or an IP address.
pub(super) fn host_bare(host: &str) -> Result<&str, InputError> {
    check_text("--host", host)?;
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if inner.parse::<Ipv6Addr>().is_ok() {
        return Ok(inner);
    }
    if host.contains(':') {
        return Err(bad(
            "--host",
            host,
            "a ':' belongs only in an IPv6 address; give the port with --port / --pooler-port",
        ));
    }
    let name_ok = host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && !host.starts_with(['.', '-'])
        && !host.contains("..");
    if name_ok {
        Ok(host)
    } else {
        Err(bad(
            "--host",
            host,
            "not a host name or IP address (letters, digits, '-', '.' and '_', or an IPv6 address)",
        ))
    }
}

impl Target<'_> {
    /// Checks every value: no empty value, no control character, a host that is a host name or
    /// IP address, ports other than 0.
    ///
    /// # Errors
    /// The first bad value, naming its flag.
    pub fn check(&self) -> Result<(), InputError> {
        host_bare(self.host)?;
        if let Some(t) = self.tenant {
            check_text("--tenant", t)?;
        }
        check_text("--ca", self.ca)?;
        check_text("--user", self.user)?;
        check_text("--database", self.database)?;
        if let Some(p) = self.password {
            check_text("--password", p)?;
        }
        if self.port == 0 {
            return Err(bad(
                "--port",
                "0",
                "port 0 is not a port clients can connect to",
            ));
        }
        if self.pooler_port == 0 {
            return Err(bad(
                "--pooler-port",
                "0",
                "port 0 is not a port clients can connect to",
            ));
        }
        Ok(())
    }
}

/// Strings for one client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientStrings {
    /// Client id as on the command line.
    pub client: &'static str,
    /// Which versions / which part of the client these strings are for.
    pub applies_to: &'static str,
    /// Direct connection (session, port 5432).
    pub direct: String,
    /// Pooled connection through Supavisor (transaction mode, port 6543).
    pub pooled: String,
    /// Caveats: where this client's settings do not verify, values it cannot carry.
    pub warnings: Vec<String>,
    /// How to use the strings (settings that cannot go into the string, related strings).
    pub notes: Vec<String>,
}

/// Every client when `None`, else the one asked for.
pub fn clients(choice: Option<Client>) -> Vec<Client> {
    choice.map_or_else(|| Client::ALL.to_vec(), |one| vec![one])
}

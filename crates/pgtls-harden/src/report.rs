//! The report layer: warnings with stable codes, the catalogue of their long texts, and the
//! one-line forms a terse report is built from.
//!
//! A [`Warning`] is a [`Code`] and the text the planner wrote for this deployment (paths,
//! networks, owners filled in). The JSON reports keep the text as the plain string they always
//! had (`"warnings": ["..."]`) and add the codes beside it; the human report shows one line per
//! warning (`W-REQUIRE-MITM  sslmode=require does not stop a man in the middle`) and the text
//! with `--verbose`; [`Code::explain`] is the paragraph behind a code, what `pgtls explain CODE`
//! prints. Every code lives in the one table below (`codes!`), so a new warning is one entry
//! there and a `Warning::new(Code::New, text)` where it is raised; a plain `String` converts
//! into a [`Warning`] with [`Code::Other`] until it is given its own code.

use std::fmt;

pub mod certs;
pub mod connstr;
pub mod explain;
pub mod harden;
pub mod hba;
pub mod paint;
pub mod pooler;
#[cfg(feature = "textfile")]
pub mod textfile;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $title:literal, $long:literal;)*) => {
        /// The stable code of a warning. Codes never change meaning; new ones are added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable id, `W-...`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $id,)* }
            }

            /// What the warning is about, in one line (no deployment details).
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The paragraph behind the code: why it matters and what to do.
            pub fn explain(self) -> &'static str {
                match self { $(Code::$variant => $long,)* }
            }
        }
    };
}

codes! {
    /// The database was never started (empty PGDATA).
    DbNotStarted = "W-DB-NOT-STARTED",
        "the database has never started: start the stack once, then harden",
        "The deployment's PGDATA holds no PG_VERSION, so the database has never been initialised. On its first start the supabase/postgres image runs scripts that create Supabase's roles and schemas, and the services (auth, storage, realtime, the pooler) run their migrations, all over plaintext connections on the compose network. Hardening first (hostssl-only rules, TLS required) can break that setup half-way. Start the stack once (`docker compose up -d`), let every service become healthy, then run `pgtls harden`. If the folder is a copy made with `pgtls harden --out`, this is expected: copy its files over the live deployment instead of starting the copy.";
    /// The database state could not be read from the host (named volume, no mount).
    DbStateUnknown = "W-DB-STATE-UNKNOWN",
        "the database's state is not visible from the host: make sure it has started once",
        "PGDATA is a named Docker volume or is not mounted from the deployment folder, so pgtls cannot tell from the files whether the database has ever started. If the stack has never started, start it once and let its first-start setup finish (roles, schemas and the services' migrations run over plaintext connections), then harden. If it runs already, this warning needs nothing.";
    /// A `--out` copy has an empty PGDATA.
    CopyHasNoDb = "W-COPY-NO-DB",
        "the hardened copy has no database: copy its files over the live deployment",
        "`pgtls harden --out DIR` writes a hardened copy of the deployment's files, never the database: PGDATA in the copy is an empty folder with the source's mode. Starting the stack from the copy would initialise a new, empty database. Copy the hardened files over the live deployment (the Next steps list them), or run `pgtls harden` on the live folder itself.";
    /// `sslmode=require` does not authenticate the server.
    RequireMitm = "W-REQUIRE-MITM",
        "sslmode=require encrypts but does not stop a man in the middle",
        "With libpq's `sslmode=require` (and the same setting in most drivers) the client encrypts the connection but checks no certificate, so anyone on the path can present their own certificate, relay the login and then read and change every query (libpq's `channel_binding=require` with SCRAM detects that on a direct connection, but few drivers offer it). Only `sslmode=verify-full` with the CA (`sslrootcert=ca.crt`, the file volumes/tls-ca/ca.crt) checks that the server holds a certificate your CA issued for the host name dialled. Give clients the CA and the strings `pgtls connstr --ca ca.crt` prints; each driver spells it differently (pgjdbc, node-postgres, Prisma, asyncpg, Npgsql).";
    /// The db and the pooler read one 0600 key file.
    KeyTwoReaders = "W-KEY-TWO-READERS",
        "the pooler reads the db's 0600 key as root: breaks under userns-remap or rootless Docker",
        "The server key is mounted into two containers: the db reads it as its postgres user, who owns it (PostgreSQL refuses a key readable by others), and Supavisor reads the same file as root (its image has no USER line). Root in a container reads a 0600 file of any owner under plain Docker. Under userns-remap or rootless Docker the container's root is an unprivileged uid on the host that cannot read the key, and the pooler crash-loops at start. If your engine remaps users, give the pooler its own copy of the key owned by its mapped root, or run Docker without remapping.";
    /// The engine remaps users: the pooler cannot read the key.
    KeyRemapped = "W-KEY-REMAPPED",
        "this Docker engine remaps users: the pooler cannot read the 0600 server key",
        "The Docker engine runs with userns-remap or rootless, so the pooler container's root is an unprivileged uid on the host. The server key is mode 0600 and owned by the db's postgres user (PostgreSQL requires that), so the pooler cannot open it and crash-loops at start. Give the pooler its own copy of the key owned by its mapped root (the uid in /etc/subuid for the remap user), or run Docker without remapping.";
    /// The chosen key type breaks common clients.
    KeyType = "W-KEY-TYPE",
        "the chosen key type breaks common clients",
        "Ed25519 server keys are rejected or mishandled by common PostgreSQL clients: libpq 15 fails SCRAM logins over TLS with \"could not find digest for NID UNDEF\" unless the client sets channel_binding=disable, and pgjdbc, Npgsql and webpki-based clients reject Ed25519 certificates. Use ecdsa-p256 (the default) unless every client is known to cope.";
    /// The CA key was readable by other users.
    CaKeyExposed = "W-CA-KEY-EXPOSED",
        "the CA key was readable by other users: make a new CA",
        "The private CA's key was readable by other users of this host (group or other permission bits set). pgtls rewrites it with mode 0600, but anyone who read it meanwhile can issue certificates your clients trust for any name. Make a new CA: move volumes/tls-ca/ away, run `pgtls harden` again (a new CA and server certificate are made), and give every client the new ca.crt.";
    /// A certificate name no client on the network can use.
    SanUnreachable = "W-SAN-UNREACHABLE",
        "a certificate name is not a service or container name on the compose network",
        "A name in the server certificate (asked for, or already in the existing certificate) is neither a service nor a container name on the deployment's compose network, nor given with --domain/--san, so no client resolves it to this server. It is harmless but usually a typo: the common recipe lists `supabase-supavisor`, while the upstream pooler container is `supabase-pooler`. Check the names clients dial and pass them with --domain or --san.";
    /// Plaintext is trusted from the whole private ranges.
    TrustWide = "W-TRUST-WIDE",
        "plaintext is trusted from the whole private ranges, not only Docker's networks",
        "The services on the compose network reach the db without TLS, so pg_hba.conf allows plaintext from the networks they use. No fact told which networks those are (the Docker engine did not report the running db container's networks and the compose file declares no ipam subnets), so the private ranges 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16 are trusted. They also hold cloud private networks (Hetzner's default is 10.0.0.0/16), VPNs and LANs, whose other machines may then log in without TLS. Narrow it: run `pgtls harden` again while the deployment runs (the networks are read from the Docker engine), declare ipam subnets for the compose network, or pass --trusted-cidr.";
    /// Proxies and gateways on the trusted networks could not be looked up.
    TrustProxyUnknown = "W-TRUST-PROXY-UNKNOWN",
        "proxies and gateways on the trusted networks could not be looked up",
        "Inside the trusted networks some addresses carry outside traffic: a public-port proxy container on the compose network (Coolify's `<uuid>-proxy` for \"Make it publicly available\") forwards every public client from its own Docker address, and connections from the host to a published port arrive from the network's gateway through Docker's userland proxy. pgtls refuses plaintext from each of them, but only the Docker engine can name them, and it was not asked or did not know the deployment. Check by hand with `docker network inspect NETWORK` (IPAM.Config[].Gateway and the Containers) and `docker ps --filter name=-proxy`, then run `pgtls harden` again where the engine answers, or pass --trusted-cidr.";
    /// A `pg_hba.conf` rule still accepts plaintext.
    HbaPlaintextLeft = "W-HBA-PLAINTEXT-LEFT",
        "a pg_hba.conf rule still accepts connections without TLS",
        "pg_hba.conf is read top to bottom and the first matching rule decides. A `host` rule (which matches TLS and plaintext alike) that is not for loopback or a trusted network, placed before the `hostnossl ... reject` lines, still admits plaintext from its addresses. pgtls keeps the rules it does not own; change that rule to `hostssl`, or narrow its address to a trusted network (`pgtls hba explain` shows which rule a connection meets).";
    /// The pooler service has no `pooler.exs` mount.
    PoolerExsMissing = "W-POOLER-EXS-MISSING",
        "the pooler has no pooler.exs: set enforce_ssl through Supavisor's API",
        "Supavisor takes its tenant (and the tenant's enforce_ssl flag) from the script mounted at /etc/pooler/pooler.exs in the upstream compose file. This pooler service mounts none, so there is no file to edit: the tenant lives only in Supavisor's database. Set enforce_ssl on the tenant with Supavisor's API (PUT /api/tenants/ID, the call under Next steps); without it the pooler still accepts clients without TLS.";
    /// `pooler.exs` only creates a missing tenant.
    TenantCreateOnly = "W-TENANT-CREATE-ONLY",
        "pooler.exs only creates a missing tenant: an existing tenant keeps enforce_ssl=false",
        "The upstream pooler.exs creates the tenant only when it is missing (get_tenant_by_external_id, then create_tenant). The tenant row lives in the database volume, so on a deployment that has run once the edited script changes nothing and the pooler keeps accepting plaintext. Run `pgtls harden --pooler-upsert` to rewrite the script into an upsert (update_tenant when it exists), or set enforce_ssl on the running pooler with the API call under Next steps.";
    /// The tenant logic of `pooler.exs` is not recognised.
    TenantLogicUnknown = "W-TENANT-LOGIC-UNKNOWN",
        "the tenant logic of pooler.exs is not recognised",
        "pgtls recognises the upstream pooler.exs shapes (create when missing, or an upsert) and set \"enforce_ssl\" => true in the tenant parameters, but this script decides differently whether the tenant is created or updated. Make sure enforce_ssl reaches the tenant that already exists: the API call under Next steps sets it on the running pooler.";
    /// The key's owner cannot be set by this process.
    KeyOwner = "W-KEY-OWNER",
        "the server key must be given to another owner, which needs root",
        "PostgreSQL loads its server key only when it is owned by the server's user (or root) and not readable by others, so pgtls writes server.key owned by the db container's postgres uid:gid. Only root can give a file away: run `pgtls harden` with sudo, or, for a test copy, pass --pg-owner with your own uid:gid. A dry run shows the plan anyway; applying refuses before writing anything.";
    /// The pooler is a Supavisor older than 2.9.6 (libpq async clients can hang over TLS).
    SupavisorAsyncHang = "W-SUPAVISOR-ASYNC-HANG",
        "Supavisor before 2.9.6 can hang libpq async clients over TLS: move to 2.9.6+",
        "Supavisor before 2.9.6 (Coolify's Supabase template pins 2.7.4) wrote TLS records larger than libpq's asynchronous API (PQconsumeInput/PQisBusy, used by psycopg's async mode, pgx in some modes and many pooled drivers) reads in one go, so such a client can wait forever for a reply it already received. 2.9.6 (supabase/supavisor #993) caps the records. Turning TLS on is what exposes the bug: set the pooler image to supabase/supavisor:2.9.6 or later before or together with hardening; an image tag with no version is warned about because pgtls cannot tell.";
    /// The PostgreSQL major from the image, PGDATA or the flag disagree.
    PgMajorDisagrees = "W-PG-MAJOR-DISAGREES",
        "the db image, PGDATA and --pg-version name different PostgreSQL majors",
        "pgtls judges pg_hba.conf by the rules of the PostgreSQL major the deployment runs: --pg-version when given, else the db image's tag (as Compose merges it), else PGDATA's PG_VERSION, else the running container. When two of them disagree the server may not start at all (a PostgreSQL 17 server refuses a PostgreSQL 15 cluster: \"database files are incompatible with server\"), or the rules judged are not the ones the server applies. Upgrade the data (Supabase's utils/upgrade-pg17.sh keeps a copy of the old cluster) or pin the image that matches it (upstream's docker-compose.pg15.yml), then run harden again.";
    /// An adopted certificate has a finding that does not block it.
    AdoptedCertificate = "W-ADOPTED-CERTIFICATE",
        "the adopted certificate has a finding clients may notice",
        "A certificate from a public CA adopted with `pgtls certs adopt` is kept as the server certificate. This warning reports something about it that does not stop the server from loading it but that some clients notice: a name given with --domain that it does not cover (clients dialling that name fail verify-full), an Ed25519 or P-521 key (several PostgreSQL clients refuse those), a leaf without its intermediate (clients that do not fetch intermediates fail), or an expired certificate later in the chain (often an extra cross-sign that clients skip). Fix it at the ACME client (names, key type, the full chain file) and adopt again.";
    /// PgBouncer's config folder is bind-mounted but holds no pgbouncer.ini yet.
    PgBouncerIniLater = "W-PGBOUNCER-INI-LATER",
        "PgBouncer writes its own pgbouncer.ini at first start, then ignores the env",
        "The edoburu/pgbouncer image's entrypoint writes /etc/pgbouncer/pgbouncer.ini from its environment only when that file does not exist. This deployment bind-mounts the folder, so the file the entrypoint writes at the first start stays on the host, and every later start reads it and ignores the environment, including the CLIENT_TLS_* settings pgtls sets now. After the first start run `pgtls harden` again: it then edits the pgbouncer.ini in the folder (losslessly) instead of the environment.";
    /// A `%include` after the TLS settings may override them.
    PgBouncerIncludeAfter = "W-PGBOUNCER-INCLUDE-AFTER",
        "pgbouncer.ini includes files after the TLS settings, which may override them",
        "PgBouncer reads pgbouncer.ini top to bottom and a later setting wins, `%include`d files included. The file pgtls edited includes other files after the client_tls_* lines, so a client_tls_sslmode (or cert/key) set in one of them overrides what pgtls wrote, for example back to disable. Check those files, or move the %include lines above the [pgbouncer] TLS settings; `pgtls check` judges only the main file's values.";
    /// PgBouncer reads a configuration pgtls cannot edit.
    PgBouncerConfigUnreachable = "W-PGBOUNCER-CONFIG-UNREACHABLE",
        "PgBouncer reads a pgbouncer.ini pgtls cannot edit: set its TLS yourself",
        "The PgBouncer container reads a pgbouncer.ini that is not a file under the deployment folder (a named volume, a file outside the folder, or a path the compose file does not mount), so pgtls cannot edit it and the environment it sets is ignored by the image's entrypoint. Set client_tls_sslmode = require, client_tls_cert_file and client_tls_key_file (the files pgtls writes to volumes/pgbouncer-tls, mounted at /etc/pgbouncer-tls) in that file yourself, then reload PgBouncer (SIGHUP).";
    /// A warning not yet given its own code.
    Other = "W-OTHER",
        "a warning without its own code yet",
        "This warning has not been given its own code yet, so there is no general paragraph behind it: its own text says what was found and why it matters, and is shown under the line with --verbose and in the `warnings` arrays of --json. Codes are added as warnings are catalogued and never change meaning once given; `pgtls explain` lists them.";
}

impl Code {
    /// The code with this id (case-insensitive, the `W-` prefix optional).
    pub fn parse(id: &str) -> Option<Code> {
        let id = id.trim();
        Code::ALL.iter().copied().find(|c| {
            c.as_str().eq_ignore_ascii_case(id)
                || c.as_str()
                    .strip_prefix("W-")
                    .is_some_and(|s| s.eq_ignore_ascii_case(id))
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A warning: its [`Code`] and the text written for this deployment.
///
/// It serialises as its text (the JSON reports' `warnings` arrays stay arrays of strings), and
/// derefs to it, so `w.contains("...")` reads as it did on a `String`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind of warning.
    pub code: Code,
    /// What and why, for this deployment.
    pub text: String,
}

impl Warning {
    /// A warning with `code` and `text`.
    pub fn new(code: Code, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// The one-line form: the code's title.
    pub fn title(&self) -> &'static str {
        self.code.title()
    }
}

/// A warning not yet given its own code ([`Code::Other`]).
impl From<String> for Warning {
    fn from(text: String) -> Self {
        Self::new(Code::Other, text)
    }
}

/// A warning not yet given its own code ([`Code::Other`]).
impl From<&str> for Warning {
    fn from(text: &str) -> Self {
        Self::new(Code::Other, text)
    }
}

impl std::ops::Deref for Warning {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// The codes of `warnings`, in order (the `warning_codes` beside a JSON `warnings` array).
pub fn codes(warnings: &[Warning]) -> Vec<&'static str> {
    warnings.iter().map(|w| w.code.as_str()).collect()
}

/// The first clause of a long text, for a one-line report: the text up to the first `": "`,
/// `"; "` or `". "` outside parentheses that leaves at least `min` characters, cut at a word
/// boundary with `…` when still longer than `max` characters.
pub fn first_clause(text: &str, min: usize, max: usize) -> String {
    let mut depth = 0usize;
    let mut cut = text.len();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' | ';' | '.'
                if depth == 0
                    && bytes.get(i + 1) == Some(&b' ')
                    && text[..i].chars().count() >= min =>
            {
                cut = i;
                break;
            }
            _ => {}
        }
    }
    let clause = &text[..cut];
    if clause.chars().count() <= max {
        return clause.to_owned();
    }
    let end = clause
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(clause.len(), |(i, _)| i);
    let head = &clause[..end];
    let head = head.rfind(' ').map_or(head, |i| &head[..i]);
    format!("{}…", head.trim_end_matches([',', ':', ';', ' ']))
}

/// The first line of a multi-line text and whether lines were left out.
pub fn first_line(text: &str) -> (&str, bool) {
    match text.split_once('\n') {
        Some((head, _)) => (head.trim_end_matches(':'), true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_unique_id_a_title_and_a_long_text() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in Code::ALL {
            let id = code.as_str();
            assert!(
                id.starts_with("W-") && id == id.to_ascii_uppercase(),
                "{id}"
            );
            assert!(seen.insert(id), "duplicate {id}");
            let title = code.title();
            assert!(
                !title.is_empty() && title.len() <= 90 && !title.contains('\n'),
                "{id}: the title is one short line: {title}"
            );
            let long = code.explain();
            assert!(long.len() >= 200, "{id}: the long text explains: {long}");
            assert!(
                long.ends_with('.'),
                "{id}: the long text is whole sentences"
            );
            assert_eq!(Code::parse(id), Some(code));
            assert_eq!(Code::parse(&id[2..].to_ascii_lowercase()), Some(code));
        }
        assert_eq!(Code::parse("W-NO-SUCH-CODE"), None);
    }

    #[test]
    fn a_warning_serialises_as_its_text_and_a_string_becomes_other() {
        let w = Warning::new(Code::RequireMitm, "sslmode=require: no MITM protection");
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!("sslmode=require: no MITM protection")
        );
        assert!(w.contains("MITM"));
        assert_eq!(w.title(), Code::RequireMitm.title());
        let other: Warning = format!("new warning from {}", "elsewhere").into();
        assert_eq!(other.code, Code::Other);
        assert_eq!(codes(&[w, other]), ["W-REQUIRE-MITM", "W-OTHER"]);
    }

    #[test]
    fn first_clause_cuts_outside_parentheses_and_at_word_boundaries() {
        assert_eq!(
            first_clause(
                "PGDATA volumes/db/data is not initialized (no PG_VERSION): this deployment has not been started yet",
                24,
                100
            ),
            "PGDATA volumes/db/data is not initialized (no PG_VERSION)"
        );
        // too short a head: the next boundary
        assert_eq!(
            first_clause(
                "create-only trap: the script only creates a missing tenant. More",
                24,
                100
            ),
            "create-only trap: the script only creates a missing tenant"
        );
        let cut = first_clause(&"word ".repeat(40), 24, 30);
        assert!(cut.ends_with('…') && cut.chars().count() <= 30, "{cut}");
        assert_eq!(first_clause("short", 24, 100), "short");
        assert_eq!(first_line("a:\n  b\n  c"), ("a", true));
        assert_eq!(first_line("a"), ("a", false));
    }
}

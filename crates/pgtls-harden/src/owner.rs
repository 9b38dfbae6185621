//! Who reads the server key: the db container's postgres user, and how we know it.
//!
//! The supabase/postgres image creates its postgres user with `adduser --system`, so the uid
//! depends on the image build (see [`KNOWN_UIDS`]). A key owned by the wrong uid, or by root
//! with mode 0600, makes PostgreSQL refuse to start. So the owner is resolved from facts only,
//! in this order, and the plan records where the answer came from ([`OwnerSource`]):
//!
//! 1. `--pg-owner UID:GID` (the user says so);
//! 2. the owner of the host PGDATA folder, only when it is an initialized data directory
//!    (`PG_VERSION` present) owned by a non-root uid: PostgreSQL refuses a data directory not
//!    owned by its own user, so a cluster that ran there tells the truth. A fresh clone's folder
//!    or one pgtls created tells nothing;
//! 3. the Docker engine on this host, when it answers: `id postgres` in the deployment's running
//!    db container (found by its compose labels), else in the db image when it is present locally
//!    (`docker run --rm --pull never --entrypoint id IMAGE postgres`; never pulled). Not under
//!    userns-remap or rootless Docker, where the container's uid is not the host's;
//! 4. the note `harden` wrote beside the certificates ([`STATE_NOTE`]), which records 1-3 from
//!    the run that wrote the key;
//!
//! else [`refusal`] explains how to find the uid. Engine access sits behind [`Engine`], so the
//! resolution itself is pure and testable.

use std::path::{Path, PathBuf};

use crate::layout::Layout;
use crate::tree::Tree;

mod engine;
mod pgdata;
#[cfg(test)]
mod tests;

pub use self::engine::{Engine, EngineNetwork, NetworkContainer, NoEngine, parse_id};
pub use self::pgdata::{PgData, PgDataError, pgdata, pgdata_state};

/// The state note, relative to the deployment folder: `harden` records the key owner there.
pub const STATE_NOTE: &str = "volumes/tls/.pgtls-owner";

/// Known postgres uids of supabase/postgres images (the uid is not fixed: `adduser --system`).
///
/// From FACTS §4. Checked in supabase/postgres: `Dockerfile-15` at 15.8.1.004 builds on
/// `ubuntu:focal` and `Dockerfile-15`/`Dockerfile-17` at later commits on `ubuntu:noble`, both
/// with `adduser --system ... --group postgres` after installing packages, so the uid is whatever
/// system uid is free at that point. The numbers themselves come from the images, not the source.
pub const KNOWN_UIDS: [(&str, &str); 3] = [
    ("15.8.x (Ubuntu 20.04 base)", "105:106"),
    ("17.6.1.0xx (Ubuntu 24.04 base)", "101:102"),
    (
        "the Alpine-based images (15.14.1.169+, 17.6.1.084+)",
        "100:101",
    ),
];

/// Where the owner answer came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OwnerSource {
    /// `--pg-owner`.
    Flag,
    /// The owner of an initialized host PGDATA folder.
    DataDirectory {
        /// The folder (relative to the deployment folder, or absolute).
        path: PathBuf,
    },
    /// `id postgres` in the deployment's running db container.
    Container {
        /// Container name or id.
        container: String,
    },
    /// `id postgres` in the db image, present locally.
    Image {
        /// The image reference.
        image: String,
    },
    /// The note a previous `harden` wrote.
    StateNote {
        /// The note's path.
        path: PathBuf,
        /// The source it recorded.
        recorded: String,
    },
}

impl OwnerSource {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Flag => "from --pg-owner".to_owned(),
            Self::DataDirectory { path } => format!(
                "owner of the initialized PGDATA folder {} (PostgreSQL runs as its owner)",
                path.display()
            ),
            Self::Container { container } => {
                format!("`id postgres` in the deployment's running db container {container}")
            }
            Self::Image { image } => format!("`id postgres` in the local image {image}"),
            Self::StateNote { path, recorded } => format!(
                "recorded by pgtls harden in {} ({recorded})",
                path.display()
            ),
        }
    }

    /// The short form recorded in the state note.
    pub fn short(&self) -> String {
        match self {
            Self::Flag => "--pg-owner".to_owned(),
            Self::DataDirectory { path } => format!("pgdata {}", path.display()),
            Self::Container { container } => format!("container {container}"),
            Self::Image { image } => format!("image {image}"),
            Self::StateNote { recorded, .. } => recorded.clone(),
        }
    }
}

/// The db container's postgres user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups, when known (from `id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
    /// How we know.
    pub source: OwnerSource,
}

impl DbUser {
    /// The reader for the key-file rule.
    pub fn reader(&self) -> pgtls_certs::KeyReader<'_> {
        pgtls_certs::KeyReader {
            uid: self.uid,
            gid: self.gid,
            supplementary_gids: &self.groups,
        }
    }

    /// `UID:GID`.
    pub fn ids(&self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }
}

/// One reader of a server key copy: the service, the rule its program applies
/// ([`pgtls_certs::KeyProgram`]), the user it reads as and the host file it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReaderOf {
    /// Compose service key.
    pub service: String,
    /// Whose rule decides (PostgreSQL's permission check, or only the open).
    pub program: pgtls_certs::KeyProgram,
    /// `uid:gid` it reads as; `None` when not known (the db's user before it is resolved).
    pub ids: Option<(u32, u32)>,
    /// The key file on the host (relative to the deployment folder).
    pub key: PathBuf,
    /// How the user is known.
    pub why: &'static str,
}

/// Every reader of a pgtls server key in `layout`, each with its own copy or the shared one:
/// the db (its postgres user, `db`; PostgreSQL's rule), Supavisor (root: its image has no `USER`;
/// it reads the db's copy, which root may read under plain Docker) and PgBouncer (uid 70, the
/// edoburu image's `USER postgres`; its own copy in `pgbouncer::PGBOUNCER_TLS_DIR`).
pub fn key_readers(layout: &Layout, db: Option<&DbUser>) -> Vec<KeyReaderOf> {
    let shared = Path::new(crate::paths::TLS_DIR).join("server.key");
    let mut out = vec![KeyReaderOf {
        service: layout.db.key.clone(),
        program: pgtls_certs::KeyProgram::PostgreSql,
        ids: db.map(|u| (u.uid, u.gid)),
        key: shared.clone(),
        why: "the db image's postgres user",
    }];
    if let Some(p) = &layout.pooler {
        out.push(KeyReaderOf {
            service: p.key.clone(),
            program: pgtls_certs::KeyProgram::PostgreSql,
            ids: Some((0, 0)),
            key: shared,
            why: "Supavisor's image has no USER line: root",
        });
    }
    if let Some(p) = &layout.pgbouncer {
        out.push(KeyReaderOf {
            service: p.key.clone(),
            program: pgtls_certs::KeyProgram::PgBouncer,
            ids: Some(crate::pgbouncer::PGBOUNCER_USER),
            key: Path::new(crate::pgbouncer::PGBOUNCER_TLS_DIR).join("server.key"),
            why: "the edoburu/pgbouncer image's USER postgres (uid 70)",
        });
    }
    out
}

/// Facts the resolution works from.
#[derive(Debug, Clone)]
pub struct OwnerFacts<'a> {
    /// `--pg-owner`, parsed.
    pub flag: Option<(u32, u32)>,
    /// The PGDATA state of the deployment (the source folder with `--out`).
    pub pgdata: &'a PgData,
    /// The deployment folder (absolute, for the engine's compose labels).
    pub dir: &'a Path,
    /// The db compose service key.
    pub service: &'a str,
    /// Its `container_name`.
    pub container_name: Option<&'a str>,
    /// Its `image`.
    pub image: Option<&'a str>,
    /// The state note's content, when present.
    pub note: Option<&'a str>,
}

/// What the engine said, for the report (also when its answer was not used).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineReport {
    /// An engine answers on this host (also when the owner did not need it: see `asked`).
    pub available: bool,
    /// The engine was asked for the db user (`false`: `--pg-owner` or PGDATA told it first).
    pub asked: bool,
    /// userns-remap or rootless: container uids are not host uids.
    pub remapped: Option<String>,
    /// Problems met while asking.
    pub problems: Vec<String>,
}

/// Resolves the db user from `facts`, asking `engine` only when the files do not tell.
pub fn resolve(facts: &OwnerFacts<'_>, engine: &dyn Engine) -> (Option<DbUser>, EngineReport) {
    let mut report = EngineReport::default();
    if let Some((uid, gid)) = facts.flag {
        return (
            Some(DbUser {
                uid,
                gid,
                groups: Vec::new(),
                source: OwnerSource::Flag,
            }),
            report,
        );
    }
    if let PgData::Initialized { path, uid, gid, .. } = facts.pgdata
        && *uid != 0
    {
        return (
            Some(DbUser {
                uid: *uid,
                gid: *gid,
                groups: Vec::new(),
                source: OwnerSource::DataDirectory { path: path.clone() },
            }),
            report,
        );
    }
    if engine.available() {
        report.available = true;
        report.asked = true;
        report.remapped = engine
            .security_options()
            .into_iter()
            .find(|o| o.contains("name=userns") || o.contains("name=rootless"));
        if let Some(mode) = &report.remapped {
            report.problems.push(format!(
                "the Docker engine runs with {mode}: uids inside containers are not the host's, so `id postgres` cannot tell the host owner of the key"
            ));
        } else {
            if let Some(c) = engine.db_container(facts.dir, facts.service, facts.container_name) {
                match engine.id_in_container(&c).map(|t| (parse_id(&t), t)) {
                    Ok((Some((uid, gid, groups)), _)) => {
                        return (
                            Some(DbUser {
                                uid,
                                gid,
                                groups,
                                source: OwnerSource::Container { container: c },
                            }),
                            report,
                        );
                    }
                    Ok((None, text)) => report.problems.push(format!(
                        "`id postgres` in container {c} printed {:?}",
                        text.trim()
                    )),
                    Err(e) => report
                        .problems
                        .push(format!("`id postgres` in container {c} failed: {e}")),
                }
            }
            if let Some(image) = facts.image.filter(|i| !i.contains('$')) {
                match engine.id_in_image(image) {
                    Ok(Some(text)) => match parse_id(&text) {
                        Some((uid, gid, groups)) => {
                            return (
                                Some(DbUser {
                                    uid,
                                    gid,
                                    groups,
                                    source: OwnerSource::Image {
                                        image: image.to_owned(),
                                    },
                                }),
                                report,
                            );
                        }
                        None => report.problems.push(format!(
                            "`id postgres` in image {image} printed {:?}",
                            text.trim()
                        )),
                    },
                    Ok(None) => report.problems.push(format!(
                        "image {image} is not present locally (pgtls never pulls)"
                    )),
                    Err(e) => report
                        .problems
                        .push(format!("`id postgres` in image {image} failed: {e}")),
                }
            }
        }
    }
    if let Some(note) = facts.note
        && let Some(user) = parse_note(note)
    {
        return (Some(user), report);
    }
    (None, report)
}

/// The state note's text for `user`.
pub fn note_text(user: &DbUser) -> String {
    format!(
        "# written by pgtls harden: the uid:gid the db container's postgres user has, and how it was found\nowner={}:{}\nsource={}\n",
        user.uid,
        user.gid,
        user.source.short()
    )
}

/// Reads a state note (see [`note_text`]).
pub fn parse_note(text: &str) -> Option<DbUser> {
    let mut owner = None;
    let mut source = None;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("owner=") {
            let (u, g) = v.split_once(':')?;
            owner = Some((u.trim().parse().ok()?, g.trim().parse().ok()?));
        } else if let Some(v) = line.strip_prefix("source=") {
            source = Some(v.to_owned());
        }
    }
    let (uid, gid): (u32, u32) = owner?;
    (uid != 0).then(|| DbUser {
        uid,
        gid,
        groups: Vec::new(),
        source: OwnerSource::StateNote {
            path: PathBuf::from(STATE_NOTE),
            recorded: source.unwrap_or_else(|| "source not recorded".into()),
        },
    })
}

/// The explanation when no source tells the owner.
pub fn refusal(facts: &OwnerFacts<'_>, report: &EngineReport) -> String {
    let image = facts.image.unwrap_or("supabase/postgres:<tag>");
    let why = match facts.pgdata {
        PgData::Initialized { path, .. } => format!(
            "PGDATA {} is owned by root (PostgreSQL never runs as root, so its owner tells nothing)",
            path.display()
        ),
        other => other.describe(),
    };
    let engine = if report.available {
        if report.problems.is_empty() {
            "the Docker engine knows no running db container of this deployment".to_owned()
        } else {
            format!(
                "the Docker engine did not tell: {}",
                report.problems.join("; ")
            )
        }
    } else {
        "no Docker engine answers on this host".to_owned()
    };
    let known = KNOWN_UIDS
        .iter()
        .map(|(v, ids)| format!("{ids} in {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "cannot tell which uid:gid the db container's postgres user has, and a key owned by the wrong uid stops PostgreSQL from starting: {why}; {engine}. \
         The supabase/postgres image has no fixed uid ({known}). \
         Find it on the Docker host with `docker compose exec {service} id postgres` (stack running) or `docker run --rm --entrypoint id {image} postgres`, then pass --pg-owner UID:GID",
        service = facts.service
    )
}

/// Parses the uid:gid of the user PostgreSQL runs as (`--pg-owner`, `certs init --owner`):
/// `UID:GID`, refusing uid 0 (PostgreSQL never runs as root, and a root-owned 0600 key passes
/// its permission check, then cannot be read) and the reserved id 4294967295 (`(uid_t) -1`,
/// which `chown` takes as "leave unchanged"). The error reads
/// `invalid value "VALUE" for FLAG: REASON`.
///
/// A uid that has no entry in this host's `/etc/passwd` is accepted: the owner is the db
/// *container's* postgres user (105 in supabase/postgres 15.8.x), which the host need not know.
///
/// # Errors
/// Not `UID:GID` numbers, uid 0, or the reserved id.
pub fn parse_db_owner(flag: &str, value: &str) -> crate::Result<(u32, u32)> {
    let bad = |reason: &str| {
        crate::Error::Message(format!("invalid value \"{value}\" for {flag}: {reason}"))
    };
    let (uid, gid) = value
        .split_once(':')
        .ok_or_else(|| bad("expected UID:GID, for example 105:106"))?;
    let uid = uid
        .trim()
        .parse::<u32>()
        .map_err(|_| bad("the UID is not a number"))?;
    let gid = gid
        .trim()
        .parse::<u32>()
        .map_err(|_| bad("the GID is not a number"))?;
    if uid == u32::MAX || gid == u32::MAX {
        return Err(bad(
            "4294967295 is reserved ((uid_t) -1 means \"unchanged\" to chown)",
        ));
    }
    if uid == 0 {
        return Err(bad(
            "PostgreSQL never runs as root: give the uid:gid of the db container's postgres user (`docker compose exec db id postgres`)",
        ));
    }
    Ok((uid, gid))
}

#[cfg(test)]
mod parse_tests {
    use super::parse_db_owner;

    #[test]
    fn db_owner_parses_and_refuses_root_and_the_reserved_id() {
        assert_eq!(
            parse_db_owner("--pg-owner", "105:106").ok(),
            Some((105, 106))
        );
        assert_eq!(parse_db_owner("--pg-owner", "105:0").ok(), Some((105, 0)));
        for bad in ["postgres", "1:x", "4294967295:1", "1:4294967295"] {
            assert!(parse_db_owner("--pg-owner", bad).is_err(), "{bad}");
        }
        let msg = parse_db_owner("--pg-owner", "x:1").unwrap_err().to_string();
        assert_eq!(
            msg,
            "invalid value \"x:1\" for --pg-owner: the UID is not a number"
        );
        let root = parse_db_owner("--pg-owner", "0:0").unwrap_err().to_string();
        assert!(root.contains("PostgreSQL never runs as root"), "{root}");
    }
}

/// When the writer runs as `me` (not root), files planned for another owner cannot be written:
/// the reason, to refuse before writing anything rather than half-way.
pub fn owner_problem(changes: &[crate::plan::FileChange], me: u32) -> Option<String> {
    if me == 0 {
        return None;
    }
    let (uid, gid) = changes
        .iter()
        .filter_map(|c| c.owner)
        .find(|(uid, _)| *uid != me)?;
    Some(format!(
        "the server key must be owned by {uid}:{gid}, but pgtls runs as uid {me} and only root can give files away: run it with sudo, or pass --pg-owner with your own uid:gid for a test copy"
    ))
}

/// What `harden` and `check` know about the deployment's database and its user.
#[derive(Debug, Clone)]
pub struct DbFacts {
    /// The PostgreSQL major whose `pg_hba.conf` rules apply ([`crate::pgmajor::decide`]).
    pub major: crate::pgmajor::PgMajor,
    /// The host PGDATA folder's state (the source folder's, with `--out`).
    pub pgdata: PgData,
    /// The db container's postgres user, when a fact tells it.
    pub user: Option<DbUser>,
    /// What the Docker engine said.
    pub engine: EngineReport,
    /// The explanation when `user` is `None` (see [`refusal`]).
    pub refusal: String,
    /// A fact that contradicts `user` (an initialized PGDATA owned by another uid than
    /// `--pg-owner`): the key would not load.
    pub conflict: Option<String>,
}

impl DbFacts {
    /// The `deployment`, `db_user` and `docker_engine` JSON values.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "deployment": self.pgdata,
            "db_user": self.user.as_ref().map(|u| serde_json::json!({
                "uid": u.uid, "gid": u.gid, "groups": u.groups,
                "source": u.source, "detail": u.source.describe(),
            })),
            "docker_engine": self.engine,
            "postgres": {
                "major": self.major.major,
                "source": self.major.source,
                "detail": self.major.describe(),
                "notes": self.major.notes,
                "mismatch": self.major.mismatch,
            },
        })
    }
}

/// Gathers [`DbFacts`]: PGDATA's state, the PostgreSQL major (`pg_version` is `--pg-version`)
/// and the db user, resolved by [`resolve`] from `flag` (`--pg-owner`), PGDATA, `engine` and
/// the state note in `tree`.
///
/// # Errors
/// A PGDATA bind source that is a file or a symlink; an unreadable state note.
pub fn db_facts(
    tree: &Tree,
    layout: &Layout,
    flag: Option<(u32, u32)>,
    pg_version: Option<u32>,
    engine: &dyn Engine,
) -> crate::Result<DbFacts> {
    let pgdata = pgdata(tree, layout)?;
    // the one place the deployment's PostgreSQL major is decided; the running container is
    // asked only when neither the image tag nor PGDATA tells (a `docker exec` costs time)
    let told = layout
        .db
        .image
        .as_deref()
        .and_then(crate::pgmajor::image_major)
        .is_some()
        || matches!(pgdata, PgData::Initialized { .. });
    let running = if pg_version.is_none() && !told && engine.available() {
        let dir = std::fs::canonicalize(tree.src()).unwrap_or_else(|_| tree.src().to_path_buf());
        engine
            .db_container(&dir, &layout.db.key, layout.db.container_name.as_deref())
            .and_then(|c| {
                engine
                    .server_version_in_container(&c)
                    .ok()
                    .and_then(|v| crate::pgmajor::server_version_major(&v))
                    .map(|m| (m, c))
            })
    } else {
        None
    };
    let major = crate::pgmajor::decide(pg_version, layout.db.image.as_deref(), &pgdata, running);
    let note = tree.read_text(Path::new(STATE_NOTE))?;
    let dir = std::fs::canonicalize(tree.src()).unwrap_or_else(|_| tree.src().to_path_buf());
    let facts = OwnerFacts {
        flag,
        pgdata: &pgdata,
        dir: &dir,
        service: &layout.db.key,
        container_name: layout.db.container_name.as_deref(),
        image: layout.db.image.as_deref(),
        note: note.as_deref(),
    };
    let (user, mut report) = resolve(&facts, engine);
    // whether an engine answers, also when the owner did not need one (the trusted networks and
    // the running container's files are asked of it all the same)
    if !report.asked {
        report.available = engine.available();
    }
    let refusal = refusal(&facts, &report);
    let conflict = match (&user, &pgdata) {
        (Some(u), PgData::Initialized { uid, gid, .. }) if *uid != 0 && *uid != u.uid => {
            Some(format!(
                "{}, but the key would be given to {} ({}): PostgreSQL runs as its data directory's owner, so it could not load that key. Pass --pg-owner {uid}:{gid}, or leave it out",
                pgdata.describe(),
                u.ids(),
                u.source.describe()
            ))
        }
        _ => None,
    };
    Ok(DbFacts {
        major,
        pgdata,
        user,
        engine: report,
        refusal,
        conflict,
    })
}

//! Can the server load this key? PostgreSQL's rule for `ssl_key_file`, from the reader's side.
//!
//! [`key_file_verdict`] is the one function that decides it; everything else here gathers the
//! facts it needs from a path on disk. The rule has two halves:
//!
//! 1. **PostgreSQL's permission check** (`check_ssl_key_file_permissions` in
//!    `src/backend/libpq/be-secure-common.c`, PostgreSQL 10 to 17): `stat(2)` must succeed, the
//!    file must be a regular file (symlinks are followed), owned by the server's effective uid or
//!    by root; owned by the server: no group or other bits (`u=rw`, 0600, or less); owned by
//!    root: no group write/execute and no other bits (`u=rw,g=r`, 0640, or less).
//! 2. **The open that follows.** The check is not the whole story: OpenSSL then opens the file as
//!    the server user. A server-owned key needs `u+r`; a root-owned key is read through its group
//!    only (the other bits are refused by the check), so its group must be one of the server's
//!    groups and it needs `g+r`. A root-owned 0600 key passes the check and then fails with
//!    `could not load private key file "F": Permission denied` (verified against PostgreSQL 15.18).

use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Why PostgreSQL would refuse a private key file, in its own words.
///
/// `message` is the text PostgreSQL logs after `FATAL:` at start (or `LOG:` on reload), `detail`
/// the `DETAIL:` line when it has one, and `hint` our suggested fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeyFileProblem {
    /// PostgreSQL's message, e.g. `private key file "server.key" has group or world access`.
    pub message: String,
    /// PostgreSQL's detail line, if any.
    pub detail: Option<String>,
    /// A command-level fix, in our words.
    pub hint: String,
}

/// PostgreSQL's detail text for a key file with group or world access.
pub const GROUP_WORLD_DETAIL: &str = "File must have permissions u=rw (0600) or less if owned by the database user, \
or permissions u=rw,g=r (0640) or less if owned by root.";

/// What `stat(2)` says about a key file: the inputs of [`key_file_verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFileFacts {
    /// A regular file (after following symlinks).
    pub is_regular_file: bool,
    /// Owner user id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Permission bits (`st_mode & 0o7777`; higher bits are ignored).
    pub mode: u32,
}

impl KeyFileFacts {
    /// The facts of `path`, following symlinks as PostgreSQL's `stat(2)` does.
    ///
    /// # Errors
    /// The `stat(2)` failure, as PostgreSQL reports it
    /// (`could not access private key file "F": No such file or directory`).
    pub fn of(path: &Path) -> Result<Self, KeyFileProblem> {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(md) => Ok(Self {
                is_regular_file: md.file_type().is_file(),
                uid: md.uid(),
                gid: md.gid(),
                mode: md.mode() & 0o7777,
            }),
            Err(e) => {
                let reason = match e.kind() {
                    ErrorKind::NotFound => "No such file or directory".to_string(),
                    ErrorKind::PermissionDenied => "Permission denied".to_string(),
                    _ => e.to_string(),
                };
                Err(KeyFileProblem {
                    message: format!("could not access private key file \"{shown}\": {reason}"),
                    detail: None,
                    hint: format!(
                        "check that \"{shown}\" exists and its directories are searchable by the server user"
                    ),
                })
            }
        }
    }
}

/// The user a PostgreSQL server runs as, as the key file's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyReader<'a> {
    /// Effective uid of the server process (never 0: PostgreSQL refuses to run as root).
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its supplementary groups, if any (a container started with `gosu`/`su` gets the ones
    /// `/etc/group` in the image lists for the user).
    pub supplementary_gids: &'a [u32],
}

impl KeyReader<'static> {
    /// A reader with only a primary group.
    pub const fn new(uid: u32, gid: u32) -> Self {
        Self {
            uid,
            gid,
            supplementary_gids: &[],
        }
    }
}

impl KeyReader<'static> {
    /// Whom to judge a written key for, and how to name it: the given owner (the server's
    /// user); without one, the file's own non-root owner (the only uid it can load for); for a
    /// root-owned file, any server user (a non-root uid in the file's group).
    pub fn for_written_key(owner: Option<(u32, u32)>, facts: &KeyFileFacts) -> (Self, String) {
        match owner {
            Some((uid, gid)) => (
                Self::new(uid, gid),
                format!("a server running as {uid}:{gid}"),
            ),
            None if facts.uid != 0 => (
                Self::new(facts.uid, facts.gid),
                format!("a server running as uid {} only", facts.uid),
            ),
            None => (
                Self::new(u32::MAX - 1, facts.gid),
                "any server user".to_owned(),
            ),
        }
    }
}

impl KeyReader<'_> {
    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.supplementary_gids.contains(&gid)
    }
}

/// An owner and mode to give a key file: a fix that passes [`key_file_verdict`] by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFileFix {
    /// Owner user id to set.
    pub uid: u32,
    /// Group id to set.
    pub gid: u32,
    /// Mode to set.
    pub mode: u32,
}

impl KeyFileFix {
    /// The shell commands, with `shown` single-quoted: `chown U:G 'F' && chmod 0600 'F'`.
    pub fn command(&self, shown: &str) -> String {
        let q = shown.replace('\'', r"'\''");
        format!(
            "chown {}:{} '{q}' && chmod {:04o} '{q}'",
            self.uid, self.gid, self.mode
        )
    }

    /// The facts after applying the fix (the file type does not change).
    pub fn applied_to(&self, facts: KeyFileFacts) -> KeyFileFacts {
        KeyFileFacts {
            uid: self.uid,
            gid: self.gid,
            mode: self.mode,
            ..facts
        }
    }
}

/// Can the server load this key? The answer of [`key_file_verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFileVerdict {
    /// The permission check passes and the server user can read the file.
    Loads,
    /// PostgreSQL's permission check refuses the file: the server does not start (or, on
    /// reload, keeps its previous TLS settings).
    Refused {
        /// PostgreSQL's message (its `FATAL:` text).
        message: String,
        /// PostgreSQL's `DETAIL:` text, when it has one.
        detail: Option<String>,
        /// An owner and mode that load; `None` when no chown/chmod helps (not a regular file).
        fix: Option<KeyFileFix>,
    },
    /// The permission check passes, then the server cannot open the file.
    PassesCheckButUnreadable {
        /// What the server then logs (its `FATAL:` text).
        message: String,
        /// Why the server user cannot read it, in our words.
        reason: String,
        /// An owner and mode that load.
        fix: KeyFileFix,
    },
}

impl KeyFileVerdict {
    /// True for [`KeyFileVerdict::Loads`].
    pub fn loads(&self) -> bool {
        matches!(self, Self::Loads)
    }

    /// PostgreSQL's message when the key does not load.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Loads => None,
            Self::Refused { message, .. } | Self::PassesCheckButUnreadable { message, .. } => {
                Some(message)
            }
        }
    }

    /// The suggested fix, when the key does not load and a chown/chmod helps.
    pub fn fix(&self) -> Option<KeyFileFix> {
        match self {
            Self::Loads => None,
            Self::Refused { fix, .. } => *fix,
            Self::PassesCheckButUnreadable { fix, .. } => Some(*fix),
        }
    }
}

/// Decides whether a PostgreSQL server running as `reader` can load a key file with `facts`.
///
/// `shown` is the path as the setting names it (PostgreSQL prints the `ssl_key_file` value).
/// Pure: no file-system access. The suggested [`KeyFileFix`] always loads: it keeps a root-owned
/// 0640 key root-owned and gives it the server's group, and otherwise gives the key to the
/// server user with mode 0600.
///
/// ```
/// use pgtls_certs::{KeyFileFacts, KeyFileVerdict, KeyReader, key_file_verdict};
/// let reader = KeyReader::new(105, 106); // supabase/postgres 15.8.x
/// let root_0600 = KeyFileFacts { is_regular_file: true, uid: 0, gid: 0, mode: 0o600 };
/// let verdict = key_file_verdict("/etc/tls/server.key", root_0600, reader);
/// assert!(matches!(verdict, KeyFileVerdict::PassesCheckButUnreadable { .. }));
/// assert_eq!(
///     verdict.message(),
///     Some("could not load private key file \"/etc/tls/server.key\": Permission denied")
/// );
/// let fix = verdict.fix().unwrap();
/// assert_eq!(fix.command("server.key"), "chown 105:106 'server.key' && chmod 0600 'server.key'");
/// assert!(key_file_verdict("/etc/tls/server.key", fix.applied_to(root_0600), reader).loads());
/// ```
pub fn key_file_verdict(shown: &str, facts: KeyFileFacts, reader: KeyReader<'_>) -> KeyFileVerdict {
    if !facts.is_regular_file {
        return KeyFileVerdict::Refused {
            message: format!("private key file \"{shown}\" is not a regular file"),
            detail: None,
            fix: None,
        };
    }
    let mode = facts.mode & 0o7777;
    let fix = if facts.uid == 0 && mode & 0o777 == 0o640 {
        KeyFileFix {
            uid: 0,
            gid: reader.gid,
            mode: 0o640,
        }
    } else {
        KeyFileFix {
            uid: reader.uid,
            gid: reader.gid,
            mode: 0o600,
        }
    };
    let owned_by_server = facts.uid == reader.uid;
    if !owned_by_server && facts.uid != 0 {
        return KeyFileVerdict::Refused {
            message: format!(
                "private key file \"{shown}\" must be owned by the database user or root"
            ),
            detail: None,
            fix: Some(fix),
        };
    }
    let too_open = if owned_by_server {
        mode & 0o077 != 0
    } else {
        // owned by root: group read is allowed, nothing else for group or other
        mode & 0o037 != 0
    };
    if too_open {
        return KeyFileVerdict::Refused {
            message: format!("private key file \"{shown}\" has group or world access"),
            detail: Some(GROUP_WORLD_DETAIL.to_string()),
            fix: Some(fix),
        };
    }
    let unreadable = if owned_by_server {
        (mode & 0o400 == 0).then(|| {
            format!(
                "owned by the server user (uid {}) but mode {mode:04o} has no owner read bit",
                reader.uid
            )
        })
    } else if !reader.in_group(facts.gid) {
        Some(format!(
            "owned by root with group {} and mode {mode:04o}: a root-owned key is read through its group, \
             and the server user (uid {}, gid {}) is not in group {}",
            facts.gid, reader.uid, reader.gid, facts.gid
        ))
    } else {
        (mode & 0o040 == 0).then(|| {
            format!(
                "owned by root with mode {mode:04o}: a root-owned key is read through its group, \
                 which has no read bit"
            )
        })
    };
    match unreadable {
        None => KeyFileVerdict::Loads,
        Some(reason) => KeyFileVerdict::PassesCheckButUnreadable {
            // OpenSSL's reason for the failed open, as PostgreSQL prints it
            message: format!("could not load private key file \"{shown}\": Permission denied"),
            reason,
            fix,
        },
    }
}

/// The programs that read a pgtls server key, each with its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProgram {
    /// PostgreSQL: the permission check of `be-secure-common.c`, then an open
    /// ([`key_file_verdict`]).
    PostgreSql,
    /// PgBouncer (`client_tls_key_file`): no permission check at all (pgbouncer/pgbouncer
    /// `src/sbuf.c` hands the path to `tls_config_set_key_file`, which only opens and reads it),
    /// so the only question is whether its user can read the file. The edoburu/pgbouncer image
    /// runs as `postgres`, uid 70 (Alpine).
    PgBouncer,
}

/// Decides whether `program`, running as `reader`, can load a key file with `facts`.
///
/// For [`KeyProgram::PostgreSql`] this is [`key_file_verdict`]. For [`KeyProgram::PgBouncer`]
/// the key loads when its user can read it (owner, group or other read bit, as the kernel
/// decides for a non-root process); when it cannot, the message is what PgBouncer logs before it
/// exits (`TLS setup failed: failed to load private key file "F": (null)`, seen from PgBouncer
/// 1.18 run as a user that cannot read the key) and the fix gives the key to that user with
/// mode 0600. A PgBouncer key readable by group or others still loads: pgtls's own rule (one
/// reader per key copy, 0600) is judged by the caller.
///
/// ```
/// use pgtls_certs::{KeyFileFacts, KeyProgram, KeyReader, key_file_verdict_for};
/// let pgbouncer = KeyReader::new(70, 70); // edoburu/pgbouncer: USER postgres (uid 70)
/// let db_owned = KeyFileFacts { is_regular_file: true, uid: 105, gid: 106, mode: 0o600 };
/// let verdict = key_file_verdict_for(KeyProgram::PgBouncer, "/etc/pgbouncer-tls/server.key", db_owned, pgbouncer);
/// assert!(!verdict.loads());
/// assert_eq!(verdict.fix().unwrap().command("server.key"), "chown 70:70 'server.key' && chmod 0600 'server.key'");
/// let own = KeyFileFacts { uid: 70, gid: 70, ..db_owned };
/// assert!(key_file_verdict_for(KeyProgram::PgBouncer, "k", own, pgbouncer).loads());
/// ```
pub fn key_file_verdict_for(
    program: KeyProgram,
    shown: &str,
    facts: KeyFileFacts,
    reader: KeyReader<'_>,
) -> KeyFileVerdict {
    match program {
        KeyProgram::PostgreSql => key_file_verdict(shown, facts, reader),
        KeyProgram::PgBouncer => {
            let fix = KeyFileFix {
                uid: reader.uid,
                gid: reader.gid,
                mode: 0o600,
            };
            if !facts.is_regular_file {
                return KeyFileVerdict::Refused {
                    message: format!(
                        "TLS setup failed: failed to load private key file \"{shown}\": (null)"
                    ),
                    detail: None,
                    fix: None,
                };
            }
            let mode = facts.mode & 0o777;
            let readable = if facts.uid == reader.uid {
                mode & 0o400 != 0
            } else if reader.in_group(facts.gid) {
                mode & 0o040 != 0
            } else {
                mode & 0o004 != 0
            };
            if readable {
                KeyFileVerdict::Loads
            } else {
                KeyFileVerdict::PassesCheckButUnreadable {
                    message: format!(
                        "TLS setup failed: failed to load private key file \"{shown}\": (null)"
                    ),
                    reason: format!(
                        "owned by {}:{} with mode {mode:04o}: PgBouncer (uid {}, gid {}) cannot read it",
                        facts.uid, facts.gid, reader.uid, reader.gid
                    ),
                    fix,
                }
            }
        }
    }
}

/// [`key_file_verdict`] for a file on disk: `Err` when `stat(2)` fails, as PostgreSQL reports it.
///
/// # Errors
/// PostgreSQL's `could not access private key file` message.
pub fn key_file_verdict_at(
    path: &Path,
    reader: KeyReader<'_>,
) -> Result<KeyFileVerdict, KeyFileProblem> {
    let facts = KeyFileFacts::of(path)?;
    Ok(key_file_verdict(&path.display().to_string(), facts, reader))
}

/// Would a PostgreSQL server running as `server_uid` accept `path` as its `ssl_key_file`?
///
/// [`key_file_verdict`] on the file's facts, with the server's groups looked up in this host's
/// `/etc/passwd` and `/etc/group`. When `server_uid` is not in `/etc/passwd` (a container's uid
/// seen from the host) its groups are unknown and a root-owned key is reported unreadable (the
/// answer that cannot be wrong in the harmful direction); use
/// [`postgres_key_file_check_with_groups`] or [`key_file_verdict`] to give the groups.
///
/// Not modelled: search permission on the directories above the file, and whether the key
/// parses or matches the certificate.
///
/// # Errors
/// PostgreSQL's message, its detail and a fix that loads.
pub fn postgres_key_file_check(path: &Path, server_uid: u32) -> Result<(), KeyFileProblem> {
    let groups = user_groups(server_uid).unwrap_or_default();
    postgres_key_file_check_with_groups(path, server_uid, &groups)
}

/// [`postgres_key_file_check`] with the server's group ids given (primary first, then the
/// supplementary ones).
///
/// # Errors
/// PostgreSQL's message, its detail and a fix that loads.
pub fn postgres_key_file_check_with_groups(
    path: &Path,
    server_uid: u32,
    server_gids: &[u32],
) -> Result<(), KeyFileProblem> {
    let shown = path.display().to_string();
    let (gid, supplementary_gids) = match server_gids.split_first() {
        Some((g, rest)) => (*g, rest),
        // no known group: a gid no file on a sane host has, so only the owner bits count
        None => (u32::MAX, &[][..]),
    };
    let reader = KeyReader {
        uid: server_uid,
        gid,
        supplementary_gids,
    };
    let verdict = key_file_verdict_at(path, reader)?;
    let hint = |fix: Option<KeyFileFix>| match fix {
        // the group is unknown: give the key to the server user, which loads whatever the group
        Some(_) if server_gids.is_empty() => {
            let q = shown.replace('\'', r"'\''");
            format!("chown {server_uid} '{q}' && chmod 0600 '{q}'")
        }
        Some(fix) => fix.command(&shown),
        None => format!("point ssl_key_file at the key itself, not \"{shown}\""),
    };
    match verdict {
        KeyFileVerdict::Loads => Ok(()),
        KeyFileVerdict::Refused {
            message,
            detail,
            fix,
        } => Err(KeyFileProblem {
            message,
            detail,
            hint: hint(fix),
        }),
        KeyFileVerdict::PassesCheckButUnreadable { message, fix, .. } => Err(KeyFileProblem {
            message,
            detail: None,
            hint: hint(Some(fix)),
        }),
    }
}

/// Primary and supplementary group ids of `uid` from `/etc/passwd` and `/etc/group`; `None` when
/// the uid is not listed.
fn user_groups(uid: u32) -> Option<Vec<u32>> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let (name, primary) = passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let u: u32 = f.next()?.parse().ok()?;
        let g: u32 = f.next()?.parse().ok()?;
        (u == uid).then(|| (name.to_string(), g))
    })?;
    let mut gids = vec![primary];
    if let Ok(group) = std::fs::read_to_string("/etc/group") {
        for line in group.lines() {
            let mut f = line.split(':');
            let (Some(_), Some(_), Some(g), Some(members)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if members.split(',').any(|m| m == name)
                && let Ok(g) = g.parse()
                && g != primary
            {
                gids.push(g);
            }
        }
    }
    Some(gids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const READER: KeyReader<'static> = KeyReader::new(105, 106);

    fn facts(uid: u32, gid: u32, mode: u32) -> KeyFileFacts {
        KeyFileFacts {
            is_regular_file: true,
            uid,
            gid,
            mode,
        }
    }

    #[test]
    fn the_rule_from_the_readers_side() {
        use KeyFileVerdict as V;
        let v = |uid, gid, mode| key_file_verdict("k", facts(uid, gid, mode), READER);
        assert_eq!(v(105, 106, 0o600), V::Loads);
        assert_eq!(v(105, 0, 0o400), V::Loads);
        assert_eq!(v(0, 106, 0o640), V::Loads);
        assert_eq!(v(0, 106, 0o440), V::Loads);
        assert!(matches!(v(0, 0, 0o600), V::PassesCheckButUnreadable { .. }));
        assert!(matches!(
            v(0, 106, 0o600),
            V::PassesCheckButUnreadable { .. }
        ));
        assert!(matches!(
            v(0, 4343, 0o640),
            V::PassesCheckButUnreadable { .. }
        ));
        assert!(matches!(
            v(105, 106, 0o200),
            V::PassesCheckButUnreadable { .. }
        ));
        assert!(matches!(
            v(105, 106, 0o640),
            V::Refused {
                detail: Some(_),
                ..
            }
        ));
        assert!(matches!(
            v(0, 106, 0o644),
            V::Refused {
                detail: Some(_),
                ..
            }
        ));
        assert!(matches!(
            v(0, 106, 0o660),
            V::Refused {
                detail: Some(_),
                ..
            }
        ));
        assert_eq!(
            v(1000, 106, 0o600).message(),
            Some("private key file \"k\" must be owned by the database user or root")
        );
        let supplementary = KeyReader {
            supplementary_gids: &[103],
            ..READER
        };
        assert!(key_file_verdict("k", facts(0, 103, 0o640), supplementary).loads());
        let dir = KeyFileFacts {
            is_regular_file: false,
            ..facts(105, 106, 0o600)
        };
        let refused = key_file_verdict("k", dir, READER);
        assert_eq!(
            refused.message(),
            Some("private key file \"k\" is not a regular file")
        );
        assert_eq!(refused.fix(), None);
    }

    /// Every suggested fix loads, over every owner kind, group kind and mode.
    #[test]
    fn every_fix_passes_the_rule() {
        let mut fixes = 0;
        for uid in [105, 0, 1000] {
            for gid in [106, 0, 4343] {
                for mode in 0..=0o777 {
                    let f = facts(uid, gid, mode);
                    let verdict = key_file_verdict("k", f, READER);
                    match verdict.fix() {
                        None => assert!(verdict.loads(), "{f:?}: no fix for {verdict:?}"),
                        Some(fix) => {
                            fixes += 1;
                            let after = key_file_verdict("k", fix.applied_to(f), READER);
                            assert!(after.loads(), "{f:?}: fix {fix:?} gives {after:?}");
                        }
                    }
                }
            }
        }
        assert!(fixes > 4000, "{fixes}");
    }

    #[test]
    fn fix_command_quotes_the_path() {
        let fix = KeyFileFix {
            uid: 105,
            gid: 106,
            mode: 0o600,
        };
        assert_eq!(
            fix.command("it's.key"),
            r"chown 105:106 'it'\''s.key' && chmod 0600 'it'\''s.key'"
        );
    }

    #[test]
    fn missing_file_uses_postgres_wording() {
        let p = Path::new("/nonexistent/pgtls/server.key");
        let err = postgres_key_file_check(p, 999).unwrap_err();
        assert_eq!(
            err.message,
            "could not access private key file \"/nonexistent/pgtls/server.key\": No such file or directory"
        );
    }

    #[test]
    fn unreadable_own_key_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, b"x").unwrap();
        let md = std::fs::metadata(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        let e = postgres_key_file_check_with_groups(&p, md.uid(), &[md.gid()]).unwrap_err();
        assert!(
            e.message.starts_with("could not load private key file"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with(": Permission denied"));
    }

    #[test]
    fn directory_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = postgres_key_file_check(dir.path(), 0).unwrap_err();
        assert!(
            err.message.ends_with("is not a regular file"),
            "{}",
            err.message
        );
    }

    #[test]
    fn mode_rules_for_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, b"x").unwrap();
        let md = std::fs::metadata(&p).unwrap();
        let me = md.uid();
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o640, false),
            (0o604, false),
            (0o700, true),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let verdict = postgres_key_file_check_with_groups(&p, me, &[md.gid()]);
            assert_eq!(verdict.is_ok(), ok, "mode {mode:o}");
            if let Err(e) = verdict {
                assert_eq!(e.detail.as_deref(), Some(GROUP_WORLD_DETAIL));
            }
        }
    }
}

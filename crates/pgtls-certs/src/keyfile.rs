//! PostgreSQL's rule for `ssl_key_file`, as a function.

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

/// Would a PostgreSQL server running as `server_uid` accept `path` as its `ssl_key_file`?
///
/// Mirrors `check_ssl_key_file_permissions` (PostgreSQL 10 to 17, `be-secure-common.c`): the file
/// must exist and be a regular file (symlinks are followed), be owned by the server's user or by
/// root, and have no group or other bits when owned by the server's user, or at most group read
/// when owned by root. Then, as the server's next step would fail, the file must be readable by
/// the server's user: a root-owned 0640 key needs the server in the file's group. Group
/// membership is looked up in this host's `/etc/passwd` and `/etc/group`; when `server_uid` is not
/// in `/etc/passwd` (a container's uid seen from the host) the readability step is skipped; use
/// [`postgres_key_file_check_with_groups`] to give the groups explicitly.
///
/// The path appears in messages as given, as PostgreSQL prints the setting's value.
///
/// Not modelled: search permission on the directories above the file, and whether the key
/// parses or matches the certificate.
pub fn postgres_key_file_check(path: &Path, server_uid: u32) -> Result<(), KeyFileProblem> {
    let groups = user_groups(server_uid);
    check(path, server_uid, groups.as_deref())
}

/// [`postgres_key_file_check`] with the server's group ids given (primary and supplementary).
pub fn postgres_key_file_check_with_groups(
    path: &Path,
    server_uid: u32,
    server_gids: &[u32],
) -> Result<(), KeyFileProblem> {
    check(path, server_uid, Some(server_gids))
}

/// The facts about a key file PostgreSQL's rule looks at (`stat(2)` of the file, symlinks
/// followed), for files that are planned rather than on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFileFacts {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Whether it is a regular file.
    pub is_regular: bool,
}

/// PostgreSQL's key-file rule over facts, without touching the disk: the same checks, messages
/// and hints as [`postgres_key_file_check`], with `shown` as the path in messages. With
/// `server_gids` `None` the readability step is skipped.
///
/// ```
/// use pgtls_certs::{KeyFileFacts, key_file_rule};
///
/// let facts = KeyFileFacts { uid: 105, gid: 106, mode: 0o640, is_regular: true };
/// let problem = key_file_rule("/etc/postgresql-tls/server.key", facts, 105, None).unwrap_err();
/// assert_eq!(
///     problem.message,
///     "private key file \"/etc/postgresql-tls/server.key\" has group or world access"
/// );
/// assert!(key_file_rule("k", KeyFileFacts { mode: 0o600, ..facts }, 105, None).is_ok());
/// ```
pub fn key_file_rule(
    shown: &str,
    facts: KeyFileFacts,
    server_uid: u32,
    server_gids: Option<&[u32]>,
) -> Result<(), KeyFileProblem> {
    let KeyFileFacts {
        uid,
        gid,
        mode,
        is_regular,
    } = facts;
    if !is_regular {
        return Err(KeyFileProblem {
            message: format!("private key file \"{shown}\" is not a regular file"),
            detail: None,
            hint: format!("point ssl_key_file at the key itself, not \"{shown}\""),
        });
    }
    if uid != server_uid && uid != 0 {
        return Err(KeyFileProblem {
            message: format!(
                "private key file \"{shown}\" must be owned by the database user or root"
            ),
            detail: None,
            hint: format!("chown {server_uid} '{shown}' && chmod 0600 '{shown}'"),
        });
    }
    let too_open = if uid == server_uid {
        mode & 0o077 != 0
    } else {
        // owned by root: group read is allowed, nothing else for group or other
        mode & 0o037 != 0
    };
    if too_open {
        let fix = if uid == server_uid { "0600" } else { "0640" };
        return Err(KeyFileProblem {
            message: format!("private key file \"{shown}\" has group or world access"),
            detail: Some(GROUP_WORLD_DETAIL.to_string()),
            hint: format!("chmod {fix} '{shown}'"),
        });
    }
    if let Some(gids) = server_gids {
        let readable = if uid == server_uid {
            mode & 0o400 != 0
        } else if gids.contains(&gid) {
            mode & 0o040 != 0
        } else {
            mode & 0o004 != 0
        };
        if !readable {
            // OpenSSL's reason for the failed open, as PostgreSQL prints it
            return Err(KeyFileProblem {
                message: format!("could not load private key file \"{shown}\": Permission denied"),
                detail: None,
                hint: format!(
                    "chown {server_uid} '{shown}' && chmod 0600 '{shown}', or keep it root-owned with mode 0640 and a group of the server user"
                ),
            });
        }
    }
    Ok(())
}

fn check(path: &Path, server_uid: u32, server_gids: Option<&[u32]>) -> Result<(), KeyFileProblem> {
    let shown = path.display();
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) => {
            let reason = match e.kind() {
                ErrorKind::NotFound => "No such file or directory".to_string(),
                ErrorKind::PermissionDenied => "Permission denied".to_string(),
                _ => e.to_string(),
            };
            return Err(KeyFileProblem {
                message: format!("could not access private key file \"{shown}\": {reason}"),
                detail: None,
                hint: format!(
                    "check that \"{shown}\" exists and its directories are searchable by the server user"
                ),
            });
        }
    };
    let facts = KeyFileFacts {
        uid: md.uid(),
        gid: md.gid(),
        mode: md.mode(),
        is_regular: md.file_type().is_file(),
    };
    key_file_rule(&shown.to_string(), facts, server_uid, server_gids)
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
    fn unreadable_root_owned_key_is_reported() {
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
        let me = std::fs::metadata(&p).unwrap().uid();
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o640, false),
            (0o604, false),
            (0o700, true),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let verdict = postgres_key_file_check(&p, me);
            assert_eq!(verdict.is_ok(), ok, "mode {mode:o}");
            if let Err(e) = verdict {
                assert_eq!(e.detail.as_deref(), Some(GROUP_WORLD_DETAIL));
            }
        }
        // a file owned by someone else (and not root) is refused whatever its mode
        // (needs root to give the file away; as a normal user, our own file checked for
        // another uid shows the same rule)
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (owner, server) = if me == 0 {
            std::os::unix::fs::chown(&p, Some(4242), None).unwrap();
            (4242, 4343)
        } else {
            (me, me + 1)
        };
        assert_eq!(std::fs::metadata(&p).unwrap().uid(), owner);
        let e = postgres_key_file_check(&p, server).unwrap_err();
        assert!(
            e.message
                .ends_with("must be owned by the database user or root"),
            "{}",
            e.message
        );
        assert_eq!(e.detail, None);
    }
}

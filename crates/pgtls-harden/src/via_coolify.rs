//! Hardening through Coolify: open a service from its API, keep the host files transactional
//! around the compose PATCH, and keep Coolify's copy of the tenant script in step.
//!
//! The order is deliberate. Coolify processes a stored compose at once (`Service::parse`):
//! a newly mounted file that does not exist yet gets a folder made in its place (`mkdir -p` in
//! `LocalFileVolume::saveStorageOnServer`). So the host files are written first
//! ([`save`] records what they were), the compose is stored after, and a failed store puts
//! every file back ([`rollback`]). Facts and commits: `docs/coolify-facts.md`.

use std::path::{Path, PathBuf};

use crate::coolify::{Client, ComposeOverlay, Token};
use crate::error::{Context as _, Error, Result};
use crate::layout::{self, Layout, LayoutKind};
use crate::source::FsSource;
use crate::tree::Tree;

/// The environment variable the CLI reads the API token from (never a flag: argv is visible
/// to other users of the machine).
pub const TOKEN_ENV: &str = "COOLIFY_TOKEN";

/// The file a Coolify folder gets when there is no API access, to paste into Coolify.
pub const PASTE_FILE: &str = "docker-compose.pgtls.yml";

/// A Coolify service opened through the API: its compose (Coolify's copy) over the host folder.
#[derive(Debug)]
pub struct Opened {
    /// The API client.
    pub client: Client,
    /// The service uuid.
    pub uuid: String,
    /// The host folder with Coolify's compose in place of the one on disk.
    pub tree: Tree,
    /// The layout detected in Coolify's compose (db and pooler both present).
    pub layout: Layout,
}

/// The service uuid: `service` when given, else the folder's name
/// (`/data/coolify/services/<uuid>`). Letters, digits, `-` and `_` only.
pub fn service_uuid(dir: &Path, service: Option<&str>) -> Result<String> {
    let uuid = match service {
        Some(u) => u.to_owned(),
        None => std::fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    };
    let ok = !uuid.is_empty()
        && uuid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(Error::Message(format!(
            "invalid Coolify service uuid {uuid:?}: a uuid is letters, digits, `-` and `_` (the name of \"{}\" is not one; pass --coolify-service UUID)",
            dir.display()
        )));
    }
    Ok(uuid)
}

/// GET the service and detect its layout over `dir`'s host files. Refusals (exit 1) for a
/// missing token, a token that may not read the compose, and a service that is not a Supabase
/// stack with both the db and the pooler; API errors carry Coolify's message.
pub fn open(
    dir: &Path,
    url: &str,
    token: Option<Token>,
    service: Option<&str>,
    forced: Option<LayoutKind>,
) -> Result<Opened> {
    if !dir.is_dir() {
        return Err(Error::Message(format!(
            "\"{}\" is not a folder (the Coolify service folder, /data/coolify/services/<uuid>)",
            dir.display()
        )));
    }
    let Some(token) = token else {
        return Err(Error::Refused(format!(
            "--coolify-url needs an API token in the {TOKEN_ENV} environment variable (Coolify: Keys & Tokens > API tokens; the token must be allowed to read sensitive data to see the compose, and to write). Without API access, run without --coolify-url: pgtls then writes {PASTE_FILE} to paste into Coolify"
        )));
    };
    let client = Client::new(url, token)?;
    let uuid = service_uuid(dir, service)?;
    let info = client
        .service(&uuid)
        .with_context(|| format!("reading service {uuid} from Coolify at {}", client.url()))?;
    let Some(raw) = info.docker_compose_raw else {
        return Err(Error::Refused(format!(
            "Coolify's answer for service {uuid} has no docker_compose_raw: Coolify shows a service's compose only to tokens allowed to read sensitive data (permission `read:sensitive` or `root`, held by a team admin or owner). Create such a token, or paste the compose by hand (run without --coolify-url)"
        )));
    };
    let overlay = ComposeOverlay::new(Box::new(FsSource::new(dir)), "docker-compose.yml", raw);
    let tree = Tree::over(Box::new(overlay), None);
    let not_supabase = |why: String| {
        Error::Refused(format!(
            "Coolify service {uuid} is not a Supabase stack pgtls can harden: {why}"
        ))
    };
    let layout = layout::detect(&tree, forced).map_err(|e| not_supabase(e.to_string()))?;
    if layout.pooler.is_none() {
        return Err(not_supabase(format!(
            "its compose has the database service `{}` but no Supavisor pooler service (`supabase-supavisor`)",
            layout.db.key
        )));
    }
    Ok(Opened {
        client,
        uuid,
        tree,
        layout,
    })
}

/// What a file was before a write, to put it back.
#[derive(Debug)]
pub struct Saved {
    path: PathBuf,
    before: Option<(Vec<u8>, std::fs::Permissions, u32, u32)>,
    /// Its folders that did not exist yet, deepest first.
    missing_dirs: Vec<PathBuf>,
}

/// Record the current state of the files about to be written.
pub fn save(root: &Path, paths: &[PathBuf]) -> Result<Vec<Saved>> {
    use std::os::unix::fs::MetadataExt as _;
    let mut out = Vec::new();
    for rel in paths {
        let abs = root.join(rel);
        let before = match std::fs::metadata(&abs) {
            Ok(meta) => Some((
                std::fs::read(&abs).map_err(|source| Error::Io {
                    context: format!("reading \"{}\"", abs.display()),
                    source,
                })?,
                meta.permissions(),
                meta.uid(),
                meta.gid(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Io {
                    context: format!("reading \"{}\"", abs.display()),
                    source,
                });
            }
        };
        let missing_dirs = abs
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(root) && *d != root && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        out.push(Saved {
            path: rel.clone(),
            before,
            missing_dirs,
        });
    }
    Ok(out)
}

/// Put the files back as [`save`] found them, remove the folders and backups the apply made.
/// Returns what could not be restored.
pub fn rollback(root: &Path, saved: &[Saved], applied: &crate::apply::Applied) -> Vec<String> {
    let mut problems = Vec::new();
    for s in saved.iter().rev() {
        let abs = root.join(&s.path);
        let result = match &s.before {
            None => match std::fs::remove_file(&abs) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
                _ => Ok(()),
            },
            Some((bytes, perms, uid, gid)) => {
                restore(&abs, bytes, perms, *uid, *gid).map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result {
            problems.push(format!("\"{}\": {e}", abs.display()));
        }
    }
    for d in applied.created_dirs.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
    for d in saved.iter().flat_map(|s| &s.missing_dirs) {
        let _ = std::fs::remove_dir(d);
    }
    if let Some(b) = &applied.backup_dir {
        let _ = std::fs::remove_dir_all(b);
        if let Some(parent) = b.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    problems
}

/// Puts a file back through the one writer ([`pgtls_certs::write_atomic_with`], no backup:
/// the bytes are the ones a backup would hold), with its mode and, where this process may set
/// it (root), its owner; otherwise the file stays ours, as it was.
fn restore(
    abs: &Path,
    bytes: &[u8],
    perms: &std::fs::Permissions,
    uid: u32,
    gid: u32,
) -> std::result::Result<(), pgtls_certs::Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let opts = |owner| pgtls_certs::WriteOptions {
        mode: perms.mode() & 0o7777,
        owner,
        backup: false,
        protect_existing: false,
    };
    let write = |o| pgtls_certs::write_atomic_with(abs, bytes, &opts(o), None, &|_| Ok(()));
    write(Some(pgtls_certs::Owner { uid, gid }))
        .or_else(|_| write(None))
        .map(|_| ())
}

/// The plan's change of the tenant script's host file, with its container path.
pub fn tenant_change<'a>(
    layout: &Layout,
    changes: &'a [crate::FileChange],
) -> Option<(&'a crate::FileChange, String)> {
    let pooler = layout.pooler.as_ref()?;
    let mount = layout::tenant_script_mount(pooler)?;
    let host = layout::relative_host_path(&mount.source)?;
    let change = changes.iter().find(|c| c.path == host)?;
    Some((change, mount.target.clone()))
}

/// Put the new tenant script into Coolify's file storage at `target` too (Coolify keeps the
/// content of bind-mounted files in its database and writes it back when the storage is saved
/// in its UI). Returns what happened, as a sentence for the report.
pub fn sync_storage(
    client: &Client,
    uuid: &str,
    host: &Path,
    target: &str,
    content: &str,
    pooler: &str,
) -> String {
    let by_hand = format!(
        "put the same content into Coolify's copy by hand (service > {pooler} > Persistent Storage > {target}), or a save of that storage in Coolify's UI writes the old script back"
    );
    let storages = match client.file_storages(uuid) {
        Ok(s) => s,
        Err(e) if matches!(e.status(), Some(404 | 405)) => {
            return format!(
                "this Coolify has no storage API (it came with v4.0.0-beta.470): {}: {by_hand}",
                host.display()
            );
        }
        Err(e) => return format!("reading Coolify's file storages failed ({e}): {by_hand}"),
    };
    let Some(storage) = storages
        .iter()
        .find(|s| s.mount_path.trim_end_matches('/') == target.trim_end_matches('/'))
    else {
        return format!("Coolify lists no file storage at {target}: {by_hand}");
    };
    if storage.content.as_deref() == Some(content) {
        return format!(
            "Coolify's stored copy of {target} already matches {}",
            host.display()
        );
    }
    match client.set_file_content(uuid, storage, content) {
        Ok(()) => format!(
            "PATCH {}/api/v1/services/{uuid}/storages: Coolify's stored copy of {target} now matches {}",
            client.url(),
            host.display()
        ),
        Err(e) => format!("storing {target} in Coolify failed ({e}): {by_hand}"),
    }
}

/// Where the plan's compose change goes.
#[derive(Debug, Default)]
pub struct Routed {
    /// The hardened compose, for Coolify's PATCH (API mode).
    pub to_coolify: Option<crate::FileChange>,
    /// The paste file, when a Coolify folder has no API access.
    pub paste_file: Option<PathBuf>,
}

/// Take the compose change out of `plan`: Coolify rewrites `docker-compose.yml` from its own
/// copy at every deploy, so the compose goes to Coolify (`api`), or into [`PASTE_FILE`] for a
/// Coolify folder edited in place; other layouts keep it.
pub fn route_compose(
    plan: &mut crate::Plan,
    layout: &Layout,
    tree: &Tree,
    api: bool,
) -> Result<Routed> {
    let coolify_folder = layout.kind == LayoutKind::Coolify && tree.in_place() && !api;
    let Some(i) = plan
        .changes
        .iter()
        .position(|c| c.path == layout.compose)
        .filter(|_| api || coolify_folder)
    else {
        return Ok(Routed::default());
    };
    let mut c = plan.changes.remove(i);
    if api {
        return Ok(Routed {
            to_coolify: Some(c),
            paste_file: None,
        });
    }
    let paste = PathBuf::from(PASTE_FILE);
    c.before = tree.read(&paste)?;
    c.path.clone_from(&paste);
    if c.before.as_deref() != Some(c.after.as_slice()) {
        plan.changes.push(c);
    }
    Ok(Routed {
        to_coolify: None,
        paste_file: Some(paste),
    })
}

/// What [`store`] did.
#[derive(Debug, Default)]
pub struct Stored {
    /// The compose was stored (`PATCH`).
    pub patched: bool,
    /// Coolify's answer to the restart.
    pub restarted: Option<String>,
    /// What happened to Coolify's copy of the tenant script.
    pub storage_note: Option<String>,
}

/// After the host files were written (`saved` is what they were, `applied` what the write
/// did): PATCH the compose (on failure put the files back and fail), keep Coolify's copy of
/// the tenant script in step, restart when asked.
#[allow(
    clippy::too_many_arguments,
    reason = "one call from the CLI, every argument used once"
)]
pub fn store(
    opened: (&Client, &str),
    root: &Path,
    layout: &Layout,
    changes: &[crate::FileChange],
    to_coolify: Option<&crate::FileChange>,
    undo: Option<(&[Saved], &crate::apply::Applied)>,
    restart: bool,
) -> Result<Stored> {
    let (client, uuid) = opened;
    let mut out = Stored::default();
    if let Some(c) = to_coolify {
        if let Err(e) = client.set_compose(uuid, &String::from_utf8_lossy(&c.after)) {
            let msg = match undo {
                Some((saved, applied)) => {
                    let problems = rollback(root, saved, applied);
                    if problems.is_empty() {
                        "the host files written before the PATCH were put back: nothing in the folder was changed".to_owned()
                    } else {
                        format!(
                            "the host files were written before the PATCH and could not all be put back: {}",
                            problems.join("; ")
                        )
                    }
                }
                None => "nothing in the folder was changed".to_owned(),
            };
            return Err(e).context(format!("storing the hardened compose in Coolify ({msg})"));
        }
        out.patched = true;
    }
    if let Some((change, target)) = tenant_change(layout, changes) {
        let pooler = layout
            .pooler
            .as_ref()
            .map_or("supabase-supavisor", |p| p.key.as_str());
        out.storage_note = Some(sync_storage(
            client,
            uuid,
            &change.path,
            &target,
            &String::from_utf8_lossy(&change.after),
            pooler,
        ));
    }
    if restart {
        let done = if out.patched { "is" } else { "was already" };
        out.restarted = Some(client.restart(uuid).with_context(|| {
            format!("asking Coolify to restart service {uuid} (the compose {done} stored; restart it from Coolify)")
        })?);
    }
    Ok(out)
}

/// The report's "Coolify" lines for an API run, and the first next step.
pub fn notes(
    opened: (&Client, &str),
    stored: &Stored,
    dry_run: bool,
    host_files: bool,
    compose_changed: bool,
    layout: &Layout,
    changes: &[crate::FileChange],
) -> (Vec<String>, String) {
    let (client, uuid) = opened;
    let url = client.url();
    let mut notes = vec![format!(
        "GET {url}/api/v1/services/{uuid}: Coolify's copy of the compose was read and hardened in memory"
    )];
    let reserialised = "Coolify re-serialises a stored compose (Yaml::dump(Yaml::parse(...))): comments and formatting in its copy do not survive this path";
    if dry_run {
        notes.push(
            "dry run: only that GET was sent; nothing was written and nothing was sent to Coolify"
                .to_owned(),
        );
        if compose_changed {
            notes.push(format!(
                "a real run stores the compose with PATCH. {reserialised}"
            ));
        }
    } else if stored.patched {
        notes.push(format!(
            "PATCH {url}/api/v1/services/{uuid}: Coolify stored the hardened compose. {reserialised}"
        ));
        if host_files {
            notes.push("the host files (certificates, pg_hba.conf, tenant script) were written into the folder first, because Coolify makes a folder where a newly mounted file is missing".to_owned());
            notes.push("Coolify records each newly mounted single file (the pooler's server.crt and server.key, pg_hba.conf) as a file storage of the service and reads its content into its own database".to_owned());
        }
    } else if !compose_changed {
        notes.push("Coolify's compose is already hardened: nothing was sent".to_owned());
    }
    if let Some((tenant, _)) = tenant_change(layout, changes) {
        notes.push(format!(
            "Coolify keeps its own copy of {} (a file storage of the pooler; a changed `content:` in the compose does not replace it) and writes it back when that storage is saved in its UI",
            tenant.path.display(),
        ));
    }
    notes.extend(stored.storage_note.clone());
    let next = match (&stored.restarted, dry_run) {
        (Some(m), _) => format!(
            "Coolify answered the restart: {m}; the containers pick up the new compose and files when it has run"
        ),
        (None, true) => {
            "run again without --dry-run to store the compose in Coolify and write the host files"
                .to_owned()
        }
        (None, false) => "restart the service in Coolify (or run again with --coolify-restart) so the containers use the new compose and files".to_owned(),
    };
    (notes, next)
}

/// The first next step when a Coolify folder got [`PASTE_FILE`]: never "done".
pub fn paste_step(paste: &Path) -> String {
    format!(
        "NOT DONE YET: Coolify still holds the old compose. Open the service in Coolify, choose \"Edit Compose File\", replace the compose with the content of {} (in this folder), save, then restart the service. It was made from the docker-compose.yml on disk: if Coolify's copy differs (the editor shows it), carry the changes in the diff above over by hand instead. A deploy or restart before pasting rewrites docker-compose.yml from Coolify's copy and drops these compose edits (the files under volumes/ stay). With an API token, pgtls does this itself: {TOKEN_ENV}=... pgtls harden <folder> --coolify-url <url>",
        paste.display()
    )
}

/// The `check` item for a Coolify folder: what was checked, and that Coolify's own copy of
/// the compose is unknown from here (a warning, never a pass).
pub fn check_item(layout: &Layout, tree: &Tree) -> Option<crate::checklist::Item> {
    if layout.kind != LayoutKind::Coolify {
        return None;
    }
    let paste = tree.meta_src(Path::new(PASTE_FILE)).is_some();
    Some(crate::checklist::Item {
        id: crate::ids::CheckId::CoolifyCompose,
        verdict: crate::checklist::Verdict::Warn,
        detail: format!(
            "checked the files in this folder, {} as it is on disk; Coolify rewrites it from the compose in its own database at every deploy or restart, and that copy may differ: unknown here{}",
            layout.compose.display(),
            if paste {
                " (docker-compose.pgtls.yml is here: pasted into Coolify yet?)"
            } else {
                ""
            }
        ),
        fix: Some(format!(
            "{TOKEN_ENV}=... pgtls harden <folder> --coolify-url <url> --dry-run reads Coolify's copy and shows what differs"
        )),
    })
}

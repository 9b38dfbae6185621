//! `pgtls harden --coolify-url`: the deployment's compose comes from Coolify's API.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pgtls_harden::coolify::{Client, ComposeOverlay, Token};
use pgtls_harden::{FsSource, Layout};

use crate::cli::HardenArgs;
use crate::error::Error;
use crate::layout;
use crate::tree::Tree;

/// The environment variable holding the API token (never a flag: argv is visible to others).
pub const TOKEN_ENV: &str = "COOLIFY_TOKEN";

/// The file a Coolify folder gets when there is no API access.
pub const PASTE_FILE: &str = "docker-compose.pgtls.yml";

/// A Coolify service opened through the API.
pub struct Opened {
    pub client: Client,
    pub uuid: String,
    pub tree: Tree,
    pub layout: Layout,
}

fn refused(msg: String) -> anyhow::Error {
    Error::Refused(msg).into()
}

/// The service uuid: `--coolify-service`, else DIR's name.
fn service_uuid(args: &HardenArgs) -> anyhow::Result<String> {
    let dir = &args.deployment.dir;
    let uuid = match &args.coolify_service {
        Some(u) => u.clone(),
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
        anyhow::bail!(Error::BadValue {
            flag: "--coolify-service",
            value: uuid,
            reason: format!(
                "a Coolify service uuid is letters, digits, `-` and `_` (the name of \"{}\" is not one; pass --coolify-service UUID)",
                dir.display()
            ),
        });
    }
    Ok(uuid)
}

/// GET the service, and plan over its compose with DIR's host files.
pub fn open(args: &HardenArgs, url: &str) -> anyhow::Result<Opened> {
    let dir = &args.deployment.dir;
    if !dir.is_dir() {
        anyhow::bail!(Error::BadValue {
            flag: "DIR",
            value: dir.display().to_string(),
            reason: "not a folder".into(),
        });
    }
    let Some(token) = Token::from_env(TOKEN_ENV) else {
        return Err(refused(format!(
            "--coolify-url needs an API token in the {TOKEN_ENV} environment variable (Coolify: Keys & Tokens > API tokens; the token must be allowed to read sensitive data to see the compose, and to write). Without API access, run without --coolify-url: pgtls then writes {PASTE_FILE} to paste into Coolify"
        )));
    };
    let client = Client::new(url, token).map_err(pgtls_harden::Error::from)?;
    let uuid = service_uuid(args)?;
    let service = client
        .service(&uuid)
        .map_err(pgtls_harden::Error::from)
        .with_context(|| format!("reading service {uuid} from Coolify at {}", client.url()))?;
    let Some(raw) = service.docker_compose_raw else {
        return Err(refused(format!(
            "Coolify's answer for service {uuid} has no docker_compose_raw: Coolify shows a service's compose only to tokens allowed to read sensitive data (permission `read:sensitive` or `root`, held by a team admin or owner). Create such a token, or paste the compose by hand (run without --coolify-url)"
        )));
    };
    let overlay = ComposeOverlay::new(Box::new(FsSource::new(dir)), layout::COMPOSE_NAMES[0], raw);
    let tree = Tree::over(Box::new(overlay), None);
    let not_supabase = |why: String| {
        refused(format!(
            "Coolify service {uuid} is not a Supabase stack pgtls can harden: {why}"
        ))
    };
    let layout = match layout::detect(&tree, args.deployment.layout.map(Into::into)) {
        Ok(l) => l,
        Err(e) => return Err(not_supabase(e.to_string())),
    };
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
pub struct Saved {
    path: PathBuf,
    before: Option<(Vec<u8>, std::fs::Permissions, u32, u32)>,
    /// Its folders that did not exist yet, deepest first.
    missing_dirs: Vec<PathBuf>,
}

/// Record the current state of the files about to be written.
pub fn save(root: &Path, paths: &[PathBuf]) -> anyhow::Result<Vec<Saved>> {
    use std::os::unix::fs::MetadataExt as _;
    let mut out = Vec::new();
    for rel in paths {
        let abs = root.join(rel);
        let before = match std::fs::metadata(&abs) {
            Ok(meta) => Some((
                std::fs::read(&abs).with_context(|| format!("reading \"{}\"", abs.display()))?,
                meta.permissions(),
                meta.uid(),
                meta.gid(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(
                    anyhow::Error::from(e).context(format!("reading \"{}\"", abs.display()))
                );
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
pub fn rollback(
    root: &Path,
    saved: &[Saved],
    applied: &pgtls_harden::apply::Applied,
) -> Vec<String> {
    let mut problems = Vec::new();
    for s in saved.iter().rev() {
        let abs = root.join(&s.path);
        let result = match &s.before {
            None => match std::fs::remove_file(&abs) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Some((bytes, perms, uid, gid)) => restore(&abs, bytes, perms, *uid, *gid),
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

fn restore(
    abs: &Path,
    bytes: &[u8],
    perms: &std::fs::Permissions,
    uid: u32,
    gid: u32,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = abs.parent().unwrap_or(Path::new("."));
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.pgtls-restore"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    f.set_permissions(perms.clone())?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    // keep the owner when allowed (root); otherwise the file stays ours, as it was
    let _ = std::os::unix::fs::chown(&tmp, Some(uid), Some(gid));
    std::fs::rename(&tmp, abs)
}

/// The plan's change of the tenant script's host file, with its container path.
pub fn tenant_change<'a>(
    layout: &Layout,
    changes: &'a [pgtls_harden::FileChange],
) -> Option<(&'a pgtls_harden::FileChange, String)> {
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

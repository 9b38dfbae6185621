//! A second opinion from Compose itself: where a Compose v2 binary is on the host, `check` asks
//! `docker compose config --format json` for the merged db and pooler services and compares them
//! with pgtls's own merged model ([`crate::Layout::project`]). Agreement is a pass; a difference
//! is a warning (what Compose will run is then unknown to pgtls), never a pass; no Compose v2 (or
//! the Coolify layout, whose `content:` volumes Compose refuses) gives no item.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::checklist::{Item, Verdict};
use crate::layout::{Layout, LayoutKind};

/// The comparison as a checklist item `compose-model`, or `None` when Compose v2 is not
/// installed or does not apply (the Coolify layout; one file without `include:`/`extends:`,
/// where there is nothing to merge).
pub(crate) fn compare(dir: &Path, layout: &Layout) -> Option<Item> {
    if layout.kind == LayoutKind::Coolify {
        return None;
    }
    let project = layout.project.as_ref()?;
    if project.read.len() < 2 {
        return None;
    }
    let version = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    if !version.starts_with('2') {
        return None;
    }
    let mut cmd = Command::new("docker");
    cmd.arg("compose");
    for f in &layout.invocation.files {
        cmd.args(["-f", f]);
    }
    cmd.args(["config", "--format", "json"]).current_dir(dir);
    cmd.env_clear();
    for k in [
        "PATH",
        "HOME",
        "DOCKER_CONFIG",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
    ] {
        if let Ok(v) = std::env::var(k) {
            cmd.env(k, v);
        }
    }
    cmd.envs(&layout.invocation.env);
    let item = |verdict, detail: String, fix: Option<&str>| Item {
        id: crate::ids::CheckId::ComposeModel,
        verdict,
        detail,
        fix: fix.map(str::to_owned),
    };
    let out = match cmd.output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err
                .lines()
                .rfind(|l| !l.contains("level=warning"))
                .unwrap_or("")
                .to_owned();
            return Some(item(
                Verdict::Warn,
                format!("Compose {version} refuses the files pgtls read: {last}"),
                Some("run `docker compose config` in the folder and fix what it reports"),
            ));
        }
        Err(_) => return None,
    };
    let json: Json = serde_json::from_slice(&out.stdout).ok()?;
    let mut keys = vec![layout.db.key.clone()];
    if let Some(p) = layout.merged_pooler() {
        keys.push(p.key.clone());
    }
    let mut differences = Vec::new();
    for key in &keys {
        let theirs = json.get("services").and_then(|s| s.get(key));
        let ours = project.service(key).filter(|s| s.active);
        match (ours, theirs) {
            (None, None) => {}
            (Some(_), None) => differences.push(format!("`{key}`: Compose does not run it")),
            (None, Some(_)) => differences.push(format!("`{key}`: pgtls does not see it run")),
            (Some(ours), Some(theirs)) => differences.extend(
                differ(ours, theirs)
                    .into_iter()
                    .map(|d| format!("`{key}` {d}")),
            ),
        }
    }
    Some(if differences.is_empty() {
        item(
            Verdict::Pass,
            format!(
                "Compose {version} merges {} as pgtls does for {}",
                project.files.join(" + "),
                keys.join(", ")
            ),
            None,
        )
    } else {
        item(
            Verdict::Warn,
            format!(
                "unknown: `docker compose config` (Compose {version}) and pgtls merge the files differently: {}",
                differences.join("; ")
            ),
            Some("compare `docker compose config` with the files; please report the difference"),
        )
    })
}

/// `docker compose config` writes `$` as `$$` so its output reads back as the same model.
fn unescape(s: &str) -> String {
    s.replace("$$", "$")
}

fn differ(ours: &compose_patch::MergedService, theirs: &Json) -> Vec<String> {
    let mut out = Vec::new();
    let image = theirs.get("image").and_then(Json::as_str);
    if ours.image.as_ref().map(|i| i.value.as_str()) != image {
        out.push(format!("image: Compose {image:?}"));
    }
    let args = |v: Option<&Json>| {
        v.and_then(Json::as_array).map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(unescape)
                .collect::<Vec<_>>()
        })
    };
    if ours.command.as_ref().map(|c| c.value.clone()) != args(theirs.get("command")) {
        out.push("command".to_owned());
    }
    let env: BTreeMap<String, Option<String>> = theirs
        .get("environment")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(unescape)))
                .collect()
        })
        .unwrap_or_default();
    let our_env: BTreeMap<String, Option<String>> = ours
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    if env != our_env {
        out.push("environment".to_owned());
    }
    let mut targets: Vec<String> = theirs
        .get("volumes")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.get("target").and_then(Json::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut our_targets: Vec<String> = ours
        .volumes
        .iter()
        .map(|v| v.value.target.clone())
        .collect();
    targets.sort();
    our_targets.sort();
    if targets != our_targets {
        out.push("volumes".to_owned());
    }
    out
}

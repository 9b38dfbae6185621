//! Compose v2 as the judge: `docker compose config --format json` on files written to a
//! temporary folder, and the same files merged by `compose_patch::Project`, compared on the
//! keys pgtls reads and writes.
//!
//! These tests need Compose v2 (`docker compose version`): without it they fail, they do not
//! skip (scripts/deps installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use compose_patch::{LoadOptions, Project};
use serde_json::Value as Json;

/// One service reduced to what is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub image: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, Option<String>>,
    /// target -> (source relative to the project, read-only)
    pub volumes: BTreeMap<String, (String, bool)>,
    /// (published, target, protocol)
    pub ports: BTreeSet<(String, String, String)>,
}

/// `docker compose config --format json` in `dir` with `args` (`-f` pairs) and `env`
/// (the process environment is cleared but for PATH and HOME).
pub fn compose_config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Json, String> {
    let mut cmd = Command::new("docker");
    cmd.arg("compose");
    cmd.args(args);
    cmd.args(["config", "--format", "json"]);
    cmd.current_dir(dir);
    cmd.env_clear();
    for k in ["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"] {
        if let Ok(v) = std::env::var(k) {
            cmd.env(k, v);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("Compose v2 is needed for this test (`docker compose`): {e}"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("docker compose config printed JSON"))
}

/// Fails the test when Compose v2 is missing.
pub fn require_compose_v2() {
    let out = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .expect("Compose v2 is needed for this test: `docker` not found");
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && v.trim_start().starts_with('2'),
        "Compose v2 is needed for this test (`docker compose version` said {v:?}, {})",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docker compose config` writes `$` as `$$` so its output reads back as the same model;
/// the value the container gets has one `$`.
fn unescape(s: &str) -> String {
    s.replace("$$", "$")
}

fn args(v: Option<&Json>) -> Option<Vec<String>> {
    v.and_then(Json::as_array).map(|a| {
        a.iter()
            .map(|x| unescape(x.as_str().unwrap_or_default()))
            .collect()
    })
}

/// The services of Compose's JSON, reduced.
pub fn seen_from_json(dir: &Path, json: &Json) -> BTreeMap<String, Seen> {
    let root = format!("{}/", dir.canonicalize().unwrap().display());
    let mut out = BTreeMap::new();
    let Some(services) = json.get("services").and_then(Json::as_object) else {
        return out;
    };
    for (k, s) in services {
        let environment = s
            .get("environment")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(unescape)))
                    .collect()
            })
            .unwrap_or_default();
        let volumes = s
            .get("volumes")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| {
                        let src = v["source"].as_str().unwrap_or_default();
                        let src = src
                            .strip_prefix(&root)
                            .map_or(src.to_owned(), |r| format!("./{r}"));
                        (
                            v["target"].as_str().unwrap_or_default().to_owned(),
                            (
                                src,
                                v.get("read_only").and_then(Json::as_bool).unwrap_or(false),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ports = s
            .get("ports")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p.get("published")
                                .and_then(Json::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            p["target"].to_string(),
                            p.get("protocol")
                                .and_then(Json::as_str)
                                .unwrap_or("tcp")
                                .to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            k.clone(),
            Seen {
                image: s.get("image").and_then(Json::as_str).map(str::to_owned),
                command: args(s.get("command")),
                entrypoint: args(s.get("entrypoint")),
                environment,
                volumes,
                ports,
            },
        );
    }
    out
}

/// Our merged model of the running services, reduced the same way.
pub fn seen_from_project(p: &Project) -> BTreeMap<String, Seen> {
    p.running()
        .map(|s| {
            let seen = Seen {
                image: s.image.as_ref().map(|v| v.value.clone()),
                command: s.command.as_ref().map(|v| v.value.clone()),
                entrypoint: s.entrypoint.as_ref().map(|v| v.value.clone()),
                environment: s
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
                volumes: s
                    .volumes
                    .iter()
                    .map(|v| {
                        let src = v.value.source.clone().unwrap_or_default();
                        let src = if v.value.bind && !src.starts_with('/') {
                            format!("./{}", compose_patch::project::normalize(&src))
                        } else {
                            src
                        };
                        (v.value.target.clone(), (src, v.value.read_only))
                    })
                    .collect(),
                ports: s
                    .ports
                    .iter()
                    .map(|p| {
                        (
                            p.value.published.clone().unwrap_or_default(),
                            p.value.target.clone(),
                            p.value.protocol.clone(),
                        )
                    })
                    .collect(),
            };
            (s.key.clone(), seen)
        })
        .collect()
}

/// The running services, or why the stack was refused.
pub type Judged = Result<BTreeMap<String, Seen>, String>;

/// Write `files` into a fresh folder, run both, return (ours, Compose's) or Compose's error.
pub fn both(files: &[(&str, &str)], f_args: &[&str], env: &[(&str, &str)]) -> (Judged, Judged) {
    let dir = tempfile::tempdir().unwrap();
    let mut map = BTreeMap::new();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        map.insert((*name).to_owned(), (*text).to_owned());
    }
    let mut args = Vec::new();
    for f in f_args {
        args.push("-f");
        args.push(*f);
    }
    let theirs = compose_config(dir.path(), &args, env).map(|j| seen_from_json(dir.path(), &j));
    let opts = LoadOptions {
        files: f_args.iter().map(|s| (*s).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        profiles: Vec::new(),
    };
    let ours = Project::load(&map, &opts)
        .map(|p| seen_from_project(&p))
        .map_err(|e| e.to_string());
    (ours, theirs)
}

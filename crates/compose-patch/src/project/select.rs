//! Which files Compose reads: `-f`, else `COMPOSE_FILE` (environment, then `.env`), else the
//! default names; and the project's `.env` itself.

use std::collections::BTreeMap;

use super::interp::{self, Interpolator};
use super::model::{LoadOptions, ProjectFiles};
use super::paths::{normalize, perr};
use crate::error::Result;

/// Compose's default file names, in its order of preference (compose-go `DefaultFileNames`).
pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Compose's override file names, in its order (compose-go `DefaultOverrideFileNames`).
pub const OVERRIDE_FILES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The project's `.env`, interpolated as Compose reads it (empty when there is none).
pub(super) fn read_dotenv(
    files: &dyn ProjectFiles,
    opts: &LoadOptions,
) -> Result<BTreeMap<String, String>> {
    Ok(
        match files.read_file(".env").map_err(|e| perr(".env", 0, e))? {
            Some(text) => interp::parse_dotenv(&text, &opts.env)
                .map_err(|(line, raw)| perr(".env", line, format!("unexpected line \"{raw}\"")))?,
            None => BTreeMap::new(),
        },
    )
}

pub(super) fn dotenv_line(files: &dyn ProjectFiles, name: &str) -> usize {
    let Ok(Some(text)) = files.read_file(".env") else {
        return 0;
    };
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            l.strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

/// The files Compose reads, and how they were chosen (`"-f"`, `"COMPOSE_FILE (environment)"`,
/// `"COMPOSE_FILE (.env)"` or `"default names"`).
pub(super) fn select(
    files: &dyn ProjectFiles,
    opts: &LoadOptions,
    interp: &Interpolator,
) -> Result<(Vec<String>, String)> {
    if !opts.files.is_empty() {
        return Ok((
            opts.files.iter().map(|f| normalize(f)).collect(),
            "-f".to_owned(),
        ));
    }
    let sep = interp
        .lookup("COMPOSE_PATH_SEPARATOR")
        .filter(|s| !s.is_empty())
        .unwrap_or(":")
        .to_owned();
    let (value, from) = if let Some(v) = opts.env.get("COMPOSE_FILE") {
        (Some(v.clone()), "COMPOSE_FILE (environment)")
    } else {
        (
            interp.dotenv.get("COMPOSE_FILE").cloned(),
            "COMPOSE_FILE (.env)",
        )
    };
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        let list: Vec<String> = v
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(normalize)
            .collect();
        return Ok((list, from.to_owned()));
    }
    let exists = |name: &str| -> Result<bool> {
        Ok(files
            .read_file(name)
            .map_err(|e| perr(name, 0, e))?
            .is_some())
    };
    let mut out = Vec::new();
    for name in DEFAULT_FILES {
        if exists(name)? {
            out.push(name.to_owned());
            break;
        }
    }
    if out.is_empty() {
        return Err(perr(
            ".",
            0,
            format!(
                "no compose file: none of {} exists and neither -f nor COMPOSE_FILE names one",
                DEFAULT_FILES.join(", ")
            ),
        ));
    }
    for name in OVERRIDE_FILES {
        if exists(name)? {
            out.push(name.to_owned());
            break;
        }
    }
    Ok((out, "default names".to_owned()))
}

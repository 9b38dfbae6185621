//! `/`-separated paths relative to the project folder, and the error that names a file and line.

use crate::error::Error;

/// Normalise a `/`-separated relative path: drop `.`, fold `x/..`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

pub(super) fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_owned())
}

pub(super) fn join(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') || dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

pub(super) fn perr(file: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Project {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

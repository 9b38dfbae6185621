//! The deployment as Docker Compose v2 runs it: the files Compose reads, merged with its rules,
//! every merged value knowing the file and line it came from.
//!
//! No file I/O happens here: files are read through [`ProjectFiles`] (a `BTreeMap` of path to
//! text implements it), and the process environment is passed in [`LoadOptions::env`].
//!
//! What is modelled (compose-go v2 as shipped in Compose 2.26, checked against `docker compose
//! config --format json`):
//! - **File selection**: the `-f` files ([`LoadOptions::files`]), else `COMPOSE_FILE` (process
//!   environment, then the project's `.env`; split on `COMPOSE_PATH_SEPARATOR`, default `:`),
//!   else the first of `compose.yaml`, `compose.yml`, `docker-compose.yml`,
//!   `docker-compose.yaml` plus the first of `compose.override.yml`, `compose.override.yaml`,
//!   `docker-compose.override.yml`, `docker-compose.override.yaml`.
//! - **Merge** (later file wins): `command`, `entrypoint` replaced whole; scalars replaced;
//!   `environment` merged by name (map and `KEY=value` list forms); `volumes` merged by
//!   container target; `ports` concatenated, identical entries once; `profiles`, `networks`
//!   united; `!reset` removes a value (a whole service with `name: !reset null`), `!override`
//!   replaces instead of merging; any other tag is an error.
//! - **`include:`** (a path, a list of paths, or `path:` entries; relative to the including
//!   file), **`extends:`** (same file or `file:`), both with cycle detection; a service defined
//!   both by a file and by what it includes is an error, as in Compose.
//! - **Profiles**: `COMPOSE_PROFILES` (environment, then `.env`) or [`LoadOptions::profiles`];
//!   a service with `profiles:` none of which is active does not run ([`MergedService::active`]).
//! - **Interpolation** of every value: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
//!   `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, from the environment, then `.env`.
//!
//! Limitations: the project directory is the folder the files are read from (Compose's default
//! when the first file is there); YAML anchors and `<<` merge keys are resolved by the YAML
//! reader but provenance then points at the key that uses them; only the service keys pgtls
//! reads are typed (image, container name, command, entrypoint, environment, volumes, ports,
//! networks, profiles); `env_file:` contents are not read.

mod interp;
mod layers;
mod lines;
mod load;
mod merge;
mod model;
mod paths;
mod read;
mod select;
mod value;

pub use model::{LoadOptions, MergedService, Origin, Project, ProjectFiles, Removed, Sourced};
pub use paths::normalize;
pub use select::{DEFAULT_FILES, OVERRIDE_FILES};

#[cfg(test)]
mod tests;

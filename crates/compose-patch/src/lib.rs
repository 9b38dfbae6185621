//! Lossless, comment-preserving edits of docker-compose files, for the settings a
//! PostgreSQL TLS hardening needs: `-c name=value` settings in a service's
//! `command`, volume mounts, environment variables, port mappings, and the inline
//! `content:` of a long-syntax bind (Coolify keeps Supavisor's `pooler.exs` there).
//!
//! Users keep comments and layout in their compose files. A plain serde round trip
//! loses every comment and turns flow lists into block lists; this crate changes
//! only the bytes an edit needs and leaves every other byte alone.
//!
//! # Example
//!
//! ```
//! use compose_patch::{ComposeFile, VolumeMount};
//!
//! let text = "\
//! services:
//!   db:
//!     container_name: supabase-db
//!     volumes:
//!       ## PGDATA directory is persisted between restarts
//!       - ./volumes/db/data:/var/lib/postgresql/data:Z
//!     command:
//!       [
//!         \"postgres\",
//!         \"-c\",
//!         \"log_min_messages=fatal\" # quiet logs
//!       ]
//! ";
//! let mut file = ComposeFile::parse(text)?;
//! // Services are found by key or by container_name.
//! assert_eq!(file.find_service("supabase-db")?, "db");
//! assert!(file.ensure_command_settings("db", &[("ssl", "on")])?.changed());
//! let mount = VolumeMount::new("./volumes/db/certs", "/etc/postgresql/certs").read_only();
//! assert!(file.ensure_volume("db", mount.clone())?.changed());
//! // Every edit is idempotent.
//! assert!(!file.ensure_command_settings("db", &[("ssl", "on")])?.changed());
//! assert!(!file.ensure_volume("db", mount)?.changed());
//! assert_eq!(file.command_setting("db", "ssl")?.as_deref(), Some("on"));
//! assert_eq!(file.to_string(), "\
//! services:
//!   db:
//!     container_name: supabase-db
//!     volumes:
//!       ## PGDATA directory is persisted between restarts
//!       - ./volumes/db/data:/var/lib/postgresql/data:Z
//!       - ./volumes/db/certs:/etc/postgresql/certs:ro
//!     command:
//!       [
//!         \"postgres\",
//!         \"-c\",
//!         \"log_min_messages=fatal\", # quiet logs
//!         \"-c\",
//!         \"ssl=on\"
//!       ]
//! ");
//! # Ok::<(), compose_patch::Error>(())
//! ```
//!
//! # Design
//!
//! - **Two views of one text.** [`ComposeFile`] holds the exact text and a typed
//!   view of it (`yaml_serde`, the maintained successor of `serde_yaml`). Positions
//!   come from `yaml-edit`'s lossless syntax tree (a rowan tree that keeps every
//!   byte); meaning comes from the typed view. The two are matched entry by entry
//!   and item by item, and any disagreement is an error rather than a guess.
//! - **Splices, not re-serialisation.** An edit is planned as a few byte-range
//!   replacements: a scalar rewritten in its own quote style, new items appended
//!   after the last one in the list's own indentation, a new key after the last key
//!   of the service. `yaml-edit`'s own mutation API is not used for writing: on the
//!   upstream `db` command (a flow list whose last item carries a comment inside the
//!   brackets) it appends on the closing-bracket line, while this crate writes one
//!   item per line and moves the comma before the comment.
//! - **Verify every edit.** The planner also computes the typed service as it must
//!   read afterwards. The edited text is re-parsed and its whole typed view must
//!   equal the old view with exactly that change; otherwise the edit fails with
//!   [`Error::Verification`] and the text is left as it was.
//! - **Idempotent.** Each operation first checks whether the file already says what
//!   is asked and then returns [`Changed`]`(false)` without touching the text.
//! - **Override mode.** [`ComposeFile::override_file`] writes the same edits as a
//!   `docker-compose.override.yml` following Compose's merge rules.
//! - **The merged model.** [`Project::load`] reads a whole project as Compose v2 does (the `-f`
//!   files, `COMPOSE_FILE`, the default names plus the override file; merge rules, `!reset` and
//!   `!override`, `include:`, `extends:`, profiles, `${VAR}` interpolation) through the
//!   [`ProjectFiles`] trait, without file I/O; every merged value is a [`Sourced`] that names the
//!   file and line it came from ([`Origin`]), so a tool can tell which file an edit belongs in
//!   and point a finding at the line that masks it. See [`project`] for what is modelled.
//!
//! Matching rules: command settings by name (case-insensitive, `-c name=v`,
//! `-cname=v` and `--name=v` forms, every occurrence updated); volumes by container
//! target; environment variables by name (map or `KEY=value` list form, keeping the
//! form); ports by container port and protocol.
//!
//! # Limitations: what is not preserved / not supported
//!
//! - A rewritten scalar keeps its quote style when it can hold the new value;
//!   otherwise it is quoted (a multi-line plain scalar becomes one line).
//! - New items copy the quoting of their neighbours; new keys go after the last key
//!   of the service (never in a "logical" place).
//! - Edits through anchors, aliases or `<<` merge keys are refused
//!   ([`Error::Alias`]), as are tagged values and block-scalar commands.
//! - Commands run through a shell (`sh -c "..."`) are refused: the settings belong
//!   inside the script.
//! - Long-syntax volumes: changing an existing `SELinux` option is not supported;
//!   long-syntax ports: changing `host_ip` is not supported.
//! - Only one YAML document per file; only the `services` section is edited.
//! - Text is not normalised: tabs, CRLF line ends (new lines use the file's line
//!   end) and odd indentation are kept as found.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cst;
mod edit;
mod error;
mod file;
mod model;
mod overrides;
pub mod project;
mod svc;
mod text;
mod verify;

pub use crate::error::{Error, Result};
pub use crate::file::ComposeFile;
pub use crate::model::{
    Changed, Edit, Ipam, Port, Selinux, Service, ServiceView, Volume, VolumeMount,
};
pub use crate::project::{
    LoadOptions, MergedService, Origin, Project, ProjectFiles, Removed, Sourced,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! Public value types: edits, mounts, summaries.

use std::fmt;

/// Whether an operation changed the text (`Changed(false)`: it was already so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct Changed(pub bool);

impl Changed {
    /// True when the text was modified.
    pub fn changed(self) -> bool {
        self.0
    }
}

/// `SELinux` relabelling option of a bind mount (`:z` / `:Z` in short syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selinux {
    /// `z`: content shared between containers.
    Shared,
    /// `Z`: content private to this container.
    Private,
}

impl Selinux {
    /// The option letter (`z` or `Z`).
    pub fn letter(self) -> &'static str {
        match self {
            Selinux::Shared => "z",
            Selinux::Private => "Z",
        }
    }

    pub(crate) fn from_letter(s: &str) -> Option<Self> {
        match s {
            "z" => Some(Selinux::Shared),
            "Z" => Some(Selinux::Private),
            _ => None,
        }
    }
}

/// A volume mount to ensure on a service, matched by its container `target`.
///
/// `selinux: None` means "leave the existing label alone" (and no label for a new
/// mount); `Some` sets it (short syntax only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeMount {
    /// Host path (`./volumes/db/server.crt`) or named volume.
    pub source: String,
    /// Path inside the container.
    pub target: String,
    /// Mount read-only (`:ro` / `read_only: true`).
    pub read_only: bool,
    /// `SELinux` relabelling; `None` keeps what is there.
    pub selinux: Option<Selinux>,
}

impl VolumeMount {
    /// A read-write mount without `SELinux` option.
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            target: target.into(),
            read_only: false,
            selinux: None,
        }
    }

    /// The same mount, read-only.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The same mount with an `SELinux` option.
    #[must_use]
    pub fn with_selinux(mut self, label: Selinux) -> Self {
        self.selinux = Some(label);
        self
    }
}

impl fmt::Display for VolumeMount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.target)?;
        let mut opts = Vec::new();
        if self.read_only {
            opts.push("ro");
        }
        if let Some(l) = self.selinux {
            opts.push(l.letter());
        }
        if !opts.is_empty() {
            write!(f, ":{}", opts.join(","))?;
        }
        Ok(())
    }
}

/// One idempotent edit of a service. `service` is the service key or its
/// `container_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Edit {
    /// Ensure `-c name=value` for each pair in the service's `command`.
    CommandSettings {
        /// Service key or container name.
        service: String,
        /// `(name, value)` pairs, for example `("ssl", "on")`.
        settings: Vec<(String, String)>,
    },
    /// Ensure a volume mount, matched by target.
    Volume {
        /// Service key or container name.
        service: String,
        /// The mount.
        mount: VolumeMount,
    },
    /// Ensure an environment variable.
    Env {
        /// Service key or container name.
        service: String,
        /// Variable name.
        key: String,
        /// Value.
        value: String,
    },
    /// Ensure a port mapping (`[ip:][published:]target[/protocol]`), matched by
    /// container port and protocol.
    Port {
        /// Service key or container name.
        service: String,
        /// The mapping, for example `5432:5432`.
        mapping: String,
    },
    /// Remove the volume mount with this target (block sequences only; the last mount of a
    /// service is kept: removing it would leave an empty `volumes:` key).
    RemoveVolume {
        /// Service key or container name.
        service: String,
        /// Target path of the mount to remove.
        target: String,
    },
    /// Replace the inline `content:` of the long-syntax volume with this target.
    InlineContent {
        /// Service key or container name.
        service: String,
        /// Target path of the volume.
        target: String,
        /// The new content.
        content: String,
    },
}

impl Edit {
    /// The service the edit applies to (as given).
    pub fn service(&self) -> &str {
        match self {
            Edit::CommandSettings { service, .. }
            | Edit::Volume { service, .. }
            | Edit::Env { service, .. }
            | Edit::Port { service, .. }
            | Edit::RemoveVolume { service, .. }
            | Edit::InlineContent { service, .. } => service,
        }
    }
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::CommandSettings { settings, .. } => {
                let s: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "command settings {}", s.join(" "))
            }
            Edit::Volume { mount, .. } => write!(f, "volume {mount}"),
            Edit::Env { key, value, .. } => write!(f, "environment {key}={value}"),
            Edit::Port { mapping, .. } => write!(f, "port {mapping}"),
            Edit::RemoveVolume { target, .. } => write!(f, "removal of the volume at {target}"),
            Edit::InlineContent { target, .. } => write!(f, "inline content of {target}"),
        }
    }
}

/// A service as listed by [`ComposeFile::services`](crate::ComposeFile::services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The key under `services:`.
    pub key: String,
    /// `container_name`, if set.
    pub container_name: Option<String>,
    /// `image`, if set.
    pub image: Option<String>,
    /// 1-based line of the key.
    pub line: usize,
}

/// A volume of a service as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
// each flag is an independent fact read from the file, not a state machine
#[allow(clippy::struct_excessive_bools)]
pub struct Volume {
    /// Source (host path or named volume); None for an anonymous volume.
    pub source: Option<String>,
    /// Container path.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// `SELinux` option.
    pub selinux: Option<Selinux>,
    /// Written in long syntax (a mapping).
    pub long_syntax: bool,
    /// Long syntax with an inline `content:`.
    pub has_content: bool,
    /// The inline `content:` text (Coolify writes it to the source path).
    pub content: Option<String>,
    /// A bind mount of a host path: long syntax `type: bind`, or a short-syntax source that is
    /// a path (starts with `.`, `/` or `~`) rather than a named volume.
    pub bind: bool,
}

/// A port mapping as read from the file (long syntax normalised to the short fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Host address (`[::1]` in brackets for IPv6), if given.
    pub host_ip: Option<String>,
    /// Published (host) port or range, if given; may be a `${VAR}` reference.
    pub published: Option<String>,
    /// Container port or range.
    pub target: String,
    /// `tcp` unless written otherwise (lower-cased).
    pub protocol: String,
}

impl std::fmt::Display for Port {
    /// The short syntax: `[host_ip:][published:]target[/protocol]` (`/tcp` left out).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = &self.host_ip {
            write!(f, "{ip}:")?;
        }
        if let Some(p) = &self.published {
            write!(f, "{p}:")?;
        }
        write!(f, "{}", self.target)?;
        if self.protocol != "tcp" {
            write!(f, "/{}", self.protocol)?;
        }
        Ok(())
    }
}

/// One `ipam.config` entry of a top-level network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipam {
    /// `subnet`, as written (`IP/bits`).
    pub subnet: String,
    /// `gateway`, when written.
    pub gateway: Option<String>,
}

/// The typed, read-only view of one service, built by compose-patch's own reader (the same one
/// its edits are verified against), so a tool reading a service and compose-patch editing it
/// agree on every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    /// The key under `services:`.
    pub key: String,
    /// 1-based line of the key.
    pub line: usize,
    /// `container_name`, if set.
    pub container_name: Option<String>,
    /// `image`, if set.
    pub image: Option<String>,
    /// The command as arguments: a list as written, a string split with shell-words semantics
    /// the way Compose splits it (`-c "log_line_prefix=%m [%p]"` is two arguments). `None` when
    /// there is no command (or a string command has unbalanced quotes).
    pub command: Option<Vec<String>>,
    /// PostgreSQL settings in the command (`-c name=value`, `-cname=value`, `--name=value`), in
    /// order.
    pub settings: Vec<(String, String)>,
    /// Environment in file order (map or list form); `None` for a key given without a value.
    pub environment: Vec<(String, Option<String>)>,
    /// Volumes (short and long syntax, with inline `content:`).
    pub volumes: Vec<Volume>,
    /// Port mappings.
    pub ports: Vec<Port>,
    /// Networks the service joins (list form, or the keys of the map form).
    pub networks: Vec<String>,
}

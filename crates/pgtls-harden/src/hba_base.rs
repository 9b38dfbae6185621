//! Where the text that the `pg-hba` step hardens came from ([`HbaBase`]), and the choice of a
//! new file's base ([`new_file_base`]): the file the running db container really loads, read
//! through the engine, else the image's default for the deployment's major as pgtls carries it.
//! Below the planner and [`crate::step`] (which carries the answer into the report); imports only
//! [`crate::container_files`].

use crate::container_files::ContainerHba;

/// Where the hardened `pg_hba.conf`'s text came from (`hba_base` in the pg-hba step's JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum HbaBase {
    /// The deployment's own file, edited in place.
    File {
        /// Its host path.
        path: String,
    },
    /// A single-file mount's file, moved into the mounted folder.
    Migrated {
        /// The host file mounted so far.
        from: String,
    },
    /// The file the running db container loads, read through the Docker engine.
    Container {
        /// The container (id) it was read from.
        container: String,
        /// Its path inside the container.
        path: String,
        /// How that path was decided (`container_files::HbaSource`, as text).
        how: String,
    },
    /// The image's default as pgtls carries it, for this major (15, or 17 for 16 and 17).
    BuiltIn {
        /// The major whose image default was used.
        major: u32,
        /// Why the running container's file was not used.
        reason: String,
    },
}

impl HbaBase {
    /// One line for the step's notes.
    pub fn describe(&self) -> String {
        match self {
            Self::File { path } => format!("base: the deployment's own {path}"),
            Self::Migrated { from } => format!("base: {from}, the file mounted so far"),
            Self::Container {
                container,
                path,
                how,
            } => format!(
                "base: {path} as the running db container {container} has it (read through the Docker engine; path {how})"
            ),
            Self::BuiltIn { major, reason } => format!(
                "base: the supabase/postgres {major}.x image's default as pgtls carries it ({reason})"
            ),
        }
    }
}

/// What the engine said about the running db container's own `pg_hba.conf`, as
/// [`crate::HardenOptions::running_hba`] holds it.
pub type RunningHba = Result<ContainerHba, String>;

/// The base of a new `pg_hba.conf` (none exists in the deployment, none is mounted): the text
/// the running db container loads when the engine read it (`running`), else the image's default
/// for `version` with the reason (`None`: the engine was not asked).
pub fn new_file_base(
    running: Option<&RunningHba>,
    version: pg_hba::PgVersion,
) -> (String, HbaBase) {
    let built_in = |reason: String| {
        let major = if version == pg_hba::PgVersion::V15 {
            15
        } else {
            17
        };
        (
            pg_hba::supabase_default_hba(version).to_owned(),
            HbaBase::BuiltIn { major, reason },
        )
    };
    match running {
        Some(Ok(hba)) if !hba.text.trim().is_empty() => (
            hba.text.clone(),
            HbaBase::Container {
                container: hba.container.clone(),
                path: hba.path.clone(),
                how: describe_source(&hba.source),
            },
        ),
        Some(Ok(hba)) => built_in(format!("{} in the running db container is empty", hba.path)),
        Some(Err(why)) => built_in(format!("the engine could not tell: {why}")),
        None => built_in("the Docker engine was not asked".into()),
    }
}

fn describe_source(s: &crate::container_files::HbaSource) -> String {
    use crate::container_files::HbaSource;
    match s {
        HbaSource::Command => "from -c hba_file in its command".into(),
        HbaSource::ConfigFile { path, line } => format!("from hba_file in {path}:{line}"),
        HbaSource::DataDirectory { how } => format!("pg_hba.conf in the data directory ({how})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container_files::HbaSource;

    fn running(text: &str) -> ContainerHba {
        ContainerHba {
            container: "0123abcd".into(),
            path: "/etc/postgresql/pg_hba.conf".into(),
            source: HbaSource::ConfigFile {
                path: "/etc/postgresql/postgresql.conf".into(),
                line: 7,
            },
            text: text.into(),
        }
    }

    #[test]
    fn the_running_containers_file_wins_over_the_built_in_copy() {
        let text = "# the image's own\nlocal all all peer\nhost all all 10.0.0.0/8 scram-sha-256\n";
        let (base, from) = new_file_base(Some(&Ok(running(text))), pg_hba::PgVersion::V17);
        assert_eq!(base, text);
        assert_eq!(
            from,
            HbaBase::Container {
                container: "0123abcd".into(),
                path: "/etc/postgresql/pg_hba.conf".into(),
                how: "from hba_file in /etc/postgresql/postgresql.conf:7".into(),
            }
        );
        let json = serde_json::to_value(&from).unwrap();
        assert_eq!(json["source"], "container");
        assert_eq!(json["container"], "0123abcd");
    }

    #[test]
    fn without_an_answer_the_majors_built_in_copy_and_the_reason() {
        let (base, from) = new_file_base(
            Some(&Err("no running db container".into())),
            pg_hba::PgVersion::V17,
        );
        assert_eq!(base, pg_hba::SUPABASE_DEFAULT_HBA_17);
        assert_eq!(
            from,
            HbaBase::BuiltIn {
                major: 17,
                reason: "the engine could not tell: no running db container".into()
            }
        );
        let (base, from) = new_file_base(None, pg_hba::PgVersion::V15);
        assert_eq!(base, pg_hba::SUPABASE_DEFAULT_HBA);
        assert!(
            matches!(&from, HbaBase::BuiltIn { major: 15, reason } if reason.contains("not asked")),
            "{from:?}"
        );
        assert_eq!(serde_json::to_value(&from).unwrap()["source"], "built-in");
        // an empty file read from the container is no base
        let (base, from) = new_file_base(Some(&Ok(running("  \n"))), pg_hba::PgVersion::V15);
        assert_eq!(base, pg_hba::SUPABASE_DEFAULT_HBA);
        assert!(
            matches!(&from, HbaBase::BuiltIn { reason, .. } if reason.contains("is empty")),
            "{from:?}"
        );
    }
}

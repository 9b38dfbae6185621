//! Which PostgreSQL major a deployment runs, so that every `pg_hba.conf` verdict uses that
//! major's rules (16+ reads `include` lines and `/regex` names; 15 rejects both).
//!
//! The facts, in the order they are trusted when they disagree:
//! 1. `--pg-version` (the user says so);
//! 2. the db service's image tag: `supabase/postgres:17.6.1.136` runs 17, `15.8.1.085` runs 15
//!    (the tag's first number; `postgres:17-alpine` and `postgres:16.4` read the same way);
//! 3. `PG_VERSION` in an initialized host PGDATA (the major that created the cluster);
//! 4. `postgres --version` in the deployment's running db container, asked through the Docker
//!    engine only when 2 and 3 tell nothing (a named volume and an image tag without a version);
//!
//! else PostgreSQL 15, the image upstream shipped before June 2026, said as a default. When the
//! image and PGDATA disagree, the server will refuse the data directory ("database files are
//! incompatible with server"): [`PgMajor::mismatch`] says so with the fix, `check` fails
//! `hba-valid` and `harden` refuses unless `--pg-version` says which server will run; the
//! image's major decides the rules.
//! The inputs are plain values (the image string, PGDATA's state), so the module does not
//! depend on how the compose model is read.

use pg_hba::PgVersion;

use crate::owner::PgData;

/// Where the major came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MajorSource {
    /// `--pg-version`.
    Flag,
    /// The db service's image tag.
    Image {
        /// The image reference.
        image: String,
    },
    /// `PG_VERSION` in the host PGDATA.
    Pgdata {
        /// The PGDATA folder.
        path: String,
    },
    /// `postgres --version` in the running db container.
    Container {
        /// The container id.
        container: String,
    },
    /// Nothing told: PostgreSQL 15 assumed.
    Default,
}

/// The PostgreSQL major whose rules apply to the deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PgMajor {
    /// The major (15, 16 or 17; others are judged by the nearest: see `notes`).
    pub major: u32,
    /// Where it came from.
    pub source: MajorSource,
    /// Disagreements between the facts, and majors judged by a neighbour's rules.
    pub notes: Vec<String>,
    /// The db image's server and PGDATA's cluster are different majors: that server refuses to
    /// start on that data directory (also when `--pg-version` decides the rules).
    pub mismatch: Option<MajorMismatch>,
}

/// The db image runs one major, PGDATA holds a cluster of another: PostgreSQL checks
/// `PG_VERSION` against its own major at start and stops with `FATAL: database files are
/// incompatible with server` (`DETAIL: The data directory was initialized by PostgreSQL
/// version 17, which is not compatible with this version 15.8.`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MajorMismatch {
    /// The db image reference.
    pub image: String,
    /// The major its tag names.
    pub image_major: u32,
    /// The PGDATA folder.
    pub pgdata: String,
    /// The major in its `PG_VERSION`.
    pub data_major: u32,
}

impl MajorMismatch {
    /// What is wrong, in one sentence.
    pub fn describe(&self) -> String {
        format!(
            "the db image {} runs PostgreSQL {} but PGDATA {} holds a PostgreSQL {} cluster: that server refuses to start on it (\"database files are incompatible with server\")",
            self.image, self.image_major, self.pgdata, self.data_major
        )
    }

    /// The fix, by direction: a newer cluster needs the image of its major; an older one is
    /// upgraded (Supabase's `utils/upgrade-pg17.sh`) or the image of its major pinned.
    pub fn fix(&self) -> String {
        if self.data_major > self.image_major {
            format!(
                "run the image of the cluster's major: set the db image to a supabase/postgres:{}.x tag (drop an override that pins {}, such as upstream's docker-compose.pg{}.yml), then run pgtls again",
                self.data_major, self.image_major, self.image_major
            )
        } else {
            format!(
                "upgrade the data to PostgreSQL {} (Supabase's utils/upgrade-pg17.sh keeps a copy of the old cluster), or pin a supabase/postgres:{}.x image (upstream's docker-compose.pg{}.yml), then run pgtls again",
                self.image_major, self.data_major, self.data_major
            )
        }
    }
}

impl PgMajor {
    /// The `pg_hba.conf` rules of this major.
    pub fn version(&self) -> PgVersion {
        version_of(self.major)
    }

    /// `PostgreSQL 17 (from the db image supabase/postgres:17.6.1.136)`.
    pub fn describe(&self) -> String {
        let from = match &self.source {
            MajorSource::Flag => "from --pg-version".to_owned(),
            MajorSource::Image { image } => format!("from the db image {image}"),
            MajorSource::Pgdata { path } => format!("from PG_VERSION in {path}"),
            MajorSource::Container { container } => {
                format!("from `postgres --version` in the running db container {container}")
            }
            MajorSource::Default => {
                "assumed: neither the db image tag nor PGDATA tells; pass --pg-version".to_owned()
            }
        };
        format!("PostgreSQL {} ({from})", self.major)
    }
}

fn version_of(major: u32) -> PgVersion {
    match major {
        0..=15 => PgVersion::V15,
        16 => PgVersion::V16,
        _ => PgVersion::V17,
    }
}

/// The major an image reference names in its tag: the leading number of the tag
/// (`supabase/postgres:17.6.1.136` → 17). `None` for no tag, a digest only, a variable, or a
/// tag that does not start with a number.
pub fn image_major(image: &str) -> Option<u32> {
    let image = image.split('@').next().unwrap_or(image);
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    let tag = image.get(name_end..)?.split_once(':')?.1;
    if tag.contains('$') {
        return None;
    }
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    let rest = tag.get(digits.len()..).unwrap_or_default();
    if digits.is_empty() || !(rest.is_empty() || rest.starts_with(['.', '-', '_'])) {
        return None;
    }
    digits.parse().ok().filter(|m| (9..=99).contains(m))
}

/// The major in `postgres --version`'s output (`postgres (PostgreSQL) 17.6 (Debian ...)`).
pub fn server_version_major(text: &str) -> Option<u32> {
    let rest = text.split("(PostgreSQL)").nth(1)?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Decides the major from `--pg-version`, the db image, PGDATA and the running container's
/// server (`(major, container)`, see the module docs).
pub fn decide(
    flag: Option<u32>,
    image: Option<&str>,
    pgdata: &PgData,
    running: Option<(u32, String)>,
) -> PgMajor {
    let from_image = image.and_then(|i| image_major(i).map(|m| (m, i.to_owned())));
    let from_data = match pgdata {
        PgData::Initialized { path, version, .. } => version
            .trim()
            .parse::<u32>()
            .ok()
            .map(|m| (m, path.display().to_string())),
        _ => None,
    };
    let mut notes = Vec::new();
    let mut mismatch = None;
    if let (Some((mi, img)), Some((md, path))) = (&from_image, &from_data)
        && mi != md
    {
        let m = MajorMismatch {
            image: img.clone(),
            image_major: *mi,
            pgdata: path.clone(),
            data_major: *md,
        };
        notes.push(format!(
            "{}; {}. pg_hba.conf is judged by PostgreSQL {}'s rules",
            m.describe(),
            m.fix(),
            flag.unwrap_or(*mi)
        ));
        mismatch = Some(m);
    }
    let (major, source) = if let Some(m) = flag {
        if let Some((mi, img)) = &from_image
            && *mi != m
        {
            notes.push(format!(
                "--pg-version {m} overrides the db image {img} (PostgreSQL {mi})"
            ));
        }
        (m, MajorSource::Flag)
    } else if let Some((m, image)) = from_image {
        (m, MajorSource::Image { image })
    } else if let Some((m, path)) = from_data {
        (m, MajorSource::Pgdata { path })
    } else if let Some((m, container)) = running {
        (m, MajorSource::Container { container })
    } else {
        (15, MajorSource::Default)
    };
    if !(15..=17).contains(&major) {
        notes.push(format!(
            "PostgreSQL {major} is judged by PostgreSQL {}'s pg_hba.conf rules (pgtls knows 15, 16 and 17)",
            version_of(major).major()
        ));
    }
    PgMajor {
        major,
        source,
        notes,
        mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(version: &str) -> PgData {
        PgData::Initialized {
            path: PathBuf::from("volumes/db/data"),
            uid: 101,
            gid: 102,
            version: format!("{version}\n"),
        }
    }

    #[test]
    fn image_tags() {
        assert_eq!(image_major("supabase/postgres:17.6.1.136"), Some(17));
        assert_eq!(image_major("supabase/postgres:15.8.1.085"), Some(15));
        assert_eq!(image_major("postgres:17-alpine"), Some(17));
        assert_eq!(
            image_major("registry:5000/supabase/postgres:16.4"),
            Some(16)
        );
        assert_eq!(image_major("registry:5000/supabase/postgres"), None);
        assert_eq!(image_major("supabase/postgres:${PG_TAG}"), None);
        assert_eq!(image_major("supabase/postgres:latest"), None);
        assert_eq!(image_major("supabase/postgres@sha256:abcd"), None);
        assert_eq!(image_major("postgres:17.2@sha256:abcd"), Some(17));
    }

    #[test]
    fn the_image_decides_and_a_disagreement_is_said() {
        let m = decide(
            None,
            Some("supabase/postgres:17.6.1.136"),
            &data("17"),
            None,
        );
        assert_eq!((m.major, m.version()), (17, PgVersion::V17));
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        assert_eq!(
            m.describe(),
            "PostgreSQL 17 (from the db image supabase/postgres:17.6.1.136)"
        );

        let m = decide(
            None,
            Some("supabase/postgres:17.6.1.136"),
            &data("15"),
            None,
        );
        assert_eq!(m.major, 17);
        assert!(
            m.notes[0].contains("holds a PostgreSQL 15 cluster"),
            "{:?}",
            m.notes
        );
        let mm = m.mismatch.clone().expect("a mismatch");
        assert_eq!((mm.image_major, mm.data_major), (17, 15));
        assert!(mm.fix().contains("upgrade-pg17.sh"), "{}", mm.fix());

        // the other way round: a PostgreSQL 15 server on a 17 cluster
        let m = decide(
            None,
            Some("supabase/postgres:15.8.1.085"),
            &data("17"),
            None,
        );
        let mm = m.mismatch.clone().expect("a mismatch");
        assert_eq!((mm.image_major, mm.data_major), (15, 17));
        assert!(
            mm.describe()
                .contains("database files are incompatible with server"),
            "{}",
            mm.describe()
        );
        assert!(mm.fix().contains("supabase/postgres:17.x"), "{}", mm.fix());
        // --pg-version decides the rules, not what the server does with the data
        let m = decide(
            Some(17),
            Some("supabase/postgres:15.8.1.085"),
            &data("17"),
            None,
        );
        assert!(m.mismatch.is_some());
        assert_eq!(m.major, 17);
        let m = decide(
            None,
            Some("supabase/postgres:17.6.1.136"),
            &data("17"),
            None,
        );
        assert_eq!(m.mismatch, None);

        let m = decide(None, Some("supabase/postgres:${TAG}"), &data("15"), None);
        assert_eq!(m.major, 15);
        assert!(matches!(m.source, MajorSource::Pgdata { .. }));

        let m = decide(
            Some(16),
            Some("supabase/postgres:17.6.1.136"),
            &PgData::NotMounted,
            None,
        );
        assert_eq!((m.major, m.source.clone()), (16, MajorSource::Flag));
        assert!(m.notes[0].contains("overrides"));

        let m = decide(None, None, &PgData::NotMounted, None);
        assert_eq!((m.major, m.source), (15, MajorSource::Default));

        let running = Some((17, "abc123".to_owned()));
        let m = decide(
            None,
            Some("supabase/postgres:${TAG}"),
            &PgData::NotMounted,
            running,
        );
        assert_eq!(m.major, 17);
        assert!(
            m.describe().contains("running db container abc123"),
            "{}",
            m.describe()
        );
        assert_eq!(
            server_version_major("postgres (PostgreSQL) 17.6 (Debian 17.6-1)"),
            Some(17)
        );
        assert_eq!(server_version_major("garbage"), None);

        let m = decide(None, Some("postgres:18"), &PgData::NotMounted, None);
        assert_eq!((m.major, m.version()), (18, PgVersion::V17));
        assert!(m.notes[0].contains("judged by PostgreSQL 17"));
    }
}

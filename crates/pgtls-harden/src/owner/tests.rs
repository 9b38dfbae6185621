use super::*;

#[test]
fn id_output_of_gnu_and_busybox() {
    assert_eq!(
        parse_id("uid=105(postgres) gid=106(postgres) groups=106(postgres),103(ssl-cert)\n"),
        Some((105, 106, vec![103]))
    );
    assert_eq!(
        parse_id("uid=100(postgres) gid=101(postgres) groups=101(postgres)"),
        Some((100, 101, vec![]))
    );
    assert_eq!(parse_id("id: 'postgres': no such user"), None);
}

/// A scripted engine for the resolution order (the real `docker` CLI is tested against a
/// real engine in the CLI's integration tests).
struct Scripted {
    options: Vec<String>,
    container: Option<&'static str>,
    image: Option<&'static str>,
}

impl Engine for Scripted {
    fn available(&self) -> bool {
        true
    }
    fn security_options(&self) -> Vec<String> {
        self.options.clone()
    }
    fn db_container(&self, _: &Path, _: &str, _: Option<&str>) -> Option<String> {
        self.container.map(|_| "c0ffee".to_owned())
    }
    fn id_in_container(&self, _: &str) -> Result<String, String> {
        self.container
            .map(str::to_owned)
            .ok_or_else(|| "gone".into())
    }
    fn id_in_image(&self, _: &str) -> Result<Option<String>, String> {
        Ok(self.image.map(str::to_owned))
    }
}

fn facts<'a>(pgdata: &'a PgData, note: Option<&'a str>) -> OwnerFacts<'a> {
    OwnerFacts {
        flag: None,
        pgdata,
        dir: Path::new("/srv/supabase"),
        service: "db",
        container_name: Some("supabase-db"),
        image: Some("supabase/postgres:15.8.1.060"),
        note,
    }
}

#[test]
fn resolution_order_and_what_tells_nothing() {
    let engine = Scripted {
        options: vec!["name=seccomp,profile=default".into()],
        container: Some("uid=101(postgres) gid=102(postgres) groups=102(postgres)"),
        image: Some("uid=105(postgres) gid=106(postgres) groups=106(postgres)"),
    };
    let root_pgdata = PgData::Initialized {
        path: "volumes/db/data".into(),
        uid: 0,
        gid: 0,
        version: "15".into(),
    };
    let pg_pgdata = PgData::Initialized {
        path: "volumes/db/data".into(),
        uid: 999,
        gid: 998,
        version: "15".into(),
    };
    let fresh = PgData::Uninitialized {
        path: "volumes/db/data".into(),
        why: "no PG_VERSION".into(),
    };
    let ids = |f: &OwnerFacts<'_>, e: &dyn Engine| {
        resolve(f, e).0.map(|u| (u.uid, u.gid, u.source.short()))
    };
    let mut flagged = facts(&pg_pgdata, None);
    flagged.flag = Some((7, 8));
    assert_eq!(ids(&flagged, &engine), Some((7, 8, "--pg-owner".into())));
    assert_eq!(
        ids(&facts(&pg_pgdata, None), &engine),
        Some((999, 998, "pgdata volumes/db/data".into()))
    );
    // a root-owned or a never-initialized folder tells nothing: the engine answers
    for pgdata in [&root_pgdata, &fresh] {
        assert_eq!(
            ids(&facts(pgdata, None), &engine),
            Some((101, 102, "container c0ffee".into()))
        );
    }
    let no_container = Scripted {
        container: None,
        ..engine
    };
    assert_eq!(
        ids(&facts(&fresh, None), &no_container),
        Some((105, 106, "image supabase/postgres:15.8.1.060".into()))
    );
    // under userns-remap the engine's uids are not the host's: not used
    let remapped = Scripted {
        options: vec!["name=userns".into()],
        container: Some("uid=101(postgres) gid=102(postgres)"),
        image: None,
    };
    let (user, report) = resolve(&facts(&fresh, None), &remapped);
    assert_eq!(user, None);
    assert!(report.remapped.is_some());
    let text = refusal(&facts(&fresh, None), &report);
    assert!(text.contains("name=userns"), "{text}");
    assert!(
        text.contains("docker compose exec db id postgres"),
        "{text}"
    );
    // the note of a previous run is the last resort
    let note = note_text(&DbUser {
        uid: 105,
        gid: 106,
        groups: vec![],
        source: OwnerSource::Flag,
    });
    assert_eq!(
        ids(&facts(&fresh, Some(&note)), &remapped),
        Some((105, 106, "--pg-owner".into()))
    );
    assert_eq!(ids(&facts(&fresh, None), &NoEngine), None);
}

#[test]
fn pgdata_states_from_a_source() {
    use crate::MemSource;
    let rel = Path::new("volumes/db/data");
    let state = |src: &MemSource| pgdata_state(src, rel);
    let missing = MemSource::new("/d").file("docker-compose.yml", "");
    assert!(state(&missing).unwrap().uninitialized());
    let empty = MemSource::new("/d").dir(rel, 0o755, 0, 0);
    assert_eq!(
        state(&empty).unwrap(),
        PgData::Uninitialized {
            path: rel.into(),
            why: "empty".into()
        }
    );
    let readme = MemSource::new("/d").file(rel.join("README.md"), "x");
    assert!(
        matches!(state(&readme).unwrap(), PgData::Uninitialized { why, .. } if why == "no PG_VERSION")
    );
    let initialized = MemSource::new("/d")
        .dir(rel, 0o700, 105, 106)
        .file(rel.join("PG_VERSION"), "15\n");
    assert_eq!(
        state(&initialized).unwrap(),
        PgData::Initialized {
            path: rel.into(),
            uid: 105,
            gid: 106,
            version: "15".into()
        }
    );
    let file = MemSource::new("/d").file(rel, "not a folder");
    assert!(matches!(state(&file), Err(PgDataError::NotAFolder(_))));
}

#[test]
fn note_round_trip() {
    let user = DbUser {
        uid: 105,
        gid: 106,
        groups: vec![],
        source: OwnerSource::Flag,
    };
    let back = parse_note(&note_text(&user)).unwrap();
    assert_eq!((back.uid, back.gid), (105, 106));
    assert_eq!(
        back.source,
        OwnerSource::StateNote {
            path: PathBuf::from(STATE_NOTE),
            recorded: "--pg-owner".into()
        }
    );
    assert_eq!(parse_note("owner=0:0\n"), None, "root is never the server");
    assert_eq!(parse_note("owner=x\n"), None);
}

#[test]
fn the_report_says_whether_the_engine_was_asked_for_the_owner() {
    let engine = Scripted {
        options: Vec::new(),
        container: Some("uid=101(postgres) gid=102(postgres) groups=102(postgres)"),
        image: None,
    };
    let initialized = PgData::Initialized {
        path: "volumes/db/data".into(),
        uid: 105,
        gid: 106,
        version: "15\n".into(),
    };
    let (user, report) = resolve(&facts(&initialized, None), &engine);
    assert_eq!(user.map(|u| u.uid), Some(105));
    assert!(!report.asked, "{report:?}");
    let (user, report) = resolve(&facts(&PgData::NotMounted, None), &engine);
    assert_eq!(user.map(|u| u.uid), Some(101));
    assert!(report.asked && report.available, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["asked"], true);
}

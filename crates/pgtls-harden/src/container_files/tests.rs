use super::*;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn server_options_from_the_container_process() {
    // upstream's compose command through the image's entrypoint
    let o = server_options(
        "docker-entrypoint.sh",
        &words("postgres -c config_file=/etc/postgresql/postgresql.conf -c log_min_messages=fatal"),
    );
    assert_eq!(
        o.config_file.as_deref(),
        Some("/etc/postgresql/postgresql.conf")
    );
    assert_eq!(o.hba_file, None);
    // the supabase/postgres image's own CMD
    let o = server_options(
        "docker-entrypoint.sh",
        &words("postgres -D /etc/postgresql"),
    );
    assert_eq!(o.dash_d.as_deref(), Some("/etc/postgresql"));
    // options only: docker-entrypoint.sh prepends postgres; last one wins; long forms
    let o = server_options(
        "docker-entrypoint.sh",
        &words("-c hba_file=/a -chba_file=/b --hba-file=/c -D/data --config_file=/x.conf"),
    );
    assert_eq!(o.hba_file.as_deref(), Some("/c"));
    assert_eq!(o.dash_d.as_deref(), Some("/data"));
    assert_eq!(o.config_file.as_deref(), Some("/x.conf"));
    // not a postgres process: nothing
    let o = server_options("/bin/sh", &words("-c sleep"));
    assert_eq!(o, ServerOptions::default());
    let o = server_options(
        "/usr/lib/postgresql/17/bin/postgres",
        &words("-c hba_file=/h"),
    );
    assert_eq!(o.hba_file.as_deref(), Some("/h"));
}

#[test]
fn conf_settings_last_one_wins() {
    let text = "# hba_file = '/commented'\nhba_file = '/etc/a.conf'\n  HBA_FILE='/etc/it''s.conf' # why\ndata_directory /srv/data\n";
    assert_eq!(
        conf_setting(text, "hba_file"),
        Some(("/etc/it's.conf".into(), 3))
    );
    assert_eq!(
        conf_setting(text, "data_directory"),
        Some(("/srv/data".into(), 4))
    );
    assert_eq!(conf_setting(text, "hba"), None);
    assert_eq!(
        conf_setting("hba_file = '/unterminated\n", "hba_file"),
        None
    );
}

#[test]
fn the_path_is_decided_in_the_server_order() {
    let files = |name: &'static str, text: &'static str| {
        move |p: &str| -> Result<Option<String>, ()> { Ok((p == name).then(|| text.to_owned())) }
    };
    let supabase_conf = "listen_addresses = '*'\nhba_file = '/etc/postgresql/pg_hba.conf'\n";
    // upstream compose: config_file → hba_file in it
    let o = server_options(
        "docker-entrypoint.sh",
        &words("postgres -c config_file=/etc/postgresql/postgresql.conf"),
    );
    let got = effective_hba_path(
        &o,
        Some("/var/lib/postgresql/data"),
        files("/etc/postgresql/postgresql.conf", supabase_conf),
    )
    .unwrap();
    assert_eq!(
        got,
        (
            "/etc/postgresql/pg_hba.conf".into(),
            HbaSource::ConfigFile {
                path: "/etc/postgresql/postgresql.conf".into(),
                line: 2
            }
        )
    );
    // the image's CMD: -D /etc/postgresql → its `postgresql.conf`
    let o = server_options(
        "docker-entrypoint.sh",
        &words("postgres -D /etc/postgresql"),
    );
    let got = effective_hba_path(
        &o,
        None,
        files("/etc/postgresql/postgresql.conf", supabase_conf),
    )
    .unwrap();
    assert_eq!(got.0, "/etc/postgresql/pg_hba.conf");
    // -c hba_file beats the configuration; relative to the data directory
    let o = server_options("postgres", &words("-c hba_file=conf/hba -c config_file=/c"));
    let got = effective_hba_path(&o, Some("/pgdata"), files("/c", supabase_conf)).unwrap();
    assert_eq!(got, ("/pgdata/conf/hba".into(), HbaSource::Command));
    // the official image: no options → PGDATA/postgresql.conf has none → PGDATA/pg_hba.conf
    let o = server_options("docker-entrypoint.sh", &words("postgres"));
    let got = effective_hba_path(
        &o,
        Some("/pgdata"),
        files("/pgdata/postgresql.conf", "port = 5432\n"),
    )
    .unwrap();
    assert_eq!(
        got,
        (
            "/pgdata/pg_hba.conf".into(),
            HbaSource::DataDirectory {
                how: "PGDATA".into()
            }
        )
    );
    // data_directory in the configuration file
    let o = server_options("postgres", &words("-c config_file=/etc/pg.conf"));
    let got = effective_hba_path(
        &o,
        None,
        files("/etc/pg.conf", "data_directory = '/srv/pg'\n"),
    )
    .unwrap();
    assert_eq!(got.0, "/srv/pg/pg_hba.conf");
    // nothing known at all
    let got = effective_hba_path(&ServerOptions::default(), None, files("/none", "")).unwrap();
    assert_eq!(got.0, "/var/lib/postgresql/data/pg_hba.conf");
}

#[test]
fn engine_messages_are_classified() {
    let e = classify(
        "Error response from daemon: No such container: x",
        "x",
        "/p",
    );
    assert_eq!(
        e,
        ContainerFileError::NoSuchContainer {
            container: "x".into()
        }
    );
    let e = classify(
        "Error response from daemon: Could not find the file /p in container x",
        "x",
        "/p",
    );
    assert!(matches!(e, ContainerFileError::FileMissing { .. }));
    let e = classify(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "x",
        "/p",
    );
    assert!(matches!(e, ContainerFileError::EngineUnavailable { .. }));
    assert!(e.to_string().contains("not reachable"), "{e}");
}

#[test]
fn a_missing_docker_binary_is_engine_unavailable() {
    let files = ContainerFiles {
        bin: "/nonexistent/docker-binary".into(),
        max_bytes: 10,
        timeout: TIMEOUT,
    };
    let e = files.read("db", "/etc/hosts").unwrap_err();
    assert!(
        matches!(e, ContainerFileError::EngineUnavailable { .. }),
        "{e}"
    );
}

fn tar_entry(name: &str, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let size = format!("{:011o}\0", body.len());
    h[124..136].copy_from_slice(size.as_bytes());
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    let mut out = h;
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[test]
fn the_first_file_of_an_archive() {
    let mut tar = tar_entry("PaxHeaders/x", b'x', b"30 path=a-very-long-name.conf\n");
    tar.extend(tar_entry("pg_hba.conf", b'0', b"local all all peer\n"));
    tar.extend(vec![0u8; 1024]);
    assert_eq!(first_file(&tar).ok(), Some(&b"local all all peer\n"[..]));
    let dir = tar_entry("postgresql/", b'5', b"");
    assert!(matches!(first_file(&dir), Err(TarEntry::NotFile(k)) if k == "a directory"));
    let mut cut = tar_entry("f", b'0', b"0123456789");
    cut.truncate(515);
    assert!(matches!(first_file(&cut), Err(TarEntry::Bad(_))));
    assert!(matches!(first_file(b"not a tar"), Err(TarEntry::Bad(_))));
}

/// A container this test started, removed by id when dropped.
struct Started(String);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("running docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The newest local pgtls-e2e/db17 image (built by scripts/docker-images; never pulled).
fn db17_image() -> String {
    let list = docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "pgtls-e2e/db17",
    ]);
    list.lines()
        .next()
        .unwrap_or_else(|| {
            panic!("no local pgtls-e2e/db17 image: build it with scripts/docker-images")
        })
        .to_owned()
}

fn start(image: &str, mount: Option<(&std::path::Path, &str)>, command: &[&str]) -> Started {
    let mut args = vec![
        "run".to_owned(),
        "-d".into(),
        "--pull".into(),
        "never".into(),
        "--network".into(),
        "none".into(),
        "-e".into(),
        "POSTGRES_PASSWORD=container-files-test".into(),
    ];
    if let Some((host, inside)) = mount {
        args.push("-v".into());
        args.push(format!("{}:{inside}:ro", host.display()));
    }
    args.push(image.into());
    args.extend(command.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Started(docker(&refs))
}

#[test]
#[ignore = "needs Docker engine"]
fn reads_the_effective_pg_hba_of_a_running_db_container() {
    let image = db17_image();
    let files = ContainerFiles::from_env();

    // upstream's command: config_file, whose hba_file names the image's own file
    let a = start(
        &image,
        None,
        &[
            "postgres",
            "-c",
            "config_file=/etc/postgresql/postgresql.conf",
        ],
    );
    let hba = files.effective_hba(&a.0).unwrap();
    assert_eq!(hba.path, "/etc/postgresql/pg_hba.conf");
    assert!(
        matches!(&hba.source, HbaSource::ConfigFile { path, .. } if path == "/etc/postgresql/postgresql.conf"),
        "{:?}",
        hba.source
    );
    // the same bytes by another route: cat inside the running container
    let by_exec = Command::new("docker")
        .args(["exec", &a.0, "cat", "/etc/postgresql/pg_hba.conf"])
        .output()
        .unwrap();
    assert!(
        by_exec.status.success(),
        "{}",
        String::from_utf8_lossy(&by_exec.stderr)
    );
    assert_eq!(hba.text.as_bytes(), by_exec.stdout.as_slice());
    assert!(hba.text.contains("supabase_admin"), "{}", hba.text);

    // the errors name what is wrong
    let e = files.read(&a.0, "/etc/pgtls-no-such-file").unwrap_err();
    assert!(matches!(e, ContainerFileError::FileMissing { .. }), "{e}");
    let e = files.read(&a.0, "/etc/postgresql").unwrap_err();
    assert!(matches!(e, ContainerFileError::NotAFile { .. }), "{e}");
    let e = files
        .clone()
        .with_max_bytes(16)
        .read(&a.0, "/etc/postgresql/pg_hba.conf")
        .unwrap_err();
    assert!(
        matches!(e, ContainerFileError::TooLarge { limit: 16, .. }),
        "{e}"
    );
    let gone = format!("pgtls-container-files-none-{}", std::process::id());
    let e = files.read(&gone, "/etc/hosts").unwrap_err();
    assert_eq!(
        e,
        ContainerFileError::NoSuchContainer {
            container: gone.clone()
        }
    );
    let e = files.effective_hba(&gone).unwrap_err();
    assert!(
        matches!(e, ContainerFileError::NoSuchContainer { .. }),
        "{e}"
    );

    // -c hba_file beats the configuration file; a bind-mounted file is read through the mount
    let dir = tempfile::tempdir().unwrap();
    let custom = "# mounted by the container_files test\nlocal all all peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n";
    std::fs::write(dir.path().join("hba.conf"), custom).unwrap();
    let b = start(
        &image,
        Some((dir.path(), "/etc/pgtls-test")),
        &[
            "postgres",
            "-c",
            "config_file=/etc/postgresql/postgresql.conf",
            "-c",
            "hba_file=/etc/pgtls-test/hba.conf",
        ],
    );
    let hba = files.effective_hba(&b.0).unwrap();
    assert_eq!(hba.path, "/etc/pgtls-test/hba.conf");
    assert_eq!(hba.source, HbaSource::Command);
    assert_eq!(hba.text, custom);
}

//! `@file` and include resolution with an in-memory file source, and `@file` against
//! PostgreSQL 15.

use std::collections::HashMap;
use std::io;

use pg_hba::{
    Connection, Document, FileSource, Outcome, ParseOptions, PgVersion, explain_resolved,
};

struct Files(HashMap<String, String>);

impl FileSource for Files {
    fn read(&self, path: &str) -> io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{path}/");
        let names: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        if names.is_empty() {
            Err(io::Error::from(io::ErrorKind::NotFound))
        } else {
            Ok(names)
        }
    }
}

fn files(list: &[(&str, &str)]) -> Files {
    Files(
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[test]
fn at_file_expands_relative_to_the_including_file() {
    let src = files(&[
        ("/etc/pg/admins.txt", "alice, bob\n# comment\n@more.txt\n"),
        ("/etc/pg/more.txt", "carol\n"),
    ]);
    let opts = ParseOptions {
        file_name: "/etc/pg/pg_hba.conf".into(),
        ..ParseOptions::default()
    };
    let doc = Document::parse(
        "host all @admins.txt 10.0.0.0/8 scram-sha-256\nhost all @missing.txt 10.0.0.0/8 md5\n",
        opts,
    );
    assert!(doc.validate().is_empty());
    let r = doc.resolve(&src);
    assert_eq!(r.rules.len(), 1);
    let users: Vec<String> = r.rules[0]
        .rule
        .users
        .iter()
        .map(pg_hba::Item::view_string)
        .collect();
    assert_eq!(users, ["alice", "bob", "carol"]);
    assert_eq!(
        r.diagnostics[0].message,
        "could not open secondary authentication file \"@missing.txt\" as \"/etc/pg/missing.txt\": No such file or directory"
    );
    // An unreadable list leaves the rules unknown: no verdict, and the reason names it.
    let carol = Connection::host("10.1.1.1".parse().unwrap(), "postgres", "carol");
    let e = explain_resolved(&r, &carol, &|u, g| u == g);
    assert_eq!((e.outcome, e.line), (Outcome::Unknown, None));
    assert!(
        e.reason.as_deref().unwrap_or("").contains("missing.txt"),
        "{e:?}"
    );
    let doc = Document::parse(
        "host all @admins.txt 10.0.0.0/8 scram-sha-256\n",
        ParseOptions {
            file_name: "/etc/pg/pg_hba.conf".into(),
            ..ParseOptions::default()
        },
    );
    let e = explain_resolved(&doc.resolve(&src), &carol, &|u, g| u == g);
    assert_eq!((e.outcome, e.line), (Outcome::Allow, Some(1)));
}

#[test]
fn includes_splice_records_in_place_from_16() {
    let src = files(&[
        (
            "/etc/pg/extra.conf",
            "hostssl all all 0.0.0.0/0 scram-sha-256\n",
        ),
        (
            "/etc/pg/conf.d/20-b.conf",
            "hostnossl all all 0.0.0.0/0 reject\n",
        ),
        (
            "/etc/pg/conf.d/10-a.conf",
            "host all all 10.0.0.0/8 scram-sha-256\n",
        ),
        ("/etc/pg/conf.d/.hidden.conf", "host all all all trust\n"),
        ("/etc/pg/loop.conf", "include loop.conf\n"),
    ]);
    let text = "local all all peer\ninclude extra.conf\ninclude_dir conf.d\ninclude_if_exists nope.conf\ninclude gone.conf\ninclude loop.conf\n";
    let opts = ParseOptions {
        version: PgVersion::V16,
        file_name: "/etc/pg/pg_hba.conf".into(),
    };
    let r = Document::parse(text, opts).resolve(&src);
    let order: Vec<(String, usize)> = r.rules.iter().map(|x| (x.file.clone(), x.line)).collect();
    assert_eq!(
        order,
        [
            ("/etc/pg/pg_hba.conf".to_owned(), 1),
            ("/etc/pg/extra.conf".to_owned(), 1),
            ("/etc/pg/conf.d/10-a.conf".to_owned(), 1),
            ("/etc/pg/conf.d/20-b.conf".to_owned(), 1),
        ]
    );
    let messages: Vec<&str> = r.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages[0],
        "could not open file \"/etc/pg/gone.conf\": No such file or directory"
    );
    assert!(
        messages[1].ends_with("maximum nesting depth exceeded"),
        "{messages:?}"
    );
    assert_eq!(r.unread.len(), 2);
    // gone.conf cannot be read: no verdict.
    let outsider = Connection::host("203.0.113.1".parse().unwrap(), "postgres", "x");
    let e = explain_resolved(&r, &outsider, &|u, g| u == g);
    assert_eq!(e.outcome, Outcome::Unknown);
    assert!(
        e.reason
            .as_deref()
            .unwrap_or("")
            .contains("/etc/pg/gone.conf"),
        "{e:?}"
    );
    // Without the unreadable includes, the first match is in the included directory.
    let text =
        "local all all peer\ninclude extra.conf\ninclude_dir conf.d\ninclude_if_exists nope.conf\n";
    let opts = ParseOptions {
        version: PgVersion::V16,
        file_name: "/etc/pg/pg_hba.conf".into(),
    };
    let r = Document::parse(text, opts).resolve(&src);
    assert!(r.is_complete() && r.diagnostics.is_empty(), "{r:?}");
    let e = explain_resolved(&r, &outsider, &|u, g| u == g);
    assert_eq!(e.file.as_deref(), Some("/etc/pg/conf.d/20-b.conf"));
    assert_eq!(e.outcome, Outcome::Reject);
}

/// Reads files from the server's data directory, like PostgreSQL does.
struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &str) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }
}

#[test]
fn at_file_matches_postgres_15() {
    let pg = crate::support::start_pg("local all all trust\n", &[]);
    pg.write_file(
        "data/dbs.txt",
        "db1, \"db two\"\n db3 # c\n@nested.txt",
        0o600,
    );
    pg.write_file("data/nested.txt", "db4\n", 0o600);
    pg.write_file("data/empty.txt", "", 0o600);
    let hba = "host @dbs.txt all 10.0.0.0/8 md5\nhost all @empty.txt 10.0.0.0/8 md5\nhost all \"@dbs.txt\" 10.0.0.0/8 md5\nhost all @nope.txt 10.0.0.0/8 md5\n@dbs.txt all all trust\n";
    pg.write_file("data/pg_hba.conf", hba, 0o600);
    let path = pg.data_dir().join("pg_hba.conf").display().to_string();
    let doc = Document::parse(
        hba,
        ParseOptions {
            file_name: path,
            ..ParseOptions::default()
        },
    );
    let r = doc.resolve(&Disk);
    let server = pg.query(
        "select line_number || '|' || coalesce(array_to_string(database, ','), '-') || '|' || \
         coalesce(array_to_string(user_name, ','), '-') || '|' || coalesce(error, '-') \
         from pg_hba_file_rules order by line_number",
    );
    let mut ours = Vec::new();
    for line in 1..=5 {
        if let Some(rule) = r.rules.iter().find(|x| x.line == line) {
            let join = |items: &[pg_hba::Item]| {
                let v: Vec<String> = items.iter().map(pg_hba::Item::view_string).collect();
                if v.is_empty() {
                    "-".to_owned()
                } else {
                    v.join(",")
                }
            };
            ours.push(format!(
                "{line}|{}|{}|-",
                join(&rule.rule.databases),
                join(&rule.rule.users)
            ));
        } else if let Some(d) = r.diagnostics.iter().find(|d| d.line == line) {
            ours.push(format!("{line}|-|-|{}", d.message));
        }
    }
    assert_eq!(ours.join("\n"), server);
}

/// Issue #19: an included `host all all 0.0.0.0/0 trust` is what PostgreSQL 16+ evaluates
/// first. The semantics follow PostgreSQL's `tokenize_auth_file()` and
/// `GetConfFilesInDir()` (src/backend/libpq/hba.c, src/backend/utils/misc/conffiles.c):
/// paths relative to the including file, `include_dir` takes `*.conf` files (six bytes or
/// more, not hidden) in byte order. No PostgreSQL 16 can be installed here (Debian's
/// packages give 15), so this is checked against the sources, not a server.
#[test]
fn lint_and_explain_follow_a_top_of_file_include_and_include_dir() {
    let src = files(&[
        ("/etc/pg/open.conf", "host all all 0.0.0.0/0 trust\n"),
        (
            "/etc/pg/conf.d/20-tls.conf",
            "hostssl all all 0.0.0.0/0 scram-sha-256\n",
        ),
        (
            "/etc/pg/conf.d/10-app.conf",
            "# app servers\nhost app app 10.0.0.0/8 md5\n",
        ),
        ("/etc/pg/conf.d/readme.txt", "host all all ::/0 trust\n"),
        ("/etc/pg/conf.d/.conf", "host all all ::/0 trust\n"),
    ]);
    let text = "include open.conf\nlocal all all peer\ninclude_dir ./conf.d/\nhost all all 0.0.0.0/0 reject\n";
    let opts = ParseOptions {
        version: PgVersion::V16,
        file_name: "/etc/pg/pg_hba.conf".into(),
    };
    let doc = Document::parse(text, opts.clone());
    assert!(doc.has_references());
    // The file's own lines say nothing about trust, and reject an outsider at line 4.
    let own = pg_hba::lint(&doc, &pg_hba::LintOptions::default());
    assert!(
        own.iter().all(|f| f.code != "trust-non-loopback"),
        "{own:?}"
    );
    let outsider = Connection::host("203.0.113.9".parse().unwrap(), "postgres", "mallory");
    assert_eq!(pg_hba::explain(&doc, &outsider).line, Some(4));

    let r = doc.resolve(&src);
    assert!(r.is_complete() && r.diagnostics.is_empty(), "{r:?}");
    let order: Vec<(&str, usize)> = r.rules.iter().map(|x| (x.file.as_str(), x.line)).collect();
    assert_eq!(
        order,
        [
            ("/etc/pg/open.conf", 1),
            ("/etc/pg/pg_hba.conf", 2),
            ("/etc/pg/conf.d/10-app.conf", 2),
            ("/etc/pg/conf.d/20-tls.conf", 1),
            ("/etc/pg/pg_hba.conf", 4),
        ]
    );
    let findings = pg_hba::lint_resolved(&r, &pg_hba::LintOptions::default());
    let found = |code: &str, file: &str, line: usize| {
        findings
            .iter()
            .find(|f| f.code == code && f.file == file && f.line == line)
    };
    assert!(
        found("trust-non-loopback", "/etc/pg/open.conf", 1).is_some(),
        "{findings:#?}"
    );
    assert!(
        found("weak-method", "/etc/pg/conf.d/10-app.conf", 2).is_some(),
        "{findings:#?}"
    );
    let shadowed = found("shadowed", "/etc/pg/conf.d/20-tls.conf", 1).map(|f| f.message.clone());
    assert!(
        shadowed
            .as_deref()
            .unwrap_or("")
            .contains("/etc/pg/open.conf:1"),
        "{findings:#?}"
    );
    // The real first match: the included trust rule lets anyone in.
    let e = explain_resolved(&r, &outsider, &|u, g| u == g);
    assert_eq!(
        (e.outcome, e.file.as_deref(), e.line, e.method.as_deref()),
        (
            Outcome::Allow,
            Some("/etc/pg/open.conf"),
            Some(1),
            Some("trust")
        )
    );

    // The include cannot be read: said so, and no verdict.
    let mut missing = src.0.clone();
    missing.remove("/etc/pg/open.conf");
    let r = Document::parse(text, opts).resolve(&Files(missing));
    assert!(!r.is_complete());
    assert_eq!(
        (
            r.unread[0].file.as_str(),
            r.unread[0].line,
            r.unread[0].message.as_str()
        ),
        (
            "/etc/pg/pg_hba.conf",
            1,
            "could not open file \"/etc/pg/open.conf\": No such file or directory"
        )
    );
    let e = explain_resolved(&r, &outsider, &|u, g| u == g);
    assert_eq!(
        (e.outcome, e.line, e.method),
        (Outcome::Unknown, None, None)
    );
}

#[test]
fn include_depth_stops_at_postgres_limit() {
    // Files at depth 1..=10 open; the 11th level is refused (CONF_FILE_MAX_DEPTH).
    let mut list = Vec::new();
    for d in 1..=11 {
        list.push((format!("/d/{d}.conf"), format!("include {}.conf\n", d + 1)));
    }
    list.push(("/d/12.conf".to_owned(), "local all all peer\n".to_owned()));
    let src = Files(list.into_iter().collect());
    let opts = ParseOptions {
        version: PgVersion::V17,
        file_name: "/d/pg_hba.conf".into(),
    };
    let r = Document::parse("include 1.conf\n", opts).resolve(&src);
    assert_eq!(r.unread.len(), 1, "{r:?}");
    assert_eq!(r.unread[0].file, "/d/10.conf");
    assert_eq!(
        r.unread[0].message,
        "could not open file \"/d/11.conf\": maximum nesting depth exceeded"
    );
}

//! Differential test against a real PostgreSQL 17 (Debian trixie's `postgresql-17`, in the
//! `pgtls-e2e/pg17` image that `scripts/docker-images` builds from `scripts/docker/pg17/`):
//! every case of `corpus17.cases` (include records, `@file` lists, regular expressions,
//! errors inside included files), the PostgreSQL 15 corpus read as 17, and a generated set
//! of regular expressions, each compared row by row with `pg_hba_file_rules` (rule number,
//! file name, line, fields, error).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use pg_hba::{Document, FileRuleRow, FileSource, ParseOptions, PgVersion, ViewRow};
use serde_json::Value;

const CASES: &str = include_str!("../fixtures/differential/corpus17.cases");
const CORPUS15: &str = include_str!("../fixtures/differential/corpus15.conf");
/// Where the oracle puts each case (its `hba_file` is `/hba/pg_hba.conf`).
const ROOT: &str = "/hba";

#[derive(Debug, Default)]
struct Case {
    files: BTreeMap<String, String>,
    dirs: BTreeSet<String>,
}

/// `=== NAME`, `--- PATH [crlf]`, `--- DIR/` (see the fixture's header).
fn parse_cases(text: &str) -> BTreeMap<String, Case> {
    let mut cases = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut file: Option<(String, bool)> = None;
    let mut body = String::new();
    let flush = |cases: &mut BTreeMap<String, Case>,
                 name: &Option<String>,
                 file: &mut Option<(String, bool)>,
                 body: &mut String| {
        if let (Some(n), Some((path, crlf))) = (name, file.take()) {
            let content = if crlf {
                body.replace('\n', "\r\n")
            } else {
                body.clone()
            };
            cases
                .entry(n.clone())
                .or_default()
                .files
                .insert(path, content);
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("=== ") {
            flush(&mut cases, &name, &mut file, &mut body);
            name = Some(n.trim().to_owned());
            cases.entry(n.trim().to_owned()).or_default();
        } else if let Some(p) = line.strip_prefix("--- ") {
            flush(&mut cases, &name, &mut file, &mut body);
            let mut words = p.split(" crlf");
            let path = words.next().unwrap_or_default().to_owned();
            if let Some(dir) = path.strip_suffix('/') {
                let n = name.clone().expect("a case before its files");
                cases.entry(n).or_default().dirs.insert(dir.to_owned());
            } else {
                file = Some((path, p.ends_with(" crlf")));
            }
        } else if line.starts_with("#!")
            || (file.is_none() && (line.starts_with('#') || line.is_empty()))
        {
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(&mut cases, &name, &mut file, &mut body);
    cases
}

/// A generated set of regular expressions, one rule each (a fixed-seed generator over the
/// pieces the regex parser treats specially).
fn regex_case() -> Case {
    const PIECES: &[&str] = &[
        "a",
        "z",
        "0",
        "9",
        "-",
        "[",
        "]",
        "[^",
        "^",
        "$",
        ".",
        "*",
        "+",
        "?",
        "|",
        "(",
        ")",
        "(?:",
        "(?=",
        "(?!",
        "(?<=",
        "(?<!",
        "(?#c)",
        "{",
        "}",
        "{1}",
        "{1,}",
        "{2,1}",
        "{0}",
        "{255}",
        "{256}",
        ",",
        "\\",
        "\\d",
        "\\W",
        "\\1",
        "\\2",
        "\\0",
        "\\12",
        "\\x41",
        "\\x",
        "\\u0041",
        "\\u12",
        "\\q",
        "\\y",
        "\\A",
        "\\c",
        "\\B",
        "[:alpha:]",
        "[:word:]",
        "[:nope:]",
        "[.a.]",
        "[.hyphen.]",
        "[.xx.]",
        "[=a=]",
        "[::]",
        ":]",
        ".]",
        "***:",
        "***=",
        "***?",
        "(?i)",
        "(?x)",
        "(?b)",
        "(?e)",
        "(?q)",
        "(?z)",
        " ",
        "#",
        "'",
    ];
    let mut seed: u64 = 0x5eed_1717;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap_or(0) % n
    };
    let mut text = String::from("# generated regular expressions, one rule each\n");
    let mut patterns = BTreeSet::new();
    while patterns.len() < 400 {
        let len = 1 + next(6);
        let p: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
        if patterns.insert(p.clone()) {
            let _ = writeln!(text, "local all \"/{p}\" trust");
        }
    }
    let mut case = Case::default();
    case.files.insert("pg_hba.conf".to_owned(), text);
    case
}

/// The case's files as the server sees them under `/hba`.
struct Mem<'a>(&'a Case);

impl FileSource for Mem<'_> {
    fn read(&self, path: &str) -> io::Result<String> {
        if path == ROOT {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        let rel = path.strip_prefix("/hba/").unwrap_or(path);
        if let Some(text) = self.0.files.get(rel) {
            return Ok(text.clone());
        }
        if self.is_dir(rel) {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        Err(io::ErrorKind::NotFound.into())
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let rel = if path == ROOT {
            ""
        } else {
            path.strip_prefix("/hba/").unwrap_or(path)
        };
        if !(rel.is_empty() || self.is_dir(rel)) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        Ok(self
            .0
            .files
            .keys()
            .filter_map(|f| f.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }
}

impl Mem<'_> {
    fn is_dir(&self, rel: &str) -> bool {
        let prefix = format!("{rel}/");
        self.0.dirs.contains(rel) || self.0.files.keys().any(|f| f.starts_with(&prefix))
    }
}

fn ours(case: &Case) -> Vec<FileRuleRow> {
    let main = case.files.get("pg_hba.conf").map_or("", String::as_str);
    let doc = Document::parse(
        main,
        ParseOptions {
            version: PgVersion::V17,
            file_name: format!("{ROOT}/pg_hba.conf"),
        },
    );
    assert_eq!(doc.to_string(), main, "lossless");
    doc.resolve(&Mem(case)).view()
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

fn theirs(json: &str) -> Vec<FileRuleRow> {
    let rows: Vec<Value> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    rows.iter()
        .map(|r| FileRuleRow {
            rule_number: r["rule_number"]
                .as_u64()
                .map(|n| usize::try_from(n).unwrap_or(0)),
            file_name: r["file_name"].as_str().unwrap_or_default().to_owned(),
            row: ViewRow {
                line_number: usize::try_from(r["line_number"].as_u64().unwrap_or(0)).unwrap_or(0),
                r#type: r["type"].as_str().map(str::to_owned),
                database: strings(&r["database"]),
                user_name: strings(&r["user_name"]),
                address: r["address"].as_str().map(str::to_owned),
                netmask: r["netmask"].as_str().map(str::to_owned),
                auth_method: r["auth_method"].as_str().map(str::to_owned),
                options: strings(&r["options"]),
                error: r["error"].as_str().map(str::to_owned),
            },
        })
        .collect()
}

/// PostgreSQL numbers a line whose error it only logs as if it were a rule (its `err_msg`
/// stays empty): number the rules that have fields, as `load_hba()` would load them.
fn normalise(mut rows: Vec<FileRuleRow>) -> Vec<FileRuleRow> {
    let mut n = 0;
    for r in &mut rows {
        r.rule_number = if r.row.r#type.is_some() && r.row.error.is_none() {
            n += 1;
            Some(n)
        } else {
            None
        };
    }
    rows
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The oracle image's tag: `PGTLS_E2E_IMAGE_PG17`, else what `scripts/docker-images` builds.
fn oracle_image() -> String {
    if let Ok(tag) = std::env::var("PGTLS_E2E_IMAGE_PG17") {
        return tag;
    }
    let out = Command::new(workspace().join("scripts/docker-images"))
        .output()
        .expect("run scripts/docker-images");
    assert!(
        out.status.success(),
        "scripts/docker-images failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("PGTLS_E2E_IMAGE_PG17="))
        .expect("scripts/docker-images names the pg17 image")
        .to_owned()
}

fn write_case(dir: &Path, case: &Case) {
    for d in &case.dirs {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (path, text) in &case.files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

#[test]
#[ignore = "needs the Docker engine (scripts/test runs it)"]
fn corpus_matches_postgres_17_row_by_row() {
    let mut cases = parse_cases(CASES);
    let handwritten = cases.len();
    cases.insert("y-regexes".to_owned(), regex_case());
    let mut c15 = Case::default();
    c15.files
        .insert("pg_hba.conf".to_owned(), CORPUS15.to_owned());
    cases.insert("z-corpus15-as-17".to_owned(), c15);

    let tmp = tempdir();
    for (name, case) in &cases {
        write_case(&tmp.0.join(name), case);
    }
    let image = oracle_image();
    let out = Command::new("docker")
        .args(["run", "--rm", "--pull", "never", "--network", "none", "-v"])
        .arg(format!("{}:/cases:ro", tmp.0.display()))
        .arg(&image)
        .output()
        .expect("run docker");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the oracle failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = stdout.lines().last().unwrap_or_default();
    assert!(version.starts_with("postgres 17."), "{version}");

    let mut problems = Vec::new();
    let (mut records, mut invalid, mut files) = (0, 0, 0);
    for line in stdout.lines() {
        let Some((name, json)) = line.split_once('\t') else {
            continue;
        };
        let case = cases
            .get(name)
            .unwrap_or_else(|| panic!("unknown case {name}"));
        files += case.files.len();
        let theirs = normalise(theirs(json));
        let mut ours = ours(case);
        // Lines the server reports with no fields and no error text are invalid ones whose
        // message PostgreSQL only logs (`invalid value for clientcert`, ...): any error of
        // ours stands for them.
        for (o, t) in ours.iter_mut().zip(&theirs) {
            if t.row.r#type.is_none() && t.row.error.is_none() && o.row.error.is_some() {
                o.row.error = None;
            }
        }
        records += theirs.len();
        invalid += theirs.iter().filter(|r| r.row.error.is_some()).count();
        if ours != theirs {
            let n = ours.len().max(theirs.len());
            for i in 0..n {
                let (o, t) = (ours.get(i), theirs.get(i));
                if o != t {
                    problems.push(format!("{name} row {i}:\n ours   {o:?}\n theirs {t:?}"));
                }
            }
        }
    }
    println!(
        "{version}: {} cases ({handwritten} written, 400 generated regexes, the 15 corpus), {files} files, {records} rows, {invalid} invalid",
        cases.len()
    );
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        handwritten >= 150 && records >= 1200,
        "{handwritten} cases, {records} rows"
    );
}

/// A temporary folder removed at the end (the container only reads it).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    let p = std::env::temp_dir().join(format!(
        "pg-hba-corpus17-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
}

use std::path::PathBuf;

use compose_patch::{ComposeFile, Edit, Selinux, VolumeMount};
use yaml_serde::Value;

pub fn fixture(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Compare with a golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(path: &str, got: &str) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden")
        .join(path);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    if want != got {
        let diff = similar::TextDiff::from_lines(want.as_str(), got)
            .unified_diff()
            .to_string();
        panic!("{path} differs from golden:\n{diff}");
    }
}

pub fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub const DB_SETTINGS: &[(&str, &str)] = &[
    ("hba_file", "/etc/postgresql/tls/pg_hba.conf"),
    ("ssl", "on"),
    ("ssl_cert_file", "/etc/postgresql/tls/server.crt"),
    ("ssl_key_file", "/etc/postgresql/tls/server.key"),
    ("ssl_ca_file", "/etc/postgresql/tls/ca.crt"),
];

/// The hardening edit set for the upstream layout.
pub fn upstream_edits() -> Vec<Edit> {
    vec![
        Edit::CommandSettings {
            service: "supabase-db".into(),
            settings: settings(DB_SETTINGS),
        },
        Edit::Volume {
            service: "db".into(),
            mount: VolumeMount::new("./volumes/db/tls", "/etc/postgresql/tls")
                .read_only()
                .with_selinux(Selinux::Private),
        },
        Edit::Volume {
            service: "supavisor".into(),
            mount: VolumeMount::new("./volumes/pooler/tls", "/etc/pooler/tls")
                .read_only()
                .with_selinux(Selinux::Shared),
        },
        Edit::Env {
            service: "supabase-pooler".into(),
            key: "GLOBAL_DOWNSTREAM_CERT_PATH".into(),
            value: "/etc/pooler/tls/server.crt".into(),
        },
        Edit::Env {
            service: "supavisor".into(),
            key: "GLOBAL_DOWNSTREAM_KEY_PATH".into(),
            value: "/etc/pooler/tls/server.key".into(),
        },
    ]
}

pub fn enforce_ssl(script: &str) -> String {
    let out = script.replacen(
        "  \"require_user\" => false,\n",
        "  \"require_user\" => false,\n  \"enforce_ssl\" => true,\n",
        1,
    );
    assert_ne!(out, script, "the pooler script has no require_user line");
    out
}

/// The hardening edit set for the Coolify layout.
pub fn coolify_edits(pooler_script: &str) -> Vec<Edit> {
    vec![
        Edit::CommandSettings {
            service: "supabase-db".into(),
            settings: settings(DB_SETTINGS),
        },
        Edit::Volume {
            service: "supabase-db".into(),
            mount: VolumeMount::new("./volumes/db/tls", "/etc/postgresql/tls").read_only(),
        },
        Edit::Volume {
            service: "supabase-supavisor".into(),
            mount: VolumeMount::new("./volumes/pooler/server.crt", "/etc/ssl/server.crt")
                .read_only(),
        },
        Edit::Volume {
            service: "supabase-supavisor".into(),
            mount: VolumeMount::new("./volumes/pooler/server.key", "/etc/ssl/server.key")
                .read_only(),
        },
        Edit::Env {
            service: "supabase-supavisor".into(),
            key: "GLOBAL_DOWNSTREAM_CERT_PATH".into(),
            value: "/etc/ssl/server.crt".into(),
        },
        Edit::Port {
            service: "supabase-supavisor".into(),
            mapping: "5432:5432".into(),
        },
        Edit::Port {
            service: "supabase-supavisor".into(),
            mapping: "6543:6543".into(),
        },
        Edit::InlineContent {
            service: "supabase-supavisor".into(),
            target: "/etc/pooler/pooler.exs".into(),
            content: enforce_ssl(pooler_script),
        },
    ]
}

pub fn view(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap()
}

/// Lines of `before` that `diff` removes (or changes).
pub fn removed_lines(before: &str, after: &str) -> Vec<String> {
    similar::TextDiff::from_lines(before, after)
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value().trim_end_matches(['\n', '\r']).to_owned())
        .collect()
}

/// Every comment (from `#` to the end of the line, outside quotes) in `text`.
pub fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut quote: Option<char> = None;
            let mut prev = ' ';
            for (i, c) in l.char_indices() {
                match (quote, c) {
                    (None, '\'' | '"')
                        if prev == ' ' || prev == '[' || prev == ',' || prev == '-' || i == 0 =>
                    {
                        quote = Some(c);
                    }
                    (Some(q), c) if c == q => quote = None,
                    (None, '#') if prev == ' ' || i == 0 => return Some(l[i..].to_owned()),
                    _ => {}
                }
                prev = c;
            }
            None
        })
        .collect()
}

pub fn apply_all(text: &str, edits: &[Edit]) -> ComposeFile {
    let mut f = ComposeFile::parse(text).unwrap();
    f.apply_all(edits).unwrap_or_else(|e| panic!("{e}"));
    f
}

//! Golden outputs for the fixtures modelled on the real layouts (FACTS section 2).
//!
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p pooler-exs --test it`, then review the diff.

use pooler_exs::{FlagState, Script, TenantLogic};

use crate::support::{assert_changed_within, fixture, fixture_dir, to_crlf};

/// The CA path the bundled example mounts into the Supavisor container.
pub const CA_PATH: &str = "/etc/pooler/certs/ca.crt";

fn check_golden(name: &str, actual: &str) {
    let path = fixture_dir().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "golden {name} differs");
}

/// Every edit the CLI applies: `enforce_ssl`, upstream TLS, upsert.
pub fn full_edit(src: &str) -> Script {
    let mut s = Script::parse(src).unwrap();
    s.set_bool("enforce_ssl", true).unwrap();
    s.set_upstream_tls(CA_PATH).unwrap();
    s.rewrite_to_upsert().unwrap();
    s
}

/// (fixture, golden after `enforce_ssl` only, golden after the full edit)
pub const CASES: &[(&str, &str, &str)] = &[
    (
        "valid/upstream-pooler.exs",
        "upstream-enforce-ssl.exs",
        "upstream-full.exs",
    ),
    (
        "valid/coolify-pooler.exs",
        "coolify-enforce-ssl.exs",
        "coolify-full.exs",
    ),
    (
        "valid/keyword-pooler.exs",
        "keyword-enforce-ssl.exs",
        "keyword-full.exs",
    ),
];

#[test]
fn goldens_and_idempotence() {
    for (fixture_name, ssl_golden, full_golden) in CASES {
        let src = fixture(fixture_name);
        let mut s = Script::parse(&src).unwrap();
        assert_eq!(
            s.to_string(),
            src,
            "{fixture_name}: parse + print is lossless"
        );
        let map_start = src.find(s.params_map().unwrap().source()).unwrap();
        let map_end = map_start + s.params_map().unwrap().source().len();

        assert!(s.set_bool("enforce_ssl", true).unwrap());
        assert_changed_within(&src, s.as_str(), map_start, map_end);
        check_golden(ssl_golden, s.as_str());
        assert!(
            !s.set_bool("enforce_ssl", true).unwrap(),
            "{fixture_name}: idempotent"
        );

        let full = full_edit(&src);
        check_golden(full_golden, full.as_str());
        // Applying the whole edit again changes nothing.
        let again = full_edit(full.as_str());
        assert_eq!(
            again.as_str(),
            full.as_str(),
            "{fixture_name}: full edit idempotent"
        );
        assert_eq!(full.tenant_logic(), TenantLogic::Upsert);
        let inspection = full.inspect().unwrap();
        assert_eq!(inspection.enforce_ssl, FlagState::True);
        assert_eq!(inspection.upstream_ssl, FlagState::True);
        assert!(inspection.enforce_ssl_reaches_existing_tenant);
    }
}

#[test]
fn crlf_and_no_final_newline_twins() {
    for (fixture_name, _, full_golden) in CASES {
        let src = fixture(fixture_name);
        let golden =
            std::fs::read_to_string(fixture_dir().join("golden").join(full_golden)).unwrap();

        let crlf = full_edit(&to_crlf(&src));
        assert_eq!(crlf.as_str(), to_crlf(&golden), "{fixture_name}: CRLF twin");
        assert!(
            !crlf.as_str().replace("\r\n", "").contains('\n'),
            "no bare LF added"
        );

        let trimmed = src.trim_end_matches('\n');
        let no_nl = full_edit(trimmed);
        assert_eq!(
            no_nl.as_str(),
            golden.trim_end_matches('\n'),
            "{fixture_name}: no final newline"
        );
    }
}

#[test]
fn upstream_is_create_only_and_coolify_upserts() {
    let up = Script::parse(&fixture("valid/upstream-pooler.exs")).unwrap();
    assert_eq!(up.tenant_logic(), TenantLogic::CreateOnly);
    let map = up.params_map().unwrap();
    assert_eq!(map.variable(), Some("params"));
    assert_eq!(map.line(), 12);
    assert_eq!(map.get("db_host"), Some("db_host"));
    assert_eq!(
        map.get("auth_query"),
        Some("\"SELECT * FROM pgbouncer.get_auth($1)\"")
    );
    assert_eq!(map.get("enforce_ssl"), None);
    assert_eq!(map.keys().len(), 10);
    assert!(map.get("users").unwrap().contains("\"is_manager\" => true"));
    // Keys of the nested maps are not parameters.
    assert_eq!(map.get("db_user"), None);
    assert_eq!(map.get("server_version"), None);

    let cool = Script::parse(&fixture("valid/coolify-pooler.exs")).unwrap();
    assert_eq!(cool.tenant_logic(), TenantLogic::Upsert);
    assert_eq!(
        cool.get("db_port").unwrap(),
        Some("System.get_env(\"POSTGRES_PORT\") |> String.to_integer()")
    );
    let mut c2 = cool.clone();
    assert!(!c2.rewrite_to_upsert().unwrap(), "already an upsert");
    assert_eq!(c2.as_str(), cool.as_str());
}

#[test]
fn inspect_json_contract() {
    let up = Script::parse(&fixture("valid/upstream-pooler.exs")).unwrap();
    let json = serde_json::to_value(up.inspect().unwrap()).unwrap();
    assert_eq!(json["tenant_logic"], "create-only");
    assert_eq!(json["enforce_ssl"], "absent");
    assert_eq!(json["upstream_ssl"], "absent");
    assert_eq!(json["params_variable"], "params");
    assert_eq!(json["params_line"], 12);
    assert_eq!(json["key_style"], "string");
    assert_eq!(json["enforce_ssl_reaches_existing_tenant"], false);
    assert_eq!(json["params_keys"][0], "external_id");
    assert_eq!(json["params_keys"][9], "users");

    let kw = Script::parse(&fixture("valid/keyword-pooler.exs")).unwrap();
    let i = kw.inspect().unwrap();
    assert_eq!(i.tenant_logic, TenantLogic::CreateOnly);
    assert_eq!(i.params_variable.as_deref(), Some("attrs"));
    assert_eq!(
        serde_json::to_value(i.key_style).unwrap(),
        serde_json::json!("keyword")
    );
}

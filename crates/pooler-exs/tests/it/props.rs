//! Property tests: generated maps in every style; set/remove keep bytes outside the map,
//! are idempotent and round-trip.

use pooler_exs::Script;
use proptest::prelude::*;

use crate::support::assert_changed_within;

const KEYS: &[&str] = &[
    "external_id",
    "db_host",
    "db_port",
    "require_user",
    "auth_query",
    "users",
];
const VALUES: &[&str] = &[
    "System.get_env(\"X\")",
    "false",
    "\"SELECT * FROM pgbouncer.get_auth($1)\"",
    "%{\"a\" => [1, {2, 3}]}",
    "[%{\"db_user\" => \"pgbouncer\"}]",
    "\"} => #\"",
    "~s(a b)",
    "?}",
    "System.get_env(\"P\") |> String.to_integer()",
    "'''\n  x\n  '''",
];

#[derive(Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent style switches of a generated map"
)]
struct MapSpec {
    keyword: bool,
    multiline: bool,
    trailing: bool,
    indent: &'static str,
    entries: Vec<(usize, usize, bool)>,
    crlf: bool,
}

fn spec() -> impl Strategy<Value = MapSpec> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["  ", "    ", "\t", "          "]),
        prop::collection::vec((0..KEYS.len(), 0..VALUES.len(), any::<bool>()), 0..6),
        any::<bool>(),
    )
        .prop_map(
            |(keyword, multiline, trailing, indent, entries, crlf)| MapSpec {
                keyword,
                multiline,
                trailing,
                indent,
                entries,
                crlf,
            },
        )
}

fn render(spec: &MapSpec) -> String {
    let mut seen = Vec::new();
    let mut parts = Vec::new();
    for &(k, v, comment) in &spec.entries {
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        let key = if spec.keyword {
            format!("{}:", KEYS[k])
        } else {
            format!("\"{}\" =>", KEYS[k])
        };
        let value = if spec.multiline {
            VALUES[v]
        } else {
            VALUES[v].split('\n').next().unwrap_or("1")
        };
        let value = if value.starts_with("'''") { "1" } else { value };
        parts.push((format!("{key} {value}"), comment && spec.multiline));
    }
    let mut out =
        String::from("{:ok, _} = Application.ensure_all_started(:supavisor)\nparams = %{");
    let n = parts.len();
    for (i, (p, comment)) in parts.iter().enumerate() {
        let comma = if i + 1 < n || spec.trailing { "," } else { "" };
        if spec.multiline {
            out.push('\n');
            out.push_str(spec.indent);
            out.push_str(p);
            out.push_str(comma);
            if *comment {
                out.push_str(" # note } =>");
            }
        } else {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(p);
            out.push_str(comma);
        }
    }
    if spec.multiline {
        out.push('\n');
    }
    out.push_str("}\nif !Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do\n  {:ok, _} = Supavisor.Tenants.create_tenant(params)\nend\n");
    if spec.crlf {
        out.replace('\n', "\r\n")
    } else {
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn set_remove_are_local_idempotent_and_round_trip(spec in spec()) {
        let src = render(&spec);
        let mut s = Script::parse(&src).unwrap();
        prop_assert_eq!(s.as_str(), src.as_str());
        let map = s.params_map().unwrap().source().to_owned();
        let lo = src.find(&map).unwrap();
        let hi = lo + map.len();

        prop_assert!(s.set_bool("enforce_ssl", true).unwrap());
        assert_changed_within(&src, s.as_str(), lo, hi);
        prop_assert_eq!(s.get("enforce_ssl").unwrap(), Some("true"));
        let once = s.to_string();
        prop_assert!(!s.set_bool("enforce_ssl", true).unwrap());
        prop_assert_eq!(s.as_str(), once.as_str());
        if spec.crlf {
            prop_assert!(!s.as_str().replace("\r\n", "").contains('\n'));
        }
        prop_assert!(s.remove("enforce_ssl").unwrap());
        prop_assert_eq!(s.as_str(), src.as_str());

        // Removing a present key keeps the others and stays local.
        if let Some(first) = Script::parse(&src).unwrap().params_map().unwrap().keys().first().map(|k| (*k).to_owned()) {
            let mut r = Script::parse(&src).unwrap();
            let before_keys = r.params_map().unwrap().keys().len();
            prop_assert!(r.remove(&first).unwrap());
            assert_changed_within(&src, r.as_str(), lo, hi);
            prop_assert_eq!(r.params_map().unwrap().keys().len(), before_keys - 1);
            prop_assert!(!r.remove(&first).unwrap());
        }
    }

    #[test]
    fn scanning_never_panics(text in "(?s).{0,200}") {
        if let Ok(s) = Script::parse(&text) {
            prop_assert_eq!(s.to_string(), text);
            let _ = s.params_map();
            let _ = s.tenant_logic();
        }
    }
}

//! Edge cases of scanning and editing.

use pooler_exs::{Error, KeyStyle, Script, TenantLogic, ValueExpr};

use crate::support::{assert_changed_within, assert_lines_only_added, to_crlf};

const CALL: &str = "\nSupavisor.Tenants.create_tenant(params)\n";

fn with_call(map: &str) -> String {
    format!("params = {map}{CALL}")
}

/// Set `enforce_ssl` and return the new text; also checks idempotence and locality.
fn enforce(src: &str) -> String {
    let mut s = Script::parse(src).unwrap();
    let map = s.params_map().unwrap().source().to_owned();
    let lo = src.find(&map).unwrap();
    s.set_bool("enforce_ssl", true).unwrap();
    assert_changed_within(src, s.as_str(), lo, lo + map.len());
    let once = s.to_string();
    assert!(!s.set_bool("enforce_ssl", true).unwrap());
    assert_eq!(s.as_str(), once);
    assert_eq!(s.get("enforce_ssl").unwrap(), Some("true"));
    once
}

#[test]
fn comments_and_strings_with_brackets_and_arrows() {
    let src = with_call(
        "%{\n  # } => not an entry\n  \"a\" => \"x => } # y\", # trailing } =>\n  \"b\" => ~s(})\n}",
    );
    let out = enforce(&src);
    assert_eq!(
        out,
        with_call(
            "%{\n  # } => not an entry\n  \"a\" => \"x => } # y\", # trailing } =>\n  \"enforce_ssl\" => true,\n  \"b\" => ~s(})\n}"
        )
    );
    let s = Script::parse(&src).unwrap();
    assert_eq!(s.params_map().unwrap().keys(), vec!["a", "b"]);
}

#[test]
fn last_entry_with_trailing_comment_keeps_its_line() {
    let src = with_call("%{\n  \"a\" => 1 # one }\n}");
    let out = enforce(&src);
    assert_eq!(
        out,
        with_call("%{\n  \"enforce_ssl\" => true,\n  \"a\" => 1 # one }\n}")
    );
    assert_lines_only_added(&src, &out, 1);
    // Comment lines above the last entry stay with it.
    let src = with_call(
        "%{\n  \"a\" => 1,\n\n  # the users\n  # (one)\n  \"users\" => [%{\n    \"u\" => 1\n  }]\n}",
    );
    let out = enforce(&src);
    assert!(
        out.contains("\"a\" => 1,\n\n  \"enforce_ssl\" => true,\n  # the users\n"),
        "{out}"
    );
    assert_lines_only_added(&src, &out, 1);
}

#[test]
fn interpolation_with_nested_braces_and_quotes() {
    let src =
        with_call("%{\"a\" => \"#{Map.get(%{\"k\" => \"}\"}, \"k\")} #{\"#{1}\"}\", \"b\" => 2}");
    let s = Script::parse(&src).unwrap();
    assert_eq!(s.params_map().unwrap().keys(), vec!["a", "b"]);
    assert!(enforce(&src).ends_with(
        "\"b\" => 2, \"enforce_ssl\" => true}\nSupavisor.Tenants.create_tenant(params)\n"
    ));
}

#[test]
fn heredoc_values_and_decoys() {
    let src = "doc = \"\"\"\n  params = %{\"x\" => 1}\n  Supavisor.Tenants.create_tenant(params)\n  \"\"\"\nparams = %{\n  \"auth_query\" => '''\n  SELECT } FROM x\n  ''',\n  \"q\" => ~S\"\"\"\n  ) ] }\n  \"\"\"\n}\nSupavisor.Tenants.create_tenant(params)\n";
    let s = Script::parse(src).unwrap();
    assert_eq!(s.params_map().unwrap().keys(), vec!["auth_query", "q"]);
    assert_eq!(s.params_map().unwrap().line(), 5);
    let out = enforce(src);
    assert!(
        out.contains("  ''',\n  \"enforce_ssl\" => true,\n  \"q\" => ~S\"\"\"\n"),
        "{out}"
    );
}

#[test]
fn sigils_with_each_delimiter_as_values() {
    let values = [
        r"~s(a \) b)",
        r"~S[a b]",
        r"~r{^a}i",
        r"~c<x, y>",
        r"~w/a b/a",
        r"~s|a, b|",
        r#"~s"a, } b""#,
        r"~s'a, ] b'",
    ];
    let body: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("  \"k{i}\" => {v}"))
        .collect();
    let src = with_call(&format!("%{{\n{}\n}}", body.join(",\n")));
    let s = Script::parse(&src).unwrap();
    let map = s.params_map().unwrap();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(map.get(&format!("k{i}")), Some(*v));
    }
    enforce(&src);
}

#[test]
fn keyword_style_maps() {
    let src = with_call("%{\n  external_id: \"t\",\n  db_port: 5432\n}");
    assert_eq!(
        enforce(&src),
        with_call("%{\n  external_id: \"t\",\n  enforce_ssl: true,\n  db_port: 5432\n}")
    );
    let s = Script::parse(&src).unwrap();
    assert_eq!(s.params_map().unwrap().key_style(), KeyStyle::Keyword);

    // Mixed: keyword entries come last, and new ones follow the last.
    let mixed = with_call("%{\"a\" => 1, b: 2}");
    assert_eq!(
        enforce(&mixed),
        with_call("%{\"a\" => 1, b: 2, enforce_ssl: true}")
    );

    let atoms = with_call("%{:a => 1}");
    assert_eq!(
        enforce(&atoms),
        with_call("%{:a => 1, :enforce_ssl => true}")
    );

    let quoted = with_call("%{\"a b\": 1}");
    assert_eq!(
        enforce(&quoted),
        with_call("%{\"a b\": 1, \"enforce_ssl\": true}")
    );
}

#[test]
fn insertion_styles() {
    // Trailing comma kept.
    assert_eq!(
        enforce(&with_call("%{\n    \"a\" => 1,\n    \"b\" => 2,\n}")),
        with_call("%{\n    \"a\" => 1,\n    \"b\" => 2,\n    \"enforce_ssl\" => true,\n}")
    );
    // Closing brace on the last entry's line.
    assert_eq!(
        enforce(&with_call("%{\"a\" => 1,\n  \"b\" => 2}")),
        with_call("%{\"a\" => 1,\n  \"enforce_ssl\" => true,\n  \"b\" => 2}")
    );
    // Single line, with and without trailing comma.
    assert_eq!(
        enforce(&with_call("%{\"a\" => 1}")),
        with_call("%{\"a\" => 1, \"enforce_ssl\" => true}")
    );
    assert_eq!(
        enforce(&with_call("%{a: 1,}")),
        with_call("%{a: 1, enforce_ssl: true,}")
    );
    // Empty maps.
    assert_eq!(
        enforce(&with_call("%{}")),
        with_call("%{\"enforce_ssl\" => true}")
    );
    assert_eq!(
        enforce(&with_call("%{\n}")),
        with_call("%{\n  \"enforce_ssl\" => true\n}")
    );
    assert_eq!(
        enforce(&with_call("%{ # none yet }\n}")),
        with_call("%{ # none yet }\n  \"enforce_ssl\" => true\n}")
    );
    // Tabs.
    assert_eq!(
        enforce(&with_call("%{\n\t\"a\" => 1\n}")),
        with_call("%{\n\t\"enforce_ssl\" => true,\n\t\"a\" => 1\n}")
    );
}

#[test]
fn update_in_place() {
    let src = with_call("%{\n  \"enforce_ssl\" => false, # was off\n  \"b\" => 2\n}");
    assert_eq!(
        enforce(&src),
        with_call("%{\n  \"enforce_ssl\" => true, # was off\n  \"b\" => 2\n}")
    );
    // An expression is replaced too.
    let src = with_call("%{enforce_ssl: System.get_env(\"X\") == \"1\"}");
    assert_eq!(enforce(&src), with_call("%{enforce_ssl: true}"));
    // Repeated keys: every occurrence is set (Elixir keeps the last).
    let src = with_call("%{\"enforce_ssl\" => false, \"enforce_ssl\" => false}");
    assert_eq!(
        enforce(&src),
        with_call("%{\"enforce_ssl\" => true, \"enforce_ssl\" => true}")
    );
}

#[test]
fn remove_keeps_style() {
    let cases = [
        // own lines, middle
        (
            "%{\n  \"a\" => 1,\n  \"b\" => 2, # note\n  \"c\" => 3\n}",
            "b",
            "%{\n  \"a\" => 1,\n  \"c\" => 3\n}",
        ),
        // own lines, last without trailing comma: the previous comma goes
        (
            "%{\n  \"a\" => 1,\n  \"b\" => 2\n}",
            "b",
            "%{\n  \"a\" => 1\n}",
        ),
        // own lines, last with trailing comma
        (
            "%{\n  \"a\" => 1,\n  \"b\" => 2,\n}",
            "b",
            "%{\n  \"a\" => 1,\n}",
        ),
        // multi-line value
        (
            "%{\n  \"u\" => [%{\n    \"x\" => 1\n  }],\n  \"a\" => 1\n}",
            "u",
            "%{\n  \"a\" => 1\n}",
        ),
        // inline
        (
            "%{\"a\" => 1, \"b\" => 2, \"c\" => 3}",
            "a",
            "%{\"b\" => 2, \"c\" => 3}",
        ),
        (
            "%{\"a\" => 1, \"b\" => 2, \"c\" => 3}",
            "b",
            "%{\"a\" => 1, \"c\" => 3}",
        ),
        (
            "%{\"a\" => 1, \"b\" => 2, \"c\" => 3}",
            "c",
            "%{\"a\" => 1, \"b\" => 2}",
        ),
        ("%{a: 1, b: 2,}", "b", "%{a: 1,}"),
        ("%{\"a\" => 1}", "a", "%{}"),
        // closing brace on the entry's line
        ("%{\n  \"a\" => 1,\n  \"b\" => 2}", "b", "%{\n  \"a\" => 1}"),
    ];
    for (map, key, expected) in cases {
        let mut s = Script::parse(&with_call(map)).unwrap();
        assert!(s.remove(key).unwrap(), "{map}");
        assert_eq!(s.as_str(), with_call(expected), "removing {key} from {map}");
        assert!(!s.remove(key).unwrap(), "idempotent");
    }
}

#[test]
fn set_then_remove_round_trips() {
    for map in [
        "%{\n  \"a\" => 1\n}",
        "%{\"a\" => 1}",
        "%{a: 1,}",
        "%{\n  a: 1,\n  b: 2,\n}",
    ] {
        let src = with_call(map);
        let mut s = Script::parse(&src).unwrap();
        s.set_bool("enforce_ssl", true).unwrap();
        s.remove("enforce_ssl").unwrap();
        assert_eq!(s.as_str(), src, "{map}");
    }
}

#[test]
fn crlf_files_get_crlf_lines() {
    let src = to_crlf(&with_call("%{\n  \"a\" => 1 # c\n}"));
    let out = enforce(&src);
    assert_eq!(
        out,
        to_crlf(&with_call(
            "%{\n  \"enforce_ssl\" => true,\n  \"a\" => 1 # c\n}"
        ))
    );
    let mut s = Script::parse(&out).unwrap();
    s.remove("enforce_ssl").unwrap();
    assert_eq!(s.as_str(), src);
}

#[test]
fn upstream_tls_values() {
    let mut s = Script::parse(&with_call("%{\"a\" => 1}")).unwrap();
    assert!(s.set_upstream_tls("/etc/ssl/ca \"x\".pem").unwrap());
    let map = s.params_map().unwrap();
    assert_eq!(map.get("upstream_ssl"), Some("true"));
    assert_eq!(map.get("upstream_verify"), Some("\"peer\""));
    assert_eq!(
        map.get("upstream_tls_ca"),
        Some(
            "\"/etc/ssl/ca \\\"x\\\".pem\" |> File.read!() |> :public_key.pem_decode() |> hd() |> elem(1)"
        )
    );
    let before = s.to_string();
    assert!(!s.set_upstream_tls("/etc/ssl/ca \"x\".pem").unwrap());
    assert_eq!(s.to_string(), before);
    // A different path replaces the expression in place.
    assert!(s.set_upstream_tls("/other.pem").unwrap());
    assert_eq!(s.params_map().unwrap().keys().len(), 4);
}

#[test]
fn raw_values_and_bad_keys() {
    let mut s = Script::parse(&with_call("%{\"a\" => 1}")).unwrap();
    let v = ValueExpr::raw("System.get_env(\"P\") |> String.to_integer()").unwrap();
    s.set("db_port", &v).unwrap();
    assert_eq!(
        s.get("db_port").unwrap(),
        Some("System.get_env(\"P\") |> String.to_integer()")
    );
    assert!(matches!(
        s.set_bool("a\"b", true),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(s.remove(""), Err(Error::InvalidKey { .. })));
}

#[test]
fn params_resolution() {
    // Inline map in the call.
    let s = Script::parse("Supavisor.Tenants.create_tenant(%{\"a\" => 1})").unwrap();
    assert_eq!(s.params_map().unwrap().variable(), None);
    assert_eq!(s.params_map().unwrap().keys(), vec!["a"]);
    // The last binding before the call wins; other modules' functions are ignored.
    let s = Script::parse(
        "params = %{\"old\" => 1}\nparams = %{\n  \"new\" => 2\n}\nOther.create_tenant(x)\nSupavisor.Tenants.create_tenant(params)\n",
    )
    .unwrap();
    assert_eq!(s.params_map().unwrap().keys(), vec!["new"]);
    assert_eq!(s.params_map().unwrap().line(), 2);
    // Aliased / imported call.
    let s =
        Script::parse("p = %{a: 1}\nalias Supavisor.Tenants\nTenants.update_tenant(t, p)").unwrap();
    assert_eq!(s.params_map().unwrap().keys(), vec!["a"]);
    assert_eq!(s.tenant_logic(), TenantLogic::Upsert);
}

#[test]
fn params_errors_name_the_line() {
    assert_eq!(
        Script::parse("x = 1").unwrap().params_map().unwrap_err(),
        Error::NoTenantCall
    );
    let e = Script::parse("a = 1\nSupavisor.Tenants.create_tenant(params)")
        .unwrap()
        .params_map()
        .unwrap_err();
    assert!(
        matches!(e, Error::UnboundParams { ref variable, line: 2, column: 19, .. } if variable == "params"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "line 2, column 19: variable \"params\" passed to create_tenant is not bound to a map literal (`params = %{...}`) before the call"
    );
    let e = Script::parse("Supavisor.Tenants.create_tenant(build())")
        .unwrap()
        .params_map()
        .unwrap_err();
    assert!(
        matches!(e, Error::ParamsNotMap { ref argument, line: 1, .. } if argument == "build()"),
        "{e}"
    );
    let e = Script::parse(
        "a = %{x: 1}\nb = %{y: 2}\nSupavisor.Tenants.create_tenant(a)\nSupavisor.Tenants.update_tenant(t, b)",
    )
    .unwrap()
    .params_map()
    .unwrap_err();
    assert_eq!(e, Error::AmbiguousParams { lines: vec![1, 2] });
    assert_eq!(e.line(), Some(1));
}

#[test]
fn tenant_logic_variants() {
    let body = "  {:ok, _} = Supavisor.Tenants.create_tenant(params)\n";
    for header in [
        "if !Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do",
        "if not Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do",
        "unless Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do",
        "if is_nil(Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"])) do",
        "if Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) == nil do",
    ] {
        let src = format!("params = %{{\"external_id\" => \"t\"}}\n\n{header}\n{body}end\n");
        let mut s = Script::parse(&src).unwrap();
        assert_eq!(s.tenant_logic(), TenantLogic::CreateOnly, "{header}");
        assert!(s.rewrite_to_upsert().unwrap());
        let lo = src.find(header).unwrap();
        assert_changed_within(&src, s.as_str(), lo, lo + header.len());
        assert_eq!(
            s.as_str(),
            format!(
                "params = %{{\"external_id\" => \"t\"}}\n\ntenant = Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"])\nif tenant do\n  {{:ok, _}} = Supavisor.Tenants.update_tenant(tenant, params)\nelse\n{body}end\n"
            ),
            "{header}"
        );
        assert_eq!(s.tenant_logic(), TenantLogic::Upsert);
        assert!(!s.rewrite_to_upsert().unwrap());
    }
}

#[test]
fn unknown_logic_and_rewrite_refusals() {
    let mut s =
        Script::parse("params = %{a: 1}\nSupavisor.Tenants.create_tenant(params)\n").unwrap();
    assert_eq!(s.tenant_logic(), TenantLogic::Unknown);
    assert!(matches!(
        s.rewrite_to_upsert(),
        Err(Error::CannotRewrite { line: 2, .. })
    ));

    let mut s = Script::parse(
        "params = %{a: 1}\nif !Supavisor.Tenants.get_tenant_by_external_id(\"t\") do\n  Supavisor.Tenants.create_tenant(params)\nelse\n  :ok\nend\n",
    )
    .unwrap();
    assert_eq!(s.tenant_logic(), TenantLogic::CreateOnly);
    // An existing `else` gets the update as its first line (upstream's registry script).
    assert!(s.rewrite_to_upsert().unwrap());
    assert_eq!(
        s.as_str(),
        "params = %{a: 1}\ntenant = Supavisor.Tenants.get_tenant_by_external_id(\"t\")\nif !tenant do\n  Supavisor.Tenants.create_tenant(params)\nelse\n  {:ok, _} = Supavisor.Tenants.update_tenant(tenant, params)\n  :ok\nend\n"
    );

    let mut s = Script::parse(
        "if !Supavisor.Tenants.get_tenant_by_external_id(\"t\") do\n  Supavisor.Tenants.create_tenant(%{a: 1})\nend\n",
    )
    .unwrap();
    assert!(matches!(
        s.rewrite_to_upsert(),
        Err(Error::CannotRewrite { .. })
    ));
}

#[test]
fn rewrite_keeps_yaml_indentation_and_tenant_name_clash() {
    let src = "          tenant = %{\"a\" => 1}\n          if !Supavisor.Tenants.get_tenant_by_external_id(\"t\") do\n            {:ok, _} = Supavisor.Tenants.create_tenant(tenant)\n          end\n";
    let mut s = Script::parse(src).unwrap();
    s.rewrite_to_upsert().unwrap();
    assert_eq!(
        s.as_str(),
        "          tenant = %{\"a\" => 1}\n          existing_tenant = Supavisor.Tenants.get_tenant_by_external_id(\"t\")\n          if existing_tenant do\n            {:ok, _} = Supavisor.Tenants.update_tenant(existing_tenant, tenant)\n          else\n            {:ok, _} = Supavisor.Tenants.create_tenant(tenant)\n          end\n"
    );
}

#[test]
fn torture_fixture_scans_and_edits() {
    let src = crate::support::fixture("valid/torture.exs");
    let mut s = Script::parse(&src).unwrap();
    let map = s.params_map().unwrap();
    assert_eq!(map.keys(), vec!["external_id", "db_host", "note", "users"]);
    assert_eq!(map.line(), 52);
    assert_eq!(
        map.get("note"),
        Some("\"#{inspect(%{\"x\" => \"}\"})} => # }\"")
    );
    assert_eq!(s.tenant_logic(), TenantLogic::CreateOnly);
    let lo = src.find(map.source()).unwrap();
    let hi = lo + map.source().len();
    s.set_bool("enforce_ssl", true).unwrap();
    assert_changed_within(&src, s.as_str(), lo, hi);
    assert!(s.as_str().contains(
        "  \"enforce_ssl\" => true,\n  \"users\" => for(u <- [\"pgbouncer\"], do: %{\"db_user\" => u, \"is_manager\" => true})\n}\n"
    ));
    s.rewrite_to_upsert().unwrap();
    assert_eq!(s.tenant_logic(), TenantLogic::Upsert);
}

#[test]
fn rewrite_refuses_params_bound_inside_the_block() {
    let src = "params = %{a: 1}\nif !Supavisor.Tenants.get_tenant_by_external_id(\"t\") do\n  params = %{b: 2}\n  Supavisor.Tenants.create_tenant(params)\nend\n";
    let mut s = Script::parse(src).unwrap();
    assert_eq!(s.tenant_logic(), TenantLogic::CreateOnly);
    let e = s.rewrite_to_upsert().unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: cannot rewrite the tenant logic into an upsert: \"params\" is bound to its map inside the `if` block"
    );
    assert_eq!(s.as_str(), src);
}

/// Inputs the fuzzer found; each must either be refused or be hardened idempotently.
#[test]
fn fuzz_regressions_harden_idempotently() {
    let dir = crate::support::fixture_dir().join("regress");
    let opts = pooler_exs::HardenOptions {
        enforce_ssl: true,
        upstream_ca: Some("/ca.pem".to_owned()),
        upsert: true,
        sni_hostname: None,
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Ok(report) = pooler_exs::harden(&text, &opts) {
            let again = pooler_exs::harden(&report.text, &opts)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!again.changed, "{}", path.display());
        }
    }
}

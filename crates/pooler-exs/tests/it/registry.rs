//! The registry shape of upstream's pooler.exs (supabase/supabase `docker/volumes/pooler/pooler.exs`
//! around 1c8aa2c): one tenant per database of `databases.json`, the parameters map built inside
//! `Enum.each(databases, fn ... end)`, create-only with an `else` that logs. Edited here, then
//! run whole by a real Elixir against stub Supavisor modules and a two-database registry.

use std::path::Path;
use std::process::Command;

use pooler_exs::{Error, FlagState, HardenOptions, Script, TenantLogic, harden};

use crate::support::{assert_lines_only_added, fixture, fixture_dir};

const REGISTRY: &str = "registry/pooler.exs";

#[test]
fn the_registry_script_is_read() {
    let script = Script::parse(&fixture(REGISTRY)).unwrap();
    let map = script.params_map().unwrap();
    assert_eq!(map.variable(), Some("tenant_params"));
    assert_eq!(map.line(), 59);
    assert_eq!(
        map.loop_line(),
        Some(51),
        "the `Enum.each(databases, fn` line"
    );
    assert_eq!(map.get("require_user"), Some("false"));
    assert_eq!(map.get("external_id"), Some("external_id"));
    // The fallback entry `%{"ref" => ...}` and the nested users map are not the tenant map.
    assert!(!map.contains_key("ref"));
    assert!(!map.contains_key("db_user"));
    let i = script.inspect().unwrap();
    assert_eq!(i.tenant_logic, TenantLogic::CreateOnly);
    assert_eq!(i.enforce_ssl, FlagState::Absent);
    assert_eq!(i.params_loop_line, Some(51));
    assert_eq!(i.sni_hostname, None);
    let json = serde_json::to_value(&i).unwrap();
    assert_eq!(json["params_loop_line"], 51);
    assert!(json["sni_hostname"].is_null());
}

#[test]
fn a_top_level_map_has_no_loop() {
    let script = Script::parse(&fixture("valid/upstream-pooler.exs")).unwrap();
    assert_eq!(script.params_map().unwrap().loop_line(), None);
    assert_eq!(script.inspect().unwrap().params_loop_line, None);
    // A map inside `for ... do` is per item too; one inside `if ... do` is not.
    let src = "for db <- dbs do\n  p = %{\"external_id\" => db}\n  if true do\n    Supavisor.Tenants.create_tenant(p)\n  end\nend\n";
    assert_eq!(
        Script::parse(src)
            .unwrap()
            .params_map()
            .unwrap()
            .loop_line(),
        Some(1)
    );
    let src = "if true do\n  p = %{\"external_id\" => \"t\"}\n  Supavisor.Tenants.create_tenant(p)\nend\n";
    assert_eq!(
        Script::parse(src)
            .unwrap()
            .params_map()
            .unwrap()
            .loop_line(),
        None
    );
}

#[test]
fn tls_keys_are_added_as_lines_in_the_loop_map() {
    let before = fixture(REGISTRY);
    let report = harden(
        &before,
        &HardenOptions {
            enforce_ssl: true,
            upstream_ca: Some("/etc/pooler/ca.crt".into()),
            upsert: false,
            sni_hostname: None,
        },
    )
    .unwrap();
    assert_lines_only_added(&before, &report.text, 4);
    assert!(report.text.contains(
        "    \"default_parameter_status\" => %{\"server_version\" => server_version},\n    \"enforce_ssl\" => true,\n    \"upstream_ssl\" => true,\n    \"upstream_verify\" => \"peer\",\n"
    ));
    assert_eq!(report.tenant_logic, TenantLogic::CreateOnly);
    assert!(report.warnings.iter().any(|w| w.contains("only creates")));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("inside the loop at line 51") && w.contains("every one")),
        "{:?}",
        report.warnings
    );
    // The one-tenant script gets no such warning.
    let one = harden(
        &fixture("valid/upstream-pooler.exs"),
        &HardenOptions {
            enforce_ssl: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        !one.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        one.warnings
    );
}

#[test]
fn the_create_only_if_with_else_becomes_an_upsert() {
    let before = fixture(REGISTRY);
    let mut script = Script::parse(&before).unwrap();
    assert!(script.rewrite_to_upsert().unwrap());
    let after = script.to_string();
    let expected = before
        .replace(
            "  if !Supavisor.Tenants.get_tenant_by_external_id(external_id) do\n",
            "  tenant = Supavisor.Tenants.get_tenant_by_external_id(external_id)\n  if !tenant do\n",
        )
        .replace(
            "  else\n    IO.puts(\"tenant #{external_id} exists already\")",
            "  else\n    {:ok, _} = Supavisor.Tenants.update_tenant(tenant, tenant_params)\n    IO.puts(\"tenant #{external_id} exists already\")",
        );
    assert_ne!(expected, before);
    assert_eq!(after, expected);
    assert_eq!(script.tenant_logic(), TenantLogic::Upsert);
    assert!(!script.rewrite_to_upsert().unwrap(), "idempotent");
}

#[test]
fn an_else_with_code_on_its_line_is_refused() {
    let src = "p = %{\"external_id\" => \"t\"}\nif !Supavisor.Tenants.get_tenant_by_external_id(\"t\") do\n  Supavisor.Tenants.create_tenant(p)\nelse IO.puts(\"exists\")\nend\n";
    let mut script = Script::parse(src).unwrap();
    let err = script.rewrite_to_upsert().unwrap_err();
    assert!(
        matches!(err, Error::CannotRewrite { line: 2, ref reason } if reason.contains("`else`")),
        "{err}"
    );
    assert_eq!(script.as_str(), src);
}

#[test]
fn one_sni_hostname_for_every_registry_tenant_is_refused() {
    let before = fixture(REGISTRY);
    let mut script = Script::parse(&before).unwrap();
    let err = script.set_sni_hostname("pooler.example.com").unwrap_err();
    assert!(
        matches!(err, Error::SharedByLoop { line: 51, ref key, .. } if key == "sni_hostname"),
        "{err}"
    );
    assert!(err.to_string().contains("Repo.get_by"), "{err}");
    assert_eq!(script.as_str(), before);
}

/// Stub Supavisor (application, Repo, Helpers, Tenants) and Jason for Elixir 1.14 (no JSON
/// module), then the script itself with `Code.eval_file`; every tenant call is printed.
const RUNNER: &str = r##"
[script, existing] = System.argv()
:ok = :application.load({:application, :supavisor,
  [description: ~c"stub", vsn: ~c"0.0.0", modules: [], registered: [], applications: [:kernel, :stdlib]]})
defmodule Jason do
  # Enough JSON for the test registry: objects, arrays, strings, integers.
  def decode!(raw) do
    src = raw |> String.replace("{", "%{") |> String.replace(~r/"\s*:/, "\" =>")
    {value, _} = Code.eval_string(src)
    value
  end
end
defmodule Supavisor.Repo do
  def query(_sql), do: {:ok, %{rows: [["PostgreSQL 17.6 on x86_64-pc-linux-gnu"]]}}
end
defmodule Supavisor.Helpers do
  def parse_pg_version(_banner), do: {:ok, "17.6"}
end
defmodule Supavisor.Tenants do
  def get_tenant_by_external_id(id) do
    if id in String.split(System.get_env("STUB_EXISTING", ""), ","), do: %{external_id: id}
  end
  def create_tenant(p), do: (report("create", p["external_id"], p); {:ok, :created})
  def update_tenant(t, p), do: (report("update", t.external_id, p); {:ok, :updated})
  defp report(what, id, p) do
    keys = ~w(db_host db_port enforce_ssl upstream_ssl upstream_verify upstream_tls_ca require_user)
    IO.puts("#{what} #{id} " <> Enum.map_join(keys, " ", fn k -> "#{k}=#{inspect(p[k])}" end))
  end
end
System.put_env("STUB_EXISTING", existing)
Code.eval_file(script)
"##;

/// `<<48, 3, 2, 1, 1>>` as a PEM block.
const TEST_PEM: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";

fn run_elixir(dir: &Path, text: &str, existing: &str) -> String {
    let script = dir.join("pooler.exs");
    std::fs::write(&script, text).unwrap();
    std::fs::write(dir.join("runner.exs"), RUNNER).unwrap();
    let out = Command::new("elixir")
        .arg(dir.join("runner.exs"))
        .arg(&script)
        .arg(existing)
        .env(
            "DATABASE_REGISTRY_PATH",
            fixture_dir().join("registry/databases.json"),
        )
        .output()
        .unwrap_or_else(|e| {
            panic!("running `elixir` (scripts/deps installs it; this test needs it): {e}")
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "elixir failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn elixir_runs_the_edited_registry_script_for_every_database() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, TEST_PEM).unwrap();
    let original = fixture(REGISTRY);
    let report = harden(
        &original,
        &HardenOptions {
            enforce_ssl: true,
            upstream_ca: Some(ca.to_str().unwrap().to_owned()),
            upsert: true,
            sni_hostname: None,
        },
    )
    .unwrap();
    assert_eq!(report.tenant_logic, TenantLogic::Upsert);
    let tls = "enforce_ssl=true upstream_ssl=true upstream_verify=\"peer\" upstream_tls_ca=<<48, 3, 2, 1, 1>> require_user=false";

    // The original: both tenants created without TLS; existing ones untouched (the trap).
    let out = run_elixir(dir.path(), &original, "");
    assert!(
        out.contains("create alpha db_host=\"db-alpha\" db_port=5432 enforce_ssl=nil"),
        "{out}"
    );
    assert!(
        out.contains("create beta db_host=\"db-beta\" db_port=5433 enforce_ssl=nil"),
        "{out}"
    );
    let out = run_elixir(dir.path(), &original, "alpha,beta");
    assert!(
        !out.contains("update ") && !out.contains("create "),
        "{out}"
    );
    assert!(out.contains("tenant alpha exists already"), "{out}");

    // Hardened: fresh databases get TLS at creation, existing ones by update, each one.
    let out = run_elixir(dir.path(), &report.text, "");
    assert!(
        out.contains(&format!(
            "create alpha db_host=\"db-alpha\" db_port=5432 {tls}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "create beta db_host=\"db-beta\" db_port=5433 {tls}"
        )),
        "{out}"
    );
    let out = run_elixir(dir.path(), &report.text, "alpha");
    assert!(
        out.contains(&format!(
            "update alpha db_host=\"db-alpha\" db_port=5432 {tls}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "create beta db_host=\"db-beta\" db_port=5433 {tls}"
        )),
        "{out}"
    );
    assert!(out.contains("tenant alpha exists already"), "{out}");
    assert!(!out.contains("update beta"), "{out}");
}

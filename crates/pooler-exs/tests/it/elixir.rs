//! Independent check with a real Elixir: every fixture and golden output parses with
//! `Code.string_to_quoted!`, its parameters map evaluates (`enforce_ssl` true, upstream TLS CA
//! decoded to DER), and the tenant logic after the map, run against a stub
//! `Supavisor.Tenants`, creates a missing tenant and updates an existing one.
//!
//! Skipped, with the reason printed, when `elixir` is not on PATH.

use std::process::Command;

use pooler_exs::Script;

use crate::golden::{CA_PATH, CASES};
use crate::support::{fixture, fixture_dir};

const CHECKER: &str = r##"
[script_path, map_path, tail_path, var] = System.argv()
Code.string_to_quoted!(File.read!(script_path), file: script_path)
System.put_env("POSTGRES_PORT", "5432")
defmodule Supavisor.Tenants do
  def get_tenant_by_external_id(_id), do: Process.get(:existing)
  def create_tenant(p), do: (send(self(), {:called, :create, p}); {:ok, :created})
  def update_tenant(t, p), do: (send(self(), {:called, :update, t, p}); {:ok, :updated})
end
stubs = [db_host: "db", version: "15.8.1", banner: "", pattern: ~r/x/, words: [], note: ""]
{map, _} = Code.eval_string(File.read!(map_path), stubs)
get = fn k -> Map.get(map, k, Map.get(map, String.to_atom(k))) end
for k <- ["enforce_ssl", "upstream_ssl", "upstream_verify", "upstream_tls_ca"] do
  IO.puts("#{k}=#{inspect(get.(k))}")
end
tail = File.read!(tail_path)
run = fn existing ->
  Process.put(:existing, existing)
  Code.eval_string(tail, [{String.to_atom(var), map} | stubs])
  receive do
    {:called, what, _} -> what
    {:called, what, _, _} -> what
  after
    0 -> :none
  end
end
IO.puts("fresh=#{run.(nil)}")
IO.puts("existing=#{run.(%{external_id: "t"})}")
"##;

/// `<<48, 3, 2, 1, 1>>` as a PEM block.
const TEST_PEM: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";

fn run_checker(dir: &std::path::Path, name: &str, text: &str) -> String {
    let script = Script::parse(text).unwrap();
    let map = script.params_map().unwrap();
    let ca = dir.join("ca.pem");
    let map_src = map.source().replace(CA_PATH, ca.to_str().unwrap());
    let map_end = text.find(map.source()).unwrap() + map.source().len();
    let paths = [
        ("script.exs", text.to_owned()),
        ("map.exs", map_src),
        ("tail.exs", text[map_end..].to_owned()),
        ("check.exs", CHECKER.to_owned()),
    ];
    for (file, content) in &paths {
        std::fs::write(dir.join(file), content).unwrap();
    }
    let out = Command::new("elixir")
        .arg(dir.join("check.exs"))
        .arg(dir.join("script.exs"))
        .arg(dir.join("map.exs"))
        .arg(dir.join("tail.exs"))
        .arg(map.variable().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: elixir failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn elixir_accepts_edited_fixtures() {
    if Command::new("elixir").arg("--version").output().is_err() {
        eprintln!("skipping elixir_accepts_edited_fixtures: `elixir` is not on PATH");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pooler-exs-elixir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), TEST_PEM).unwrap();
    for (fixture_name, ssl_golden, full_golden) in CASES {
        let original = fixture(fixture_name);
        let out = run_checker(&dir, fixture_name, &original);
        assert!(out.contains("enforce_ssl=nil\n"), "{fixture_name}: {out}");
        assert!(out.contains("fresh=create\n"), "{fixture_name}: {out}");
        let upserts = fixture_name.contains("coolify");
        let existing = if upserts {
            "existing=update\n"
        } else {
            "existing=none\n"
        };
        assert!(out.contains(existing), "{fixture_name}: {out}");

        let ssl = std::fs::read_to_string(fixture_dir().join("golden").join(ssl_golden)).unwrap();
        let out = run_checker(&dir, ssl_golden, &ssl);
        assert!(out.contains("enforce_ssl=true\n"), "{ssl_golden}: {out}");

        let full = std::fs::read_to_string(fixture_dir().join("golden").join(full_golden)).unwrap();
        let out = run_checker(&dir, full_golden, &full);
        for line in [
            "enforce_ssl=true\n",
            "upstream_ssl=true\n",
            "upstream_verify=\"peer\"\n",
            "upstream_tls_ca=<<48, 3, 2, 1, 1>>\n",
            "fresh=create\n",
            "existing=update\n",
        ] {
            assert!(
                out.contains(line),
                "{full_golden}: expected {line:?} in\n{out}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

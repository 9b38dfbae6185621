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

/// Small inputs in every map style; each is edited (set, upstream TLS, remove, rewrite) and
/// every input and output must parse as Elixir.
const STYLE_CASES: &[&str] = &[
    "%{\n  \"a\" => 1,\n  \"b\" => 2, # note } =>\n  \"c\" => 3\n}",
    "%{\n    \"a\" => 1,\n    \"b\" => 2,\n}",
    "%{\"a\" => 1,\n  \"b\" => 2}",
    "%{\"a\" => 1}",
    "%{a: 1,}",
    "%{}",
    "%{ # none yet }\n}",
    "%{\n\t\"a\" => 1\n}",
    "%{\"a\" => 1, b: 2}",
    "%{:a => 1}",
    "%{\"a b\": 1}",
    "%{\n  external_id: \"t\",\n  db_port: 5432\n}",
    "%{\n  \"q\" => ~S\"\"\"\n  ) ] }\n  \"\"\"\n}",
    "%{\"a\" => \"#{Map.get(%{\"k\" => \"}\"}, \"k\")}\", \"enforce_ssl\" => false}",
    "%{\n  \"u\" => [%{\n    \"x\" => 1\n  }],\n  \"a\" => 1 # one\n}",
];

#[test]
fn elixir_parses_every_edit_style() {
    if Command::new("elixir").arg("--version").output().is_err() {
        eprintln!("skipping elixir_parses_every_edit_style: `elixir` is not on PATH");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pooler-exs-styles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut texts: Vec<String> = Vec::new();
    for map in STYLE_CASES {
        for crlf in [false, true] {
            let mut src = format!(
                "params = {map}\nif !Supavisor.Tenants.get_tenant_by_external_id(params[\"external_id\"]) do\n  {{:ok, _}} = Supavisor.Tenants.create_tenant(params)\nend\n"
            );
            if crlf {
                src = src.replace('\n', "\r\n");
            }
            let mut s = Script::parse(&src).unwrap();
            texts.push(src.clone());
            s.set_bool("enforce_ssl", true).unwrap();
            texts.push(s.to_string());
            s.set_upstream_tls("/etc/pooler/certs/ca.crt").unwrap();
            texts.push(s.to_string());
            s.rewrite_to_upsert().unwrap();
            texts.push(s.to_string());
            let keys: Vec<String> = s
                .params_map()
                .unwrap()
                .keys()
                .iter()
                .map(|k| (*k).to_owned())
                .collect();
            for k in keys
                .iter()
                .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                let mut r = s.clone();
                r.remove(k).unwrap();
                texts.push(r.to_string());
            }
        }
    }
    let torture = fixture("valid/torture.exs");
    texts.push(torture.clone());
    let mut s = Script::parse(&torture).unwrap();
    s.set_bool("enforce_ssl", true).unwrap();
    s.set_upstream_tls("/etc/pooler/certs/ca.crt").unwrap();
    texts.push(s.to_string());
    s.rewrite_to_upsert().unwrap();
    texts.push(s.to_string());
    for (n, t) in texts.iter().enumerate() {
        std::fs::write(dir.join(format!("{n:04}.exs")), t).unwrap();
    }
    let checker = r##"
dir = hd(System.argv())
bad =
  dir
  |> File.ls!()
  |> Enum.filter(&String.ends_with?(&1, ".exs"))
  |> Enum.sort()
  |> Enum.flat_map(fn f ->
    case Code.string_to_quoted(File.read!(Path.join(dir, f))) do
      {:ok, _} -> []
      {:error, e} -> ["#{f}: #{inspect(e)}"]
    end
  end)
IO.puts("bad=#{length(bad)}")
Enum.each(bad, &IO.puts/1)
"##;
    let check = dir.join("check.exs.txt");
    std::fs::write(&check, checker).unwrap();
    let out = Command::new("elixir")
        .arg(&check)
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("bad=0\n"),
        "{} texts checked:\n{stdout}",
        texts.len()
    );
    assert!(texts.len() > 100, "checked {} texts", texts.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Differential check against Elixir's own parser over a directory of scripts (by default the
/// fuzz corpus): every script Elixir parses must scan here, and where a parameters map is found,
/// the edited script (`enforce_ssl`, upstream TLS, upsert rewrite when possible) must still
/// parse as Elixir. Run with
/// `cargo test -p pooler-exs --test it -- --ignored differential` (optionally
/// `POOLER_EXS_CORPUS=dir`).
#[test]
#[ignore = "needs elixir and a corpus directory; slow"]
fn differential_against_elixir() {
    let corpus = std::env::var_os("POOLER_EXS_CORPUS").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scan_edit"),
        std::path::PathBuf::from,
    );
    let checker = r"
dir = hd(System.argv())
dir
|> File.ls!()
|> Enum.sort()
|> Enum.each(fn f ->
  text = File.read!(Path.join(dir, f))
  ok =
    try do
      String.valid?(text) and match?({:ok, _}, Code.string_to_quoted(text))
    rescue
      _ -> false
    end
  if ok, do: IO.puts(f)
end)
";
    let work = std::env::temp_dir().join(format!("pooler-exs-diff-{}", std::process::id()));
    std::fs::create_dir_all(work.join("in")).unwrap();
    std::fs::create_dir_all(work.join("out")).unwrap();
    std::fs::write(work.join("check.exs.txt"), checker).unwrap();
    let accepted = |dir: &std::path::Path| -> Vec<String> {
        let out = Command::new("elixir")
            .arg(work.join("check.exs.txt"))
            .arg(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let ok_inputs = accepted(&corpus);
    let mut edited = 0usize;
    for f in &ok_inputs {
        let text = std::fs::read_to_string(corpus.join(f)).unwrap();
        let script = Script::parse(&text)
            .unwrap_or_else(|e| panic!("{f}: Elixir parses it but the scanner says: {e}\n{text}"));
        if script.params_map().is_err() {
            continue;
        }
        let mut s = script.clone();
        s.set_bool("enforce_ssl", true).unwrap();
        s.set_upstream_tls("/etc/pooler/certs/ca.crt").unwrap();
        let _ = s.rewrite_to_upsert();
        std::fs::write(work.join("out").join(f), s.as_str()).unwrap();
        edited += 1;
    }
    let ok_outputs = accepted(&work.join("out"));
    let mut broken: Vec<&String> = Vec::new();
    for entry in std::fs::read_dir(work.join("out")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !ok_outputs.contains(&name) {
            broken.push(ok_inputs.iter().find(|x| **x == name).unwrap());
        }
    }
    eprintln!(
        "{} inputs parsed by Elixir, all scanned; {edited} edited, {} of those no longer parse",
        ok_inputs.len(),
        broken.len()
    );
    assert!(
        broken.is_empty(),
        "edits broke: {broken:?} (inputs in {})",
        corpus.display()
    );
    let _ = std::fs::remove_dir_all(&work);
}

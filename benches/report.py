"""Renders the JSON written by benches/compare.sh (hyperfine exports) as BENCHMARKS.md."""
import json, os, platform, statistics, subprocess, sys

jdir, runs = sys.argv[1], sys.argv[2]


def load(name):
    path = os.path.join(jdir, name + ".json")
    try:
        return json.load(open(path))["results"]
    except (OSError, ValueError, KeyError):
        return []


def ms(x):
    return f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


def row(r):
    return f"| {r['command']} | {ms(r['median'])} | {ms(r['min'])}–{ms(r['max'])} | {len(r['times'])} |"


def version(cmd):
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "not available"


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


lines = ["# Benchmarks: pgtls against the tools users would pick instead", ""]
lines.append("Measured in one run of `benches/compare.sh` on the same machine, both sides in the same run; "
             "whole processes timed by hyperfine (medians, min–max). Rerun: `RUNS=10 benches/compare.sh`.")
lines.append("")
lines.append(f"Machine: {os.cpu_count()} cores, {cpu()}; {platform.system()} {platform.release()}.  ")
lines.append("Versions: " + "; ".join([
    version(os.environ.get("PGTLS", "target/release/pgtls") + " --version"), version("openssl version"), version("psql --version"),
    version("pgbouncer --version"), version("hyperfine --version"),
]) + ".")
lines.append("")
summary = []


def section(title, results, goal=None, base=None):
    lines.append(f"## {title}")
    lines.append("")
    if goal:
        lines.append(f"Goal: {goal}")
        lines.append("")
    lines.append("| command | median | min–max | runs |")
    lines.append("|---|---|---|---|")
    for r in results:
        lines.append(row(r))
    lines.append("")


start = load("start")
section("0. Process start", start, "`pgtls --version` in at most 2 ms.")

one = load("one_endpoint")
section("1. One endpoint", one, "the default verdict (two connections) in at most the time of openssl's single handshake (aim 0.8×).")
if len(one) >= 2:
    ratio = one[0]["median"] / one[1]["median"]
    lines.append(f"pgtls / openssl s_client = **{ratio:.2f}** (goal ≤ 1.0, aim 0.8).")
    lines.append("")
    summary.append(f"one endpoint: pgtls verify takes {ratio:.2f}× the time of one `openssl s_client` handshake")
lines.append("What each mode costs the server (PostgreSQL 15, measured with `log_connections` in "
             "`crates/probe/tests/it/servers.rs`): the default `verify` opens **2 connections** "
             "(SSLRequest + handshake + certificate, with the optional login on that same session; "
             "and the plaintext StartupMessage) and leaves **1 FATAL line** (the plaintext refusal; "
             "a wrong password adds one). `--deep` opens about **27 connections** (TLS versions, "
             "the cipher enumeration by elimination, the client-certificate handshake, pipelined "
             "data, direct TLS) and leaves 2 FATAL lines plus one LOG line per refused handshake.")
lines.append("")

many = load("many_endpoints") + load("testssl") + load("sslyze")
section("2. Many endpoints", many, "at least 100 endpoints per second on 2 cores.")
if many:
    eps = 200 / many[0]["median"]
    lines.append(f"pgtls: **{eps:.0f} endpoints/s** over 200 targets (goal ≥ 100).")
    lines.append("")
    summary.append(f"many endpoints: {eps:.0f} endpoints/s")
    for r in many[1:]:
        summary.append(f"{r['command']}: {ms(r['median'])} for one endpoint vs pgtls {ms(one[0]['median']) if one else '?'}")

fleet = load("fleet")
section("2b. Fleet", fleet, "at least 150 PostgreSQL 15 endpoints/s over 1,000 targets at concurrency 256, none a timeout reported as fail.")
if fleet:
    eps = 1000 / fleet[0]["median"]
    lines.append(f"pgtls: **{eps:.0f} endpoints/s** over 1,000 targets (goal ≥ 150).")
    summary.append(f"fleet: {eps:.0f} endpoints/s over 1,000 targets at concurrency 256")
    fr = os.path.join(jdir, "fleet_report.json")
    if os.path.exists(fr):
        rep = json.load(open(fr))
        verdicts = {}
        for t in rep["targets"]:
            verdicts[t["verdict"]] = verdicts.get(t["verdict"], 0) + 1
        retried = sum(1 for t in rep["targets"] if t.get("attempts", 1) > 1)
        lines.append(f"Last run's verdicts: {verdicts}; retried after a timeout: {retried}.")
    lines.append("")

hba = load("hba") + load("hba_fmt_write")
pg_ms = [float(x) for x in open(os.path.join(jdir, "pg_hba_ms.txt")).read().split()] if os.path.exists(os.path.join(jdir, "pg_hba_ms.txt")) else []
rss = {}
if os.path.exists(os.path.join(jdir, "hba_rss.txt")):
    for line in open(os.path.join(jdir, "hba_rss.txt")):
        parts = line.split()
        if len(parts) == 2:
            rss[parts[0]] = int(parts[1]) / 1024
size_mib = None
if os.path.exists(os.path.join(jdir, "hba_file.txt")):
    size_mib = int(open(os.path.join(jdir, "hba_file.txt")).read().split()[0]) / 1048576
lines.append("## 3. pg_hba.conf, 100,000 records")
lines.append("")
lines.append("The file: `benches/hba_gen.rs` (comma lists of databases and roles, `+group` entries, quoted names "
             "with spaces in about a third of the lines, `\"\"` escapes, IPv4 and IPv6 CIDRs, address/netmask "
             "pairs, host names and `.suffix` names, LDAP/RADIUS/PAM/GSS/cert options, comments, blank lines, "
             "continuations)" + (f", {size_mib:.1f} MiB" if size_mib else "") +
             "; PostgreSQL 15 reads all 100,000 records with no error in `pg_hba_file_rules` (checked by the script).")
lines.append("")
lines.append("Goal: `pgtls hba check` as a whole process in at most a quarter of PostgreSQL 15's own parse "
             "(`select count(*) from pg_hba_file_rules`, warm, timed in the server by EXPLAIN ANALYZE), peak memory "
             "at most 3× the file; `lint`, `explain`, `fmt` and `apply-policy` under 1 s.")
lines.append("")
lines.append("| command | median | min–max | runs | peak RSS |")
lines.append("|---|---|---|---|---|")
for r in hba:
    name = r["command"].replace("pgtls hba ", "").split(" ")[0]
    peak = f"{rss[name]:.0f} MiB" if name in rss and "(writes" not in r["command"] else ""
    lines.append(row(r) + f" {peak} |")
if pg_ms:
    lines.append(f"| PostgreSQL 15 pg_hba_file_rules (in server) | {statistics.median(pg_ms):.1f} ms | {min(pg_ms):.1f} ms–{max(pg_ms):.1f} ms | {len(pg_ms)} | |")
lines.append("")
if hba and pg_ms:
    ratio = hba[0]["median"] * 1000 / statistics.median(pg_ms)
    lines.append(f"pgtls hba check / PostgreSQL = **{ratio:.2f}** (goal ≤ 0.25).")
    if size_mib and "check" in rss:
        lines.append(f"Peak RSS of `hba check`: {rss['check']:.0f} MiB = **{rss['check'] / size_mib:.1f}×** the file (goal ≤ 3).")
    lines.append("")
    summary.append(f"pg_hba 100k records: pgtls hba check takes {ratio:.2f}× PostgreSQL's own parse")

for name, title in [("certs_ecdsa", "4a. Certificates, ECDSA P-256"), ("certs_rsa", "4b. Certificates, RSA 4096 CA + RSA 2048 server")]:
    res = load(name)
    section(title, res, "not slower than the openssl recipe; ECDSA under 20 ms as a whole process.")
    if len(res) >= 2:
        ratio = res[0]["median"] / res[1]["median"]
        lines.append(f"pgtls / openssl = **{ratio:.2f}** (goal ≤ 1).")
        lines.append("")
        summary.append(f"{title.split('. ', 1)[1]}: pgtls {ms(res[0]['median'])}, {ratio:.2f}× the openssl recipe")
    if name == "certs_rsa":
        lines.append("RSA times vary run to run with the random search for primes (both sides); the median of "
                     "several runs is the fair comparison.")
        lines.append("")

h = load("harden")
section("5. Whole job", h, "`pgtls harden` of the bundled example under 100 ms.")
if h:
    summary.append(f"harden of the bundled example: {ms(h[0]['median'])}")

lines.append("## Summary")
lines.append("")
for s in summary:
    lines.append(f"- {s}")
print("\n".join(lines))

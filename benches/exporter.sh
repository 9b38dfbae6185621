#!/usr/bin/env bash
# Measures `pgtls exporter` in one run on this machine, against the same local servers:
#  1. the cost of one probe through a running exporter (HTTP keep-alive, as Prometheus scrapes:
#     no process start on either side) against `openssl s_client -starttls postgres` processes
#     (one handshake each) on the same PostgreSQL 15 endpoint; goal: at most 0.6x;
#  2. fleets: N targets (PostgreSQL 15 endpoints, repeated) scraped once each, spread evenly over
#     one 15 s interval as Prometheus spreads a job; goal: 1,000 answered in time, all passing;
#     the exporter's CPU time and peak resident memory.
# Writes the "pgtls exporter" section of BENCHMARKS.md (between its markers).
#   benches/exporter.sh                         standalone: builds, starts its own servers
#   benches/exporter.sh PGTLS ENV_DIR OUT.md    from compare.sh (servers already running)
#   SERIAL=300 RUNS=20 FLEETS="1000 2000" benches/exporter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SERIAL=${SERIAL:-300}
RUNS=${RUNS:-20}
FLEETS=${FLEETS:-1000 2000 3000}
MAX_CONCURRENT=${MAX_CONCURRENT:-64}   # the exporter's default
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
W=$(mktemp -d /tmp/pgtls-exporter-bench.XXXXXX)
ENV_PID=""; EXP_PID=""
cleanup() {
  [ -z "$EXP_PID" ] || kill "$EXP_PID" 2>/dev/null || true
  if [ -n "$ENV_PID" ]; then touch "$ENV_DIR/stop" 2>/dev/null || true; wait "$ENV_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
if [ $# -ge 3 ]; then
  PGTLS=$1; ENV_DIR=$2; OUT=$3
  cargo build --release --locked -q -p pgtls-benches --bin exporter_load
else
  scripts/deps
  if ! command -v hyperfine >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "exporter.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  fi
  cargo build --release --locked -q -p pgtls -p pgtls-benches --bin pgtls --bin bench_env --bin exporter_load
  PGTLS=$TARGET_DIR/release/pgtls; ENV_DIR=$W/env; OUT=$W/exporter.md
  "$TARGET_DIR/release/bench_env" "$ENV_DIR" 4 0 &
  ENV_PID=$!
  for _ in $(seq 600); do [ -f "$ENV_DIR/ready" ] && break; kill -0 "$ENV_PID" 2>/dev/null || exit 1; sleep 0.1; done
  [ -f "$ENV_DIR/ready" ] || { echo "exporter.sh: servers did not start" >&2; exit 1; }
fi
LOAD=$TARGET_DIR/release/exporter_load
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
CA=$ENV_DIR/ca.crt
head -4 "$ENV_DIR/endpoints.txt" > "$W/pg.txt"   # bench_env lists PostgreSQL first
PG=$(head -1 "$W/pg.txt")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PGTLS" exporter --listen "127.0.0.1:$PORT" --allow-target 127.0.0.1 --ca "$CA" \
  --max-concurrent "$MAX_CONCURRENT" 2>"$W/exporter.log" &
EXP_PID=$!
for _ in $(seq 100); do grep -q listening "$W/exporter.log" 2>/dev/null && break; sleep 0.05; done
ADDR=127.0.0.1:$PORT

echo "== exporter: one probe (keep-alive) vs openssl s_client processes, same endpoint $PG"
"$LOAD" "$ADDR" "$W/pg.txt" serial 20 > /dev/null   # warm
"$LOAD" "$ADDR" "$W/pg.txt" serial "$SERIAL" > "$W/serial.txt"
hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$W/openssl.json" \
  -n "openssl s_client -starttls postgres (one handshake)" \
  "openssl s_client -starttls postgres -connect $PG -CAfile $CA -brief" >/dev/null
"$LOAD" "$ADDR" "$W/pg.txt" serial "$SERIAL" >> "$W/serial.txt"   # after openssl too

cpu_ticks() { awk '{print $14 + $15}' "/proc/$EXP_PID/stat"; }
: > "$W/fleets.txt"
for N in $FLEETS; do
  echo "== exporter: $N targets in one 15 s interval"
  : > "$W/t.txt"
  while [ "$(wc -l < "$W/t.txt")" -lt "$N" ]; do cat "$W/pg.txt" >> "$W/t.txt"; done
  head -"$N" "$W/t.txt" > "$W/targets.txt"
  c0=$(cpu_ticks)
  "$LOAD" "$ADDR" "$W/targets.txt" fleet 15 > "$W/fleet.json"
  c1=$(cpu_ticks)
  echo "$N $(( c1 - c0 )) $(cat "$W/fleet.json")" >> "$W/fleets.txt"
  sleep 2
done
HWM=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$EXP_PID/status")
RSS=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$EXP_PID/status")

python3 - "$W" "$SERIAL" "$HWM" "$RSS" "$(getconf CLK_TCK)" "$(nproc)" "$MAX_CONCURRENT" "$LOADAVG" > "$OUT" <<'PY'
import json, statistics, sys
w, serial, hwm, rss, tck, cores, slots, loadavg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
lat = [float(x) for x in open(f"{w}/serial.txt") if x.strip()]
o = json.load(open(f"{w}/openssl.json"))["results"][0]
pm, om = statistics.median(lat), o["median"] * 1000
q = statistics.quantiles(lat, n=100)
print("<!-- exporter:begin (benches/exporter.sh) -->")
print("## pgtls exporter\n")
print(f"Measured by `benches/exporter.sh` (also run by `compare.sh`) in one run against the same local PostgreSQL 15 servers; the exporter is the release `pgtls exporter --ca` with its default module (TLS, verification, plaintext refusal: two connections per probe). Load average when the run began: {loadavg} (a busy machine inflates process starts, so the openssl side, more than in-process probes).\n")
print("### One probe through the exporter vs `openssl s_client -starttls postgres`\n")
print("Goal: a probe through the exporter costs at most 0.6x an `openssl s_client -starttls postgres` process on the same server (median, same run).\n")
print("| what | median | p10–p90 | n |\n|---|---|---|---|")
print(f"| probe through the exporter (GET /probe over keep-alive, answered and parsed) | {pm:.2f} ms | {q[9]:.2f}–{q[89]:.2f} ms | {len(lat)} |")
print(f"| openssl s_client -starttls postgres (one handshake, whole process) | {om:.2f} ms | {o['min']*1000:.2f}–{o['max']*1000:.2f} ms (min–max) | {len(o['times'])} |")
print(f"\nexporter probe / openssl s_client = **{pm/om:.2f}** (goal ≤ 0.6).\n")
print(f"### Targets per 15 s interval on {cores} cores\n")
print(f"Goal: one exporter keeps 1,000 targets within a 15 s scrape interval. Each target is scraped once, the scrapes started evenly over 15 s (as Prometheus spreads a job), each on a new connection with `X-Prometheus-Scrape-Timeout-Seconds: 10`; the exporter runs with `--max-concurrent {slots}`; the PostgreSQL servers share the same cores. Scrapes beyond what the slots can serve are refused (503, or closed on accept past the connection limit), never queued.\n")
print("| targets | answered 200 | probe_success 1 | refused | latency p50 | p99 | max | last answer after start | exporter CPU |\n|---|---|---|---|---|---|---|---|---|")
for line in open(f"{w}/fleets.txt"):
    n, ticks, js = line.split(" ", 2)
    f = json.loads(js)
    cpu = int(ticks) / tck
    refused = ", ".join(f"{k}: {v}" for k, v in f["errors"].items()) or "0"
    print(f"| {n} | {f['ok']} | {f['pass']} | {refused} | {f['p50_ms']:.1f} ms | {f['p99_ms']:.1f} ms | {f['max_ms']:.1f} ms | {f['last_answer_s']:.2f} s | {cpu:.2f} s ({cpu/15*100:.0f}% of one core) |")
print(f"\nExporter memory: peak resident {hwm/1024:.1f} MiB (VmHWM), {rss/1024:.1f} MiB at the end.\n")
print("<!-- exporter:end -->")
PY
if [ $# -lt 3 ]; then
  # Standalone: replace the section in BENCHMARKS.md (or append it).
  python3 - "$OUT" <<'PY'
import re, sys
new = open(sys.argv[1]).read()
old = open("BENCHMARKS.md").read()
pat = re.compile(r"<!-- exporter:begin.*?<!-- exporter:end -->\n", re.S)
out = pat.sub(lambda _: new, old) if pat.search(old) else old.rstrip("\n") + "\n\n" + new
open("BENCHMARKS.md", "w").write(out)
PY
  echo "updated the pgtls exporter section of BENCHMARKS.md"
  cat "$OUT"
fi

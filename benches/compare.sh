#!/usr/bin/env bash
# Times pgtls against the tools users would pick instead, both sides in one run on this machine,
# and writes the medians, min-max and ratios to BENCHMARKS.md. Servers run on 127.0.0.1 only
# (benches/src/bin/bench_env.rs) and are stopped by PID at the end.
#   RUNS=10 benches/compare.sh            # runs per measurement (default 10)
#   SKIP_SCANNERS=1 benches/compare.sh    # skip testssl.sh and sslyze
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
ROOT=$PWD

scripts/deps
if ! command -v hyperfine >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "compare.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
if [ -z "${SKIP_SCANNERS:-}" ]; then
  if ! command -v testssl >/dev/null && ! command -v testssl.sh >/dev/null && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq testssl.sh >/dev/null 2>&1 || true
  fi
  if ! python3 -c 'import sslyze' 2>/dev/null; then
    python3 -m pip install -q sslyze >/dev/null 2>&1 || true
  fi
fi

cargo build --release --locked -q -p pgtls -p pgtls-benches --bin pgtls --bin bench_env
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PGTLS=$TARGET_DIR/release/pgtls
BENCH_ENV=$TARGET_DIR/release/bench_env
W=$(mktemp -d /tmp/pgtls-compare.XXXXXX)
ENV_DIR=$W/env
"$BENCH_ENV" "$ENV_DIR" 4 4 &
ENV_PID=$!
cleanup() { touch "$ENV_DIR/stop" 2>/dev/null || true; wait "$ENV_PID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
for _ in $(seq 600); do [ -f "$ENV_DIR/ready" ] && break; kill -0 "$ENV_PID" 2>/dev/null || exit 1; sleep 0.1; done
[ -f "$ENV_DIR/ready" ] || { echo "compare.sh: servers did not start" >&2; exit 1; }
PG=$(head -1 "$ENV_DIR/endpoints.txt")
CA=$ENV_DIR/ca.crt
: > "$W/targets.txt"
while [ "$(wc -l < "$W/targets.txt")" -lt 200 ]; do cat "$ENV_DIR/endpoints.txt" >> "$W/targets.txt"; done
head -200 "$W/targets.txt" > "$W/targets200.txt"
J=$W/json; mkdir -p "$J"
hf() { # name, then hyperfine arguments
  local name=$1; shift
  hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$J/$name.json" "$@" >/dev/null
}

echo "== 1. one endpoint"
hf start -n "pgtls --version (process start)" "$PGTLS --version" -n "/bin/true" "/bin/true" \
  -n "openssl version" "openssl version"
hf one_endpoint \
  -n "pgtls verify --ca (default: TLS + verify + plaintext refusal, 2 connections)" "$PGTLS verify $PG --ca $CA --json" \
  -n "openssl s_client -starttls postgres (one handshake)" "openssl s_client -starttls postgres -connect $PG -CAfile $CA -brief" \
  -n "pgtls verify --ca --deep (every check)" "$PGTLS verify $PG --ca $CA --deep --json" \
  -n "pg_isready" "pg_isready -h 127.0.0.1 -p ${PG##*:}"

echo "== 2. many endpoints"
# PostgreSQL endpoints only (the fleet goal is about PostgreSQL 15 servers): bench_env lists
# its 4 PostgreSQL clusters first.
head -4 "$ENV_DIR/endpoints.txt" > "$W/pg.txt"
: > "$W/targets1000.txt"
while [ "$(wc -l < "$W/targets1000.txt")" -lt 1000 ]; do cat "$W/pg.txt" >> "$W/targets1000.txt"; done
head -1000 "$W/targets1000.txt" > "$W/t1000.txt"
hf many_endpoints -n "pgtls verify, 200 targets, concurrency 64" \
  "$PGTLS verify --targets-file $W/targets200.txt --ca $CA --concurrency 64 --json"
# The fleet: 1,000 PostgreSQL targets at concurrency 256; every run must be a full PASS
# (hyperfine fails on exit 1), and the last run's JSON is kept to count fails and retries.
hf fleet -n "pgtls verify, 1000 PostgreSQL targets, concurrency 256" \
  "$PGTLS verify --targets-file $W/t1000.txt --ca $CA --concurrency 256 --json"
"$PGTLS" verify --targets-file "$W/t1000.txt" --ca "$CA" --concurrency 256 --json > "$J/fleet_report.json" || true
if [ -z "${SKIP_SCANNERS:-}" ]; then
  TESTSSL=$(command -v testssl || command -v testssl.sh || true)
  if [ -n "$TESTSSL" ]; then
    hyperfine -N -i --style none --runs 1 --export-json "$J/testssl.json" -n "testssl.sh, one endpoint" \
      "$TESTSSL --quiet --color 0 --warnings off --starttls postgres --ip one $PG" >/dev/null || true
  fi
  if python3 -c 'import sslyze' 2>/dev/null; then
    hyperfine -N -i --style none --runs 3 --export-json "$J/sslyze.json" -n "sslyze, one endpoint" \
      "python3 -m sslyze --starttls postgres $PG" >/dev/null || true
  fi
fi

echo "== 3. pg_hba.conf, 100,000 records"
# The realistic file of benches/hba_gen.rs (comma lists, +groups, quoted names with spaces in a
# third of the lines, "" escapes, IPv4/IPv6, masks, host names, LDAP/RADIUS/cert options,
# comments, continuations); it must load in PostgreSQL 15 with no error.
cargo build --release --locked -q -p pgtls-benches --bin gen_hba
if [ ! -x /usr/bin/time ]; then
  [ "$(id -u)" -eq 0 ] || { echo "compare.sh: install GNU time (apt-get install time)" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
"$TARGET_DIR/release/gen_hba" 100000 7 > "$W/hba100k.conf"
SOCK=$(cat "$ENV_DIR/pg_socket_dir"); PORT=$(cat "$ENV_DIR/pg_port")
DATA=$(dirname "$SOCK")/data
cp "$W/hba100k.conf" "$DATA/pg_hba.conf"   # read by pg_hba_file_rules at query time; not reloaded
[ "$(id -u)" -ne 0 ] || chown "$(stat -c %u:%g "$DATA")" "$DATA/pg_hba.conf"
PSQL=(psql -XAtq -h "$SOCK" -p "$PORT" -U postgres -d postgres)
HBA_ROWS=$("${PSQL[@]}" -c "select count(*) || ' ' || count(*) filter (where error is not null or type is null) from pg_hba_file_rules")
[ "$HBA_ROWS" = "100000 0" ] || { echo "compare.sh: PostgreSQL reads the generated pg_hba.conf as rows/errors $HBA_ROWS" >&2; exit 1; }
echo "$(stat -c %s "$W/hba100k.conf") $HBA_ROWS" > "$J/hba_file.txt"
: > "$J/pg_hba_ms.txt"
"${PSQL[@]}" -c "select count(*) from pg_hba_file_rules" >/dev/null   # warm
for _ in $(seq "$RUNS"); do
  "${PSQL[@]}" -c "explain (analyze, timing off, summary on) select count(*) from pg_hba_file_rules" \
    | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p' >> "$J/pg_hba_ms.txt"
done
cp "$W/hba100k.conf" "$W/hba100k-fmt.conf"
# fmt and apply-policy write by default since the one write policy: the timed reads use --dry-run
# so that every command reads the generated file, not a formatted one.
# lint and apply-policy exit 1 / print a diff on this file by design (findings, a dry run): -i.
hf hba -i \
  -n "pgtls hba check" "$PGTLS hba check $W/hba100k.conf" \
  -n "pgtls hba lint" "$PGTLS hba lint $W/hba100k.conf" \
  -n "pgtls hba explain" "$PGTLS hba explain $W/hba100k.conf --addr 203.0.113.9 --user app --database app" \
  -n "pgtls hba fmt --dry-run" "$PGTLS hba fmt --dry-run $W/hba100k.conf" \
  -n "pgtls hba apply-policy --dry-run" "$PGTLS hba apply-policy --dry-run $W/hba100k.conf"
hf hba_fmt_write --prepare "cp $W/hba100k.conf $W/hba100k-fmt.conf" \
  -n "pgtls hba fmt (writes, with a backup)" "$PGTLS hba fmt $W/hba100k-fmt.conf"
# Peak resident memory of each (GNU time's "Maximum resident set size", KiB).
: > "$J/hba_rss.txt"
# fmt and apply-policy write by default: --dry-run keeps the file every command reads unchanged.
for c in "check" "lint" "explain --addr 203.0.113.9 --user app --database app" "fmt --dry-run" "apply-policy --dry-run"; do
  # shellcheck disable=SC2086 # $c carries the subcommand's arguments
  # lint and apply-policy --dry-run exit 1 by design (findings, a diff): not a failure here
  { /usr/bin/time -v "$PGTLS" hba $c "$W/hba100k.conf" 2>&1 >/dev/null || true; } \
    | sed -n "s/^\tMaximum resident set size (kbytes): \([0-9]*\)$/${c%% *} \1/p" >> "$J/hba_rss.txt"
done

echo "== 4. certificates"
cat > "$W/openssl_ecdsa.sh" <<SH
set -e; cd "\$1"; rm -f ./*
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -new -x509 -key ca.key -subj /CN=ca -days 3650 -out ca.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key 2>/dev/null
openssl req -new -key server.key -subj /CN=localhost -out server.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile ext -out server.crt 2>/dev/null
chmod 600 ca.key server.key
SH
sed -e 's/genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key/genrsa -out ca.key 4096/' \
    -e 's/genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key/genrsa -out server.key 2048/' \
    "$W/openssl_ecdsa.sh" > "$W/openssl_rsa.sh"
mkdir -p "$W/o" "$W/p"
hf certs_ecdsa --prepare "rm -rf $W/p" \
  -n "pgtls certs init (ECDSA P-256)" "$PGTLS certs init --out $W/p --key-type ecdsa-p256 --san localhost --san 127.0.0.1" \
  -n "openssl recipe (ECDSA P-256)" "bash $W/openssl_ecdsa.sh $W/o"
hf certs_rsa --prepare "rm -rf $W/p" \
  -n "pgtls certs init (RSA 4096 CA + RSA 2048 server)" "$PGTLS certs init --out $W/p --ca-key-type rsa4096 --key-type rsa2048 --san localhost --san 127.0.0.1" \
  -n "openssl recipe (RSA 4096 CA + RSA 2048 server)" "bash $W/openssl_rsa.sh $W/o"

echo "== 5. whole job"
hf harden --prepare "rm -rf $W/h" -n "pgtls harden examples/supabase (ECDSA)" \
  "$PGTLS harden $ROOT/examples/supabase --out $W/h --key-type ecdsa-p256 --pg-owner 105:106"

echo "== 6. pgtls exporter (benches/exporter.sh)"
benches/exporter.sh "$PGTLS" "$ENV_DIR" "$J/exporter.md"

PGTLS=$PGTLS python3 benches/report.py "$J" "$RUNS" > BENCHMARKS.md
{ echo; cat "$J/exporter.md"; } >> BENCHMARKS.md
echo "wrote BENCHMARKS.md"

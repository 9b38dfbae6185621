#!/bin/bash
# Entry point of the pooler test image (a Supavisor stand-in): one PgBouncer per port,
# 5432 in session mode and 6543 in transaction mode, as Supavisor's ports are; TLS from the
# files GLOBAL_DOWNSTREAM_CERT_PATH / GLOBAL_DOWNSTREAM_KEY_PATH name (read as root, as
# Supavisor reads them); plaintext clients refused (Supavisor with the tenant's enforce_ssl);
# upstream to db:5432 without TLS (Supavisor's default). A missing certificate or key file
# stops the container, as it makes Supavisor crash-loop.
# Unlike Supavisor, PgBouncer refuses to keep running as root: it reads the configuration, the
# auth file and the TLS certificate and key as root at start, then drops to the image's
# `postgres` user (`user =`). A SIGHUP would re-read the key as that user; the test's action
# after a renewal is a restart, which re-reads it as root, as Supavisor does at boot.
set -euo pipefail
: "${GLOBAL_DOWNSTREAM_CERT_PATH:?GLOBAL_DOWNSTREAM_CERT_PATH must be set}"
: "${GLOBAL_DOWNSTREAM_KEY_PATH:?GLOBAL_DOWNSTREAM_KEY_PATH must be set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
for f in "$GLOBAL_DOWNSTREAM_CERT_PATH" "$GLOBAL_DOWNSTREAM_KEY_PATH"; do
  [ -r "$f" ] || { echo "pooler-entrypoint: cannot read $f" >&2; exit 1; }
done
run=/run/pooler
mkdir -p "$run"
umask 077
printf '"postgres" "%s"\n' "${POSTGRES_PASSWORD//\"/\"\"}" >"$run/userlist.txt"
pids=()
for spec in 5432:session 6543:transaction; do
  port=${spec%%:*} mode=${spec#*:}
  cat >"$run/pgbouncer-$port.ini" <<INI
[databases]
* = host=${POOLER_UPSTREAM_HOST:-db} port=${POOLER_UPSTREAM_PORT:-5432}

[pgbouncer]
listen_addr = *
listen_port = $port
unix_socket_dir =
pidfile =
auth_type = scram-sha-256
auth_file = $run/userlist.txt
pool_mode = $mode
client_tls_sslmode = require
client_tls_cert_file = $GLOBAL_DOWNSTREAM_CERT_PATH
client_tls_key_file = $GLOBAL_DOWNSTREAM_KEY_PATH
server_tls_sslmode = disable
ignore_startup_parameters = extra_float_digits,options
user = postgres
INI
  pgbouncer "$run/pgbouncer-$port.ini" &
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM INT
# The container lives as long as both listeners do.
wait -n "${pids[@]}"
rc=$?
kill -TERM "${pids[@]}" 2>/dev/null || true
exit "$rc"

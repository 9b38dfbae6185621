# shellcheck shell=bash
# Functions of scripts/docker-pgbouncer-e2e (sourced): the engine's preconditions, the run's
# lock and clean-up by id, the deployment it writes, and the probes. Everything the run creates
# carries the compose project label and is removed by id on exit.

e2e_log() { echo "docker-pgbouncer-e2e: $*" >&2; }

e2e_preflight() {
  docker info >/dev/null 2>&1 || { e2e_log "no Docker engine answers (docker info failed)"; exit 2; }
  docker compose version >/dev/null 2>&1 || { e2e_log "Compose v2 (docker compose) is missing: scripts/deps installs it"; exit 2; }
  local tool
  for tool in psql openssl python3 flock; do
    command -v "$tool" >/dev/null 2>&1 || { e2e_log "$tool is missing (scripts/deps installs it)"; exit 2; }
  done
  [ "$(id -u)" -eq 0 ] || { e2e_log "needs root (chown to the images' uids)"; exit 2; }
}

# The container names are upstream's (supabase-db, supabase-pgbouncer): one stack per engine,
# shared with scripts/docker-e2e.
e2e_lock() {
  exec 9>>"${PGTLS_E2E_LOCK:-/tmp/pgtls-docker-e2e.lock}"
  flock -w 2700 9 || { e2e_log "the engine's test lock is still held after 45 min"; exit 2; }
}

PROJECT="pgtlspgb$$"
WORK=
declare -a RESULTS=()
FAILED_NAMES=" "

# record NAME ok|fail DETAIL
record() {
  local line
  if [ "$2" = ok ]; then line="PASS  $1: $3"; else line="FAIL  $1: $3"; FAILED_NAMES+="$1 "; fi
  RESULTS+=("$line")
  echo "$line" >&2
}

compose() {
  local files=(-f "$d/docker-compose.yml")
  [ -f "$d/docker-compose.pgbouncer.yml" ] && files+=(-f "$d/docker-compose.pgbouncer.yml")
  docker compose -p "$PROJECT" --project-directory "$d" --env-file "$d/.env" "${files[@]}" \
    -f "$d/docker-compose.e2e.yml" "$@"
}

# Everything labelled with this run's project, removed by id; then nothing may be left.
e2e_teardown() {
  local id left
  for id in $(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$PROJECT"); do
    docker rm -f -v "$id" >/dev/null 2>&1 || true
  done
  for id in $(docker network ls -q --no-trunc --filter "label=com.docker.compose.project=$PROJECT"); do
    docker network rm "$id" >/dev/null 2>&1 || true
  done
  for id in $(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"); do
    docker volume rm "$id" >/dev/null 2>&1 || true
  done
  left=$( { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
    docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
    docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"; } | wc -l)
  if [ "$left" -eq 0 ]; then record torn-down ok "no container, network or volume of $PROJECT left"
  else record torn-down fail "$left objects of $PROJECT left"; fi
}

e2e_exit() {
  local rc=$?
  trap - EXIT ERR INT TERM
  e2e_teardown
  if [ -n "$WORK" ]; then
    if [ "${PGTLS_E2E_KEEP:-0}" = 1 ]; then e2e_log "kept $WORK"; else rm -rf --one-file-system "$WORK"; fi
  fi
  echo "== docker-pgbouncer-e2e results${BREAK:+ (BREAK=$BREAK: $EXPECT_FAIL must fail)}" >&2
  printf '%s\n' "${RESULTS[@]}" >&2
  if [ "$rc" -eq 0 ] && [ -n "$BREAK" ]; then
    local others=${FAILED_NAMES/ $EXPECT_FAIL / }
    if [[ "$FAILED_NAMES" == *" $EXPECT_FAIL "* ]]; then
      e2e_log "break $BREAK caught by $EXPECT_FAIL${others:+ (also failed:$others)}"
    else
      e2e_log "break $BREAK NOT caught: $EXPECT_FAIL passed"
      rc=1
    fi
  elif [ "$rc" -eq 0 ] && [ "$FAILED_NAMES" != " " ]; then
    e2e_log "FAILED:$FAILED_NAMES"
    rc=1
  fi
  exit "$rc"
}

e2e_images() {
  local envf
  envf=$(mktemp)
  scripts/docker-images --env-file "$envf" || { rm -f "$envf"; exit 1; }
  # shellcheck disable=SC1090
  . "$envf"
  rm -f "$envf"
}

e2e_pgtls() {
  if [ -z "${PGTLS_BIN:-}" ]; then
    local t=${CARGO_TARGET_DIR:-$repo/target} b
    for b in "$t/release/pgtls" "$t/debug/pgtls"; do
      [ -x "$b" ] || continue
      if [ -z "${PGTLS_BIN:-}" ] || [ "$b" -nt "$PGTLS_BIN" ]; then PGTLS_BIN=$b; fi
    done
    [ -n "${PGTLS_BIN:-}" ] || { e2e_log "building pgtls"; cargo build --locked --quiet -p pgtls; PGTLS_BIN=$t/debug/pgtls; }
  fi
  e2e_log "pgtls: $PGTLS_BIN"
}
pgtls() { "$PGTLS_BIN" "$@"; }

image_user() { # image user -> uid:gid, asked from the image
  printf '%s:%s' "$(docker run --rm --pull never --network none --entrypoint id "$1" -u "$2")" \
    "$(docker run --rm --pull never --network none --entrypoint id "$1" -g "$2")"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The pgbouncer service in the shape of upstream's docker/docker-compose.pgbouncer.yml
# (supabase/supabase 27291ed): our own text, same service, container, image, port, variables.
pgbouncer_service() {
  cat <<'YAML'
  pgbouncer:
    container_name: supabase-pgbouncer
    image: edoburu/pgbouncer:v1.25.2-p0
    restart: unless-stopped
    ports:
      - ${POOLER_PROXY_PORT_TRANSACTION}:6432
    healthcheck:
      test: ['CMD', 'pg_isready', '-h', 'localhost', '-p', '6432']
      interval: 2s
      timeout: 5s
      retries: 3
      start_period: 5s
    depends_on:
      db:
        condition: service_healthy
    environment:
      DB_USER: ${POSTGRES_USER:-postgres}
      DB_PASSWORD: ${POSTGRES_PASSWORD}
      DB_HOST: ${POSTGRES_HOST}
      DB_PORT: ${POSTGRES_PORT}
      DB_NAME: ${POSTGRES_DB}
      LISTEN_PORT: 6432
      AUTH_TYPE: scram-sha-256
      POOL_MODE: transaction
      DEFAULT_POOL_SIZE: ${POOLER_DEFAULT_POOL_SIZE}
      MAX_CLIENT_CONN: ${POOLER_MAX_CLIENT_CONN}
YAML
}

# The pgbouncer.ini a user mounts in the `ini` layout (our own, in the edoburu entrypoint's shape,
# with a comment and a commented-out TLS line the editor must keep).
user_ini() {
  cat <<'INI'
;; mounted over the image's generated file: the edoburu entrypoint then ignores the environment
[databases]
* = host=db port=5432 auth_user=postgres

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
pool_mode = transaction
ignore_startup_parameters = extra_float_digits
;client_tls_sslmode = disable
INI
}

# write_deployment DIR single|override|ini: the bundled upstream deployment (examples/supabase)
# reduced to its db (and, for `override`, supavisor, which the override resets), the pgbouncer
# service in docker-compose.yml (single) or in docker-compose.pgbouncer.yml chosen by
# COMPOSE_FILE in .env (override, as upstream documents it), and the test's own file: local
# images, pull_policy never, a psql client, publications bound to 127.0.0.1 only.
write_deployment() {
  local d=$1 layout=$2 keep="db"
  cp -a examples/supabase/. "$d"
  rm -f "$d/volumes/db/data/README.md"
  PW="e2e-$(openssl rand -hex 12)"
  PUBLISHED=$(free_port)
  { sed -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$PW/" \
      -e "s/^POOLER_PROXY_PORT_TRANSACTION=.*/POOLER_PROXY_PORT_TRANSACTION=$PUBLISHED/" "$d/.env.example"
    echo "JWT_EXPIRY=3600"
    [ "$layout" = override ] && echo "COMPOSE_FILE=docker-compose.yml:docker-compose.pgbouncer.yml"
  } >"$d/.env"
  [ "$layout" = override ] && keep="db supavisor"
  # keep the services named in $keep; the single layout gets the pgbouncer service appended
  # to `services:`
  local svc_text
  svc_text=$(pgbouncer_service)
  if [ "$layout" = ini ]; then
    mkdir -p "$d/volumes/pgbouncer"
    user_ini >"$d/volumes/pgbouncer/pgbouncer.ini"
    svc_text=$(printf '%s\n' "$svc_text" | sed 's#^    depends_on:#    volumes:\n      - ./volumes/pgbouncer/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro\n    depends_on:#')
    layout=single
  fi
  awk -v keep=" $keep " -v layout="$layout" -v svc_text="$svc_text" '
    function kept(s) { return index(keep, " " s " ") > 0 }
    /^name:/ { next }
    /^[^[:space:]#]/ {
      if (insvc && layout == "single") print svc_text "\n"
      insvc = ($0 ~ /^services:/); svc = ""; print; next
    }
    insvc && /^  [A-Za-z0-9_.-]+:[[:space:]]*$/ { svc = $1; sub(/:$/, "", svc) }
    insvc && svc != "" && !kept(svc) { next }
    insvc && /^  #/ { next }
    { print }
    END { if (insvc && layout == "single") print svc_text }' "$d/docker-compose.yml" >"$d/docker-compose.yml.new"
  mv "$d/docker-compose.yml.new" "$d/docker-compose.yml"
  if [ "$layout" = override ]; then
    { echo "services:"; echo "  supavisor: !reset null"; echo; pgbouncer_service; } >"$d/docker-compose.pgbouncer.yml"
  fi
  cat >"$d/docker-compose.e2e.yml" <<YAML
services:
  db:
    image: $PGTLS_E2E_IMAGE_DB
    pull_policy: never
  pgbouncer:
    image: $PGTLS_E2E_IMAGE_PGBOUNCER
    pull_policy: never
  client:
    image: $PGTLS_E2E_IMAGE_CLIENT
    pull_policy: never
    entrypoint: ["sleep", "infinity"]
    init: true
networks:
  default:
    driver_opts:
      com.docker.network.bridge.host_binding_ipv4: "127.0.0.1"
YAML
}

# The serial of the certificate HOST:PORT serves, seen from the client container (STARTTLS
# postgres, as libpq asks for TLS); empty when no TLS.
served_serial() {
  docker exec "$1" sh -c "openssl s_client -starttls postgres -connect '$2' </dev/null 2>/dev/null |
    openssl x509 -noout -serial" 2>/dev/null | sed 's/^serial=//' || true
}
file_serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }

# in_client CONTAINER CONNINFO SQL: psql from the client container on the compose network
in_client() {
  docker exec -e PGPASSWORD="$PW" -e PGCONNECT_TIMEOUT=5 "$1" psql -X -At -v ON_ERROR_STOP=1 "$2" -c "$3" 2>&1
}

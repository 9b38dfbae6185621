# shellcheck shell=bash
# What the Docker tier's own units share (sourced by scripts/pgbouncer-e2e-lib.sh and
# scripts/docker-pg17-e2e): the engine's preconditions, the lock that serialises runs on one
# engine, the results and their verdict (with BREAK=NAME: the named assertion must fail), the
# clean-up of everything a run created, by id (compose project labels, plus the outside host's
# network namespace when the run made one), the images and the pgtls binary, and the probes.
#
# The caller sets E2E_NAME (its name in messages) and defines compose() (its files) before
# calling anything here; BREAK and EXPECT_FAIL are the caller's when it has breaks.

e2e_log() { echo "$E2E_NAME: $*" >&2; }

# e2e_preflight [TOOL...]: the engine, Compose v2, root, and the tools (psql openssl python3
# flock always, more as named)
e2e_preflight() {
  docker info >/dev/null 2>&1 || { e2e_log "no Docker engine answers (docker info failed)"; exit 2; }
  docker compose version >/dev/null 2>&1 || { e2e_log "Compose v2 (docker compose) is missing: scripts/deps installs it"; exit 2; }
  local tool
  for tool in psql openssl python3 flock "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { e2e_log "$tool is missing (scripts/deps installs it)"; exit 2; }
  done
  [ "$(id -u)" -eq 0 ] || { e2e_log "needs root (chown to the images' uids, network namespaces)"; exit 2; }
}

# The container names are upstream's (supabase-db, supabase-pooler, supabase-pgbouncer) and the
# outside host's /30 is fixed: one stack per engine, shared with scripts/docker-e2e.
e2e_lock() {
  exec 9>>"${PGTLS_E2E_LOCK:-/tmp/pgtls-docker-e2e.lock}"
  flock -w 2700 9 || { e2e_log "the engine's test lock is still held after 45 min"; exit 2; }
}

PROJECT="pgtls${E2E_PROJECT_PREFIX:-e2e}$$"
WORK=
BREAK=${BREAK:-}
EXPECT_FAIL=${EXPECT_FAIL:-}
declare -a RESULTS=()
FAILED_NAMES=" "
NETNS=
VETH_HOST=

# record NAME ok|fail DETAIL
record() {
  local line
  if [ "$2" = ok ]; then line="PASS  $1: $3"; else line="FAIL  $1: $3"; FAILED_NAMES+="$1 "; fi
  RESULTS+=("$line")
  echo "$line" >&2
}

# e2e_breaks "NAME:ASSERTION ...": checks BREAK against the table and sets EXPECT_FAIL
e2e_breaks() {
  [ -n "$BREAK" ] || return 0
  local b
  for b in $1; do [ "${b%%:*}" = "$BREAK" ] && EXPECT_FAIL=${b#*:}; done
  [ -n "$EXPECT_FAIL" ] || { e2e_log "unknown BREAK '$BREAK' (one of: $(for b in $1; do printf '%s ' "${b%%:*}"; done))"; exit 2; }
}
broken() { [ "$BREAK" = "$1" ]; }

# Everything labelled with this run's project, removed by id, and the outside host; then
# nothing may be left.
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
  if [ -n "$NETNS" ]; then
    ip link del "$VETH_HOST" 2>/dev/null || true
    ip netns del "$NETNS" 2>/dev/null || true
  fi
  left=$( { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
    docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
    docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
    if [ -n "$NETNS" ]; then
      ip netns list 2>/dev/null | grep -w "$NETNS" || true
      ip link show "$VETH_HOST" 2>/dev/null | head -n1 || true
    fi; } | wc -l)
  if [ "$left" -eq 0 ]; then record torn-down ok "no container, network or volume of $PROJECT left${NETNS:+, namespace $NETNS and veth $VETH_HOST removed}"
  else record torn-down fail "$left objects of $PROJECT left"; fi
}

e2e_exit() {
  local rc=$?
  trap - EXIT ERR INT TERM
  e2e_teardown
  if [ -n "$WORK" ]; then
    if [ "${PGTLS_E2E_KEEP:-0}" = 1 ]; then e2e_log "kept $WORK"; else rm -rf --one-file-system "$WORK"; fi
  fi
  echo "== $E2E_NAME results${BREAK:+ (BREAK=$BREAK: $EXPECT_FAIL must fail)}" >&2
  printf '%s\n' "${RESULTS[@]}" >&2
  if [ "$rc" -eq 0 ] && [ -n "$BREAK" ]; then
    local others=${FAILED_NAMES/ $EXPECT_FAIL / }
    others=$(tr -s ' ' <<<"$others" | sed 's/^ //; s/ $//')
    if [[ "$FAILED_NAMES" == *" $EXPECT_FAIL "* ]]; then
      e2e_log "break $BREAK caught by $EXPECT_FAIL${others:+ (also failed: $others)}"
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
  [ -x "$PGTLS_BIN" ] || { e2e_log "PGTLS_BIN=$PGTLS_BIN is not an executable"; exit 2; }
  e2e_log "pgtls: $PGTLS_BIN"
}
pgtls() { "$PGTLS_BIN" "$@"; }

image_user() { # image user -> uid:gid, asked from the image
  printf '%s:%s' "$(docker run --rm --pull never --network none --entrypoint id "$1" -u "$2")" \
    "$(docker run --rm --pull never --network none --entrypoint id "$1" -g "$2")"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_healthy CONTAINER NAME SECONDS: healthy (or running, without a healthcheck) in time; a
# crash loop or an exit fails at once, with the container's last log lines
wait_healthy() {
  local id=$1 name=$2 limit=$3 status i
  for ((i = 0; i < limit; i++)); do
    status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo gone)
    case "$status" in
      healthy) return 0 ;;
      gone | exited | dead) break ;;
    esac
    [ "$(docker inspect -f '{{.RestartCount}}' "$id" 2>/dev/null || echo 0)" -ge 3 ] && { status="restarting (crash loop)"; break; }
    sleep 1
  done
  e2e_log "$name did not become healthy (status: $status); its last log lines:"
  docker logs --tail 30 "$id" >&2 2>&1 || true
  return 1
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

# The outside host: a network namespace joined to the host by a veth pair on the /30
# PGTLS_E2E_OUTSIDE_NET (default 198.18.213.0/30, RFC 2544's test range, as scripts/docker-e2e):
# the host's end is HOST_ADDR (where the test publishes its ports), the outside host is
# OUTSIDE_ADDR. Removed by e2e_teardown.
e2e_outside_host() {
  local net=${PGTLS_E2E_OUTSIDE_NET:-198.18.213.0/30} o1 o2 o3 o4
  [ "${net#*/}" = 30 ] || { e2e_log "PGTLS_E2E_OUTSIDE_NET must be a /30"; exit 2; }
  OUTSIDE_NET=$net
  IFS=. read -r o1 o2 o3 o4 <<<"${net%/*}"
  HOST_ADDR="$o1.$o2.$o3.$((o4 + 1))"
  OUTSIDE_ADDR="$o1.$o2.$o3.$((o4 + 2))"
  NETNS="pgtls-e2e-$$"
  VETH_HOST="pe2e$$h"
  local veth_ns="pe2e$$n"
  ip netns add "$NETNS"
  ip link add "$VETH_HOST" type veth peer name "$veth_ns"
  ip link set "$veth_ns" netns "$NETNS"
  ip addr add "$HOST_ADDR/30" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  outside ip link set lo up
  outside ip addr add "$OUTSIDE_ADDR/30" dev "$veth_ns"
  outside ip link set "$veth_ns" up
  e2e_log "outside host: namespace $NETNS at $OUTSIDE_ADDR, host end $VETH_HOST at $HOST_ADDR"
}
# outside CMD...: run a command on the outside host
outside() { ip netns exec "$NETNS" "$@"; }

# shellcheck shell=bash
# Functions of scripts/docker-pgbouncer-e2e (sourced): the compose files it runs, the
# deployment it writes. The engine's preconditions, the lock, the results, the clean-up by id
# and the probes are the tier's shared ones (scripts/e2e-lib.sh).

E2E_NAME=docker-pgbouncer-e2e
E2E_PROJECT_PREFIX=pgb
# shellcheck source=scripts/e2e-lib.sh
. scripts/e2e-lib.sh

compose() {
  local files=(-f "$d/docker-compose.yml")
  [ -f "$d/docker-compose.pgbouncer.yml" ] && files+=(-f "$d/docker-compose.pgbouncer.yml")
  docker compose -p "$PROJECT" --project-directory "$d" --env-file "$d/.env" "${files[@]}" \
    -f "$d/docker-compose.e2e.yml" "$@"
}

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

#!/bin/sh
# Entry point of the PgBouncer pooler test image, following the env handling of
# edoburu/docker-pgbouncer's entrypoint.sh (91a581b); our own script.
# Same as edoburu:
# - the auth file (AUTH_FILE, default /etc/pgbouncer/userlist.txt) is created when missing, and
#   DB_USER with DB_PASSWORD is added when not already listed: in clear text for AUTH_TYPE plain
#   or scram-sha-256, else as md5(password || user);
# - /etc/pgbouncer/pgbouncer.ini is written ONLY WHEN IT DOES NOT EXIST (a mounted file makes
#   the environment ignored): [databases] `${DB_NAME:-*} = host=${DB_HOST} port=${DB_PORT:-5432}
#   auth_user=${DB_USER:-postgres}`; [pgbouncer] listen_addr (0.0.0.0), listen_port (5432),
#   unix_socket_dir (empty), user = postgres, auth_file, auth_type (md5), then each of the
#   variables below that is set, as its lowercase setting;
# - `exec "$@"`: PgBouncer is the container's main process.
# Where it differs: DATABASE_URL / DATABASE_URLS, ADMIN_PASSWORDS, STATS_USERS / STATS_PASSWORDS,
# CLIENT_ENCODING and most tuning knobs are not handled (upstream's compose sets none of them).
set -eu
dir=/etc/pgbouncer
ini=$dir/pgbouncer.ini
auth_file=${AUTH_FILE:-$dir/userlist.txt}
[ -e "$auth_file" ] || : >"$auth_file"
if [ -n "${DB_USER:-}" ] && [ -n "${DB_PASSWORD:-}" ] && ! grep -q "^\"$DB_USER\"" "$auth_file"; then
  case "${AUTH_TYPE:-md5}" in
    plain | scram-sha-256) secret=$DB_PASSWORD ;;
    *) secret="md5$(printf '%s%s' "$DB_PASSWORD" "$DB_USER" | md5sum | cut -d' ' -f1)" ;;
  esac
  printf '"%s" "%s"\n' "$DB_USER" "$secret" >>"$auth_file"
  echo "wrote credentials for '$DB_USER' to $auth_file"
fi
if [ ! -f "$ini" ]; then
  : "${DB_HOST:?Setup pgbouncer config error! You must set DB_HOST env}"
  {
    echo "[databases]"
    echo "${DB_NAME:-*} = host=$DB_HOST port=${DB_PORT:-5432} auth_user=${DB_USER:-postgres}"
    echo
    echo "[pgbouncer]"
    echo "listen_addr = ${LISTEN_ADDR:-0.0.0.0}"
    echo "listen_port = ${LISTEN_PORT:-5432}"
    echo "unix_socket_dir = ${UNIX_SOCKET_DIR:-}"
    echo "user = postgres"
    echo "auth_file = $auth_file"
    echo "auth_type = ${AUTH_TYPE:-md5}"
    echo "admin_users = ${ADMIN_USERS:-postgres}"
    echo "ignore_startup_parameters = ${IGNORE_STARTUP_PARAMETERS:-extra_float_digits}"
    for var in AUTH_USER AUTH_QUERY POOL_MODE MAX_CLIENT_CONN DEFAULT_POOL_SIZE MIN_POOL_SIZE \
      RESERVE_POOL_SIZE MAX_DB_CONNECTIONS MAX_USER_CONNECTIONS MAX_PREPARED_STATEMENTS \
      LOG_CONNECTIONS LOG_DISCONNECTIONS VERBOSE \
      CLIENT_TLS_SSLMODE CLIENT_TLS_KEY_FILE CLIENT_TLS_CERT_FILE CLIENT_TLS_CA_FILE \
      CLIENT_TLS_PROTOCOLS CLIENT_TLS_CIPHERS CLIENT_TLS_ECDHCURVE CLIENT_TLS_DHEPARAMS \
      SERVER_TLS_SSLMODE SERVER_TLS_CA_FILE SERVER_TLS_KEY_FILE SERVER_TLS_CERT_FILE \
      SERVER_TLS_PROTOCOLS SERVER_TLS_CIPHERS; do
      eval "value=\${$var:-}"
      # shellcheck disable=SC2154 # set by the eval
      if [ -n "$value" ]; then echo "$(echo "$var" | tr '[:upper:]' '[:lower:]') = $value"; fi
    done
  } >"$ini"
  echo "created $ini"
fi
echo "starting $*"
exec "$@"

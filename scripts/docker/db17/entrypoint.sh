#!/bin/sh
# Entry point of the db test image, modelled on the postgres image entry point that
# supabase/postgres uses: as root, make PGDATA the postgres user's (mode 0700), then drop to
# that user; initialise PGDATA when it holds no cluster (password from POSTGRES_PASSWORD);
# then run the compose `command`. The upstream init scripts mounted under
# /docker-entrypoint-initdb.d need supabase's extensions and roles and are not run here.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise the database}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "docker-entrypoint: initialised $PGDATA"
fi
exec "$@"

#!/bin/sh
# The db test image: behaves like supabase/postgres 15.8.x where pgtls depends on it.
# - postgres runs as its own non-root user 105:106 (supabase/postgres 15.8.x: `adduser --system`
#   on Ubuntu 20.04 gave 105:106), which differs from the Debian host's postgres uid;
# - PGDATA is initialised at first start, then the compose `command` runs (entrypoint.sh);
# - /etc/postgresql/postgresql.conf ships `ssl = off`, `hba_file='/etc/postgresql/pg_hba.conf'`,
#   `listen_addresses='*'`, with the image's default pg_hba.conf and supabase_map ident map.
set -eu
r=$(dirname "$0")
groupmod -g 106 postgres
usermod -u 105 -g 106 postgres
chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql /var/log/postgresql
rm -rf /etc/postgresql/15
mkdir -p /etc/postgresql /docker-entrypoint-initdb.d
install -m 0644 -o postgres -g postgres "$r/postgresql.conf" "$r/pg_hba.conf" "$r/pg_ident.conf" /etc/postgresql/
install -m 0755 "$r/entrypoint.sh" /usr/local/bin/docker-entrypoint.sh

#!/bin/sh
# The PostgreSQL 17 db test image: behaves like supabase/postgres 17.6.1.136 where pgtls depends
# on it, from Debian trixie's postgresql-17.
# - postgres runs as 100:101, the uid:gid of the Alpine-based supabase/postgres images
#   (17.6.1.084 and later); trixie gives gid 101 to ssl-cert, which moves to 199 first;
# - PGDATA is initialised at first start, then the compose `command` runs (entrypoint.sh, the
#   same as the 15 image's);
# - /etc/postgresql/postgresql.conf ships `ssl = off`, `hba_file='/etc/postgresql/pg_hba.conf'`,
#   `listen_addresses='*'`, with the 17.x images' default pg_hba.conf and the supabase_map map.
set -eu
r=$(dirname "$0")
find / -xdev -gid 101 -exec chgrp -h 199 {} +
groupmod -g 199 ssl-cert
groupmod -g 101 postgres
usermod -u 100 -g 101 postgres
chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql /var/log/postgresql
rm -rf /etc/postgresql/17
mkdir -p /etc/postgresql /docker-entrypoint-initdb.d
install -m 0644 -o postgres -g postgres "$r/postgresql.conf" "$r/pg_hba.conf" "$r/pg_ident.conf" /etc/postgresql/
install -m 0755 "$r/entrypoint.sh" /usr/local/bin/docker-entrypoint.sh

#!/bin/sh
# Asks a real PostgreSQL 17 what it makes of pg_hba.conf files.
# Every folder /cases/NAME is one case: its files are copied to /hba (owned by postgres) and the
# server's pg_hba_file_rules view, which parses /hba/pg_hba.conf (hba_file) with every file it
# includes, is printed as one line: NAME, a tab, a JSON array of the view's rows. The server is
# started once, with a valid startup file (a local trust line), and never reloaded: the cases
# only ever reach the view, never the server's live rules.
# Last line: "postgres VERSION" so the caller knows which server answered.
set -eu
export PGHOST=/tmp PGUSER=postgres PGDATABASE=postgres
data=/tmp/data
mkdir -p /hba && chown postgres:postgres /hba
su postgres -s /bin/sh -c "initdb -D $data -U postgres --auth=trust >/tmp/initdb.log 2>&1" ||
  { cat /tmp/initdb.log >&2; exit 1; }
# ssl=on, as a hardened deployment runs (PostgreSQL 16+ shows hostssl lines as errors in the
# view when ssl is off), with a throwaway self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
  -keyout $data/server.key -out $data/server.crt >/dev/null 2>&1
chown postgres:postgres $data/server.key $data/server.crt
chmod 0600 $data/server.key
printf 'local all all trust\n' >/hba/pg_hba.conf
chown postgres:postgres /hba/pg_hba.conf
su postgres -s /bin/sh -c "pg_ctl -D $data -w -l /tmp/pg.log -o \"-c hba_file=/hba/pg_hba.conf -c listen_addresses='' -c unix_socket_directories=/tmp -c ssl=on\" start >/dev/null" ||
  { cat /tmp/pg.log >&2; exit 1; }
q="select coalesce(json_agg(json_build_object('rule_number', rule_number, 'file_name', file_name,
  'line_number', line_number, 'type', type, 'database', database, 'user_name', user_name,
  'address', address, 'netmask', netmask, 'auth_method', auth_method, 'options', options,
  'error', error)), '[]') from pg_hba_file_rules"
for c in /cases/*/; do
  name=$(basename "$c")
  find /hba -mindepth 1 -delete
  cp -R "$c." /hba/
  chown -R postgres:postgres /hba
  printf '%s\t' "$name"
  su postgres -s /bin/sh -c "psql -XAtq -c \"$q\""
done
printf 'postgres %s\n' "$(su postgres -s /bin/sh -c 'psql -XAtqc "show server_version"')"
su postgres -s /bin/sh -c "pg_ctl -D $data -w stop >/dev/null"

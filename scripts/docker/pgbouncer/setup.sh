#!/bin/sh
# The PgBouncer pooler test image: a stand-in for edoburu/pgbouncer (the image upstream's
# docker/docker-compose.pgbouncer.yml runs; it cannot be pulled here), built from Debian trixie's
# pgbouncer 1.24 and modelled on edoburu/docker-pgbouncer at 91a581b (2026-06-10):
# - like the edoburu image: runs as user `postgres` with uid 70 and gid 70 (Alpine's postgres
#   ids; the Dockerfile's `USER postgres`), /etc/pgbouncer owned by it, no pgbouncer.ini in the
#   image (only the example), an empty userlist.txt, the entrypoint writes pgbouncer.ini from the
#   environment only when none exists and then `exec`s the command, PgBouncer is the main
#   process (SIGHUP reaches it), port 5432 by default;
# - where it differs: PgBouncer 1.24.1 on Debian trixie (glibc, OpenSSL 3.5) instead of 1.25.2
#   built on Alpine 3.23; Debian's postgres user is moved from its own ids to 70:70; the
#   entrypoint (entrypoint.sh, our own) handles the variables upstream's compose sets and the TLS
#   ones, not DATABASE_URL(S), ADMIN_PASSWORDS or STATS_USERS (see its header).
set -eu
old_uid=$(id -u postgres)
old_gid=$(id -g postgres)
groupmod -g 70 postgres
usermod -u 70 -g 70 -G "" postgres
# files the packages gave the old ids
find / -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) -exec chown -h 70:70 {} + 2>/dev/null || true
mv /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/pgbouncer.ini.example
: >/etc/pgbouncer/userlist.txt
mkdir -p /var/run/pgbouncer /var/log/pgbouncer
chown -R 70:70 /etc/pgbouncer /var/run/pgbouncer /var/log/pgbouncer
install -m 0755 "$(dirname "$0")/entrypoint.sh" /usr/local/bin/pgbouncer-entrypoint.sh
[ "$(id -u postgres):$(id -g postgres)" = 70:70 ]

#!/bin/sh
# The pooler test image: a stand-in for Supavisor (which cannot run here), built from the
# behaviour of supabase/supavisor where pgtls depends on it: it runs as root (no USER), reads
# the certificate and key whose paths GLOBAL_DOWNSTREAM_CERT_PATH / GLOBAL_DOWNSTREAM_KEY_PATH
# name, refuses plaintext clients, listens on 5432 (session) and 6543 (transaction) and forwards
# to db:5432. PgBouncer does the work (entrypoint.sh).
set -eu
install -m 0755 "$(dirname "$0")/entrypoint.sh" /usr/local/bin/pooler-entrypoint.sh

#!/bin/sh
# The PostgreSQL 17 oracle image (Debian trixie's postgresql-17, 17.12): pg-hba's differential
# test mounts a folder of cases at /cases and runs /usr/local/bin/hba-oracle, which prints
# what the real server's pg_hba_file_rules says about each case.
set -eu
install -m 0755 "$(dirname "$0")/hba-oracle.sh" /usr/local/bin/hba-oracle

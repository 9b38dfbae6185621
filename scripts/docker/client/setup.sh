#!/bin/sh
# The client test image: psql (libpq) and openssl from the base, kept running on the compose
# network so the test can `docker exec` into it.
set -eu

#!/bin/sh
# Stand-in for the container Coolify starts for a database made "publicly available"
# (coollabsio/coolify app/Actions/Database/StartDatabaseProxy.php: nginx:stable-alpine with a
# generated nginx.conf: `stream { server { listen <public_port>; proxy_pass <container>:5432;
# proxy_timeout 3600s; proxy_connect_timeout 60s; } }`, no PROXY protocol). The same nginx,
# from Debian, with the same generated configuration (entrypoint.sh).
set -eu
useradd --system --no-create-home --shell /usr/sbin/nologin nginx
install -m 0755 "$(dirname "$0")/entrypoint.sh" /usr/local/bin/proxy-entrypoint.sh

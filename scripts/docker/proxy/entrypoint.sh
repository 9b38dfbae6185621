#!/bin/sh
# Writes the nginx.conf Coolify's StartDatabaseProxy generates (plus Debian's module load line
# and `daemon off`, which the alpine image's command gives) and runs nginx in the foreground.
# PUBLIC_PORT: the port to listen on; UPSTREAM: `<container>:<port>` to forward to.
set -eu
: "${PUBLIC_PORT:?PUBLIC_PORT must be set}"
: "${UPSTREAM:?UPSTREAM must be set}"
cat >/etc/nginx/nginx.conf <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user  nginx;
worker_processes  auto;
daemon off;

error_log  /dev/stderr;

events {
    worker_connections  1024;
}
stream {
   server {
        listen ${PUBLIC_PORT};
        proxy_pass ${UPSTREAM};
        proxy_timeout 3600s;
        proxy_connect_timeout 60s;
   }
}
CONF
exec nginx -c /etc/nginx/nginx.conf

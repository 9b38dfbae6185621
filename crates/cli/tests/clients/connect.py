"""Connects with psycopg 3 and asyncpg to every case in a TSV file (id, client, pooled, url).

Prints one TSV line per case: id, "ok", current_user, server-side ssl (pg_stat_ssl), client-side
TLS in use; or id, "refused", the error (first line). Run by crates/cli/tests/it/clients.rs.
"""
import asyncio
import sys

import asyncpg
import psycopg

SQL = "select current_user::text, coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)"


def one_line(e):
    text = f"{type(e).__name__}: {e}".replace("\t", " ").splitlines()
    return text[0] if text else type(e).__name__


def with_psycopg(url):
    with psycopg.connect(url, connect_timeout=5, prepare_threshold=None) as conn:
        user, server_ssl = conn.execute(SQL).fetchone()
        return user, server_ssl, conn.pgconn.ssl_in_use


async def with_asyncpg(url, pooled):
    # On the transaction-mode port asyncpg needs statement_cache_size=0 in code (pgtls's note).
    conn = await asyncpg.connect(url, timeout=5, statement_cache_size=0 if pooled else 100)
    try:
        row = await conn.fetchrow(SQL)
        tls = conn._transport.get_extra_info("ssl_object") is not None
        return row[0], row[1], tls
    finally:
        await conn.close()


def main():
    for line in open(sys.argv[1], encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        case_id, client, pooled, url = line.split("\t", 3)
        try:
            if client == "psycopg":
                user, server_ssl, tls = with_psycopg(url)
            else:
                user, server_ssl, tls = asyncio.run(with_asyncpg(url, pooled == "1"))
            print(f"{case_id}\tok\t{user}\t{str(bool(server_ssl)).lower()}\t{str(bool(tls)).lower()}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is a result here
            print(f"{case_id}\trefused\t{one_line(e)}", flush=True)


main()

// Connects with node-postgres (pg) to every case in a TSV file (id, client, pooled, url) and prints
// one TSV line per case: id, "ok", current_user, server-side ssl, client-side TLS in use; or id,
// "refused", the error. Run by crates/cli/tests/it/clients.rs.
'use strict'
const fs = require('fs')
const { Client } = require('pg')

const SQL = 'select current_user::text as u, coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as s'

function oneLine(e) {
  const text = String((e && (e.code ? e.code + ': ' : '') + e.message) || e).replace(/\t/g, ' ')
  return text.split('\n')[0]
}

async function main() {
  const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.length > 0)
  for (const line of lines) {
    const [id, , , ...rest] = line.split('\t')
    const url = rest.join('\t')
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 })
    client.on('error', () => {})
    try {
      await client.connect()
      const r = await client.query(SQL)
      const tls = client.connection.stream.encrypted === true
      console.log(`${id}\tok\t${r.rows[0].u}\t${r.rows[0].s}\t${tls}`)
    } catch (e) {
      console.log(`${id}\trefused\t${oneLine(e)}`)
    } finally {
      await client.end().catch(() => {})
    }
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(2)
})

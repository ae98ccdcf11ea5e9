// The baseline of the HTTP benchmark: a bare hono hello-world on @hono/node-server, served the
// same way as the node (own process, same adapter), so the ratio shows only our overhead.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('*', (c) => c.text('world'))
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening on http://127.0.0.1:${info.port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

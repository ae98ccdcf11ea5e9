import { connect } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { createNode } from './dist/node/index.js'
import { defaultConfig } from './dist/node/config.js'
import { listen } from './dist/node/server.js'
const dir = mkdtempSync('/tmp/exp/d-')
const quiet = { debug(){}, info(){}, warn(){}, error(o){console.error(o)}, child(){return this} }
const node = await createNode({ ...defaultConfig({}), dataDir: dir, store: 'memory', port: 0, demoModel: false, walletKind: 'ed25519', headersTimeoutMs: 1000, uploadIdleTimeoutMs: 1000 }, { log: quiet })
const server = await listen(node, 0, '127.0.0.1')
const port = server.port
const t0 = Date.now(); const log = (...a) => console.log(((Date.now() - t0) / 1000).toFixed(2), ...a)
const N = Number(process.argv[2])
const sockets = []
for (let i = 0; i < N; i++) {
  const s = connect(port, '127.0.0.1'); await new Promise((r) => s.once('connect', r))
  s.on('error', (e) => log('err', e.code))
  s.write(`POST /~message@1.0/set/x HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 10000000\r\n\r\n`)
  const chunk = Buffer.alloc(1 << 20, 97)
  for (let k = 0; k < Number(process.argv[3]); k++) await new Promise((r) => s.write(chunk, r))
  sockets.push(s)
}
log('written')
await new Promise((r) => setTimeout(r, 2500))
const h = connect(port, '127.0.0.1')
h.on('data', (d) => log('hdr got', d.toString().split('\r\n')[0]))
h.on('close', () => log('hdr closed'))
h.write('GET / HTTP/1.1\r\nhost: x\r\n')
await new Promise((r) => setTimeout(r, 2500))
log('open?', !h.destroyed)
process.exit(0)

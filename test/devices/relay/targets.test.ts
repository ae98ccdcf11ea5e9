/**
 * Which targets relay@1.0 may call, and that the address it vetted is the one it connects to:
 * internal addresses are recognised in every spelling; a public literal is pinned; a request
 * with a pin reaches the pinned address whatever its host name would resolve to (no second DNS
 * answer can steer it elsewhere).
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkTarget, isInternalAddress } from '../../../devices/relay/index.js'
import { exchange } from '../../../devices/relay/transport.js'

let server: Server
let port = 0
beforeAll(async () => {
  server = createServer((req, res) => res.end(`pinned ${req.headers.host}`))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  port = (server.address() as { port: number }).port
})
afterAll(() => new Promise<void>((done) => server.close(() => done())))

describe('relay targets', () => {
  it('internal addresses in their spellings; public ones are not', () => {
    for (const ip of ['127.0.0.1', '10.2.3.4', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '224.0.0.1']) {
      expect(isInternalAddress(ip), ip).toBe(true)
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1', '::ffff:8.8.8.8']) expect(isInternalAddress(ip), ip).toBe(false)
  })

  it('a registered origin needs no pin; a public literal is pinned; an internal one is refused', async () => {
    expect(await checkTarget(`http://127.0.0.1:${port}`, (o) => o === `http://127.0.0.1:${port}`)).toBeUndefined()
    expect(await checkTarget('http://93.184.216.34:8080', () => false)).toEqual({ address: '93.184.216.34', family: 4 })
    await expect(checkTarget(`http://127.0.0.1:${port}`, () => false)).rejects.toMatchObject({ status: 403, code: 'relay-target-private' })
  })

  it('a pinned request connects to the pinned address, not to what its name resolves to', async () => {
    const res = await exchange(`http://never-resolves.invalid:${port}`, '/x', {
      method: 'GET', headers: [], body: undefined, bufferLimit: 1024, pin: { address: '127.0.0.1', family: 4 },
    }).answer
    expect([res.status, Buffer.from(res.body as Uint8Array).toString()]).toEqual([200, `pinned never-resolves.invalid:${port}`])
  })
})

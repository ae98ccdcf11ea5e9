/**
 * Issue 11, item 7: slow clients were never cut off. `requestTimeout: 0` (so that multi-GB
 * uploads can take as long as they need) also turned Node's header limit off, and a stalled
 * upload kept its buffers for as long as its client cared to hold the connection.
 *
 * Now (node/server.ts): a header timeout, an idle (keep-alive) timeout and an upload-inactivity
 * timeout, each a node option. Over a real TCP port: half-sent headers and silent connections
 * are closed, idle connections too, stalled uploads are cut and their memory comes back, and an
 * upload that keeps moving is never cut however long it takes.
 */
import { createHash } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type RunningServer } from '../../node/server.js'
import { testNode } from '../helpers/node.js'
import { probeUrl, STALL_LIMIT_MS } from './helpers/loop-probe.js'

const TIMEOUTS = { headersTimeoutMs: 1_000, idleTimeoutMs: 1_000, uploadIdleTimeoutMs: 1_500 }
/** Node checks the header limit every headersTimeout/4; the rest is scheduling slack. */
const SLACK_MS = 2_500

let node: Awaited<ReturnType<typeof testNode>>
let server: RunningServer
beforeAll(async () => {
  node = await testNode({ config: { ...TIMEOUTS, store: 'memory' } })
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(() => server?.close(500))

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** This process's live JS heap plus Buffer memory, after full collections (MB). */
async function liveMemoryMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((done) => setImmediate(done))
  }
  const m = process.memoryUsage()
  return (m.heapUsed + m.arrayBuffers) / 1024 ** 2
}

/** Polls until memory is back within `limitMb` (collections can lag a tick), up to `ms`. */
async function memoryBackWithin(limitMb: number, ms: number): Promise<number> {
  const until = Date.now() + ms
  let now = await liveMemoryMb()
  while (now > limitMb && Date.now() < until) {
    await new Promise((done) => setTimeout(done, 200))
    now = await liveMemoryMb()
  }
  return now
}

interface Conn {
  readonly socket: Socket
  readonly closed: Promise<number>
  received(): string
}

/** A raw TCP connection to the server; `closed` resolves with ms from open to close. */
async function open(): Promise<Conn> {
  const socket = connect(server.port, '127.0.0.1')
  const began = Date.now()
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', () => undefined) // a reset is one way for the server to cut us off
  const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - began)))
  await new Promise((done) => socket.once('connect', done))
  return { socket, closed, received: () => data }
}

/** Resolves with the close time, or `undefined` if the connection is still open after `ms`. */
const closedWithin = (conn: Conn, ms: number) =>
  Promise.race([conn.closed, new Promise<undefined>((done) => setTimeout(() => done(undefined), ms))])

const write = (socket: Socket, data: string | Uint8Array) => new Promise<void>((done) => socket.write(data, () => done()))
const CHUNK = Buffer.alloc(1024 * 1024, 0x61) // one buffer, reused: the client adds nothing per upload

/** Starts an upload of `declared` bytes, sends `sent` of them, and stops (the socket stays open). */
async function stalledUpload(path: string, declared: number, sent: number): Promise<Conn> {
  const conn = await open()
  await write(conn.socket, `PUT ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${declared}\r\n\r\n`)
  for (let done = 0; done < sent; done += CHUNK.length) await write(conn.socket, CHUNK.subarray(0, Math.min(CHUNK.length, sent - done)))
  return conn
}

describe('header and idle timeouts', () => {
  it('a connection that never finishes its headers gets a 408 and is closed', async () => {
    const conn = await open()
    await write(conn.socket, 'GET /~meta@1.0/info/address HTTP/1.1\r\nhost: x\r\n') // …and never the blank line
    const ms = await closedWithin(conn, TIMEOUTS.headersTimeoutMs + SLACK_MS)
    conn.socket.destroy()
    expect(ms, 'still open').toBeDefined()
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/)
  })

  it('a connection that sends nothing at all is closed as well', async () => {
    const conn = await open()
    const ms = await closedWithin(conn, TIMEOUTS.headersTimeoutMs + SLACK_MS)
    conn.socket.destroy()
    expect(ms, 'still open').toBeDefined()
  })

  it('a kept-alive connection with no request in flight is closed after the idle timeout', async () => {
    const conn = await open()
    await write(conn.socket, 'GET /~meta@1.0/info/address HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n')
    const ms = await closedWithin(conn, TIMEOUTS.idleTimeoutMs + SLACK_MS)
    conn.socket.destroy()
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200/)
    expect(ms, 'still open').toBeDefined()
  })
})

describe('uploads', () => {
  const UPLOADS = 6
  const SENT = 8 * 1024 * 1024

  for (const path of ['/~message@1.0/set/x', '/~store@1.0/put']) {
    it(`stalled uploads to ${path} are cut off and their memory comes back; the node answers throughout`, async () => {
      await liveMemoryMb()
      const baseline = await liveMemoryMb()
      const probe = probeUrl(server.url)
      const conns = await Promise.all(Array.from({ length: UPLOADS }, () => stalledUpload(path, 10 * 1024 * 1024, SENT)))
      await new Promise((done) => setTimeout(done, 300))
      const held = await liveMemoryMb()
      // The test measures something: the node holds (most of) what was sent.
      expect(held - baseline).toBeGreaterThan((UPLOADS * SENT) / 1024 ** 2 / 2)
      const closes = await Promise.all(conns.map((c) => closedWithin(c, TIMEOUTS.uploadIdleTimeoutMs + SLACK_MS + 1_000)))
      for (const c of conns) c.socket.destroy()
      expect(closes.every((ms) => ms !== undefined), `closed: ${JSON.stringify(closes)}`).toBe(true)
      const after = await memoryBackWithin(baseline + 16, 5_000)
      expect(after, `baseline ${baseline.toFixed(1)} MB, held ${held.toFixed(1)} MB`).toBeLessThan(baseline + 16)
      const report = await probe.stop()
      if (process.env.HASHBEAM_PROBE_LOG !== undefined) console.info(path, { baseline, held, after }, report)
      expect(report.failures).toEqual([])
      expect(report.worstMs).toBeLessThan(STALL_LIMIT_MS)
      if (path.startsWith('/~message')) {
        expect(node.logs.some((e) => (e.obj as { code?: string } | undefined)?.code === 'client-gone')).toBe(true)
      }
      // Nothing of a cut upload was kept: no temporary upload key is left in the store.
      const left: string[] = []
      for await (const key of node.store.list('upload/')) left.push(key)
      expect(left).toEqual([])
    })
  }

  it('uploads the client aborts free their memory too', async () => {
    await liveMemoryMb()
    const baseline = await liveMemoryMb()
    const conns = await Promise.all(Array.from({ length: UPLOADS }, () => stalledUpload('/~message@1.0/set/x', 10 * 1024 * 1024, SENT)))
    await new Promise((done) => setTimeout(done, 300))
    const held = await liveMemoryMb()
    for (const c of conns) c.socket.destroy()
    await Promise.all(conns.map((c) => c.closed))
    const after = await memoryBackWithin(baseline + 16, 5_000)
    expect(held - baseline).toBeGreaterThan((UPLOADS * SENT) / 1024 ** 2 / 2)
    expect(after, `baseline ${baseline.toFixed(1)} MB, held ${held.toFixed(1)} MB`).toBeLessThan(baseline + 16)
  })

  it('an upload that keeps moving is never cut, however long it takes (no whole-request limit)', async () => {
    const pieces = 40
    const piece = new Uint8Array(128 * 1024).map((_, i) => i & 255)
    const hash = createHash('sha256')
    for (let i = 0; i < pieces; i++) hash.update(piece)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === pieces) return controller.close()
        // Each pause is well under the upload timeout; the whole upload lasts several of them.
        await new Promise((done) => setTimeout(done, 120))
        controller.enqueue(piece)
        sent++
      },
    })
    const began = Date.now()
    const res = await fetch(`${server.url}/~store@1.0/put`, { method: 'PUT', body, duplex: 'half', headers: { accept: 'application/json' } } as RequestInit)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { sha256: string }).sha256).toBe(hash.digest('hex'))
    expect(Date.now() - began).toBeGreaterThan(TIMEOUTS.uploadIdleTimeoutMs * 2)
  })
})

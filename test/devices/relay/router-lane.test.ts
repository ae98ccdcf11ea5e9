/**
 * The router's fast lane (relay/node-lane.ts) on a real HTTP server: bodiless requests relayed
 * straight from the socket to registered workers — here plain node:http servers this test
 * controls, registered with signed offers — and what the lane must keep of the relay: the
 * worker's headers and a `via`, no hop-by-hop or cookie headers; HEAD; failover past a 5xx;
 * 503 when no node serves the model; event streams passed through as they arrive, cancelled
 * upstream when the client leaves; an answer past the buffer limit streamed whole; and the
 * router answering its own surface while a slow client holds a large answer.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLUSTER_CONFIG, signOffer, type OfferBody } from '../../../devices/router/index.js'
import { BUFFER_LIMIT } from '../../../devices/relay/forward.js'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { createSigner } from '../../../identity/signer.js'
import type { HashbeamNode } from '../../../node/index.js'
import { listen, type RunningServer } from '../../../node/server.js'
import { nodeWithOwnOperator } from '../../helpers/operator.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

interface FakeWorker { wallet: Wallet; server: Server; url: string; handler: Handler; seen: IncomingMessage[] }

let node: HashbeamNode
let router: RunningServer
const workers: FakeWorker[] = []

async function fakeWorker(): Promise<FakeWorker> {
  const w = { wallet: await createWallet('ed25519'), seen: [] as IncomingMessage[] } as unknown as FakeWorker
  w.handler = (_req, res) => res.end('unset')
  w.server = createServer((req, res) => { w.seen.push(req); w.handler(req, res) })
  await new Promise<void>((done) => w.server.listen(0, '127.0.0.1', done))
  w.url = `http://127.0.0.1:${(w.server.address() as { port: number }).port}`
  return w
}

async function register(w: FakeWorker, models: OfferBody['models'] = []): Promise<void> {
  const body: OfferBody = { url: w.url, devices: ['message@1.0'], models, capacity: { parallel: 1, 'max-queue': 4 }, load: { models: {} } }
  const signed = await signOffer(createSigner(w.wallet), 'register', body)
  const res = await fetch(`${router.url}/~router@1.0/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed) })
  expect(res.status).toBe(200)
}

/** Resolves when `check` holds, polling for at most `ms`. */
async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited >= ms) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  for (let i = 0; i < 2; i++) workers.push(await fakeWorker())
  ;({ node } = await nodeWithOwnOperator({
    cluster: { ...DEFAULT_CLUSTER_CONFIG, router: true, admit: workers.map((w) => walletAddress(w.wallet)), ttlMs: 60_000 },
  }))
  router = await listen(node, 0, '127.0.0.1')
  await register(workers[0]!)
})
afterAll(async () => {
  await router.close(1_000)
  for (const w of workers) {
    w.server.closeAllConnections()
    await new Promise((done) => w.server.close(done))
  }
})

describe('the router lane', () => {
  it('relays a GET with the client headers a worker may read, and answers with the worker\'s headers and the node that ran it', async () => {
    const [w] = workers as [FakeWorker]
    w.seen.length = 0
    w.handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', hashpath: 'abc/def', 'ao-id': 'xyz', 'set-cookie': 'a=b' }).end('world')
    const res = await fetch(`${router.url}/~message@1.0&hello=world/hello`, { headers: { 'x-client': 'one', cookie: 'secret=1', via: '1.1 some-proxy' } })
    expect([res.status, await res.text()]).toEqual([200, 'world'])
    expect([res.headers.get('hashpath'), res.headers.get('ao-id'), res.headers.get('hashbeam-node'), res.headers.get('hashbeam-node-url'), res.headers.get('set-cookie')])
      .toEqual(['abc/def', 'xyz', walletAddress(w.wallet), w.url, null])
    const seen = w.seen[0]!
    expect(seen.url).toBe('/~message@1.0&hello=world/hello')
    expect(seen.headers['x-client']).toBe('one')
    expect(seen.headers.cookie).toBeUndefined()
    expect(seen.headers.via).toMatch(/^1\.1 some-proxy, 1\.1 hashbeam-router\//)
    expect(seen.headers.host).toBe(new URL(w.url).host)
  })

  it('HEAD answers the head only', async () => {
    workers[0]!.handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end()
    const res = await fetch(`${router.url}/~message@1.0&a=1/a`, { method: 'HEAD' })
    expect([res.status, await res.text()]).toEqual([200, ''])
  })

  it('fails over past a worker answering 500, and says how many nodes it tried', async () => {
    const [w0, w1] = workers as [FakeWorker, FakeWorker]
    await register(w1)
    w0.handler = (_req, res) => res.writeHead(500).end('broken')
    w1.handler = (_req, res) => res.writeHead(500).end('broken')
    // Whichever node a path lands on first, one of the two answers 200 from the second try on.
    const answers: Array<[number, string | null]> = []
    for (let i = 0; i < 6; i++) {
      const first = i % 2 === 0 ? w0 : w1
      const other = first === w0 ? w1 : w0
      first.handler = (_req, res) => res.writeHead(500).end('broken')
      other.handler = (_req, res) => res.writeHead(200).end('ok')
      const res = await fetch(`${router.url}/~message@1.0&failover=${i}/failover`)
      answers.push([res.status, res.headers.get('hashbeam-relay-attempts')])
      await res.arrayBuffer()
    }
    expect(answers.every(([status]) => status === 200)).toBe(true)
    expect(answers.some(([, attempts]) => attempts === '2')).toBe(true)
    w0.handler = w1.handler = (_req, res) => res.end('ok')
  })

  it('a model no node serves: 503 no-viable-node from the lane, nothing sent', async () => {
    const before = workers[0]!.seen.length + workers[1]!.seen.length
    const res = await fetch(`${router.url}/~gpu-infer@1.0/run&model=absent&prompt=x`)
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([503, 'no-viable-node'])
    expect(workers[0]!.seen.length + workers[1]!.seen.length).toBe(before)
  })

  it('passes an event stream through as it arrives, and cancels it upstream when the client leaves', async () => {
    let upstreamClosed = false
    let release: (() => void) | undefined
    const handler: Handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: first\n\n')
      req.once('close', () => { upstreamClosed = true })
      release = () => res.write('data: second\n\n')
    }
    for (const w of workers) w.handler = handler
    const controller = new AbortController()
    const res = await fetch(`${router.url}/~message@1.0&stream=sse/stream`, { signal: controller.signal })
    const reader = res.body!.getReader()
    // The first event arrives while the worker still holds the stream open.
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n')
    release!()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: second\n\n')
    controller.abort()
    await eventually(() => upstreamClosed)
  })

  it('streams an answer past the buffer limit whole, and answers its own surface while a slow client holds it', async () => {
    const size = BUFFER_LIMIT + 3 * 1024 * 1024
    const big = Buffer.alloc(size, 7)
    for (const w of workers) w.handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) }).end(big)
    // A client that reads nothing for a while: the lane must not hold the router.
    const slow = await new Promise<IncomingMessage>((done, fail) => {
      httpRequest(`${router.url}/~message@1.0&big=1/big`, done).once('error', fail).end()
    })
    slow.pause()
    const started = Date.now()
    const probe = await fetch(`${router.url}/~meta@1.0/info`, { headers: { accept: 'application/json' } })
    expect(probe.status).toBe(200)
    expect(Date.now() - started).toBeLessThan(5_000)
    let received = 0
    let intact = true
    slow.on('data', (chunk: Buffer) => {
      received += chunk.byteLength
      if (chunk.some((b) => b !== 7)) intact = false
    })
    slow.resume()
    await new Promise((done) => slow.once('end', done))
    expect([slow.statusCode, received, intact]).toEqual([200, size, true])
  })
})

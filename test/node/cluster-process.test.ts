/**
 * A router and three workers, each a real `hashbeam serve` process on 127.0.0.1 with its own data
 * dir and wallet; the workers share one ledger on Redis (a key prefix of this run) and trust each
 * other. What issue 14 accepts: a step computed through worker A is answered from the ledger on
 * worker B; relayed answers keep the worker's hashpath, ao-id and signature and name the worker;
 * By-Base sticks; 300 requests from 16 clients lose none while a worker is killed with -9 half-way;
 * the dead worker leaves every route within its TTL and comes back after a restart; SIGTERM
 * deregisters at once.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { base64UrlBytes } from '../../core/bytes.js'
import { verifyMessageSignatures } from '../../devices/httpsig/index.js'
import { addressOf, walletAddress } from '../../identity/keys.js'
import { loadOrCreateWallet } from '../../node/wallet-file.js'
import { deletePrefix, redisGate, REDIS_URL, uniquePrefix } from '../devices/store/redis-env.js'
import { headerFields } from '../helpers/http.js'
import { tempDir } from '../helpers/node.js'
import { freePort, startServer, type ServerProcess } from '../helpers/process.js'

// Short for the test, long enough that a loaded machine's late heartbeat (every TTL/3) never expires a live worker.
const TTL_S = 3
const { skip } = await redisGate()
const prefix = uniquePrefix('cluster')
const dirs = [tempDir(), tempDir(), tempDir(), tempDir()]
const started: ServerProcess[] = []
let router: ServerProcess
const workers: Array<{ url: string; address: string; args: string[]; process: ServerProcess }> = []


async function serve(args: string[]): Promise<ServerProcess> {
  const p = await startServer(args, { HASHBEAM_LOG_LEVEL: 'warn' })
  started.push(p)
  return p
}

const nodesNow = async (): Promise<string[]> =>
  ((await (await fetch(`${router.url}/~router@1.0/nodes`)).json()) as { nodes: Array<{ address: string }> }).nodes.map((n) => n.address)

/** Polls (every 50 ms, at most `ms`) until `check` holds; resolves to the time it took. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what}: not within ${ms} ms`)
}

beforeAll(async () => {
  if (skip) return
  const wallets = await Promise.all([1, 2, 3].map((i) => loadOrCreateWallet(join(dirs[i]!.dir, 'wallet.json'), 'ed25519')))
  const addresses = wallets.map(walletAddress)
  router = await serve(['--data', dirs[0]!.dir, '--store', 'memory', '--router', '--wallet-kind', 'ed25519', '--no-demo-model',
    '--node-ttl', String(TTL_S), ...addresses.flatMap((a) => ['--admit', a])])
  const ports = [await freePort(), await freePort(), await freePort()]
  const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`
  await Promise.all([0, 1, 2].map(async (i) => {
    const args = ['--port', String(ports[i]), '--data', dirs[i + 1]!.dir, '--wallet', join(dirs[i + 1]!.dir, 'wallet.json'), '--store', store,
      '--join', router.url, '--no-demo-model', ...addresses.filter((_, j) => j !== i).flatMap((a) => ['--trust', a])]
    workers[i] = { url: `http://127.0.0.1:${ports[i]}`, address: addresses[i]!, args, process: await serve(args) }
  }))
  await until(async () => (await nodesNow()).length === 3, 20_000, 'three workers registered')
}, 120_000)

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')))
  for (const d of dirs) d.cleanup()
  if (!skip) await deletePrefix(prefix)
})

describe.skipIf(skip)('a router and three workers on one Redis ledger', () => {
  it('a step computed through the router on one worker is answered from the ledger on another', async () => {
    const path = '/~message@1.0&ledger=shared/ledger'
    const first = await fetch(router.url + path)
    expect([first.status, first.headers.get('ao-cache'), await first.text()]).toEqual([200, 'miss', 'shared'])
    const ranOn = first.headers.get('hashbeam-node')
    expect(workers.map((w) => w.address)).toContain(ranOn)
    expect(first.headers.get('hashbeam-node-url')).toBe(workers.find((w) => w.address === ranOn)!.url)
    for (const other of workers.filter((w) => w.address !== ranOn)) {
      const res = await fetch(other.url + path)
      expect(res.headers.get('ao-cache')).toBe('hit')
      expect([res.headers.get('hashpath'), res.headers.get('ao-id')]).toEqual([first.headers.get('hashpath'), first.headers.get('ao-id')])
    }
  })

  it('a relayed answer carries the worker\'s own signature over its hashpath', async () => {
    const res = await fetch(`${router.url}/~message@1.0&signed=yes`, { headers: { 'accept-signature': 'sig=()' } })
    expect(res.status).toBe(200)
    const [signature] = verifyMessageSignatures({ status: res.status, fields: headerFields(res.headers) })
    expect(signature).toMatchObject({ committer: res.headers.get('hashbeam-node'), params: { tag: 'hashbeam-reply' } })
    expect(signature!.signatureBase).toContain(`"hashpath": ${res.headers.get('hashpath')}`)
    const keyid = /keyid="([^"]+)"/.exec(res.headers.get('signature-input') ?? '')?.[1]
    expect(addressOf(base64UrlBytes(keyid!))).toBe(res.headers.get('hashbeam-node'))
  })

  it('By-Base sends the same request to the same worker every time; SSE and relay@1.0/call pass through', async () => {
    const seen = new Map<number, string>()
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${router.url}/~message@1.0&sticky=${i}/sticky`)
        expect(res.status).toBe(200)
        if (round === 0) seen.set(i, res.headers.get('hashbeam-node')!)
        else expect(res.headers.get('hashbeam-node')).toBe(seen.get(i))
      }
    }
    expect(new Set(seen.values()).size).toBeGreaterThan(1)
    const sse = await fetch(`${router.url}/~message@1.0&streamed=1/streamed`, { headers: { accept: 'text/event-stream' } })
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await sse.text()).toMatch(/event: result\ndata: \{"hashpath":/)
    const call = await fetch(`${router.url}/~relay@1.0/call?${new URLSearchParams({ 'relay-path': '/~message@1.0&called=1/called' })}`, { headers: { accept: 'application/json' } })
    expect(await call.json()).toMatchObject({ status: 200, body: '1', node: expect.any(String), hashpath: expect.any(String) })
  })

  it('300 requests from 16 clients, a worker killed with -9 half-way: no failure; it leaves within the TTL and returns', async () => {
    const victim = workers[2]!
    let next = 0
    let done = 0
    let failedOver = 0
    const failures: string[] = []
    let killed: Promise<unknown> | undefined
    let killedAt = 0
    // From the kill on, the router's own clock says when the victim left its registry (polled
    // beside the load, so a slow finish of the load does not count against the TTL).
    let goneAt: Promise<number> | undefined
    const watch = async (): Promise<number> => {
      for (let i = 0; i < 400; i++) {
        const view = (await (await fetch(`${router.url}/~router@1.0/nodes`)).json()) as { now: number; nodes: Array<{ address: string }> }
        if (!view.nodes.some((n) => n.address === victim.address)) return view.now
        await new Promise((r) => setTimeout(r, 25))
      }
      throw new Error('the killed worker never left the registry')
    }
    const client = async () => {
      while (next < 300) {
        const n = next++
        const res = await fetch(`${router.url}/~message@1.0&load=${n}/load`)
        const text = await res.text()
        if (res.status !== 200 || text !== String(n)) failures.push(`${n}: ${res.status} ${text.slice(0, 200)}`)
        if (Number(res.headers.get('hashbeam-relay-attempts')) > 1) failedOver++
        if (++done === 150) {
          killedAt = Date.now()
          killed = victim.process.stop('SIGKILL')
          goneAt = watch()
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, client))
    await killed
    expect(failures).toEqual([])
    // Some requests did meet the dead worker, and went on to another.
    expect(failedOver).toBeGreaterThan(0)
    // Out of the registry, and so of every route, within the TTL (plus polling slack).
    expect((await goneAt!) - killedAt).toBeLessThan(TTL_S * 1000 + 500)
    expect(await nodesNow()).not.toContain(victim.address)
    for (let i = 0; i < 12; i++) {
      const route = await (await fetch(`${router.url}/~router@1.0/route?${new URLSearchParams({ 'route-path': `/~message@1.0&sticky=${i}/sticky` })}`, { headers: { accept: 'application/json' } })).json() as { nodes: string[] }
      expect(route.nodes).not.toContain(victim.url)
    }
    // Restarted (same data dir, wallet and port): registered again, and By-Base sends it work.
    victim.process = await serve(victim.args)
    await until(async () => (await nodesNow()).includes(victim.address), 20_000, 'the restarted worker registered')
    const nodes = new Set<string>()
    for (let i = 0; i < 24; i++) nodes.add((await fetch(`${router.url}/~message@1.0&back=${i}/back`)).headers.get('hashbeam-node')!)
    expect(nodes.has(victim.address)).toBe(true)
  }, 60_000)

  it('a worker stopped with SIGTERM deregisters at once', async () => {
    const leaving = workers[1]!
    await leaving.process.stop('SIGTERM')
    // No TTL wait: the registration is gone when the process has exited.
    expect(await nodesNow()).not.toContain(leaving.address)
    expect((await fetch(`${router.url}/~message@1.0&after=1/after`)).status).toBe(200)
  })
})

/**
 * router@1.0 over HTTP, in one process: nodes register with offers signed by their own keys (no
 * node runs behind them here; `route` answers where a request would go). Admission, signature,
 * replay and staleness refusals change nothing; operator-signed route changes apply and
 * persist, unsigned or a stranger's are refused with nothing changed. Strategies seen from the
 * outside: By-Base sticks, Least-Loaded never picks a full queue, a model route only names
 * nodes serving the model.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { createSigner } from '../../../identity/signer.js'
import { DEFAULT_CLUSTER_CONFIG, signOffer, type OfferBody } from '../../../devices/router/index.js'
import { SIGNATURE_TAG } from '../../../devices/httpsig/index.js'
import type { HashbeamNode } from '../../../node/index.js'
import { nodeWithOwnOperator, signPrivileged, URL_BASE } from '../../helpers/operator.js'

const SHA_A = 'a'.repeat(64)
const SHA_B = 'b'.repeat(64)
let node: HashbeamNode
let operator: Wallet
const workers: Wallet[] = []
let stranger: Wallet

const body = (url: string, extra: Partial<OfferBody> = {}): OfferBody => ({
  url, devices: ['message@1.0'], models: [], capacity: { parallel: 1, 'max-queue': 4 }, load: { models: {} }, ...extra,
})

async function offer(wallet: Wallet, action: 'register' | 'heartbeat' | 'deregister', b: OfferBody, time?: number): Promise<Response> {
  const signed = await signOffer(createSigner(wallet), action, b, time)
  return node.app.request(`${URL_BASE}/~router@1.0/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed) })
}

const nodes = async (): Promise<Array<{ address: string; url: string }>> =>
  ((await (await node.app.request(`${URL_BASE}/~router@1.0/nodes`)).json()) as { nodes: Array<{ address: string; url: string }> }).nodes

async function route(path: string, model?: string): Promise<{ nodes: string[]; strategy: string }> {
  const q = new URLSearchParams({ 'route-path': path, ...(model === undefined ? {} : { model }) })
  const res = await node.app.request(`${URL_BASE}/~router@1.0/route?${q}`, { headers: { accept: 'application/json' } })
  expect(res.status).toBe(200)
  return (await res.json()) as { nodes: string[]; strategy: string }
}

const routesNow = async (): Promise<unknown> =>
  (await (await node.app.request(`${URL_BASE}/~router@1.0/routes`, { headers: { accept: 'application/json' } })).json() as { routes: unknown }).routes

function routeChange(wallet: Wallet, routes: unknown, tag?: string): RequestInit {
  const url = `${URL_BASE}/~router@1.0/routes`
  const bytes = new TextEncoder().encode(JSON.stringify(routes))
  return signPrivileged(wallet, { url, headers: { 'content-type': 'text/plain', 'inline-body-key': 'routes' }, body: bytes }, {
    params: { created: Math.floor(Date.now() / 1000), ...(tag === undefined ? {} : { tag }) },
  })
}

beforeAll(async () => {
  for (let i = 0; i < 3; i++) workers.push(await createWallet('ed25519'))
  stranger = await createWallet('ed25519')
  ;({ node, operator } = await nodeWithOwnOperator({
    cluster: { ...DEFAULT_CLUSTER_CONFIG, router: true, admit: workers.map(walletAddress), ttlMs: 60_000 },
  }))
})
afterAll(() => node.stop())

describe('registration', () => {
  it('admits signed offers from admitted keys, and refuses everything else without a change', async () => {
    const [w0, w1, w2] = workers as [Wallet, Wallet, Wallet]
    expect((await offer(w0, 'register', body('http://10.0.0.1:8734', { models: [{ name: 'tiny', sha256: SHA_A, bytes: 10 }] }))).status).toBe(200)
    expect((await offer(w1, 'register', body('http://10.0.0.2:8734', { models: [{ name: 'other', sha256: SHA_B, bytes: 10 }] }))).status).toBe(200)
    const lease = await (await offer(w2, 'register', body('http://10.0.0.3:8734', { models: [{ name: 'tiny', sha256: SHA_A, bytes: 10 }] }))).json()
    expect(lease).toEqual({ 'ttl-ms': 60_000, 'heartbeat-ms': 20_000 })
    const before = await nodes()
    expect(before.map((n) => n.address).sort()).toEqual(workers.map(walletAddress).sort())

    const refused = async (res: Response) => [res.status, ((await res.json()) as { code: string }).code]
    expect(await refused(await offer(stranger, 'register', body('http://10.0.0.9:8734')))).toEqual([403, 'node-not-admitted'])
    // A replayed (or older) offer, a stale one, one whose signature is over other bytes.
    const signed = await signOffer(createSigner(w0), 'heartbeat', body('http://10.0.0.1:8734'), Date.now() - 5_000)
    const post = (b: unknown) => node.app.request(`${URL_BASE}/~router@1.0/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) })
    expect(await refused(await post(signed))).toEqual([403, 'offer-replayed'])
    expect(await refused(await offer(w0, 'heartbeat', body('http://10.0.0.1:8734'), Date.now() + 120_000))).toEqual([403, 'offer-stale'])
    const forged = { offer: signed.offer.replace('10.0.0.1', '10.0.0.7'), signature: signed.signature }
    expect(await refused(await post(forged))).toEqual([403, 'offer-signature'])
    // A stranger's key under an admitted address.
    const stolen = await signOffer(createSigner(stranger), 'register', body('http://10.0.0.8:8734'))
    const claimed = JSON.stringify({ ...JSON.parse(stolen.offer), address: walletAddress(w0) })
    expect(await refused(await post({ offer: claimed, signature: stolen.signature }))).toEqual([403, 'offer-signature'])
    expect(await refused(await post({ offer: '{', signature: 'x' }))).toEqual([400, 'invalid-offer'])
    expect(await nodes()).toEqual(before)
  })

  it('a deregistered node leaves every route at once', async () => {
    const extra = await createWallet('ed25519')
    // Not admitted: refused; the list is the operator's, there is no way in by asking.
    expect((await offer(extra, 'register', body('http://10.0.0.4:8734'))).status).toBe(403)
    const w2 = workers[2] as Wallet
    expect((await offer(w2, 'deregister', body('http://10.0.0.3:8734'))).status).toBe(200)
    expect((await nodes()).map((n) => n.address)).not.toContain(walletAddress(w2))
    for (let i = 0; i < 20; i++) expect((await route(`/~message@1.0&i=${i}/i`)).nodes).not.toContain('http://10.0.0.3:8734')
    expect((await offer(w2, 'register', body('http://10.0.0.3:8734', { models: [{ name: 'tiny', sha256: SHA_A, bytes: 10 }] }))).status).toBe(200)
  })
})

describe('routes', () => {
  it('an unsigned, a stranger\'s or a wrongly tagged route change is refused and changes nothing', async () => {
    const before = await routesNow()
    const url = `${URL_BASE}/~router@1.0/routes`
    const plain = await node.app.request(url, { method: 'POST', headers: { 'content-type': 'text/plain', 'inline-body-key': 'routes' }, body: '[]' })
    expect([plain.status, ((await plain.json()) as { code: string }).code]).toEqual([403, 'signature-required'])
    const byStranger = await node.app.request(url, routeChange(stranger, []))
    expect([byStranger.status, ((await byStranger.json()) as { code: string }).code]).toEqual([403, 'not-operator'])
    const replyTagged = await node.app.request(url, routeChange(operator, [], SIGNATURE_TAG.reply))
    expect(replyTagged.status).toBe(403)
    expect(await routesNow()).toEqual(before)
  })

  it('the operator replaces the routes; they persist in the data dir, sorted by priority', async () => {
    const routes = [
      { template: '^/~gpu-infer@1\\.0/', strategy: 'Least-Loaded', priority: 5 },
      { template: { device: 'message@1.0', pick: 'weighted' }, strategy: 'By-Weight', priority: 1 },
      { template: '^/nearest/', strategy: 'Nearest', priority: 6 },
      { template: '^/tiny-only/', strategy: 'All', model: 'tiny', priority: 7 },
      { template: '^/', strategy: 'By-Base', priority: 100 },
    ]
    const res = await node.app.request(`${URL_BASE}/~router@1.0/routes`, routeChange(operator, routes))
    expect(res.status).toBe(200)
    const now = await routesNow() as Array<{ strategy: string }>
    expect(now.map((r) => r.strategy)).toEqual(['By-Weight', 'Least-Loaded', 'Nearest', 'All', 'By-Base'])
    const saved = JSON.parse(readFileSync(join(node.config.dataDir, 'routes.json'), 'utf8')) as Array<{ strategy: string }>
    expect(saved.map((r) => r.strategy)).toEqual(now.map((r) => r.strategy))
    // A malformed route is a 400 and changes nothing.
    const bad = await node.app.request(`${URL_BASE}/~router@1.0/routes`, routeChange(operator, [{ template: '(', strategy: 'All' }]))
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'invalid-route'])
    expect(await routesNow()).toEqual(now)
  })

  it('By-Base sends the same path to the same node every time', async () => {
    const seen = new Map<string, string>()
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) {
        const [first] = (await route(`/~message@1.0&k=${i}/k`)).nodes
        if (round === 0) seen.set(String(i), first as string)
        else expect(first).toBe(seen.get(String(i)))
      }
    }
    expect(new Set(seen.values()).size).toBeGreaterThan(1)
    // A message template matches keys of the request: the By-Weight route.
    expect((await route('/~message@1.0&pick=weighted/x')).strategy).toBe('By-Weight')
  })

  it('a model route names only nodes that serve the model, by name or sha256', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await route(`/tiny-only/${i}`)).nodes.sort()).toEqual(['http://10.0.0.1:8734', 'http://10.0.0.3:8734'])
      for (const model of ['tiny', SHA_A]) {
        const { nodes: chosen } = await route(`/~gpu-infer@1.0/run&i=${i}`, model)
        expect(['http://10.0.0.1:8734', 'http://10.0.0.3:8734']).toContain(chosen[0])
      }
      expect((await route(`/~gpu-infer@1.0/run&model=other&i=${i}`)).nodes).toEqual(['http://10.0.0.2:8734'])
    }
    // Relaying a request for a model nobody serves: 503, and nothing is sent.
    const res = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=absent&prompt=x`)
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([503, 'no-viable-node'])
  })

  it('Least-Loaded spreads idle work and never picks a node whose queue for the model is full', async () => {
    const [w0, , w2] = workers as [Wallet, Wallet, Wallet]
    const tinyLoad = (queued: number, running: number) => ({ models: [{ name: 'tiny', sha256: SHA_A, bytes: 10 }], load: { models: { tiny: { queued, running, 'max-queue': 4 } } } })
    expect((await offer(w0, 'heartbeat', body('http://10.0.0.1:8734', tinyLoad(0, 0)))).status).toBe(200)
    expect((await offer(w2, 'heartbeat', body('http://10.0.0.3:8734', tinyLoad(0, 0)))).status).toBe(200)
    const picks = new Set<string>()
    for (let i = 0; i < 10; i++) picks.add((await route(`/~gpu-infer@1.0/run&i=${i}`, 'tiny')).nodes[0] as string)
    expect(picks.size).toBe(2)
    // Node 3's queue is full: none of 50 requests go there, though node 1 is busier.
    expect((await offer(w0, 'heartbeat', body('http://10.0.0.1:8734', tinyLoad(3, 1)))).status).toBe(200)
    expect((await offer(w2, 'heartbeat', body('http://10.0.0.3:8734', tinyLoad(4, 0)))).status).toBe(200)
    for (let i = 0; i < 50; i++) expect((await route(`/~gpu-infer@1.0/run&i=${i}`, 'tiny')).nodes).toEqual(['http://10.0.0.1:8734'])
    // Both full: no node, and relaying says so (503) instead of queueing past the limit.
    expect((await offer(w0, 'heartbeat', body('http://10.0.0.1:8734', tinyLoad(4, 1)))).status).toBe(200)
    expect((await route('/~gpu-infer@1.0/run&i=x', 'tiny')).nodes).toEqual([])
    const res = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=tiny&prompt=x`)
    expect(res.status).toBe(503)
  })

  it('relay@1.0 refuses private and loopback targets that are no registered node', async () => {
    for (const peer of ['http://127.0.0.1:9', 'http://10.1.2.3', 'http://[::1]:80', 'http://169.254.169.254', 'http://localhost:1']) {
      const q = new URLSearchParams({ peer, 'relay-path': '/~meta@1.0/info' })
      const res = await node.app.request(`${URL_BASE}/~relay@1.0/call?${q}`, { headers: { accept: 'application/json' } })
      expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([403, 'relay-target-private'])
    }
    const q = new URLSearchParams({ peer: 'file:///etc/passwd', 'relay-path': '/' })
    expect((await node.app.request(`${URL_BASE}/~relay@1.0/call?${q}`)).status).toBe(400)
  })
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf } from '../../core/id.js'
import { planRequest } from '../../core/request.js'
import { parsePath } from '../../core/path.js'
import type { Device, Message } from '../../core/types.js'
import { isPlainRequest, createPlanCache } from '../../node/plan-cache.js'
import { listen, type RunningServer } from '../../node/server.js'
import { testNode } from '../helpers/node.js'

const headersOf = (init: Record<string, string>): Headers => new Headers(init)

// A device that tries to change its request in place: a kept (frozen) plan must not let it
// alter what later requests see.
const mutating: Device = {
  name: 'mutate@1.0',
  info: { description: 'test: writes into its request' },
  keys: {
    poke(_base: Message, req: Message) {
      const inner = req.inner as Message
      const seen = inner.poked === true
      try {
        inner.poked = true
      } catch {
        // a frozen request refuses the write: what a kept plan should do
      }
      return seen ? 'saw an earlier write' : 'fresh'
    },
  },
}

describe('plan cache: which requests are planned from their target alone', () => {
  it('a GET or HEAD with only transport headers is plain', () => {
    expect(isPlainRequest('GET', '/~message@1.0/x', headersOf({ host: 'a', 'user-agent': 'curl', accept: '*/*', 'cache-control': 'no-cache' }))).toBe(true)
    expect(isPlainRequest('HEAD', '/x', headersOf({}))).toBe(true)
  })

  it.each([
    ['a POST', 'POST', {}],
    ['a key-carrying header', 'GET', { 'x-note': 'hi' }],
    ['a signature', 'GET', { signature: 'sig=:AA==:' }],
    ['a signature-input', 'GET', { 'signature-input': 'sig=()' }],
    ['a content-digest', 'GET', { 'content-digest': 'sha-256=:AA==:' }],
    ['ao-types', 'GET', { 'ao-types': 'a="integer"' }],
    ['a data-item marker', 'GET', { 'codec-device': 'ans104@1.0' }],
    ['a content-type', 'GET', { 'content-type': 'application/ans104' }],
  ])('%s is not plain', (_label, method, headers) => {
    expect(isPlainRequest(method, '/~message@1.0/x', headersOf(headers))).toBe(false)
  })

  it('a very long target is not kept', () => {
    expect(isPlainRequest('GET', `/${'a'.repeat(5000)}`, headersOf({}))).toBe(false)
  })

  it('keeps plans frozen, so nothing can change a kept plan in place', () => {
    const cache = createPlanCache(2)
    const plan = planRequest(parsePath('/~message@1.0&a+map=b=1/a'))
    cache.set('/t', { run: { plan, baseId: undefined, encodedBase: undefined }, keys: {}, pathname: '/t' })
    const kept = cache.get('/t')!
    expect(Object.isFrozen(kept.run.plan.base.keys)).toBe(true)
    expect(() => { (kept.run.plan.base.keys as Record<string, unknown>).a = 1 }).toThrow(TypeError)
  })

  it('keeps the most recently used plans, dropping the least recently used', () => {
    const cache = createPlanCache(2)
    const prepared = (t: string) => ({ run: { plan: planRequest(parsePath('/~message@1.0/x')), baseId: undefined, encodedBase: undefined }, keys: {}, pathname: t })
    for (const t of ['/a', '/b', '/c']) cache.set(t, prepared(t))
    expect(cache.get('/b')?.pathname).toBe('/b') // used again
    cache.set('/d', prepared('/d'))
    expect(cache.get('/b')?.pathname).toBe('/b') // among the two most recently used
    for (const t of ['/e', '/f', '/g']) cache.set(t, prepared(t))
    expect(cache.get('/a')).toBeUndefined()
    expect(cache.size).toBeLessThanOrEqual(4)
  })
})

describe('plan cache: over real HTTP', () => {
  let node: Awaited<ReturnType<typeof testNode>>
  let server: RunningServer
  beforeAll(async () => {
    node = await testNode({ devices: [mutating] })
    server = await listen(node, 0, '127.0.0.1')
  })
  afterAll(async () => server.close())

  const get = (path: string, headers: Record<string, string> = {}) => fetch(server.url + path, { headers })

  it('answers a repeated request the same way every time, and as app.fetch does', async () => {
    const path = '/~message@1.0&hello=world/hello'
    const answers = await Promise.all([0, 1, 2, 3].map(() => get(path)))
    const direct = await node.app.fetch(new Request(`http://localhost${path}`))
    for (const res of [...answers, direct]) {
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('world')
      expect(res.headers.get('hashpath')).toBe(answers[0]!.headers.get('hashpath'))
      expect(res.headers.get('ao-id')).toBe(answers[0]!.headers.get('ao-id'))
    }
  })

  it('a key-carrying header still adds its key after the plain request was kept', async () => {
    const plain = await get('/~message@1.0&a=1/keys')
    const withHeader = await get('/~message@1.0&a=1/keys', { 'x-note': 'hi' })
    expect(plain.status).toBe(200)
    expect(withHeader.status).toBe(200)
    expect(withHeader.headers.get('hashpath')).not.toBe(plain.headers.get('hashpath'))
    expect(await withHeader.text()).toContain('x-note')
  })

  it('the codec is chosen per request, not kept with the plan', async () => {
    const path = '/~message@1.0&a=1&b=2'
    const json = await get(path, { accept: 'application/json' })
    const cbor = await get(path, { accept: 'application/cbor' })
    expect(json.headers.get('content-type')).toContain('application/json')
    expect(cbor.headers.get('content-type')).toBe('application/cbor')
    expect(json.headers.get('hashpath')).toBe(cbor.headers.get('hashpath'))
  })

  it('a refused target is refused every time, and the node keeps serving', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get('/~message@1.0&a+integer=x/a')
      expect(res.status).toBe(400)
      expect((await res.json()).code).toBe('invalid-typed-value')
    }
    expect((await get('/~message@1.0&hello=world/hello')).status).toBe(200)
  })

  it('a device cannot change a kept plan by writing into its request', async () => {
    const path = '/~mutate@1.0/poke&inner+map=x=1'
    for (let i = 0; i < 3; i++) {
      const res = await get(path, { 'cache-control': 'no-cache' }) // run the device every time
      expect({ status: res.status, body: await res.text() }).toEqual({ status: 200, body: 'fresh' })
    }
  })

  it('any target, good or bad, gets the same status and answer the second time (never a 500)', async () => {
    const piece = fc.constantFrom('~message@1.0', '~meta@1.0', '~nosuch@1.0', 'info', 'a', '&a=1', '&b+integer=2', '&c+integer=x', '(', ')', '/', '%20', '%ZZ', '&', '=', '+', 'keys', 'set')
    const target = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => `/${parts.join('')}`)
    const withoutRequestId = (text: string) => text.replace(/"request-id":"[^"]*"/, '')
    await fc.assert(fc.asyncProperty(target, async (path) => {
      const first = await get(path)
      const firstText = withoutRequestId(await first.text())
      const again = await get(path)
      expect(again.status).toBe(first.status)
      expect(first.status).toBeLessThan(500)
      expect(withoutRequestId(await again.text())).toBe(firstText)
      expect(again.headers.get('hashpath')).toBe(first.headers.get('hashpath'))
    }), { numRuns: 60 })
    expect((await get('/~message@1.0&hello=world/hello')).status).toBe(200)
  })

  it('any target answers the same through the kept plan as when first planned', async () => {
    await fc.assert(fc.asyncProperty(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), async (key, value) => {
      const path = `/~message@1.0&${key}=${value}/${key}`
      const first = await get(path)
      const again = await get(path)
      expect(again.status).toBe(first.status)
      expect(await again.text()).toBe(await first.text())
      expect(again.headers.get('hashpath')).toBe(first.headers.get('hashpath'))
    }), { numRuns: 25 })
  })
})

describe('resolver: prepared plans', () => {
  it('a literal base is encoded once by prepare, and run trusts that ID', async () => {
    const node = await testNode()
    const prepared = node.resolver.prepare(planRequest(parsePath('/~message@1.0&a=1/a')))
    expect(prepared.baseId).toBe(idOf({ device: 'message@1.0', a: '1' }))
    const a = await node.resolver.run(prepared)
    const b = await node.resolver.run(prepared)
    expect(a.value).toBe('1')
    expect(a.hashpath).toBe(b.hashpath)
    expect(a.hashpath.split('/')[0]).toBe(prepared.baseId)
    // The base written beside the first step is the one the ID names.
    expect((await node.resolver.resolve(`/${prepared.baseId}/a`)).value).toBe('1')
    await node.stop()
  })

  it('a base by ID alone is that ID; a sub-path base is computed per run', async () => {
    const node = await testNode()
    const id = idOf({ device: 'message@1.0', a: '1' })
    expect(node.resolver.prepare(planRequest(parsePath(`/${id}/a`))).baseId).toBe(id)
    expect(node.resolver.prepare(planRequest(parsePath(`/${id}&b=2/a`))).baseId).toBeUndefined()
    expect(node.resolver.prepare(planRequest(parsePath('/(~message@1.0&a=1)/a'))).baseId).toBeUndefined()
    expect(node.resolver.prepare(planRequest(parsePath('/~message@1.0&a=(~message@1.0&b=2/b)/a'))).baseId).toBeUndefined()
    await node.stop()
  })

  it('an unknown device is refused by prepare, as run would', async () => {
    const node = await testNode()
    expect(() => node.resolver.prepare(planRequest(parsePath('/~nosuch@1.0&a=1/a')))).toThrow(expect.objectContaining({ code: 'unknown-device' }))
    await node.stop()
  })
})

import { describe, expect, it } from 'vitest'
import { createRegistry } from '../../core/registry.js'
import { createResolver, type CacheControl } from '../../core/resolve.js'
import { loadMessage, loadStep } from '../../core/ledger.js'
import { idOf } from '../../core/id.js'
import type { Device } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from '../helpers/log.js'

function setup(extra: Device[] = []) {
  const store = memoryStore()
  const registry = createRegistry([messageDevice(), ...extra])
  return { store, resolver: createResolver({ registry, store, log: memoryLogger() }) }
}

let calls = 0
const counter: Device = {
  name: 'count@1.0',
  keys: { bump: (base) => { calls++; return { ...base, n: (typeof base.n === 'number' ? base.n : 0) + 1 } } },
}
const clock: Device = {
  name: 'clock@1.0',
  deterministic: false,
  keys: { now: () => { calls++; return calls } },
}
const versions: Device[] = [
  { name: 'v@1.9', keys: { which: () => '1.9' } },
  { name: 'v@1.10', keys: { which: () => '1.10' } },
]
const recursive: Device = {
  name: 'loop@1.0',
  keys: { again: (_b, _r, ctx) => ctx.resolve('/~loop@1.0/again').then((r) => r.value) },
}

// Table-driven vectors run under several cache policies (hb_ao_test_vectors style).
const POLICIES: Array<[string, CacheControl]> = [['default', {}], ['no-cache', { noCache: true }], ['no-store', { noStore: true }]]

describe.each(POLICIES)('resolver vectors (%s)', (_name, cache) => {
  it('reads a key from the base', async () => {
    const { resolver } = setup()
    const r = await resolver.resolve('/~message@1.0&hello=world/hello', undefined, { cache })
    expect(r.value).toBe('world')
    expect(r.hashpath).toMatch(/^[A-Za-z0-9_-]{43}\/hello$/)
  })
  it('keeps typed values', async () => {
    const { resolver } = setup()
    expect((await resolver.resolve('/~message@1.0&a+integer=41/a', undefined, { cache })).value).toBe(41)
  })
  it('folds a multi-step path', async () => {
    const { resolver } = setup()
    const r = await resolver.resolve('/~message@1.0&a=1/set&b=2/set&c=3/keys', undefined, { cache })
    expect(r.value).toEqual(['a', 'b', 'c', 'device'])
  })
  it('the same base and request give the same ID and hashpath', async () => {
    const a = await setup().resolver.resolve('/~message@1.0&x=1/set&y=2', undefined, { cache })
    const b = await setup().resolver.resolve('/~message@1.0&x=1/set&y=2', undefined, { cache })
    expect([a.id, a.hashpath]).toEqual([b.id, b.hashpath])
  })
  it('an unknown key is a 404 with a stable code', async () => {
    await expect(setup().resolver.resolve('/~message@1.0&a=1/b', undefined, { cache })).rejects.toMatchObject({ status: 404, code: 'key-not-found' })
  })
  it('an unknown device is a 404', async () => {
    await expect(setup().resolver.resolve('/~nope@1.0/x', undefined, { cache })).rejects.toMatchObject({ status: 404, code: 'unknown-device' })
  })
  it('sub-path values are resolved first', async () => {
    const r = await setup().resolver.resolve('/~message@1.0&a=(~message@1.0&b=inner/b)/a', undefined, { cache })
    expect(r.value).toBe('inner')
  })
  it('a sub-path step computes the request message', async () => {
    const r = await setup().resolver.resolve('/~message@1.0&target=hit/(~message@1.0&path=target)', undefined, { cache })
    expect(r.value).toBe('hit')
  })
})

describe('resolver: devices and dispatch', () => {
  it('a version-less device resolves to the newest version (numeric compare)', async () => {
    const { resolver } = setup(versions)
    expect((await resolver.resolve('/~v/which')).value).toBe('1.10')
  })
  it('key~device resolves the key with that device and records it', async () => {
    const { resolver, store } = setup(versions)
    const r = await resolver.resolve('/~message@1.0&a=1/which~v@1.9')
    expect(r.value).toBe('1.9')
    expect((await loadStep(store, r.hashpath))?.device).toBe('v@1.9')
  })
  it('keys a device lacks fall through to message@1.0', async () => {
    const { resolver } = setup([counter])
    expect((await resolver.resolve('/~count@1.0&n+integer=5/n')).value).toBe(5)
  })
  it('every device answers info', async () => {
    const { resolver } = setup([counter])
    expect((await resolver.resolve('/~count@1.0/info')).value).toMatchObject({ name: 'count', version: '1.0', keys: ['bump'] })
  })
  it('runaway recursion is a 508', async () => {
    await expect(setup([recursive]).resolver.resolve('/~loop@1.0/again')).rejects.toMatchObject({ status: 508 })
  })
})

describe('resolver: caching and the ledger', () => {
  it('a deterministic step is answered from the ledger the second time', async () => {
    const { resolver } = setup([counter])
    calls = 0
    const first = await resolver.resolve('/~count@1.0/bump')
    const second = await resolver.resolve('/~count@1.0/bump')
    expect([first.cached, second.cached, calls]).toEqual([false, true, 1])
    expect(second.id).toBe(first.id)
  })
  it('no-cache recomputes; only-if-cached answers from cache or 504s', async () => {
    const { resolver } = setup([counter])
    calls = 0
    await expect(resolver.resolve('/~count@1.0/bump', undefined, { cache: { onlyIfCached: true } })).rejects.toMatchObject({ status: 504, code: 'cache-miss' })
    await resolver.resolve('/~count@1.0/bump')
    await resolver.resolve('/~count@1.0/bump', undefined, { cache: { noCache: true } })
    expect(calls).toBe(2)
    expect((await resolver.resolve('/~count@1.0/bump', undefined, { cache: { onlyIfCached: true } })).cached).toBe(true)
  })
  it('non-deterministic steps are recorded as such and never cached', async () => {
    const { resolver, store } = setup([clock])
    calls = 0
    const a = await resolver.resolve('/~clock@1.0/now')
    const b = await resolver.resolve('/~clock@1.0/now')
    expect([a.value, b.value]).toEqual([1, 2])
    expect((await loadStep(store, a.hashpath))?.deterministic).toBe(false)
  })
  it('a step after a non-deterministic one is neither cached nor recorded as reproducible', async () => {
    // The hashpath names inputs, not outputs: /now/body is the same hashpath each time, over
    // a different base each time, so answering it from the ledger would replay a stale value.
    const { resolver, store } = setup([clock])
    calls = 0
    const a = await resolver.resolve('/~clock@1.0/now/body')
    const b = await resolver.resolve('/~clock@1.0/now/body')
    expect([a.value, b.value, a.hashpath === b.hashpath, b.cached]).toEqual([1, 2, true, false])
    expect((await loadStep(store, a.hashpath))?.deterministic).toBe(false)
  })
  it('a no-cache recomputation that differs is flagged, never hidden', async () => {
    let out = 'first'
    const flaky: Device = { name: 'flaky@1.0', keys: { go: () => out } }
    const { resolver } = setup([flaky])
    await resolver.resolve('/~flaky@1.0/go')
    out = 'second'
    const r = await resolver.resolve('/~flaky@1.0/go', undefined, { cache: { noCache: true } })
    expect(r.meta.get('cache-mismatch')).toBe(idOf({ 'ao-result': 'body', body: 'first' }))
  })
  it('no-store writes nothing', async () => {
    const { resolver, store } = setup()
    await resolver.resolve('/~message@1.0&a=1/a', undefined, { cache: { noStore: true } })
    const keys: string[] = []
    for await (const k of store.list('')) keys.push(k)
    expect(keys).toEqual([])
  })
  it('a 3-step path writes 3 step records chained by hashpath', async () => {
    const { resolver, store } = setup()
    const r = await resolver.resolve('/~message@1.0&a=1/set&b=2/set&c=3/c')
    const steps: string[] = []
    for await (const k of store.list('step/')) steps.push(k)
    expect(steps).toHaveLength(3)
    const last = await loadStep(store, r.hashpath)
    const middle = await loadStep(store, last?.base ?? '')
    const first = await loadStep(store, middle?.base ?? '')
    expect(first?.base).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
  it('the base and request stored beside a step are the ones its hashpath names, even if the device wrote into them', async () => {
    const scribbler: Device = {
      name: 'scribble@1.0',
      keys: { mark(base, req) { base.marked = true; req.marked = true; return 'done' } },
    }
    const { resolver, store } = setup([scribbler])
    const r = await resolver.resolve('/~scribble@1.0&a=1/mark&b=2')
    const record = await loadStep(store, r.hashpath)
    expect(record?.base).toBe(idOf({ device: 'scribble@1.0', a: '1' }))
    expect(await loadMessage(store, record!.base)).toEqual({ device: 'scribble@1.0', a: '1' })
    expect(await loadMessage(store, record!.request)).toEqual({ path: 'mark', b: '2' })
  })
})

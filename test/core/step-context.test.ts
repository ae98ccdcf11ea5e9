import { describe, expect, it } from 'vitest'
import { loadStep } from '../../core/ledger.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver, type ResolveOptions } from '../../core/resolve.js'
import type { Device, ResolveContext } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from '../helpers/log.js'

// Records what a handler saw of its context.
const seen: { ctx?: ResolveContext; aborted?: boolean; inner?: boolean } = {}
const probe: Device = {
  name: 'probe@1.0',
  keys: {
    // Uses the context's functions detached, as a handler may.
    async detached(_base, _req, ctx) {
      const { resolve, markNonDeterministic } = ctx
      markNonDeterministic()
      const inner = await resolve('/~message@1.0&x=1/x')
      return inner.value
    },
    look(_base, _req, ctx) {
      seen.ctx = ctx
      return 'looked'
    },
    // A sub-resolution must see the caller's abort signal.
    async outer(_base, _req, ctx) {
      return (await ctx.resolve('/~probe@1.0/inner')).value
    },
    inner(_base, _req, ctx) {
      seen.inner = ctx.signal.aborted
      return 'inner'
    },
    // A result without `device`: the next step runs on message@1.0.
    bare: () => ({ x: 1 }),
    // Passes its request's text on whole: as a message, not through a path segment.
    async pass(_base, req, ctx) {
      return (await ctx.resolve({ path: '/~message@1.0/text', text: req.text as string })).value
    },
  },
}

function setup() {
  const store = memoryStore()
  return { store, resolver: createResolver({ registry: createRegistry([messageDevice(), probe]), store, log: memoryLogger() }) }
}

describe('step context', () => {
  it('works with its functions detached; a marked step is recorded non-deterministic', async () => {
    const { resolver, store } = setup()
    const result = await resolver.resolve('/~probe@1.0/detached')
    expect(result.value).toBe('1')
    expect((await loadStep(store, result.hashpath))?.deterministic).toBe(false)
  })

  it('gives a handler the options, store, depth, base hashpath, logger and a live signal', async () => {
    const { resolver, store } = setup()
    const result = await resolver.resolve('/~probe@1.0/look', undefined, { method: 'GET' })
    const ctx = seen.ctx!
    expect(ctx.store).toBe(store)
    expect(ctx.depth).toBe(0)
    expect(ctx.method).toBe('GET')
    expect(result.hashpath.startsWith(`${ctx.hashpath}/`)).toBe(true)
    expect(ctx.signal.aborted).toBe(false)
    expect(typeof ctx.log.info).toBe('function')
    expect(ctx.stream).toBeUndefined()
  })

  it('carries an abort signal made on first read (a prototype getter) into sub-resolutions', async () => {
    const { resolver } = setup()
    const controller = new AbortController()
    controller.abort()
    class LazySignal implements ResolveOptions {
      get signal(): AbortSignal { return controller.signal }
    }
    seen.inner = undefined
    await resolver.resolve('/~probe@1.0/outer', undefined, new LazySignal())
    expect(seen.inner).toBe(true)
  })
})

describe('ctx.resolve with a message', () => {
  const long = 'x'.repeat(5000)

  it('passes data of any size whole, where a path segment stops at 512 bytes', async () => {
    const { resolver } = setup()
    expect((await resolver.resolve({ path: '/~probe@1.0/pass', text: long })).value).toBe(long)
    await expect(resolver.resolve(`/~message@1.0&text=${long}/text`)).rejects.toMatchObject({ status: 400 })
  })

  it('reads {path, ...keys} as an HTTP request with those keys in its body: the same hashpath', async () => {
    const { resolver } = setup()
    const asMessage = await resolver.resolve({ path: '/~message@1.0/a', a: '1', b: 2 })
    const asQuery = await resolver.resolve('/~message@1.0/a', { global: { a: '1', b: 2 }, scoped: new Map() })
    expect(asMessage.value).toBe('1')
    expect(asMessage.hashpath).toBe(asQuery.hashpath)
    expect((await resolver.resolve({ path: 'a', a: 'no slash needed' })).value).toBe('no slash needed')
  })

  it('refuses a message without a path, and path-only keys in its body', async () => {
    const { resolver } = setup()
    await expect(resolver.resolve({ a: '1' })).rejects.toMatchObject({ status: 400, code: 'empty-path' })
    await expect(resolver.resolve({ path: '/~message@1.0/a', a: '1', 'as-device': 'x@1.0' })).rejects.toMatchObject({ status: 400, code: 'reserved-key' })
  })

  it('key-not-found on a base without a device says how to chain', async () => {
    const { resolver } = setup()
    const err = await resolver.resolve('/~probe@1.0/bare/more').catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 404, code: 'key-not-found' })
    expect((err as Error).message).toContain('carries "device"')
    expect((err as Error).message).toContain('key~device@1.0')
    // A base that names its device gets the plain message.
    const named = await resolver.resolve('/~message@1.0&a=1/nope').catch((e: unknown) => e)
    expect((named as Error).message).toBe('message: no key "nope"')
  })
})

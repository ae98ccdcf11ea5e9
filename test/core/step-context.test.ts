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

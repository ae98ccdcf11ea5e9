// Bad device output is the device's fault: a 500 invalid-device-output naming the device and the
// key, logged — never a client's 400 invalid-message.
import { describe, expect, it } from 'vitest'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import type { Device, Value } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from '../helpers/log.js'

const sloppy: Device = {
  name: 'sloppy@1.0',
  keys: {
    upper: () => ({ Answer: 42 }),
    map: () => ({ table: new Map([['a', 1]]) as unknown as Value }),
    raw: async (_b, _r, ctx) => (await ctx.resolve('/~message@1.0&a=1/a')) as unknown as Value,
    undefined: () => ({ answer: undefined as unknown as Value }),
    'nested-undefined': () => ({ outer: { inner: undefined as unknown as Value } }),
    nothing: () => undefined as unknown as Value,
    fine: () => ({ answer: 42 }),
  },
}

describe('bad device output', () => {
  const log = memoryLogger()
  const resolver = createResolver({ registry: createRegistry([messageDevice(), sloppy]), store: memoryStore(), log })

  it.each([
    ['upper', /key "Answer"/],
    ['map', /table holds an unsupported object/],
    ['raw', /result of ctx\.resolve: return its \.value/],
    ['undefined', /message\.answer is undefined/],
    ['nested-undefined', /message\.outer\.inner is undefined/],
    ['nothing', /message\.body is undefined/],
  ])('%s: 500 invalid-device-output naming the device and key, logged', async (key, reason) => {
    const err = await resolver.resolve(`/~sloppy@1.0/${key}`).catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 500, code: 'invalid-device-output', detail: { device: 'sloppy@1.0', key } })
    expect((err as Error).message).toMatch(reason)
    expect((err as Error).message).toContain(`sloppy@1.0 returned bad output for "${key}"`)
    expect(log.entries.some((e) => e.level === 'error' && (e.obj as { key?: string }).key === key)).toBe(true)
  })

  it('the resolver keeps serving', async () => {
    expect((await resolver.resolve('/~sloppy@1.0/fine/answer')).value).toBe(42)
  })
})

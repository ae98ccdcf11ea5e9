/**
 * @module
 * Conformance, as properties (fast-check): whatever key and bytes, `get` returns exactly what
 * `put` stored; `list` returns any key set in byte order, filtered by any prefix; any range of
 * a stream is the same slice of the value.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_KEY_BYTES } from '../../../devices/store/constants.js'
import { byteSorted, collect, expectBytes, readAll } from './helpers.js'
import type { SuiteContext } from './store.suite.js'

/** Any well-formed key (full Unicode, NUL and '/' included) within the size limit. */
export const storeKey = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((k) => Buffer.from(k).toString() === k && Buffer.byteLength(k) <= MAX_KEY_BYTES)
const slashKey = fc.array(fc.oneof(storeKey, fc.constantFrom('..', '.', '', 'msg')), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/'))
  .filter((k) => k.length > 0 && Buffer.byteLength(k) <= MAX_KEY_BYTES)
const anyKey = fc.oneof(storeKey, slashKey)

export function propertyTests(ctx: SuiteContext): void {
  describe('properties', () => {
    it('get returns exactly the bytes put stored', async () => {
      await fc.assert(fc.asyncProperty(anyKey, fc.uint8Array({ maxLength: 4096 }), async (key, value) => {
        await ctx.store.put(key, value)
        expectBytes(await ctx.store.get(key), value)
        expect(await ctx.store.delete(key)).toBe(true)
      }), { numRuns: 80 })
    })

    it('list returns any key set in byte order, for any prefix', async () => {
      await fc.assert(fc.asyncProperty(fc.uniqueArray(anyKey, { minLength: 1, maxLength: 25 }), fc.nat(), fc.nat(), async (keys, pick, cut) => {
        await ctx.store.batch(keys.map((key) => ({ type: 'put', key, value: new Uint8Array([1]) })))
        try {
          expect(await collect(ctx.store.list(''))).toEqual(byteSorted(keys))
          const source = keys[pick % keys.length]!
          const prefix = source.slice(0, cut % (source.length + 1))
          if (Buffer.from(prefix).toString() !== prefix) return // cut inside a surrogate pair
          expect(await collect(ctx.store.list(prefix))).toEqual(byteSorted(keys.filter((k) => k.startsWith(prefix))))
        } finally {
          await ctx.store.batch(keys.map((key) => ({ type: 'delete', key })))
        }
      }), { numRuns: 40 })
    })

    it('any range of a stream is the same slice of the value', async (t) => {
      const { store } = ctx
      if (!store.getStream) t.skip('backend has no streaming methods')
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), async (value, a, b) => {
        await store.put('range', value)
        const start = a % (value.length + 1)
        const end = start + (b % (value.length - start + 10))
        expectBytes(await readAll(await store.getStream!('range', { start, end })), value.slice(start, end))
      }), { numRuns: 60 })
    })
  })
}

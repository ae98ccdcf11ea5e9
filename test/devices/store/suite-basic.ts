/**
 * @module
 * Conformance: single-key operations, key and value rules, value sizes from 0 bytes to 64 MiB,
 * parallel writers, and the close/reopen lifecycle.
 */
import { describe, expect, it } from 'vitest'
import { CHUNK_BYTES, INLINE_MAX_BYTES, MAX_KEY_BYTES } from '../../../devices/store/constants.js'
import { collect, expectBytes, expectCode, testBytes } from './helpers.js'
import type { SuiteContext } from './store.suite.js'

const MiB = 1024 * 1024

/** Keys a filesystem or a naive encoder would get wrong; all must round-trip verbatim. */
export const AWKWARD_KEYS = [
  'a/b/c', '../x', '../../outside', '..', '.', 'x/../y', '/leading', 'trailing/', 'a//b',
  'nul\0byte', 'sp ace', '%2F', 'a+b', '~tilde', 'back\\slash', 'ünïcödé/😀', 'CaseKey', 'casekey',
  'step/yTbGx2aD9l0hQ6o8rHq4k3wJb7x1sNn5Zc0vUe2fLpM/compute', 'tab\there', 'new\nline', '\u{10FFFF}',
]

export function basicTests(ctx: SuiteContext): void {
  describe('single keys', () => {
    it('reports a missing key as absent everywhere', async () => {
      expect(await ctx.store.get('msg/missing')).toBeUndefined()
      expect(await ctx.store.has('msg/missing')).toBe(false)
      expect(await ctx.store.delete('msg/missing')).toBe(false)
      if (ctx.store.size) expect(await ctx.store.size('msg/missing')).toBeUndefined()
    })

    it('puts, reads, overwrites and deletes', async () => {
      const { store } = ctx
      await store.put('msg/a', new Uint8Array([1, 2, 3]))
      expect(await store.has('msg/a')).toBe(true)
      expectBytes(await store.get('msg/a'), new Uint8Array([1, 2, 3]))
      await store.put('msg/a', new Uint8Array([9]))
      expectBytes(await store.get('msg/a'), new Uint8Array([9]))
      expect(await store.delete('msg/a')).toBe(true)
      expect(await store.get('msg/a')).toBeUndefined()
      expect(await store.has('msg/a')).toBe(false)
      expect(await store.delete('msg/a')).toBe(false)
    })

    it('keeps stored bytes apart from the caller’s buffers', async () => {
      const value = new Uint8Array([1, 2, 3])
      await ctx.store.put('k', value)
      value[0] = 99
      const read = await ctx.store.get('k')
      expectBytes(read, new Uint8Array([1, 2, 3]))
      read![1] = 99
      expectBytes(await ctx.store.get('k'), new Uint8Array([1, 2, 3]))
    })

    it('keeps stored bytes apart from a Node Buffer too (whose slice is a view)', async () => {
      const value = Buffer.from([4, 5, 6])
      await ctx.store.put('buf', value)
      await ctx.store.batch([{ type: 'put', key: 'buf2', value }])
      value[0] = 99
      expectBytes(await ctx.store.get('buf'), new Uint8Array([4, 5, 6]))
      expectBytes(await ctx.store.get('buf2'), new Uint8Array([4, 5, 6]))
    })

    it('stores a value that is a view into a larger buffer', async () => {
      const backing = testBytes(64, 3)
      await ctx.store.put('view', backing.subarray(10, 20))
      expectBytes(await ctx.store.get('view'), backing.slice(10, 20))
    })

    it('round-trips awkward keys verbatim and keeps them distinct', async () => {
      await Promise.all(AWKWARD_KEYS.map((key, i) => ctx.store.put(key, testBytes(5, i + 1))))
      for (const [i, key] of AWKWARD_KEYS.entries()) expectBytes(await ctx.store.get(key), testBytes(5, i + 1))
      expect(new Set(await collect(ctx.store.list(''))) ).toEqual(new Set(AWKWARD_KEYS))
    })

    it('accepts a key of exactly MAX_KEY_BYTES and rejects bad keys and values', async () => {
      const longest = 'k'.repeat(MAX_KEY_BYTES - 2) + 'é' // 2-byte character at the end
      await ctx.store.put(longest, new Uint8Array([7]))
      expectBytes(await ctx.store.get(longest), new Uint8Array([7]))
      expect(await collect(ctx.store.list('kkk'))).toEqual([longest])
      await expectCode(ctx.store.put(longest + 'x', new Uint8Array(1)), 'invalid-store-key')
      await expectCode(ctx.store.put('', new Uint8Array(1)), 'invalid-store-key')
      await expectCode(ctx.store.get('lone\uD800surrogate'), 'invalid-store-key')
      await expectCode(ctx.store.put(42 as unknown as string, new Uint8Array(1)), 'invalid-store-key')
      await expectCode(ctx.store.put('k', 'text' as unknown as Uint8Array), 'invalid-store-value')
    })
  })

  describe('value sizes', () => {
    const sizes: Array<[string, number]> = [
      ['0 bytes', 0], ['1 byte', 1], ['1 MiB (the inline limit)', INLINE_MAX_BYTES], ['1 MiB + 1', INLINE_MAX_BYTES + 1],
      ['one chunk + 1', CHUNK_BYTES + 1],
    ]
    for (const [label, size] of sizes) {
      it(`stores ${label}`, async () => {
        const value = testBytes(size, size + 7)
        await ctx.store.put(`blob/${size}`, value)
        expectBytes(await ctx.store.get(`blob/${size}`), value)
        if (ctx.store.size) expect(await ctx.store.size(`blob/${size}`)).toBe(size)
        expect(await collect(ctx.store.list('blob/'))).toEqual([`blob/${size}`])
      })
    }

    it('stores 64 MiB', { timeout: 180_000 }, async () => {
      const value = testBytes(64 * MiB, 64)
      await ctx.store.put('blob/big', value)
      expect(await ctx.store.has('blob/big')).toBe(true)
      if (ctx.store.size) expect(await ctx.store.size('blob/big')).toBe(64 * MiB)
      expectBytes(await ctx.store.get('blob/big'), value)
      expect(await ctx.store.delete('blob/big')).toBe(true)
      expect(await ctx.store.get('blob/big')).toBeUndefined()
    })
  })

  describe('parallel writers', () => {
    it('keeps every one of 300 parallel puts', async () => {
      const keys = Array.from({ length: 300 }, (_, i) => `msg/${i.toString().padStart(4, '0')}`)
      await Promise.all(keys.map((key, i) => ctx.store.put(key, testBytes(100 + i, i))))
      const read = await Promise.all(keys.map((key) => ctx.store.get(key)))
      read.forEach((value, i) => expectBytes(value, testBytes(100 + i, i)))
      expect(await collect(ctx.store.list('msg/'))).toEqual(keys)
    })

    it('leaves one intact value when writers race on a key, small or chunked', { timeout: 60_000 }, async () => {
      for (const size of [64, CHUNK_BYTES + 5]) {
        const candidates = [1, 2, 3, 4].map((seed) => testBytes(size, seed))
        const reads: Array<Promise<Uint8Array | undefined>> = []
        await Promise.all(candidates.map(async (value) => {
          await ctx.store.put('race', value)
          reads.push(ctx.store.get('race'))
        }))
        const final = await ctx.store.get('race')
        for (const seen of [final, ...(await Promise.all(reads))]) {
          expect(candidates.some((c) => Buffer.compare(Buffer.from(c), Buffer.from(seen!)) === 0), 'torn value').toBe(true)
        }
      }
    })
  })

  describe('lifecycle', () => {
    it('closes idempotently and then rejects every operation', async () => {
      const { store } = ctx
      await store.put('k', new Uint8Array([1]))
      await store.close()
      await store.close()
      await expectCode(store.get('k'), 'store-closed')
      await expectCode(store.put('k', new Uint8Array(1)), 'store-closed')
      await expectCode(store.has('k'), 'store-closed')
      await expectCode(store.delete('k'), 'store-closed')
      await expectCode(store.batch([]), 'store-closed')
      await expectCode(collect(store.list('')), 'store-closed')
      if (store.size) await expectCode(store.size('k'), 'store-closed')
      if (store.getStream) await expectCode(store.getStream('k'), 'store-closed')
      if (store.putStream) await expectCode(store.putStream('k', (async function* () {})()), 'store-closed')
    })

    it('keeps data across close and reopen when durable', async () => {
      const small = testBytes(300, 1)
      const large = testBytes(CHUNK_BYTES * 2 + 3, 2)
      await ctx.store.put('msg/small', small)
      await ctx.store.put('blob/large', large)
      await ctx.store.put('msg/gone', small)
      await ctx.store.delete('msg/gone')
      const reopened = await ctx.reopen()
      if (!ctx.caps.durable) {
        expect(await collect(reopened.list(''))).toEqual([])
        return
      }
      expectBytes(await reopened.get('msg/small'), small)
      expectBytes(await reopened.get('blob/large'), large)
      expect(await reopened.has('msg/gone')).toBe(false)
      expect(await collect(reopened.list(''))).toEqual(['blob/large', 'msg/small'])
    })
  })
}

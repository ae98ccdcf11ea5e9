/**
 * @module
 * Conformance: `batch` — ops apply in order, a rejected batch applies nothing, large values
 * inside a batch, and (where promised) no concurrent reader ever sees half a batch.
 */
import { describe, expect, it } from 'vitest'
import type { BatchOp } from '../../../core/store.js'
import { CHUNK_BYTES } from '../../../devices/store/constants.js'
import { collect, expectBytes, expectCode, testBytes } from './helpers.js'
import type { SuiteContext } from './store.suite.js'

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

export function batchTests(ctx: SuiteContext): void {
  describe('batch', () => {
    it('applies puts and deletes in order', async () => {
      await ctx.store.put('old', bytes(1))
      await ctx.store.batch([
        { type: 'put', key: 'a', value: bytes(1) },
        { type: 'put', key: 'a', value: bytes(2) },
        { type: 'put', key: 'b', value: bytes(3) },
        { type: 'delete', key: 'b' },
        { type: 'delete', key: 'c' },
        { type: 'put', key: 'c', value: bytes(4) },
        { type: 'delete', key: 'old' },
        { type: 'delete', key: 'never-there' },
      ])
      expectBytes(await ctx.store.get('a'), bytes(2))
      expect(await ctx.store.has('b')).toBe(false)
      expectBytes(await ctx.store.get('c'), bytes(4))
      expect(await collect(ctx.store.list(''))).toEqual(['a', 'c'])
    })

    it('accepts an empty batch', async () => {
      await ctx.store.batch([])
      expect(await collect(ctx.store.list(''))).toEqual([])
    })

    it('applies nothing when one op is invalid', async () => {
      await ctx.store.put('keep', bytes(1))
      const ops: BatchOp[] = [
        { type: 'put', key: 'x', value: bytes(1) },
        { type: 'delete', key: 'keep' },
        { type: 'put', key: '', value: bytes(2) },
      ]
      await expectCode(ctx.store.batch(ops), 'invalid-store-key')
      expect(await collect(ctx.store.list(''))).toEqual(['keep'])
    })

    it('writes large values inside a batch and frees replaced ones', async () => {
      const large = testBytes(CHUNK_BYTES + 10, 5)
      await ctx.store.put('big', testBytes(CHUNK_BYTES * 2, 6))
      await ctx.store.batch([
        { type: 'put', key: 'big', value: large },
        { type: 'put', key: 'big2', value: large },
        { type: 'put', key: 'small', value: bytes(1) },
      ])
      expectBytes(await ctx.store.get('big'), large)
      expectBytes(await ctx.store.get('big2'), large)
      await ctx.store.batch([{ type: 'delete', key: 'big' }, { type: 'put', key: 'big2', value: bytes(9) }])
      expect(await collect(ctx.store.list(''))).toEqual(['big2', 'small'])
      expectBytes(await ctx.store.get('big2'), bytes(9))
    })

    it('writes an ifAbsent put once: the first value stays, small or large', async () => {
      const large = testBytes(CHUNK_BYTES + 3, 7)
      await ctx.store.batch([
        { type: 'put', key: 'once', value: bytes(1), ifAbsent: true },
        { type: 'put', key: 'big-once', value: large, ifAbsent: true },
        { type: 'put', key: 'once', value: bytes(2), ifAbsent: true },
      ])
      await ctx.store.batch([
        { type: 'put', key: 'big-once', value: testBytes(CHUNK_BYTES + 9, 8), ifAbsent: true },
        { type: 'put', key: 'plain', value: bytes(3) },
      ])
      expectBytes(await ctx.store.get('once'), bytes(1))
      expectBytes(await ctx.store.get('big-once'), large)
      expect(await collect(ctx.store.list(''))).toEqual(['big-once', 'once', 'plain'])
      // A plain put still replaces a value written once; deleted, the key can be written anew.
      await ctx.store.batch([{ type: 'put', key: 'once', value: bytes(4) }])
      expectBytes(await ctx.store.get('once'), bytes(4))
      await ctx.store.batch([{ type: 'delete', key: 'once' }, { type: 'put', key: 'once', value: bytes(5), ifAbsent: true }])
      expectBytes(await ctx.store.get('once'), bytes(5))
      if (!ctx.caps.durable) return
      await ctx.reopen()
      expectBytes(await ctx.store.get('big-once'), large)
    })

    it('lets exactly one of many concurrent ifAbsent writers win, for good', async () => {
      // Each writer reads the key right after its own batch: with write-once every reader sees
      // the one winner; a replacing put would show early readers a value that later changes.
      const seen = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        await ctx.store.batch([{ type: 'put', key: `m/${i}`, value: bytes(i) }, { type: 'put', key: 'race', value: bytes(100 + i), ifAbsent: true }])
        return (await ctx.store.get('race'))?.[0]
      }))
      const final = (await ctx.store.get('race'))?.[0]
      expect(final).toBeGreaterThanOrEqual(100)
      expect(seen.every((v) => v === final), `writers saw ${seen.join(',')}, final ${final}`).toBe(true)
    })

    // The fs backend documents its batch as not atomic, so it is not held to this.
    it.skipIf(!ctx.caps.atomicBatch)('is all-or-nothing for a concurrent reader', async () => {
      const n = 400
      const ops: BatchOp[] = Array.from({ length: n }, (_, i) => ({ type: 'put', key: `t/${String(i).padStart(3, '0')}`, value: bytes(i & 255) }))
      const counts = new Set<number>()
      let done = false
      const reader = (async () => {
        while (!done) {
          // Once the last key is visible the first must be too (read in that order on purpose).
          const last = await ctx.store.has(`t/${n - 1}`)
          const first = await ctx.store.has('t/000')
          if (last && !first) counts.add(-1)
          counts.add((await collect(ctx.store.list('t/'))).length)
          // LMDB reads resolve without I/O: let the commit's callback run between polls.
          await new Promise((resolve) => setImmediate(resolve))
        }
      })()
      await ctx.store.batch(ops)
      done = true
      await reader
      counts.add((await collect(ctx.store.list('t/'))).length)
      expect([...counts].every((c) => c === 0 || c === n), `saw partial counts ${[...counts]}`).toBe(true)
      expect(counts.has(n)).toBe(true)
    })
  })
}

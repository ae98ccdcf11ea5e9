/**
 * @module
 * Conformance: `size`, `getStream` with byte ranges (inside one chunk, across chunk borders,
 * clamped, unsatisfiable) and `putStream` (odd part sizes, reused buffers, empty streams,
 * sources that fail midway). Backends without the optional methods skip these tests.
 */
import { describe, expect, it, type TestContext } from 'vitest'
import type { Store } from '../../../core/store.js'
import { CHUNK_BYTES, INLINE_MAX_BYTES } from '../../../devices/store/constants.js'
import { collect, expectBytes, expectCode, readAll, source, testBytes } from './helpers.js'
import type { SuiteContext } from './store.suite.js'

type Streaming = Store & Required<Pick<Store, 'size' | 'getStream' | 'putStream'>>

function streamingStore(ctx: SuiteContext, t: TestContext): Streaming {
  const { store } = ctx
  if (!store.getStream || !store.putStream || !store.size) t.skip('backend has no streaming methods')
  return store as Streaming
}

export function streamingTests(ctx: SuiteContext): void {
  describe('streaming', () => {
    it('streams nothing for a missing key', async (t) => {
      const store = streamingStore(ctx, t)
      expect(await store.getStream('missing')).toBeUndefined()
      expect(await store.getStream('missing', { start: 0, end: 1 })).toBeUndefined()
    })

    for (const [label, size] of [['a small value', 1000], ['a chunked value', CHUNK_BYTES * 2 + 12345]] as const) {
      it(`serves byte ranges of ${label}`, async (t) => {
        const store = streamingStore(ctx, t)
        const value = testBytes(size, 11)
        await store.put('v', value)
        expectBytes(await readAll(await store.getStream('v')), value)
        const ranges: Array<[number, number]> = [
          [0, 0], [0, 1], [5, 17], [size - 1, size], [size, size], [0, size], [3, size + 1000],
        ]
        if (size > CHUNK_BYTES) {
          ranges.push([CHUNK_BYTES - 1, CHUNK_BYTES + 1], [CHUNK_BYTES, CHUNK_BYTES * 2], [10, CHUNK_BYTES * 2 + 5], [CHUNK_BYTES * 2, size])
        }
        for (const [start, end] of ranges) {
          const part = await readAll(await store.getStream('v', { start, end }))
          expectBytes(part, value.slice(start, end))
        }
      })
    }

    it('rejects unsatisfiable ranges', async (t) => {
      const store = streamingStore(ctx, t)
      await store.put('v', testBytes(10))
      await expectCode(store.getStream('v', { start: 11, end: 12 }), 'range-not-satisfiable')
      await expectCode(store.getStream('v', { start: 5, end: 4 }), 'range-not-satisfiable')
      await expectCode(store.getStream('v', { start: -1, end: 4 }), 'range-not-satisfiable')
      await expectCode(store.getStream('v', { start: 0.5, end: 4 }), 'range-not-satisfiable')
    })

    it('writes a stream of odd-sized parts', async (t) => {
      const store = streamingStore(ctx, t)
      const parts = [testBytes(1, 1), testBytes(0, 2), testBytes(3 * 1024 * 1024, 3), testBytes(CHUNK_BYTES + 7, 4), testBytes(10, 5)]
      await store.putStream('blob/s', source(parts))
      const whole = Buffer.concat(parts)
      expect(await store.size('blob/s')).toBe(whole.length)
      expectBytes(await store.get('blob/s'), whole)
      expectBytes(await readAll(await store.getStream('blob/s', { start: 2, end: whole.length - 2 })), whole.subarray(2, whole.length - 2))
      expect(await collect(store.list(''))).toEqual(['blob/s'])
    })

    it('writes empty and small streams like put does', async (t) => {
      const store = streamingStore(ctx, t)
      await store.putStream('empty', source([]))
      expect(await store.size('empty')).toBe(0)
      expectBytes(await store.get('empty'), new Uint8Array(0))
      expectBytes(await readAll(await store.getStream('empty')), new Uint8Array(0))
      const small = testBytes(INLINE_MAX_BYTES, 8)
      await store.putStream('small', source([small.subarray(0, 10), small.subarray(10)]))
      expectBytes(await store.get('small'), small)
    })

    it('copies parts, so a producer may reuse its buffer', async (t) => {
      const store = streamingStore(ctx, t)
      const buffer = new Uint8Array(1024 * 1024)
      const expected: Uint8Array[] = []
      await store.putStream('reused', (async function* () {
        for (let i = 0; i < 6; i++) {
          buffer.fill(i + 1)
          expected.push(buffer.slice())
          yield buffer
        }
      })())
      expectBytes(await store.get('reused'), Buffer.concat(expected))
    })

    it('keeps the old value when a stream fails midway', async (t) => {
      const store = streamingStore(ctx, t)
      const old = testBytes(CHUNK_BYTES + 1, 9)
      await store.put('blob/x', old)
      const failure = new Error('client went away')
      await expect(store.putStream('blob/x', source([testBytes(CHUNK_BYTES * 2, 10), testBytes(5)], failure))).rejects.toBe(failure)
      await expect(store.putStream('blob/y', source([testBytes(CHUNK_BYTES * 2, 10)], failure))).rejects.toBe(failure)
      await expect(store.putStream('blob/z', source([], failure))).rejects.toBe(failure)
      expectBytes(await store.get('blob/x'), old)
      expect(await store.has('blob/y')).toBe(false)
      expect(await collect(store.list(''))).toEqual(['blob/x'])
      await store.putStream('blob/y', source([testBytes(7)]))
      expectBytes(await store.get('blob/y'), testBytes(7))
    })

    it('replaces a chunked value with a streamed one and back', async (t) => {
      const store = streamingStore(ctx, t)
      const first = testBytes(CHUNK_BYTES * 3, 12)
      const second = testBytes(CHUNK_BYTES + 3, 13)
      await store.putStream('blob/r', source([first]))
      await store.putStream('blob/r', source([second]))
      expectBytes(await store.get('blob/r'), second)
      await store.put('blob/r', new Uint8Array([1]))
      expect(await store.size('blob/r')).toBe(1)
      expectBytes(await readAll(await store.getStream('blob/r')), new Uint8Array([1]))
    })
  })
}

/**
 * @module
 * Conformance: `list` — ascending UTF-8 byte order, prefixes, `after`/`limit` pagination, more
 * keys than one internal page, and no internal keys (chunks, indexes) leaking into listings.
 */
import { describe, expect, it } from 'vitest'
import { CHUNK_BYTES, LIST_PAGE_SIZE } from '../../../devices/store/constants.js'
import { byteSorted, collect, expectCode } from './helpers.js'
import type { SuiteContext } from './store.suite.js'

// UTF-16 order would put '😀' (a surrogate pair) before '\uFFFF'; byte order puts it after.
const ORDER_KEYS = ['a', 'a\0', 'a/', 'a/b', 'a0', 'aa', 'b', 'a\uFFFF', 'a😀', 'A', 'é', 'a\u00e9']

async function putAll(ctx: SuiteContext, keys: string[]): Promise<void> {
  await ctx.store.batch(keys.map((key) => ({ type: 'put', key, value: new TextEncoder().encode(key) })))
}

export function listTests(ctx: SuiteContext): void {
  describe('list', () => {
    it('lists every key in ascending byte order', async () => {
      await putAll(ctx, ORDER_KEYS)
      const listed = await collect(ctx.store.list(''))
      expect(listed).toEqual(byteSorted(ORDER_KEYS))
      expect(listed.indexOf('a\uFFFF')).toBeLessThan(listed.indexOf('a😀'))
    })

    it('lists only keys with the prefix', async () => {
      await putAll(ctx, ['msg/1', 'msg/2', 'msg', 'msh/1', 'step/x/y', 'step/x/z', 'step/xy', 'blob/1'])
      expect(await collect(ctx.store.list('msg/'))).toEqual(['msg/1', 'msg/2'])
      expect(await collect(ctx.store.list('msg'))).toEqual(['msg', 'msg/1', 'msg/2'])
      expect(await collect(ctx.store.list('step/x/'))).toEqual(['step/x/y', 'step/x/z'])
      expect(await collect(ctx.store.list('step/x'))).toEqual(['step/x/y', 'step/x/z', 'step/xy'])
      expect(await collect(ctx.store.list('nothing/'))).toEqual([])
      expect(await collect(ctx.store.list('msg/1'))).toEqual(['msg/1'])
    })

    it('pages with after and limit', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, '0')}`)
      await putAll(ctx, [...keys, 'o/before', 'q/after'])
      const seen: string[] = []
      let after: string | undefined
      for (;;) {
        const page = await collect(ctx.store.list('p/', { limit: 7, ...(after === undefined ? {} : { after }) }))
        expect(page.length).toBeLessThanOrEqual(7)
        if (page.length === 0) break
        seen.push(...page)
        after = page[page.length - 1]
      }
      expect(seen).toEqual(keys)
      expect(await collect(ctx.store.list('p/', { limit: 0 }))).toEqual([])
      expect(await collect(ctx.store.list('p/', { after: 'p/10', limit: 2 }))).toEqual(['p/11', 'p/12'])
      expect(await collect(ctx.store.list('p/', { after: 'p/10x', limit: 1 }))).toEqual(['p/11'])
      expect(await collect(ctx.store.list('p/', { after: 'a', limit: 1 }))).toEqual(['p/00'])
      expect(await collect(ctx.store.list('p/', { after: 'p/24' }))).toEqual([])
      expect(await collect(ctx.store.list('p/', { after: 'z' }))).toEqual([])
      expect(await collect(ctx.store.list('', { after: 'p/24' }))).toEqual(['q/after'])
    })

    it('lists more keys than one internal page, in order', async () => {
      const keys = Array.from({ length: LIST_PAGE_SIZE * 2 + 17 }, (_, i) => `n/${i.toString(36).padStart(3, '0')}`)
      await putAll(ctx, keys)
      expect(await collect(ctx.store.list('n/'))).toEqual(keys)
      expect(await collect(ctx.store.list('n/', { limit: LIST_PAGE_SIZE + 3 }))).toEqual(keys.slice(0, LIST_PAGE_SIZE + 3))
      const tail = await collect(ctx.store.list('n/', { after: keys[LIST_PAGE_SIZE - 1]! }))
      expect(tail).toEqual(keys.slice(LIST_PAGE_SIZE))
    })

    it('never lists internal keys of large values', async () => {
      await ctx.store.put('blob/large', new Uint8Array(CHUNK_BYTES * 2 + 1))
      await ctx.store.put('blob/small', new Uint8Array(3))
      expect(await collect(ctx.store.list(''))).toEqual(['blob/large', 'blob/small'])
      await ctx.store.delete('blob/large')
      expect(await collect(ctx.store.list(''))).toEqual(['blob/small'])
    })

    it('rejects a negative or fractional limit', async () => {
      await expectCode(collect(ctx.store.list('', { limit: -1 })), 'invalid-store-key')
      await expectCode(collect(ctx.store.list('', { limit: 1.5 })), 'invalid-store-key')
    })
  })
}

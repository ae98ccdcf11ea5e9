// Token events of a pool job several to an entry (devices/gpu-infer/dispatch-tokens.ts): every
// token survives the round trip as its own item, in order, with what came with it; a job's
// first token goes out at once and later ones at most once per batch interval.
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { entryFields } from '../../../devices/gpu-infer/dispatch-keys.js'
import { publisherOf, tokenBatcher, tokenFields, tokenItems, type TokenItem } from '../../../devices/gpu-infer/dispatch-tokens.js'
import { continuation, forwarder } from '../../../devices/gpu-infer/dispatch-stream.js'

const item = fc.record({ text: fc.string({ minLength: 1, maxLength: 8 }), extra: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.integer()), { nil: undefined }) })

describe('tokens entry', () => {
  it('reads back the items it was written from, extras included', () => {
    fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), (raw) => {
      let at = 0
      const items: TokenItem[] = raw.map((r) => {
        const t = { at, text: r.text, ...(r.extra === undefined ? {} : { extra: r.extra }) }
        at += r.text.length
        return t
      })
      expect(tokenItems(entryFields(tokenFields(items)))).toEqual(items)
    }))
  })

  it('reads a single-token entry too, and nothing from other events', () => {
    expect(tokenItems({ type: 'token', at: '3', text: 'ab', extra: '{"logprobs":[]}' })).toEqual([{ at: 3, text: 'ab', extra: { logprobs: [] } }])
    expect(tokenItems({ type: 'done', id: 'x' })).toEqual([])
  })
})

describe('token batcher', () => {
  afterEach(() => { vi.useRealTimers() })

  it('publishes the first token at once, then what arrived in the interval as one entry', () => {
    vi.useFakeTimers()
    const entries: TokenItem[][] = []
    const b = tokenBatcher((fields) => entries.push(tokenItems(entryFields(fields))), { everyMs: 20 })
    b.push({ at: 0, text: 'a' })
    expect(entries).toEqual([[{ at: 0, text: 'a' }]])
    b.push({ at: 1, text: 'b' })
    b.push({ at: 2, text: 'c' })
    expect(entries.length).toBe(1)
    vi.advanceTimersByTime(20)
    expect(entries).toEqual([[{ at: 0, text: 'a' }], [{ at: 1, text: 'b' }, { at: 2, text: 'c' }]])
    b.push({ at: 3, text: 'd' })
    b.flush()
    expect(entries.at(-1)).toEqual([{ at: 3, text: 'd' }])
    b.push({ at: 4, text: 'e' })
    b.discard()
    vi.advanceTimersByTime(100)
    expect(entries.length).toBe(3)
  })

  it('held (nobody streams): publishes nothing until released, then every token so far at once', () => {
    vi.useFakeTimers()
    const entries: TokenItem[][] = []
    const b = tokenBatcher((fields) => entries.push(tokenItems(entryFields(fields))), { everyMs: 20, held: true })
    b.push({ at: 0, text: 'a' })
    b.push({ at: 1, text: 'b', extra: { logprobs: [] } })
    b.flush()
    vi.advanceTimersByTime(100)
    expect(entries).toEqual([])
    b.release()
    expect(entries).toEqual([[{ at: 0, text: 'a' }, { at: 1, text: 'b', extra: { logprobs: [] } }]])
    b.push({ at: 2, text: 'c' })
    vi.advanceTimersByTime(20)
    expect(entries.at(-1)).toEqual([{ at: 2, text: 'c' }])
  })

  it('a run that takes over sees the published text whole, however it was batched', () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 20 }), fc.array(fc.boolean(), { maxLength: 20 }), (pieces, flushes) => {
      const entries: Array<Record<string, string>> = []
      const b = tokenBatcher((fields) => entries.push(entryFields(fields)), { everyMs: 1e9 })
      let at = 0
      pieces.forEach((text, i) => {
        b.push({ at, text })
        at += text.length
        if (flushes[i] === true) b.flush()
      })
      b.flush()
      const items = entries.flatMap((e) => tokenItems(e))
      const published = items.map((t) => t.text).join('')
      expect(published).toBe(pieces.join(''))
      expect(items.map((t) => t.text)).toEqual(pieces)
      // The next run reproduces it and publishes nothing new; the dispatcher forwards it once.
      const c = continuation(published)
      expect(c.push(pieces.join('')).kind).toBe('replayed')
      const f = forwarder()
      const sent = entries.flatMap((e) => tokenItems(e)).map((t) => f.accept(t.at, t.text)).join('')
      expect(sent).toBe(published)
    }))
  })
})

describe('who published a character (the fault record names them)', () => {
  const start = (worker: string) => ({ type: 'start', worker })
  const tokens = (...items: Array<[number, string]>) => entryFields(tokenFields(items.map(([at, text]) => ({ at, text }))))
  // A streamed 'abcdef' (0-2), B took over and reproduced it, then published 'gh' (6-7), C took over.
  const history = [start('A'), tokens([0, 'ab'], [2, 'c']), tokens([3, 'def']), start('B'), tokens([6, 'gh']), start('C')]

  it('names the attempt whose tokens cover the offset, not merely the last one', () => {
    expect([0, 2, 5].map((at) => publisherOf(history, at)?.worker)).toEqual(['A', 'A', 'A'])
    expect([6, 7].map((at) => publisherOf(history, at)?.worker)).toEqual(['B', 'B'])
    // Single-token entries count too.
    expect(publisherOf<Record<string, string>>([start('A'), { type: 'token', at: '0', text: 'xy' }, start('B')], 1)?.worker).toBe('A')
  })

  it('falls back to the last attempt when no token covers the offset', () => {
    expect(publisherOf(history, 8)?.worker).toBe('C')
    expect(publisherOf([], 0)).toBeUndefined()
  })
})

/**
 * Range planning (node/http-range.ts) against RFC 9110 §14: what is served, what is ignored
 * (the whole body then), what is a 416 — and, for any size and any byte-range header, a
 * partial plan always lies inside the representation.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { contentRange, planRange } from '../../devices/store/http-range.js'

const ETAG = '"abc"'
const plan = (range: string | null, size = 100, ifRange: string | null = null) => planRange(range, ifRange, size, ETAG)

describe('planRange', () => {
  it('serves single byte ranges, suffixes and open ends, clamped to the size', () => {
    expect(plan('bytes=0-9')).toEqual({ kind: 'partial', range: { start: 0, end: 10 } })
    expect(plan('bytes=90-')).toEqual({ kind: 'partial', range: { start: 90, end: 100 } })
    expect(plan('bytes=-10')).toEqual({ kind: 'partial', range: { start: 90, end: 100 } })
    expect(plan('bytes=-1000')).toEqual({ kind: 'partial', range: { start: 0, end: 100 } })
    expect(plan('bytes=50-5000')).toEqual({ kind: 'partial', range: { start: 50, end: 100 } })
    expect(plan('bytes = 1 - 2')).toEqual({ kind: 'partial', range: { start: 1, end: 3 } })
  })

  it('ignores what a server may ignore: no header, other units, several ranges, garbage, last < first, a stale If-Range', () => {
    for (const range of [null, 'items=0-1', 'bytes=0-1,4-5', 'bytes=abc', 'bytes=-', 'bytes=9-3']) expect(plan(range), String(range)).toEqual({ kind: 'full' })
    expect(plan('bytes=0-1', 100, '"other"')).toEqual({ kind: 'full' })
    expect(plan('bytes=0-1', 100, 'Wed, 21 Oct 2015 07:28:00 GMT')).toEqual({ kind: 'full' })
    expect(plan('bytes=0-1', 100, ETAG)).toEqual({ kind: 'partial', range: { start: 0, end: 2 } })
  })

  it('reads the unit case-insensitively, clamps ends past any integer, and serves several ranges whole even when some do not fit', () => {
    expect(plan('Bytes=0-1')).toEqual({ kind: 'partial', range: { start: 0, end: 2 } })
    expect(plan('bytes=10-99999999999999999999')).toEqual({ kind: 'partial', range: { start: 10, end: 100 } })
    expect(plan('bytes=-99999999999999999999')).toEqual({ kind: 'partial', range: { start: 0, end: 100 } })
    for (const range of ['bytes=0-1,200-300', 'bytes=200-300,400-500', 'bytes=0-1,', 'bytes=1', 'bytes=', 'bytes=0x10-20', 'bytes=+1-2']) {
      expect(plan(range), range).toEqual({ kind: 'full' })
    }
    expect(() => plan('bytes=99999999999999999999-')).toThrow(expect.objectContaining({ status: 416 }))
  })

  it('is a 416 for a range that starts past the end, a zero suffix, or any range of an empty body', () => {
    for (const [range, size] of [['bytes=100-', 100], ['bytes=200-300', 100], ['bytes=-0', 100], ['bytes=0-0', 0], ['bytes=-5', 0]] as const) {
      expect(() => plan(range, size), range).toThrow(expect.objectContaining({ status: 416, code: 'range-not-satisfiable' }))
    }
  })

  it('keeps every partial plan inside the representation', () => {
    fc.assert(fc.property(
      fc.nat(1e9), fc.option(fc.nat(2e9), { nil: undefined }), fc.option(fc.nat(2e9), { nil: undefined }),
      (size, first, last) => {
        const header = `bytes=${first ?? ''}-${last ?? ''}`
        let out
        try {
          out = plan(header, size)
        } catch (err) {
          expect(err).toMatchObject({ status: 416 })
          return
        }
        if (out.kind === 'full') return
        expect(out.range.start).toBeGreaterThanOrEqual(0)
        expect(out.range.end).toBeLessThanOrEqual(size)
        expect(out.range.end).toBeGreaterThan(out.range.start)
      },
    ))
  })

  it('writes content-range for partial answers and for 416s', () => {
    expect(contentRange(100, { start: 0, end: 10 })).toBe('bytes 0-9/100')
    expect(contentRange(100)).toBe('bytes */100')
  })
})

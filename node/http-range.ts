/**
 * @module
 * HTTP range requests (RFC 9110 §14) for one representation of a known size. Only single
 * byte ranges are served; what RFC 9110 lets a server ignore is ignored (the whole body is sent
 * with 200): another unit, several ranges, a malformed header, an `If-Range` that does not
 * match the entity tag. A well-formed range that starts past the end is a 416.
 */
import { RangeNotSatisfiableError } from '../core/errors.js'
import type { ByteRange } from '../core/store.js'

/** What to send: everything, or one range (end exclusive). */
export type RangePlan = { readonly kind: 'full' } | { readonly kind: 'partial'; readonly range: ByteRange }

const SPEC = /^bytes=(\d*)-(\d*)$/

/**
 * Plans the answer to `range` (the header value, or null) for `size` bytes whose entity tag is
 * `etag`. Throws RangeNotSatisfiableError (416) for a range outside the representation.
 */
export function planRange(range: string | null, ifRange: string | null, size: number, etag: string): RangePlan {
  if (range === null) return { kind: 'full' }
  // A date-valued If-Range, or another tag: the client's copy is not this one.
  if (ifRange !== null && ifRange.trim() !== etag) return { kind: 'full' }
  const m = SPEC.exec(range.replace(/\s+/g, ''))
  if (m === null) return { kind: 'full' }
  const [, first = '', last = ''] = m
  if (first === '' && last === '') return { kind: 'full' }
  const unsatisfiable = () =>
    new RangeNotSatisfiableError(`store: range ${range.slice(0, 100)} does not fit ${size} bytes`, { detail: { size } })
  if (first === '') {
    // Suffix: the last N bytes.
    const n = Number(last)
    if (!Number.isSafeInteger(n) || n === 0 || size === 0) throw unsatisfiable()
    return { kind: 'partial', range: { start: Math.max(0, size - n), end: size } }
  }
  const start = Number(first)
  const end = last === '' ? Infinity : Number(last) + 1
  if (!Number.isSafeInteger(start) || !(end === Infinity || Number.isSafeInteger(end))) throw unsatisfiable()
  if (end <= start) return { kind: 'full' } // last < first: invalid, so ignored
  if (start >= size) throw unsatisfiable()
  return { kind: 'partial', range: { start, end: Math.min(end, size) } }
}

/** The `content-range` of a partial answer, or of a 416 (`bytes *\/size`). */
export function contentRange(size: number, range?: ByteRange): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end - 1}/${size}`
}

/**
 * @module
 * HTTP range requests (RFC 9110 §14) for one representation of a known size, parsed by
 * `range-parser`. Only single byte ranges are served; what RFC 9110 lets a server ignore is
 * ignored (the whole body is sent with 200): another unit, several ranges, a malformed header
 * (range-parser's code bit 1, which includes last < first), an `If-Range` that does not match
 * the entity tag. A well-formed range that starts past the end is a 416.
 *
 * range-parser 2 declares Node ≥ 22 but is plain ES2020 without Node APIs; version 1 answers
 * "unsatisfiable" for a suffix longer than the body and for last < first, which RFC 9110 serves
 * whole and ignores.
 */
import { parse as parseRange } from 'range-parser'
import { RangeNotSatisfiableError } from '../../core/errors.js'
import type { ByteRange } from '../../core/store.js'

/** What to send: everything, or one range (end exclusive). */
export type RangePlan = { readonly kind: 'full' } | { readonly kind: 'partial'; readonly range: ByteRange }

const FULL: RangePlan = { kind: 'full' }
/** range-parser's result code bit for a malformed header or an invalid range. */
const MALFORMED = 1

/**
 * Plans the answer to `range` (the header value, or null) for `size` bytes whose entity tag is
 * `etag`. Throws RangeNotSatisfiableError (416) for a range outside the representation.
 */
export function planRange(range: string | null, ifRange: string | null, size: number, etag: string): RangePlan {
  if (range === null) return FULL
  // A date-valued If-Range, or another tag: the client's copy is not this one.
  if (ifRange !== null && ifRange.trim() !== etag) return FULL
  // Several ranges are served whole whether or not each fits (no multipart/byteranges).
  if (range.includes(',')) return FULL
  // Whitespace around the numbers is tolerated (`bytes = 1 - 2`).
  const parsed = parseRange(size, range.replace(/\s+/g, ''))
  if (parsed.type !== 'bytes' || (parsed.code & MALFORMED) !== 0) return FULL
  const only = parsed.ranges[0]
  if (only === undefined) {
    throw new RangeNotSatisfiableError(`store: range ${range.slice(0, 100)} does not fit ${size} bytes`, { detail: { size } })
  }
  return { kind: 'partial', range: { start: only.start, end: only.end + 1 } }
}

/** The `content-range` of a partial answer, or of a 416 (`bytes *\/size`). */
export function contentRange(size: number, range?: ByteRange): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end - 1}/${size}`
}

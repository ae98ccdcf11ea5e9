/**
 * @module
 * What the store backends share: key and value rules, byte-order comparison, byte ranges, the
 * "closed" error, and the chunk manifest that LMDB and Redis put in front of large values.
 *
 * Stored value layout (LMDB and Redis): one tag byte, then either the value itself (inline) or
 * a JSON manifest naming the chunks that hold it. JSON because Redis's Lua (cjson) must read it
 * to free a value's chunks atomically when the value is overwritten or deleted.
 */
import { randomBytes } from 'node:crypto'
import { CorruptionError, InvalidRequestError, RangeNotSatisfiableError, UnavailableError } from '../../../core/errors.js'
import type { ByteRange, ListOptions, Store } from '../../../core/store.js'
import { MAX_KEY_BYTES } from '../constants.js'

/** A store with the optional size and streaming methods present (all our backends). */
export type StreamingStore = Store & Required<Pick<Store, 'size' | 'getStream' | 'putStream'>>

const UTF8 = new TextEncoder()
// Lone surrogates cannot round-trip through UTF-8: two different keys would share bytes.
// `String#isWellFormed` (Node ≥ 20) is ~10× the regex; every store call checks its key.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
type MaybeWellFormed = { isWellFormed?: () => boolean }
const isWellFormed: (key: string) => boolean = typeof ('' as MaybeWellFormed).isWellFormed === 'function'
  ? (key) => (key as MaybeWellFormed).isWellFormed!()
  : (key) => !LONE_SURROGATE.test(key)

/** Checks a key: a well-formed non-empty string of at most MAX_KEY_BYTES UTF-8 bytes. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidRequestError('store: key must be a non-empty string', { code: 'invalid-store-key' })
  }
  if (!isWellFormed(key)) {
    throw new InvalidRequestError('store: key is not well-formed Unicode', { code: 'invalid-store-key' })
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short keys need no counting.
  const bytes = key.length * 3 <= MAX_KEY_BYTES ? 0 : Buffer.byteLength(key, 'utf8')
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidRequestError(`store: key is ${bytes} bytes, the limit is ${MAX_KEY_BYTES}`, {
      code: 'invalid-store-key', detail: { limit: MAX_KEY_BYTES },
    })
  }
}

/** Checks a value is bytes. */
export function assertValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidRequestError('store: value must be a Uint8Array', { code: 'invalid-store-value' })
  }
}

/** Checks a prefix (may be empty) and list options. */
export function assertListArgs(prefix: unknown, options: ListOptions): void {
  if (typeof prefix !== 'string') throw new InvalidRequestError('store: list prefix must be a string', { code: 'invalid-store-key' })
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) {
    throw new InvalidRequestError('store: list limit must be a non-negative integer', { code: 'invalid-store-key' })
  }
}

/**
 * Compares two keys in UTF-8 byte order (the order LMDB and Redis use). JS `<` compares UTF-16
 * code units, which puts U+10000… before U+E000…U+FFFF; shifting code units fixes that.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

/** Where a listing starts: strictly after `after` when that lies inside the prefix range. */
export function listStart(prefix: string, after: string | undefined): { key: string; exclusive: boolean } {
  if (after !== undefined && compareKeys(after, prefix) >= 0) return { key: after, exclusive: true }
  return { key: prefix, exclusive: false }
}

/** Resolves a requested byte range against a value's size (end is clamped, as HTTP does). */
export function resolveRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size }
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || start > size) {
    throw new RangeNotSatisfiableError(`store: range ${start}-${end} does not fit a value of ${size} bytes`, {
      detail: { size },
    })
  }
  return { start, end: Math.min(end, size) }
}

/**
 * A range of a value held whole (in memory, or inline in a record) as a stream of at most one
 * piece. `copy` gives the reader bytes of its own, for a store whose value must not be exposed.
 */
export function rangeStream(value: Uint8Array, range: ByteRange | undefined, copy = false): AsyncIterable<Uint8Array> {
  const { start, end } = resolveRange(range, value.length)
  const part = copy ? value.slice(start, end) : value.subarray(start, end)
  return (async function* () {
    if (part.length > 0) yield part
  })()
}

/** The error every operation on a closed store rejects with. */
export function closedError(kind: string): UnavailableError {
  return new UnavailableError(`store: the ${kind} store is closed`, { code: 'store-closed' })
}

/** A plain Uint8Array over the same memory (Buffer is a subclass that compares differently). */
export function plainBytes(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length)
}

// ---- the chunked-value manifest (LMDB and Redis) ----

export const TAG_INLINE = 0
export const TAG_CHUNKED = 1

/** Where a large value's chunks live. `upload` is a random id: chunks are never shared. */
export interface ChunkManifest {
  readonly v: 1
  readonly size: number
  readonly chunk: number
  readonly count: number
  readonly upload: string
}

/** A fresh upload id (hex), unique per write of a large value. */
export const newUploadId = (): string => randomBytes(16).toString('hex')

export function makeManifest(size: number, chunk: number, upload: string): ChunkManifest {
  return { v: 1, size, chunk, count: Math.ceil(size / chunk), upload }
}

/** Tag byte + value, for an inline record. Copies, so the caller may reuse its buffer. */
export function encodeInline(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(value.length + 1)
  out[0] = TAG_INLINE
  out.set(value, 1)
  return out
}

/** Tag byte + JSON, for a manifest record. */
export function encodeManifest(manifest: ChunkManifest): Uint8Array {
  const json = UTF8.encode(JSON.stringify(manifest))
  const out = new Uint8Array(json.length + 1)
  out[0] = TAG_CHUNKED
  out.set(json, 1)
  return out
}

/** What a stored record holds: the inline value, or the manifest of a chunked one. */
export type StoredRecord = { readonly inline: Uint8Array } | { readonly manifest: ChunkManifest }

/** Reads a stored record (tag byte first). */
export function decodeRecord(record: Uint8Array, key: string): StoredRecord {
  if (record.length >= 1 && record[0] === TAG_INLINE) return { inline: plainBytes(record, 1) }
  if (record.length >= 1 && record[0] === TAG_CHUNKED) {
    const m = JSON.parse(new TextDecoder().decode(record.subarray(1))) as ChunkManifest
    if (m.v === 1 && Number.isSafeInteger(m.size) && m.chunk > 0 && m.count === Math.ceil(m.size / m.chunk)) return { manifest: m }
  }
  throw new CorruptionError(`store: the record of "${key}" is neither a value nor a chunk manifest`)
}

/** The chunks (and the part of each) that cover `[start, end)` of a chunked value. */
export function chunkSpans(m: ChunkManifest, start: number, end: number): Array<{ index: number; from: number; to: number }> {
  const spans: Array<{ index: number; from: number; to: number }> = []
  for (let index = Math.floor(start / m.chunk); index * m.chunk < end; index++) {
    const base = index * m.chunk
    spans.push({ index, from: Math.max(start, base) - base, to: Math.min(end, base + m.chunk) - base })
  }
  return spans
}

/**
 * Re-cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter, and an
 * empty stream yields nothing), holding at most one piece in memory. Parts are copied as they
 * arrive, since a producer may refill its buffer once we ask for the next part. The piece
 * buffer grows by doubling, so a small stream never allocates a whole `size`.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let piece = new Uint8Array(0)
  let filled = 0
  for await (const part of source) {
    assertValue(part)
    let offset = 0
    while (offset < part.length) {
      const n = Math.min(size - filled, part.length - offset)
      if (filled + n > piece.length) {
        const grown = new Uint8Array(Math.min(size, Math.max(filled + n, piece.length * 2)))
        grown.set(piece.subarray(0, filled))
        piece = grown
      }
      piece.set(part.subarray(offset, offset + n), filled)
      filled += n
      offset += n
      if (filled === size) {
        yield piece
        piece = new Uint8Array(0)
        filled = 0
      }
    }
  }
  if (filled > 0) yield piece.subarray(0, filled)
}

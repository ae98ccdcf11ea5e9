/**
 * @module
 * Writing a blob from a byte stream without holding it whole in memory, so that when the write
 * resolves `blob/<sha256>` holds exactly bytes that hash to that name, with its metadata record
 * (blob-meta.ts) beside it. Three ways, chosen by what is known up front:
 *
 * - **short** (the body ends within UPLOAD_BUFFER_BYTES): hashed in memory, blob and record
 *   written in one atomic batch;
 * - **declared** (`sha256` given by the client): streamed straight to `blob/<sha256>` through the
 *   hasher; the record is written just before the stream's end, and a mismatching last byte
 *   makes the source throw, so the backend never commits the value (every backend keeps the old
 *   value when a stream fails);
 * - **undeclared**: streamed to a temporary key `upload/<time>-<random>`, then the record is
 *   written and the bytes are copied to `blob/<sha256>`, checked piece by piece on the way, and
 *   the temporary key is deleted. One more write than "declared": big uploads should declare.
 *
 * Duplicates cost nothing: an existing blob is never rewritten (the upload is only hashed, to
 * check it), and its record keeps the first content type. Whatever the way, the record is
 * written before the blob it describes, so a blob this module wrote always has one.
 */
import { randomBytes } from 'node:crypto'
import { InvalidRequestError, PayloadTooLargeError } from '../../core/errors.js'
import type { Store } from '../../core/store.js'
import {
  blobKey, blobMetaKey, decodeBlobMeta, encodeBlobMeta, infoOf, pieceHasher, type BlobInfo, type BlobMeta, type PieceHasher,
} from './blob-meta.js'
import { readBlobBytes } from './blob-read.js'
import { PIECE_BYTES, UPLOAD_BUFFER_BYTES, UPLOAD_PREFIX } from './constants.js'

export interface WriteBlobOptions {
  readonly contentType: string
  /** The sha256 (lower-case hex) the client says the bytes have; checked. */
  readonly expected?: string | undefined
  /** Largest accepted blob; 413 beyond (checked while reading). */
  readonly maxBytes: number
}

export interface WriteOutcome extends BlobInfo {
  /** True when the store already held the blob (nothing was written). */
  readonly existed: boolean
}

/** A temporary upload key; its time prefix lets a sweep find stale ones. */
export const uploadKey = (now = Date.now()): string =>
  `${UPLOAD_PREFIX}${now.toString(36).padStart(10, '0')}-${randomBytes(8).toString('hex')}`

/** When a temporary upload key was made, or undefined for a malformed one. */
export function uploadTime(key: string): number | undefined {
  const stamp = /^upload\/([0-9a-z]{10})-[0-9a-f]{16}$/.exec(key)?.[1]
  return stamp === undefined ? undefined : parseInt(stamp, 36)
}

const tooLarge = (limit: number) =>
  new PayloadTooLargeError(`store: the blob exceeds the ${limit}-byte limit`, { code: 'blob-too-large', detail: { limit } })

const mismatch = (expected: string, actual: string) =>
  new InvalidRequestError(`store: the bytes hash to ${actual}, not to the declared ${expected}`, {
    code: 'sha256-mismatch', detail: { expected, actual },
  })

/** Writes a blob of bytes already in memory. */
export function writeBlobBytes(store: Store, bytes: Uint8Array, options: WriteBlobOptions): Promise<WriteOutcome> {
  return writeBlob(store, [bytes], options)
}

export async function writeBlob(
  store: Store, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: WriteBlobOptions,
): Promise<WriteOutcome> {
  const hasher = pieceHasher()
  const iterator = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source))
  // Read ahead: a short body never touches a temporary key.
  const head: Uint8Array[] = []
  let ended = false
  while (hasher.bytes <= UPLOAD_BUFFER_BYTES) {
    const next = await iterator.next()
    if (next.done === true) {
      ended = true
      break
    }
    take(hasher, next.value, options.maxBytes)
    head.push(new Uint8Array(next.value)) // a producer may reuse its buffer
  }
  if (ended) return finishShort(store, head, hasher, options)
  const rest = hashed(head, iterator, hasher, options.maxBytes)
  if (options.expected !== undefined) return writeDeclared(store, rest, hasher, options, options.expected)
  return writeUndeclared(store, rest, hasher, options)
}

function take(hasher: PieceHasher, chunk: Uint8Array, maxBytes: number): void {
  if (hasher.bytes + chunk.length > maxBytes) throw tooLarge(maxBytes)
  hasher.update(chunk)
}

/** The buffered head, then the rest of the source, hashed as it passes. */
async function* hashed(head: Uint8Array[], rest: AsyncIterator<Uint8Array>, hasher: PieceHasher, maxBytes: number) {
  yield* head
  for (;;) {
    const next = await rest.next()
    if (next.done === true) return
    take(hasher, next.value, maxBytes)
    yield next.value
  }
}

async function* toAsync<T>(items: Iterable<T>): AsyncIterator<T> {
  yield* items
}

const metaOf = (done: ReturnType<PieceHasher['finish']>, contentType: string): BlobMeta =>
  ({ sha256: done.sha256, bytes: done.bytes, contentType, piece: PIECE_BYTES, pieces: done.pieces })

/** The existing blob's record (written again when missing or damaged), or undefined. */
async function existing(store: Store, meta: BlobMeta): Promise<WriteOutcome | undefined> {
  if (!(await store.has(blobKey(meta.sha256)))) return undefined
  const stored = await store.get(blobMetaKey(meta.sha256))
  try {
    if (stored !== undefined) return { ...infoOf(decodeBlobMeta(stored, meta.sha256)), existed: true }
  } catch {
    // A damaged record is replaced by the one this upload computed from the same bytes.
  }
  await store.put(blobMetaKey(meta.sha256), encodeBlobMeta(meta))
  return { ...infoOf(meta), existed: true }
}

async function finishShort(store: Store, head: Uint8Array[], hasher: PieceHasher, options: WriteBlobOptions): Promise<WriteOutcome> {
  const meta = metaOf(hasher.finish(), options.contentType)
  if (options.expected !== undefined && options.expected !== meta.sha256) throw mismatch(options.expected, meta.sha256)
  const found = await existing(store, meta)
  if (found !== undefined) return found
  await store.batch([
    { type: 'put', key: blobMetaKey(meta.sha256), value: encodeBlobMeta(meta) },
    { type: 'put', key: blobKey(meta.sha256), value: head.length === 1 ? head[0]! : Buffer.concat(head) },
  ])
  return { ...infoOf(meta), existed: false }
}

async function writeDeclared(
  store: Store, rest: AsyncIterable<Uint8Array>, hasher: PieceHasher, options: WriteBlobOptions, expected: string,
): Promise<WriteOutcome> {
  if (await store.has(blobKey(expected))) {
    // Already stored: read the upload only to check that it really is those bytes.
    for await (const _chunk of rest) { /* hashed by `rest` */ }
    const meta = metaOf(hasher.finish(), options.contentType)
    if (meta.sha256 !== expected) throw mismatch(expected, meta.sha256)
    return (await existing(store, meta))!
  }
  let meta: BlobMeta | undefined
  async function* checked() {
    yield* rest
    meta = metaOf(hasher.finish(), options.contentType)
    if (meta.sha256 !== expected) throw mismatch(expected, meta.sha256)
    // Before the last `next()` returns: the record lands before the blob commits.
    await store.put(blobMetaKey(expected), encodeBlobMeta(meta))
  }
  await putStreamOf(store, blobKey(expected), checked())
  return { ...infoOf(meta!), existed: false }
}

async function writeUndeclared(
  store: Store, rest: AsyncIterable<Uint8Array>, hasher: PieceHasher, options: WriteBlobOptions,
): Promise<WriteOutcome> {
  const temp = uploadKey()
  try {
    await putStreamOf(store, temp, rest)
    const meta = metaOf(hasher.finish(), options.contentType)
    const found = await existing(store, meta)
    if (found !== undefined) return found
    await store.put(blobMetaKey(meta.sha256), encodeBlobMeta(meta))
    // The copy is checked piece by piece against the hashes just computed.
    await putStreamOf(store, blobKey(meta.sha256), readBlobBytes(store, temp, meta))
    return { ...infoOf(meta), existed: false }
  } finally {
    await store.delete(temp).catch(() => undefined)
  }
}

/** `putStream` when the backend has it, else the bytes gathered in memory (exotic stores). */
async function putStreamOf(store: Store, key: string, source: AsyncIterable<Uint8Array>): Promise<void> {
  if (store.putStream !== undefined) return store.putStream(key, source)
  const parts: Uint8Array[] = []
  for await (const part of source) parts.push(new Uint8Array(part))
  await store.put(key, Buffer.concat(parts))
}

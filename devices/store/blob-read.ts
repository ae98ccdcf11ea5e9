/**
 * @module
 * Reading a blob so that no wrong byte ever leaves it: every read checks the sha256.
 *
 * - With a metadata record (every blob store@1.0 wrote): the bytes are read piece by piece
 *   (PIECE_BYTES, one piece in memory at a time) and each piece is checked against its recorded
 *   hash *before* it is yielded. A full read also checks the whole sha256 at the end. A range
 *   read reads and checks only the pieces that cover the range.
 * - Without one (a blob some other tool put under `blob/`): a blob of at most
 *   UNINDEXED_VERIFY_BYTES is read whole and checked before anything is yielded; a bigger one
 *   is hashed while it streams (the range's bytes are yielded as they pass) and the check
 *   happens at the end — the iterator then throws instead of finishing.
 *
 * A failed check throws CorruptionError (500 `store-corruption`). The HTTP layer pulls the
 * first chunk before it answers, so corruption there is a clean 500; later, it aborts the
 * response (devices/store/http.ts).
 */
import { createHash } from 'node:crypto'
import { CorruptionError } from '../../core/errors.js'
import type { ByteRange, Store } from '../../core/store.js'
import type { Logger } from '../../core/types.js'
import { rechunk } from './backends/shared.js'
import { blobKey, blobMetaKey, decodeBlobMeta, infoOf, pieceHash, type BlobInfo, type BlobMeta } from './blob-meta.js'
import { UNINDEXED_VERIFY_BYTES } from './constants.js'

/** A blob found in the store, ready to be read. */
export interface BlobEntry extends BlobInfo {
  /** The metadata record; absent for a blob written by another tool (or a damaged record). */
  readonly meta?: BlobMeta
}

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

const corrupt = (sha256: string, why: string) =>
  new CorruptionError(`store: blob ${sha256} ${why}`, { detail: { sha256 } })

/** Looks a blob up (its size and record); undefined when the store does not hold it. */
export async function openBlob(store: Store, sha256: string, log?: Logger): Promise<BlobEntry | undefined> {
  const size = store.size !== undefined ? await store.size(blobKey(sha256)) : (await store.get(blobKey(sha256)))?.length
  if (size === undefined) return undefined
  let meta: BlobMeta | undefined
  const record = await store.get(blobMetaKey(sha256))
  if (record !== undefined) {
    try {
      meta = decodeBlobMeta(record, sha256)
    } catch (err) {
      log?.warn({ err, sha256 }, 'store: damaged blob metadata record; checking the blob whole instead')
    }
  }
  if (meta !== undefined && meta.bytes !== size) throw corrupt(sha256, `is ${size} bytes, its record says ${meta.bytes}`)
  const contentType = meta?.contentType ?? DEFAULT_CONTENT_TYPE
  return { ...infoOf({ sha256, bytes: size, contentType }), ...(meta === undefined ? {} : { meta }) }
}

/** The checked bytes of a blob, or of `range` of it (already resolved against its size). */
export function readBlob(store: Store, entry: BlobEntry, range?: ByteRange): AsyncGenerator<Uint8Array> {
  const { start, end } = range ?? { start: 0, end: entry.bytes }
  if (entry.meta !== undefined) return readIndexed(store, blobKey(entry.sha256), entry.meta, start, end)
  return readUnindexed(store, blobKey(entry.sha256), entry.sha256, entry.bytes, start, end)
}

/** The checked bytes stored under any key (a temporary upload) that `meta` describes. */
export function readBlobBytes(store: Store, key: string, meta: BlobMeta): AsyncGenerator<Uint8Array> {
  return readIndexed(store, key, meta, 0, meta.bytes)
}

async function streamOf(store: Store, key: string, range: ByteRange): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> {
  const stream = store.getStream === undefined ? undefined : await store.getStream(key, range)
  if (stream !== undefined) return stream
  const whole = await store.get(key)
  if (whole === undefined) throw new CorruptionError(`store: "${key}" vanished while being read`)
  return [whole.subarray(range.start, range.end)]
}

async function* readIndexed(store: Store, key: string, meta: BlobMeta, start: number, end: number): AsyncGenerator<Uint8Array> {
  if (end <= start && !(start === 0 && end === meta.bytes)) return
  const full = start === 0 && end === meta.bytes
  const first = Math.floor(start / meta.piece)
  const from = first * meta.piece
  const to = Math.min(meta.bytes, Math.ceil(end / meta.piece) * meta.piece)
  const whole = full ? createHash('sha256') : undefined
  let index = first
  let offset = from
  for await (const piece of rechunk(await streamOf(store, key, { start: from, end: to }), meta.piece)) {
    const expectedLength = Math.min(meta.piece, meta.bytes - offset)
    if (piece.length !== expectedLength || offset >= to) throw corrupt(meta.sha256, `piece ${index} has the wrong length`)
    const digest = createHash('sha256').update(piece).digest()
    if (!digest.equals(pieceHash(meta, index))) throw corrupt(meta.sha256, `piece ${index} does not match its hash`)
    whole?.update(piece)
    const lo = Math.max(start, offset) - offset
    const hi = Math.min(end, offset + piece.length) - offset
    if (hi > lo) yield lo === 0 && hi === piece.length ? piece : piece.subarray(lo, hi)
    offset += piece.length
    index++
  }
  if (offset !== to) throw corrupt(meta.sha256, `ended after ${offset} of ${to} bytes`)
  if (whole !== undefined && whole.digest('hex') !== meta.sha256) throw corrupt(meta.sha256, 'does not hash to its name')
}

async function* readUnindexed(store: Store, key: string, sha256: string, size: number, start: number, end: number): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256')
  if (size <= UNINDEXED_VERIFY_BYTES) {
    const bytes = await store.get(key)
    if (bytes === undefined || bytes.length !== size) throw corrupt(sha256, 'changed while being read')
    if (hash.update(bytes).digest('hex') !== sha256) throw corrupt(sha256, 'does not hash to its name')
    if (end > start) yield bytes.subarray(start, end)
    return
  }
  let offset = 0
  for await (const chunk of await streamOf(store, key, { start: 0, end: size })) {
    hash.update(chunk)
    const lo = Math.max(start, offset) - offset
    const hi = Math.min(end, offset + chunk.length) - offset
    if (hi > lo) yield new Uint8Array(chunk.subarray(lo, hi))
    offset += chunk.length
  }
  if (offset !== size || hash.digest('hex') !== sha256) throw corrupt(sha256, 'does not hash to its name')
}

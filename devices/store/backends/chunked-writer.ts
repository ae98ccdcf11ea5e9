/**
 * @module
 * `putStream` for the chunking backends (LMDB, Redis): the stream is cut into CHUNK_BYTES
 * pieces, each written as soon as it is full, so memory holds at most one piece whatever the
 * blob's size. The value becomes visible only when its manifest commits; until then the chunks
 * belong to an upload id nobody references. A value small enough to be stored inline (it is
 * then necessarily a single piece) is stored inline, exactly as `put` would store it.
 */
import { CHUNK_BYTES, INLINE_MAX_BYTES } from '../constants.js'
import { makeManifest, newUploadId, rechunk, type ChunkManifest } from './shared.js'

/** The backend-specific steps of a chunked upload. */
export interface ChunkedUploadSteps {
  /** Records that an upload started (so a crash can be cleaned up). */
  begin(upload: string): Promise<void>
  writeChunk(upload: string, index: number, bytes: Uint8Array): Promise<void>
  /** Stores a small value whole, durably. */
  commitInline(value: Uint8Array): Promise<void>
  /** Publishes the manifest (freeing the chunks of any previous value), durably. */
  commitManifest(manifest: ChunkManifest): Promise<void>
  /** Removes chunks `0..count-1` (some may not exist) and the upload record after a failure. */
  abort(upload: string, count: number): Promise<void>
}

if (INLINE_MAX_BYTES >= CHUNK_BYTES) throw new Error('store: INLINE_MAX_BYTES must be below CHUNK_BYTES')

/** Returns the `putStream` body for one key. */
export function chunkedWriter(steps: ChunkedUploadSteps): (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => Promise<void> {
  return async (source) => {
    const pieces = rechunk(source, CHUNK_BYTES)[Symbol.asyncIterator]()
    const first = await pieces.next()
    if (first.done) return steps.commitInline(new Uint8Array(0))
    // Every piece but the last is CHUNK_BYTES long, so a small first piece is the whole value.
    if (first.value.length <= INLINE_MAX_BYTES) return steps.commitInline(first.value)

    const upload = newUploadId()
    await steps.begin(upload)
    let written = 0
    let size = 0
    try {
      for (let piece: IteratorResult<Uint8Array> = first; !piece.done; piece = await pieces.next()) {
        await steps.writeChunk(upload, written, piece.value)
        written++
        size += piece.value.length
      }
      await steps.commitManifest(makeManifest(size, CHUNK_BYTES, upload))
    } catch (err) {
      await pieces.return?.(undefined)
      // One more than acknowledged: a write may have landed even though its reply did not.
      await steps.abort(upload, written + 1).catch(() => {})
      throw err
    }
  }
}

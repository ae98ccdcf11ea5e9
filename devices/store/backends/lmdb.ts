/**
 * @module
 * The LMDB store (lmdb-js): the embedded default. Reads are memory-mapped and synchronous;
 * writes go through lmdb-js's write thread and are acknowledged only once durable.
 *
 * Durability: lmdb-js (with its default `overlappingSync`) resolves a write when it is committed
 * and visible, and syncs to disk just after. Every write here also awaits `flushed`, so a put
 * resolves only after fsync — the contract of core/store.ts. `noSync` is never used.
 *
 * Three named databases, all binary keys (UTF-8, so LMDB's memcmp order is byte order) and
 * binary values:
 * - `values`  key → tag byte + value (≤ INLINE_MAX_BYTES), or tag byte + chunk manifest;
 * - `chunks`  upload id (16 bytes) ‖ chunk index (u32 BE) → up to CHUNK_BYTES of a large value;
 * - `pending` upload id → start time, for uploads by `putStream` that have not committed.
 * A large `put` or `batch` writes chunks and manifest in one transaction. `putStream` commits
 * chunks as they arrive (so a multi-GB blob never sits in memory) and publishes the manifest
 * in a final transaction that also checks its `pending` entry; uploads left by a crash are swept
 * on the next open (a node owns its data directory; an upload swept from under another live
 * process fails its commit instead of publishing a broken value). Overwriting or deleting a
 * value frees its chunks in the same transaction.
 */
import { mkdir } from 'node:fs/promises'
import { open, type Database, type RootDatabase } from 'lmdb'
import { CorruptionError, UnavailableError } from '../../../core/errors.js'
import type { BatchOp, ByteRange, ListOptions } from '../../../core/store.js'
import type { Logger } from '../../../core/types.js'
import { CHUNK_BYTES, INLINE_MAX_BYTES, LIST_PAGE_SIZE } from '../constants.js'
import { chunkedWriter } from './chunked-writer.js'
import {
  assertKey, assertListArgs, assertValue, chunkSpans, closedError, decodeRecord, encodeInline, encodeManifest,
  listStart, makeManifest, newUploadId, plainBytes, rangeStream, resolveRange, TAG_CHUNKED, type ChunkManifest, type StreamingStore,
} from './shared.js'

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment; created when missing. */
  readonly path: string
  readonly log?: Logger
  /** Initial map size in bytes (lmdb-js grows it as needed). */
  readonly mapSize?: number
}

type Bytes = Database<Buffer, Buffer>
const keyBytes = (key: string): Buffer => Buffer.from(key, 'utf8')

/**
 * `getBinaryFast` returns a reused buffer whose `length` property is the value's length but
 * whose underlying view is larger; typed-array methods see the larger one, so cut it first.
 */
function readFast(db: Bytes, key: Buffer): Buffer | undefined {
  const bytes = db.getBinaryFast(key)
  return bytes === undefined ? undefined : bytes.subarray(0, bytes.length)
}
const uploadBytes = (upload: string): Buffer => Buffer.from(upload, 'hex')

function chunkKey(upload: string, index: number): Buffer {
  const key = Buffer.alloc(20)
  uploadBytes(upload).copy(key, 0)
  key.writeUInt32BE(index, 16)
  return key
}

/** Opens (creating if needed) an LMDB store in `options.path`. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<StreamingStore> {
  await mkdir(options.path, { recursive: true })
  const env: RootDatabase<Buffer, Buffer> = open<Buffer, Buffer>({
    path: options.path, encoding: 'binary', keyEncoding: 'binary', maxDbs: 4,
    ...(options.mapSize === undefined ? {} : { mapSize: options.mapSize }),
  })
  const dbOptions = { encoding: 'binary', keyEncoding: 'binary' } as const
  const values: Bytes = env.openDB<Buffer, Buffer>('values', dbOptions)
  const chunks: Bytes = env.openDB<Buffer, Buffer>('chunks', dbOptions)
  const pending: Bytes = env.openDB<Buffer, Buffer>('pending', dbOptions)
  let closing: Promise<void> | undefined

  const ensureOpen = (): void => {
    if (closing !== undefined) throw closedError('lmdb')
  }
  /** Runs writes in one transaction and resolves once they are on disk. */
  async function durably<T>(action: () => T): Promise<T> {
    const result = await env.transaction(action)
    await env.flushed
    return result
  }

  // ---- synchronous helpers, called inside a write transaction ----
  function manifestAt(kb: Buffer, key: string): ChunkManifest | undefined {
    const record = readFast(values, kb)
    if (record === undefined || record[0] !== TAG_CHUNKED) return undefined
    const decoded = decodeRecord(record, key)
    return 'manifest' in decoded ? decoded.manifest : undefined
  }
  function freeChunks(m: ChunkManifest | undefined): void {
    if (m !== undefined) for (let i = 0; i < m.count; i++) chunks.removeSync(chunkKey(m.upload, i))
  }
  function putInTxn(key: string, value: Uint8Array): void {
    const kb = keyBytes(key)
    freeChunks(manifestAt(kb, key))
    if (value.length <= INLINE_MAX_BYTES) {
      values.putSync(kb, Buffer.from(encodeInline(value)))
      return
    }
    const m = makeManifest(value.length, CHUNK_BYTES, newUploadId())
    for (let i = 0; i < m.count; i++) {
      chunks.putSync(chunkKey(m.upload, i), Buffer.from(value.buffer, value.byteOffset + i * m.chunk, Math.min(m.chunk, value.length - i * m.chunk)))
    }
    values.putSync(kb, Buffer.from(encodeManifest(m)))
  }
  function deleteInTxn(key: string): boolean {
    const kb = keyBytes(key)
    freeChunks(manifestAt(kb, key))
    return values.removeSync(kb)
  }

  // A crash mid-`putStream` leaves chunks whose manifest was never published.
  const abandoned = [...pending.getKeys()].map((k) => Buffer.from(k).toString('hex'))
  if (abandoned.length > 0) {
    await durably(() => {
      for (const upload of abandoned) {
        for (const k of [...chunks.getKeys({ start: chunkKey(upload, 0), end: chunkKey(upload, 0xffffffff), inclusiveEnd: true })]) chunks.removeSync(Buffer.from(k))
        pending.removeSync(uploadBytes(upload))
      }
    })
    options.log?.info({ uploads: abandoned.length, path: options.path }, 'store: swept abandoned lmdb uploads')
  }

  return {
    kind: 'lmdb',

    async get(key: string) {
      ensureOpen()
      assertKey(key)
      // Synchronous reads share one snapshot, so manifest and chunks are consistent.
      const record = values.getBinary(keyBytes(key))
      if (record === undefined) return undefined
      const decoded = decodeRecord(record, key)
      if ('inline' in decoded) return decoded.inline
      const m = decoded.manifest
      const out = new Uint8Array(m.size)
      for (let i = 0; i < m.count; i++) {
        const chunk = readFast(chunks, chunkKey(m.upload, i))
        if (chunk?.length !== Math.min(m.chunk, m.size - i * m.chunk)) throw new CorruptionError(`store: chunk ${i} of "${key}" is missing or short`)
        out.set(chunk, i * m.chunk)
      }
      return out
    },

    async put(key: string, value: Uint8Array) {
      ensureOpen()
      assertKey(key)
      assertValue(value)
      await durably(() => putInTxn(key, value))
    },

    async has(key: string) {
      ensureOpen()
      assertKey(key)
      return values.doesExist(keyBytes(key))
    },

    async delete(key: string) {
      ensureOpen()
      assertKey(key)
      return durably(() => deleteInTxn(key))
    },

    async *list(prefix: string, options: ListOptions = {}) {
      ensureOpen()
      assertListArgs(prefix, options)
      const from = listStart(prefix, options.after)
      // Every UTF-8 key with this prefix sorts below prefix ‖ 0xFF (0xFF never occurs in UTF-8).
      const end = prefix === '' ? undefined : Buffer.concat([keyBytes(prefix), Buffer.from([0xff])])
      let start = keyBytes(from.key)
      let exclusiveStart = from.exclusive
      let remaining = options.limit ?? Infinity
      // Pages are read synchronously, so no LMDB cursor stays open across a `yield`.
      while (remaining > 0) {
        ensureOpen()
        const page = [...values.getKeys({ start, end, exclusiveStart, limit: Math.min(LIST_PAGE_SIZE, remaining) })]
          .map((k) => Buffer.from(k))
        for (const k of page) yield k.toString('utf8')
        remaining -= page.length
        if (page.length < LIST_PAGE_SIZE) return
        start = page[page.length - 1]!
        exclusiveStart = true
      }
    },

    async batch(ops: readonly BatchOp[]) {
      ensureOpen()
      for (const op of ops) {
        assertKey(op.key)
        if (op.type === 'put') assertValue(op.value)
      }
      await durably(() => {
        for (const op of ops) {
          if (op.type === 'delete') deleteInTxn(op.key)
          // Inside the write transaction: no other writer (process or thread) can slip in between.
          else if (op.ifAbsent !== true || !values.doesExist(keyBytes(op.key))) putInTxn(op.key, op.value)
        }
      })
    },

    async size(key: string) {
      ensureOpen()
      assertKey(key)
      // The fast read maps large values instead of copying them.
      const record = readFast(values, keyBytes(key))
      if (record === undefined) return undefined
      if (record[0] !== TAG_CHUNKED) return record.length - 1
      const decoded = decodeRecord(record, key)
      return 'manifest' in decoded ? decoded.manifest.size : decoded.inline.length
    },

    async getStream(key: string, range?: ByteRange) {
      ensureOpen()
      assertKey(key)
      const kb = keyBytes(key)
      const record = values.getBinary(kb)
      if (record === undefined) return undefined
      const decoded = decodeRecord(record, key)
      if ('inline' in decoded) return rangeStream(decoded.inline, range)
      const m = decoded.manifest
      const { start, end } = resolveRange(range, m.size)
      return (async function* () {
        // A read transaction pins one snapshot for the whole stream, so a concurrent overwrite
        // cannot pull chunks away mid-read. It is taken at the first read, not at the call.
        ensureOpen()
        const txn = env.useReadTransaction()
        try {
          const now = values.get(kb, { transaction: txn })
          const current = now === undefined ? undefined : decodeRecord(now, key)
          if (current === undefined || !('manifest' in current) || current.manifest.upload !== m.upload) {
            throw new UnavailableError(`store: "${key}" changed before its stream was read`, { code: 'store-conflict' })
          }
          for (const span of chunkSpans(m, start, end)) {
            ensureOpen()
            const chunk = chunks.get(chunkKey(m.upload, span.index), { transaction: txn })
            if (chunk === undefined) throw new CorruptionError(`store: chunk ${span.index} of "${key}" is missing`)
            yield plainBytes(chunk, span.from, span.to - span.from)
          }
        } finally {
          txn.done()
        }
      })()
    },

    async putStream(key: string, source: AsyncIterable<Uint8Array>) {
      ensureOpen()
      assertKey(key)
      const writer = chunkedWriter({
        begin: async (upload) => { await pending.put(uploadBytes(upload), Buffer.from(String(Date.now()))) },
        writeChunk: async (upload, index, bytes) => {
          ensureOpen()
          await chunks.put(chunkKey(upload, index), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
        },
        commitInline: (value) => durably(() => putInTxn(key, value)),
        commitManifest: (m) => durably(() => {
          const ub = uploadBytes(m.upload)
          if (!pending.doesExist(ub)) throw new UnavailableError('store: upload was swept before it committed', { code: 'store-conflict' })
          const kb = keyBytes(key)
          freeChunks(manifestAt(kb, key))
          values.putSync(kb, Buffer.from(encodeManifest(m)))
          pending.removeSync(ub)
        }),
        abort: async (upload, count) => {
          if (closing !== undefined) return // swept on the next open
          await durably(() => {
            for (let i = 0; i < count; i++) chunks.removeSync(chunkKey(upload, i))
            pending.removeSync(uploadBytes(upload))
          })
        },
      })
      await writer(source)
    },

    close() {
      closing ??= env.close()
      return closing
    },
  }
}

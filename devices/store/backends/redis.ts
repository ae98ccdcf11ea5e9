/**
 * @module
 * The Redis store (ioredis): the store several nodes share (DESIGN §11).
 *
 * Keys, all under one prefix (default `hashbeam:`) so nodes, tests or applications can share a
 * Redis without seeing each other:
 * - `<prefix>v:<key>`           tag byte + value, or tag byte + chunk manifest (shared.ts);
 * - `<prefix>index`             sorted set of every key, all with score 0, so ZRANGEBYLEX lists
 *                               them in byte order and pages with `(after` — no SCAN;
 * - `<prefix>c:<upload>:<i>`    chunk `i` of a large value.
 * Writes go through Lua scripts (redis-scripts.ts) so a value and its index entry change
 * together; `batch` wraps them in MULTI/EXEC; a write-once put (`ifAbsent`) checks and writes
 * in one script, so nodes sharing the store agree on which step record came first. Large values are written chunk by chunk with a
 * TTL and the manifest script makes them permanent, so an upload abandoned by a crash expires.
 * (Redis does not roll back a MULTI: the one op that can fail inside it is publishing a large
 * value whose chunks already expired, i.e. a batch that took longer than PENDING_CHUNK_TTL_MS.)
 *
 * Durability: a put resolves once Redis has applied it; surviving a crash of Redis itself is
 * Redis's persistence setting (`appendonly yes`), which the operator chooses.
 */
import { Redis } from 'ioredis'
import { CorruptionError, UnavailableError } from '../../../core/errors.js'
import type { BatchOp, ByteRange, ListOptions } from '../../../core/store.js'
import type { Logger } from '../../../core/types.js'
import { DEFAULT_REDIS_PREFIX, INLINE_MAX_BYTES, LIST_PAGE_SIZE, PENDING_CHUNK_TTL_MS } from '../constants.js'
import { chunkedWriter, type ChunkedUploadSteps } from './chunked-writer.js'
import { SCRIPT_DEFINITIONS, type StoreScripts } from './redis-scripts.js'
import {
  assertKey, assertListArgs, assertValue, chunkSpans, closedError, decodeRecord, encodeInline, encodeManifest,
  listStart, plainBytes, rangeStream, resolveRange, type ChunkManifest, type StreamingStore,
} from './shared.js'

export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port/db` (any URL ioredis accepts). */
  readonly url: string
  /** Namespace of every key this store touches. */
  readonly keyPrefix?: string
  readonly log?: Logger
}

type ScriptedRedis = Redis & StoreScripts<Promise<number>>
type ScriptedMulti = ReturnType<Redis['multi']> & StoreScripts<ReturnType<Redis['multi']>>

/** Connects to Redis and returns a store over the keys under `keyPrefix`. */
export async function openRedisStore(options: RedisStoreOptions): Promise<StreamingStore> {
  const prefix = options.keyPrefix ?? DEFAULT_REDIS_PREFIX
  const indexKey = `${prefix}index`
  const chunkPrefix = `${prefix}c:`
  const valueKey = (key: string): string => `${prefix}v:${key}`
  const chunkKey = (upload: string, index: number): string => `${chunkPrefix}${upload}:${index}`

  const client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5000 }) as ScriptedRedis
  // ioredis reports connection trouble as events; without a listener Node would crash on them.
  let lastError: Error | undefined
  client.on('error', (err: Error) => {
    lastError = err
    options.log?.warn({ err: err.message, store: 'redis' }, 'store: redis connection error')
  })
  for (const [name, def] of Object.entries(SCRIPT_DEFINITIONS)) client.defineCommand(name, def)
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    const why = (lastError ?? (err as Error)).message
    throw new UnavailableError(`store: cannot reach redis at ${redactUrl(options.url)}: ${why}`, { cause: lastError ?? err, code: 'store-unreachable' })
  }
  let closing: Promise<void> | undefined

  const ensureOpen = (): void => {
    if (closing !== undefined) throw closedError('redis')
  }

  /** Puts chunks with a TTL, then publishes the record; shared by put, putStream and batch. */
  const uploadSteps = (key: string): ChunkedUploadSteps => ({
    begin: async () => {},
    writeChunk: async (upload, index, bytes) => {
      ensureOpen()
      await client.set(chunkKey(upload, index), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 'PX', PENDING_CHUNK_TTL_MS)
    },
    commitInline: async (value) => { await client.hbPut(valueKey(key), indexKey, Buffer.from(encodeInline(value)), key, chunkPrefix) },
    commitManifest: async (m) => { await client.hbPut(valueKey(key), indexKey, Buffer.from(encodeManifest(m)), key, chunkPrefix) },
    abort: async (upload, count) => {
      if (closing !== undefined || count === 0) return // the TTL removes them
      await client.unlink(...Array.from({ length: count }, (_, i) => chunkKey(upload, i)))
    },
  })

  /** Reads a chunked value whole; undefined when a chunk vanished (a concurrent overwrite). */
  async function readChunks(m: ChunkManifest): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(m.size)
    for (let i = 0; i < m.count; i++) {
      const chunk = await client.getBuffer(chunkKey(m.upload, i))
      if (chunk === null) return undefined
      out.set(chunk, i * m.chunk)
    }
    return out
  }

  async function readRecord(key: string): Promise<ReturnType<typeof decodeRecord> | undefined> {
    const record = await client.getBuffer(valueKey(key))
    return record === null ? undefined : decodeRecord(record, key)
  }

  return {
    kind: 'redis',

    async get(key: string) {
      ensureOpen()
      assertKey(key)
      // A chunk can vanish if another node overwrites the value while we read: read again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const record = await readRecord(key)
        if (record === undefined) return undefined
        if ('inline' in record) return record.inline
        const whole = await readChunks(record.manifest)
        if (whole !== undefined) return whole
      }
      throw new CorruptionError(`store: chunks of "${key}" keep disappearing while read`)
    },

    async put(key: string, value: Uint8Array) {
      ensureOpen()
      assertKey(key)
      assertValue(value)
      const steps = uploadSteps(key)
      if (value.length <= INLINE_MAX_BYTES) await steps.commitInline(value)
      else await chunkedWriter(steps)([value])
    },

    async has(key: string) {
      ensureOpen()
      assertKey(key)
      return (await client.exists(valueKey(key))) === 1
    },

    async delete(key: string) {
      ensureOpen()
      assertKey(key)
      return (await client.hbDelete(valueKey(key), indexKey, key, chunkPrefix)) === 1
    },

    async *list(prefix: string, options: ListOptions = {}) {
      ensureOpen()
      assertListArgs(prefix, options)
      const from = listStart(prefix, options.after)
      let min: Buffer = Buffer.from((from.exclusive ? '(' : '[') + from.key)
      // Every UTF-8 key with this prefix sorts below prefix ‖ 0xFF (0xFF never occurs in UTF-8).
      const max = prefix === '' ? '+' : Buffer.concat([Buffer.from('(' + prefix), Buffer.from([0xff])])
      let remaining = options.limit ?? Infinity
      while (remaining > 0) {
        ensureOpen()
        const page = await client.zrangebylex(indexKey, min, max, 'LIMIT', 0, Math.min(LIST_PAGE_SIZE, remaining))
        for (const key of page) yield key
        remaining -= page.length
        if (page.length < LIST_PAGE_SIZE) return
        min = Buffer.from('(' + page[page.length - 1]!)
      }
    },

    async batch(ops: readonly BatchOp[]) {
      ensureOpen()
      for (const op of ops) {
        assertKey(op.key)
        if (op.type === 'put') assertValue(op.value)
      }
      // Large values: chunks first (invisible until published), then one MULTI/EXEC that
      // publishes every record. Small values go straight into the transaction.
      const records: Array<Buffer | undefined> = []
      const uploads: Array<{ upload: string; count: number }> = []
      try {
        for (const op of ops) {
          if (op.type === 'delete' || op.value.length <= INLINE_MAX_BYTES) {
            records.push(op.type === 'put' ? Buffer.from(encodeInline(op.value)) : undefined)
            continue
          }
          let manifest: ChunkManifest | undefined
          await chunkedWriter({
            ...uploadSteps(op.key),
            commitManifest: async (m) => {
              uploads.push({ upload: m.upload, count: m.count })
              manifest = m
            },
          })([op.value])
          records.push(Buffer.from(encodeManifest(manifest!)))
        }
        const multi = client.multi() as ScriptedMulti
        ops.forEach((op, i) => {
          if (op.type === 'put' && op.ifAbsent === true) multi.hbCreate(valueKey(op.key), indexKey, records[i]!, op.key, chunkPrefix)
          else if (op.type === 'put') multi.hbPut(valueKey(op.key), indexKey, records[i]!, op.key, chunkPrefix)
          else multi.hbDelete(valueKey(op.key), indexKey, op.key, chunkPrefix)
        })
        const results = await multi.exec()
        const failed = results?.find(([err]) => err !== null)
        if (results === null || failed !== undefined) {
          throw new UnavailableError('store: redis batch failed', { cause: failed?.[0], code: 'store-conflict' })
        }
      } catch (err) {
        for (const { upload, count } of uploads) await uploadSteps('').abort(upload, count).catch(() => {})
        throw err
      }
    },

    async size(key: string) {
      ensureOpen()
      assertKey(key)
      const size = await client.hbSize(valueKey(key))
      return size < 0 ? undefined : size
    },

    async getStream(key: string, range?: ByteRange) {
      ensureOpen()
      assertKey(key)
      const record = await readRecord(key)
      if (record === undefined) return undefined
      if ('inline' in record) return rangeStream(record.inline, range)
      const m = record.manifest
      const { start, end } = resolveRange(range, m.size)
      return (async function* () {
        for (const span of chunkSpans(m, start, end)) {
          ensureOpen()
          // GETRANGE's end is inclusive; a missing key reads as empty.
          const part = await client.getrangeBuffer(chunkKey(m.upload, span.index), span.from, span.to - 1)
          if (part.length !== span.to - span.from) {
            throw new UnavailableError(`store: "${key}" changed while it was streamed`, { code: 'store-conflict' })
          }
          yield plainBytes(part)
        }
      })()
    },

    async putStream(key: string, source: AsyncIterable<Uint8Array>) {
      ensureOpen()
      assertKey(key)
      await chunkedWriter(uploadSteps(key))(source)
    },

    close() {
      closing ??= client.quit().then(() => {}, () => client.disconnect())
      return closing
    },
  }
}

/** The URL without its password, for error messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<unparseable redis url>'
  }
}

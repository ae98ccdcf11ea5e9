/**
 * Blob writing and checked reading (devices/store/blob-*.ts) on real backends: the three write
 * ways (short, declared, undeclared), duplicates, the size limit, piece-checked full and range
 * reads, corruption caught before a bad byte is yielded, blobs without a record, and the sweep
 * of temporary uploads a crash left.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAoError } from '../../../core/errors.js'
import { blobKey } from '../../../core/store.js'
import { openFsStore } from '../../../devices/store/backends/fs.js'
import { openLmdbStore } from '../../../devices/store/backends/lmdb.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { openRedisStore } from '../../../devices/store/backends/redis.js'
import type { StreamingStore } from '../../../devices/store/backends/shared.js'
import { blobMetaKey, decodeBlobMeta } from '../../../devices/store/blob-meta.js'
import { openBlob, readBlob } from '../../../devices/store/blob-read.js'
import { uploadKey, writeBlob, writeBlobBytes } from '../../../devices/store/blob-write.js'
import { PIECE_BYTES, STALE_UPLOAD_MS, UNINDEXED_VERIFY_BYTES, UPLOAD_BUFFER_BYTES, UPLOAD_PREFIX } from '../../../devices/store/constants.js'
import { sweepUploads } from '../../../devices/store/index.js'
import { collect, expectBytes, readAll, tempDir, testBytes } from './helpers.js'
import { deletePrefix, redisGate, REDIS_URL, uniquePrefix } from './redis-env.js'

const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const opts = { contentType: 'application/x-test', maxBytes: 64 * 1024 * 1024 }

/** Yields `bytes` in parts of `size` (reusing one buffer, as a network stream may). */
async function* parts(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(size)
  for (let i = 0; i < bytes.length; i += size) {
    const n = Math.min(size, bytes.length - i)
    buf.set(bytes.subarray(i, i + n))
    yield buf.subarray(0, n)
  }
}

async function failure(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p
  } catch (err) {
    if (isAoError(err)) return { status: err.status, code: err.code }
    throw err
  }
  throw new Error('expected a failure')
}

const big = testBytes(UPLOAD_BUFFER_BYTES + 3 * PIECE_BYTES + 123, 5)

let tmp: Awaited<ReturnType<typeof tempDir>>
const redisPrefix = uniquePrefix('blobs')
const redis = await redisGate()
beforeAll(async () => { tmp = await tempDir('store-blobs') })
afterAll(async () => {
  await tmp.remove()
  if (!redis.skip) await deletePrefix(redisPrefix)
})

const backends: Array<[string, () => Promise<StreamingStore>]> = [
  ['memory', async () => memoryStore()],
  ['fs', () => openFsStore({ root: join(tmp.dir, 'fs') })],
  ['lmdb', () => openLmdbStore({ path: join(tmp.dir, 'lmdb') })],
  ...(redis.skip ? [] : [['redis', () => openRedisStore({ url: REDIS_URL, keyPrefix: redisPrefix })] as [string, () => Promise<StreamingStore>]]),
]

describe.each(backends)('blobs on %s', (_name, open) => {
  let store: StreamingStore
  beforeAll(async () => { store = await open() })
  afterAll(() => store.close())

  it('writes a short body in one batch, with its record; a duplicate writes nothing', async () => {
    const bytes = testBytes(1000, 1)
    const first = await writeBlob(store, parts(bytes, 100), opts)
    expect(first).toMatchObject({ sha256: hex(bytes), bytes: 1000, contentType: 'application/x-test', existed: false })
    expect(first.id).toBe(Buffer.from(hex(bytes), 'hex').toString('base64url'))
    const again = await writeBlobBytes(store, bytes, { ...opts, contentType: 'text/other' })
    expect(again).toMatchObject({ existed: true, contentType: 'application/x-test' }) // the first type stays
    const meta = decodeBlobMeta((await store.get(blobMetaKey(first.sha256)))!, first.sha256)
    expect(meta).toMatchObject({ bytes: 1000, piece: PIECE_BYTES })
    expect(meta.pieces.length).toBe(32)
  })

  it('streams a long undeclared body through a temporary key, which is gone afterwards', async () => {
    const out = await writeBlob(store, parts(big), opts)
    expect(out).toMatchObject({ sha256: hex(big), bytes: big.length, existed: false })
    expectBytes(await store.get(blobKey(out.sha256)), big)
    expect(await collect(store.list(UPLOAD_PREFIX))).toEqual([])
    expect(await writeBlob(store, parts(big), opts)).toMatchObject({ existed: true })
  })

  it('streams a long declared body straight to its key and refuses one that does not match', async () => {
    const bytes = testBytes(UPLOAD_BUFFER_BYTES + 10, 6)
    const wrong = '0'.repeat(64)
    expect(await failure(writeBlob(store, parts(bytes), { ...opts, expected: wrong }))).toEqual({ status: 400, code: 'sha256-mismatch' })
    expect(await store.has(blobKey(wrong))).toBe(false)
    expect(await store.has(blobMetaKey(wrong))).toBe(false)
    const out = await writeBlob(store, parts(bytes), { ...opts, expected: hex(bytes) })
    expect(out).toMatchObject({ sha256: hex(bytes), existed: false })
    expectBytes(await store.get(blobKey(out.sha256)), bytes)
    expect(await writeBlob(store, parts(bytes), { ...opts, expected: hex(bytes) })).toMatchObject({ existed: true })
    expect(await collect(store.list(UPLOAD_PREFIX))).toEqual([])
  })

  it('refuses a body over the limit and keeps nothing of it', async () => {
    const bytes = testBytes(5000, 7)
    expect(await failure(writeBlob(store, parts(bytes, 1000), { ...opts, maxBytes: 4999 }))).toEqual({ status: 413, code: 'blob-too-large' })
    expect(await failure(writeBlob(store, parts(big), { ...opts, maxBytes: UPLOAD_BUFFER_BYTES + 2 * PIECE_BYTES }))).toEqual({ status: 413, code: 'blob-too-large' })
    expect(await store.has(blobKey(hex(bytes)))).toBe(false)
    expect(await store.has(blobKey(hex(big)))).toBe(true) // from the earlier test, untouched
    expect(await collect(store.list(UPLOAD_PREFIX))).toEqual([])
  })

  it('reads a blob whole and by ranges, across piece boundaries', async () => {
    const entry = (await openBlob(store, hex(big)))!
    expect(entry.meta).toBeDefined()
    expectBytes(await readAll(readBlob(store, entry)), big)
    for (const [start, end] of [[0, 1], [PIECE_BYTES - 2, PIECE_BYTES + 2], [5, 3 * PIECE_BYTES + 7], [big.length - 10, big.length], [7, 7]] as const) {
      expectBytes(await readAll(readBlob(store, entry, { start, end })), big.subarray(start, end))
    }
  })

  it('writes and reads an empty blob', async () => {
    const out = await writeBlobBytes(store, new Uint8Array(0), opts)
    expect(out.sha256).toBe(hex(new Uint8Array(0)))
    expect((await readAll(readBlob(store, (await openBlob(store, out.sha256))!))).length).toBe(0)
  })

  it('catches a flipped byte in the piece that holds it, before yielding that piece', async () => {
    const bytes = testBytes(3 * PIECE_BYTES, 8)
    const { sha256 } = await writeBlobBytes(store, bytes, opts)
    const damaged = new Uint8Array(bytes)
    damaged[2 * PIECE_BYTES + 5]! ^= 1
    await store.put(blobKey(sha256), damaged)
    const entry = (await openBlob(store, sha256))!
    const got: Uint8Array[] = []
    const read = (async () => { for await (const part of readBlob(store, entry)) got.push(part) })()
    expect(await failure(read)).toEqual({ status: 500, code: 'store-corruption' })
    expect(got.reduce((n, p) => n + p.length, 0)).toBe(2 * PIECE_BYTES) // only the good pieces
    // A range inside the good pieces still reads; one touching the bad piece does not.
    expectBytes(await readAll(readBlob(store, entry, { start: 10, end: 20 })), bytes.subarray(10, 20))
    expect(await failure(readAll(readBlob(store, entry, { start: 2 * PIECE_BYTES, end: 2 * PIECE_BYTES + 1 })))).toMatchObject({ code: 'store-corruption' })
    // A changed length is caught at open.
    await store.put(blobKey(sha256), bytes.subarray(1))
    expect(await failure(openBlob(store, sha256))).toMatchObject({ status: 500, code: 'store-corruption' })
  })

  it('checks a blob without a record whole: before any byte when small, at the end when big', async () => {
    const small = testBytes(5000, 9)
    const sha = hex(small)
    await store.put(blobKey(sha), small)
    const entry = (await openBlob(store, sha))!
    expect(entry).toMatchObject({ bytes: 5000, contentType: 'application/octet-stream' })
    expect(entry.meta).toBeUndefined()
    expectBytes(await readAll(readBlob(store, entry, { start: 100, end: 200 })), small.subarray(100, 200))
    const damaged = new Uint8Array(small)
    damaged[0]! ^= 1
    await store.put(blobKey(sha), damaged)
    const got: Uint8Array[] = []
    const read = (async () => { for await (const p of readBlob(store, entry)) got.push(p) })()
    expect(await failure(read)).toMatchObject({ code: 'store-corruption' })
    expect(got).toEqual([])

    const large = testBytes(UNINDEXED_VERIFY_BYTES + 100, 10)
    const bigSha = hex(large)
    await store.put(blobKey(bigSha), large)
    const bigEntry = (await openBlob(store, bigSha))!
    expectBytes(await readAll(readBlob(store, bigEntry, { start: 1, end: 11 })), large.subarray(1, 11))
    large[large.length - 1]! ^= 1
    await store.put(blobKey(bigSha), large)
    expect(await failure(readAll(readBlob(store, bigEntry)))).toMatchObject({ code: 'store-corruption' })
  })

  it('a damaged record is ignored (the blob is checked whole) and repaired by the next put', async () => {
    const bytes = testBytes(2000, 11)
    const { sha256 } = await writeBlobBytes(store, bytes, opts)
    const record = (await store.get(blobMetaKey(sha256)))!
    record[record.length - 3]! ^= 1
    await store.put(blobMetaKey(sha256), record)
    const entry = (await openBlob(store, sha256))!
    expect(entry.meta).toBeUndefined()
    expectBytes(await readAll(readBlob(store, entry)), bytes)
    expect(await writeBlobBytes(store, bytes, opts)).toMatchObject({ existed: true })
    expect((await openBlob(store, sha256))!.meta).toBeDefined()
  })

  it('sweeps temporary uploads left by a crash (on a shared Redis, only day-old ones)', async () => {
    const fresh = uploadKey(Date.now() - 1000)
    await store.put(fresh, new Uint8Array([1]))
    await store.put(uploadKey(Date.now() - STALE_UPLOAD_MS - 1000), new Uint8Array([1]))
    await store.put(`${UPLOAD_PREFIX}junk`, new Uint8Array([2]))
    const shared = store.kind === 'redis'
    expect(await sweepUploads(store)).toBe(shared ? 2 : 3)
    expect(await collect(store.list(UPLOAD_PREFIX))).toEqual(shared ? [fresh] : [])
    await store.delete(fresh)
  })
})

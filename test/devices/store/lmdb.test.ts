/**
 * The LMDB backend beyond the shared suite: what it leaves in its chunk and pending databases.
 * Overwrites and deletes must free chunks, and an upload cut off by a shutdown must be swept
 * on the next open. The databases are inspected with lmdb-js directly, after the store closed.
 */
import { open } from 'lmdb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openLmdbStore } from '../../../devices/store/backends/lmdb.js'
import { CHUNK_BYTES } from '../../../devices/store/constants.js'
import { memoryLogger } from '../../helpers/log.js'
import { collect, expectBytes, expectCode, source, tempDir, testBytes } from './helpers.js'

/** Entry counts of the backend's internal databases (the store must be closed). */
async function internals(path: string): Promise<{ chunks: number; pending: number; values: number }> {
  const env = open({ path, encoding: 'binary', keyEncoding: 'binary', maxDbs: 4 })
  const count = (name: string): number => env.openDB(name, { encoding: 'binary', keyEncoding: 'binary' }).getCount()
  try {
    return { chunks: count('chunks'), pending: count('pending'), values: count('values') }
  } finally {
    await env.close()
  }
}

describe('lmdb store internals', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => { tmp = await tempDir('store-lmdb-internals') })
  afterEach(() => tmp.remove())

  it('frees the chunks of overwritten and deleted values', async () => {
    let store = await openLmdbStore({ path: tmp.dir })
    await store.put('a', testBytes(CHUNK_BYTES * 3, 1))
    await store.put('a', testBytes(CHUNK_BYTES + 1, 2))
    await store.putStream('b', source([testBytes(CHUNK_BYTES * 2, 3)]))
    await store.close()
    expect(await internals(tmp.dir)).toEqual({ chunks: 2 + 2, pending: 0, values: 2 })

    store = await openLmdbStore({ path: tmp.dir })
    await store.put('a', new Uint8Array(5))
    await store.delete('b')
    await store.close()
    expect(await internals(tmp.dir)).toEqual({ chunks: 0, pending: 0, values: 1 })
  })

  it('sweeps an upload cut off by shutdown on the next open', async () => {
    const store = await openLmdbStore({ path: tmp.dir })
    let release!: () => void
    let reachedGate!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const atGate = new Promise<void>((resolve) => { reachedGate = resolve })
    const upload = store.putStream('blob/cut', (async function* () {
      yield testBytes(CHUNK_BYTES, 1)
      yield testBytes(CHUNK_BYTES, 2)
      reachedGate() // both chunks are committed once the writer asks for more
      await gate
      yield testBytes(10, 3)
    })())
    await atGate
    await store.close()
    release()
    await expectCode(upload, 'store-closed')
    expect(await internals(tmp.dir)).toEqual({ chunks: 2, pending: 1, values: 0 })

    const log = memoryLogger()
    const reopened = await openLmdbStore({ path: tmp.dir, log })
    expect(await collect(reopened.list(''))).toEqual([])
    expect(log.entries.some((e) => e.msg === 'store: swept abandoned lmdb uploads')).toBe(true)
    await reopened.close()
    expect(await internals(tmp.dir)).toEqual({ chunks: 0, pending: 0, values: 0 })
  })

  it('streams a chunked value from one snapshot while it is overwritten', async () => {
    const store = await openLmdbStore({ path: tmp.dir })
    const first = testBytes(CHUNK_BYTES * 2, 4)
    await store.put('v', first)
    const stream = (await store.getStream('v'))![Symbol.asyncIterator]()
    const head = await stream.next()
    await store.put('v', testBytes(CHUNK_BYTES * 2, 5)) // frees the chunks the stream still reads
    const rest: Uint8Array[] = []
    for (let r = await stream.next(); !r.done; r = await stream.next()) rest.push(r.value)
    expectBytes(Buffer.concat([head.value as Uint8Array, ...rest]), first)
    await store.close()
  })

  it('ends a stream cut off by close with store-closed', async () => {
    const store = await openLmdbStore({ path: tmp.dir })
    await store.put('v', testBytes(CHUNK_BYTES * 3, 6))
    const stream = (await store.getStream('v'))![Symbol.asyncIterator]()
    expect((await stream.next()).done).toBe(false)
    await store.close()
    await expectCode(stream.next(), 'store-closed')
  })
})

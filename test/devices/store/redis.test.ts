/**
 * The Redis backend beyond the shared suite: key prefixes that keep tenants apart, two nodes
 * sharing one prefix, the key layout (index, values, chunks), chunk TTLs while an upload is in
 * flight, and a clear error when Redis is unreachable. Skipped, with a reason, without Redis.
 */
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openRedisStore } from '../../../devices/store/backends/redis.js'
import { CHUNK_BYTES, PENDING_CHUNK_TTL_MS } from '../../../devices/store/constants.js'
import { collect, expectBytes, expectCode, source, testBytes } from './helpers.js'
import { deletePrefix, keysUnder, REDIS_URL, redisGate, uniquePrefix } from './redis-env.js'

const redis = await redisGate()

describe.skipIf(redis.skip)('redis store', () => {
  let prefix: string
  let raw: Redis
  beforeEach(async () => {
    prefix = uniquePrefix('redis-test')
    raw = new Redis(REDIS_URL)
  })
  afterEach(async () => {
    await raw.quit()
    await deletePrefix(prefix)
  })

  it('keeps prefixes apart and lets two nodes share one', async () => {
    const nodeA = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
    const nodeB = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
    const other = await openRedisStore({ url: REDIS_URL, keyPrefix: `${prefix}other:` })
    await nodeA.put('msg/1', new Uint8Array([1]))
    await other.put('msg/1', new Uint8Array([2]))
    expectBytes(await nodeB.get('msg/1'), new Uint8Array([1]))
    await nodeB.put('msg/2', new Uint8Array([3]))
    expect(await collect(nodeA.list('msg/'))).toEqual(['msg/1', 'msg/2'])
    expect(await collect(other.list(''))).toEqual(['msg/1'])
    await Promise.all([nodeA.close(), nodeB.close(), other.close()])
  })

  it('lays keys out as index, values and chunks under the prefix', async () => {
    const store = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
    await store.put('small', new Uint8Array(3))
    await store.put('large', testBytes(CHUNK_BYTES * 2 + 1))
    const keys = (await keysUnder(prefix)).map((k) => k.slice(prefix.length)).sort()
    const chunkKeys = keys.filter((k) => k.startsWith('c:'))
    expect(keys.filter((k) => !k.startsWith('c:'))).toEqual(['index', 'v:large', 'v:small'])
    expect(chunkKeys).toHaveLength(3)
    for (const k of chunkKeys) expect(await raw.pttl(prefix + k)).toBe(-1) // made permanent on commit
    expect(await raw.zrange(`${prefix}index`, 0, -1, 'WITHSCORES')).toEqual(['large', '0', 'small', '0'])

    await store.put('large', new Uint8Array(1))
    await store.delete('small')
    expect((await keysUnder(prefix)).map((k) => k.slice(prefix.length)).sort()).toEqual(['index', 'v:large'])
    await store.close()
  })

  it('leaves the chunks of an interrupted upload to expire', async () => {
    const store = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
    let release!: () => void
    let reachedGate!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const atGate = new Promise<void>((resolve) => { reachedGate = resolve })
    const upload = store.putStream('blob/cut', (async function* () {
      yield testBytes(CHUNK_BYTES, 1)
      reachedGate()
      await gate
      yield testBytes(CHUNK_BYTES, 2)
    })())
    await atGate
    await store.close()
    release()
    await expectCode(upload, 'store-closed')
    const leftovers = (await keysUnder(prefix)).filter((k) => k.startsWith(`${prefix}c:`))
    expect(leftovers).toHaveLength(1)
    const ttl = await raw.pttl(leftovers[0]!)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(PENDING_CHUNK_TTL_MS)
    expect(await raw.exists(`${prefix}v:blob/cut`)).toBe(0)
  })

  it('removes the chunks of a failed stream right away', async () => {
    const store = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
    await expect(store.putStream('blob/x', source([testBytes(CHUNK_BYTES * 2)], new Error('gone')))).rejects.toThrow('gone')
    expect(await keysUnder(prefix)).toEqual([])
    await store.close()
  })

  it('fails clearly when Redis cannot be reached', async () => {
    await expectCode(openRedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix: prefix }), 'store-unreachable')
  })
})

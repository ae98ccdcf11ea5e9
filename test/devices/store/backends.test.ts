/**
 * Runs the one conformance suite against every store backend: memory, fs, LMDB and Redis.
 * Redis runs only when a Redis answers (see redis-env.ts), each test under its own key prefix.
 */
import { describe } from 'vitest'
import type { Store } from '../../../core/store.js'
import { openFsStore } from '../../../devices/store/backends/fs.js'
import { openLmdbStore } from '../../../devices/store/backends/lmdb.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { openRedisStore } from '../../../devices/store/backends/redis.js'
import { tempDir } from './helpers.js'
import { deletePrefix, REDIS_URL, redisGate, uniquePrefix } from './redis-env.js'
import { storeConformance, type StoreHarness } from './store.suite.js'

/** A harness over any "open this location" function; reopen closes the current store first. */
async function harness(openAt: () => Promise<Store>, removeData: () => Promise<unknown>): Promise<StoreHarness> {
  let current = await openAt()
  return {
    get store() { return current },
    async reopen() {
      await current.close()
      current = await openAt()
      return current
    },
    async cleanup() {
      await current.close()
      await removeData()
    },
  }
}

storeConformance('memory', () => harness(async () => memoryStore(), async () => {}), { durable: false, atomicBatch: true })

storeConformance('fs', async () => {
  const tmp = await tempDir('store-fs')
  return harness(() => openFsStore({ root: tmp.dir }), tmp.remove)
}, { durable: true, atomicBatch: false })

storeConformance('lmdb', async () => {
  const tmp = await tempDir('store-lmdb')
  return harness(() => openLmdbStore({ path: tmp.dir }), tmp.remove)
}, { durable: true, atomicBatch: true })

const redis = await redisGate()
describe.skipIf(redis.skip)('redis backend', () => {
  storeConformance('redis', async () => {
    const keyPrefix = uniquePrefix('conformance')
    return harness(() => openRedisStore({ url: REDIS_URL, keyPrefix }), () => deletePrefix(keyPrefix))
  }, { durable: true, atomicBatch: true })
})

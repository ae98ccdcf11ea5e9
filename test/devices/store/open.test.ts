/**
 * `openStore(spec)`: spec parsing, where each backend puts its data, the Redis key prefix
 * (from `?prefix=` or the option), and a clear error for anything else.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore, parseStoreSpec } from '../../../devices/store/open.js'
import { memoryLogger } from '../../helpers/log.js'
import { expectBytes, tempDir } from './helpers.js'
import { deletePrefix, keysUnder, REDIS_URL, redisGate, uniquePrefix } from './redis-env.js'

const redis = await redisGate()

describe('parseStoreSpec', () => {
  it('understands every backend spec', () => {
    expect(parseStoreSpec('memory')).toEqual({ kind: 'memory' })
    expect(parseStoreSpec(' lmdb ')).toEqual({ kind: 'lmdb' })
    expect(parseStoreSpec('fs')).toEqual({ kind: 'fs' })
    expect(parseStoreSpec('redis')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379/0' })
    expect(parseStoreSpec('redis://cache:6380/2')).toEqual({ kind: 'redis', url: 'redis://cache:6380/2' })
    expect(parseStoreSpec('redis://:pw@cache:6380/2?prefix=node-a:')).toEqual({ kind: 'redis', url: 'redis://:pw@cache:6380/2', keyPrefix: 'node-a:' })
    expect(parseStoreSpec('rediss://cache/0')).toMatchObject({ kind: 'redis', url: 'rediss://cache/0' })
  })

  it('rejects anything else with a stable code', () => {
    for (const bad of ['', 'sqlite', 'LMDB2', 'http://x', 'redis:/nohost', 'memory://x']) {
      expect(() => parseStoreSpec(bad)).toThrowError(expect.objectContaining({ code: 'unknown-store', name: 'ConfigError' }))
    }
  })
})

describe('openStore', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => { tmp = await tempDir('store-open') })
  afterEach(() => tmp.remove())

  for (const kind of ['memory', 'fs', 'lmdb'] as const) {
    it(`opens ${kind} under the data directory and logs where`, async () => {
      const log = memoryLogger()
      const store = await openStore(kind, { dataDir: tmp.dir, log })
      expect(store.kind).toBe(kind)
      await store.put('msg/x', new Uint8Array([1, 2]))
      expectBytes(await store.get('msg/x'), new Uint8Array([1, 2]))
      if (kind !== 'memory') expect((await stat(join(tmp.dir, kind))).isDirectory()).toBe(true)
      const opened = log.entries.find((e) => e.msg === 'store: opened')
      expect(opened?.obj).toMatchObject({ component: 'store', store: kind })
      await store.close()
    })
  }

  it('rejects an unknown spec before touching the disk', async () => {
    await expect(openStore('cassandra', { dataDir: join(tmp.dir, 'never') })).rejects.toMatchObject({ code: 'unknown-store' })
    await expect(stat(join(tmp.dir, 'never'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  describe.skipIf(redis.skip)('redis', () => {
    const prefixes: string[] = []
    afterEach(async () => { for (const p of prefixes.splice(0)) await deletePrefix(p) })

    it('puts keys under the ?prefix= of the spec, or under the keyPrefix option', async () => {
      const fromSpec = uniquePrefix('open-spec')
      const fromOption = uniquePrefix('open-option')
      prefixes.push(fromSpec, fromOption)
      const a = await openStore(`${REDIS_URL}?prefix=${encodeURIComponent(fromSpec)}`, { dataDir: tmp.dir })
      const b = await openStore(`${REDIS_URL}?prefix=ignored:`, { dataDir: tmp.dir, keyPrefix: fromOption })
      await a.put('k', new Uint8Array([1]))
      await b.put('k', new Uint8Array([2]))
      expect((await keysUnder(fromSpec)).sort()).toEqual([`${fromSpec}index`, `${fromSpec}v:k`])
      expect((await keysUnder(fromOption)).sort()).toEqual([`${fromOption}index`, `${fromOption}v:k`])
      expect(await keysUnder('ignored:')).toEqual([])
      await Promise.all([a.close(), b.close()])
    })
  })
})

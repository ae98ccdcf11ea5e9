/**
 * The shared ledger (issue 14 item 1): nodes started with the same `--store redis://…` answer
 * each other's deterministic steps from the ledger when they trust each other (`--trust`), and
 * two nodes that execute the same new step at once leave one record — the first — never have a
 * second replace it. Two real node processes on loopback, each with its own wallet and data dir,
 * sharing one Redis database and key prefix of this file's own.
 */
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadStep, type LedgerTrust } from '../../core/ledger.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import type { Device } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { openRedisStore } from '../../devices/store/backends/redis.js'
import type { StreamingStore } from '../../devices/store/backends/shared.js'
import { redisGate, uniquePrefix } from '../devices/store/redis-env.js'
import { memoryLogger } from '../helpers/log.js'
import { tempDir } from '../helpers/node.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'

const redis = await redisGate()
// Database 13 and a prefix unique to this run: nothing else in the suite reads or writes them.
const DB_URL = (process.env.HASHBEAM_REDIS_URL ?? 'redis://127.0.0.1:6379/0').replace(/\/\d*$/, '/13')
const prefix = uniquePrefix('shared-ledger')

async function dropPrefix(): Promise<void> {
  const client = new Redis(DB_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    await client.quit()
  }
}

describe.skipIf(redis.skip)('one step, two writers on a shared Redis store', () => {
  it('keeps the first record when both execute the same new step at once', async () => {
    const stores: StreamingStore[] = []
    const gates: Array<() => void> = []
    let running = 0
    // Each node's copy of a deterministic device holds its step open until the test says so,
    // so both nodes are inside the step before either writes, and the test picks who commits first.
    const nodeAs = async (self: string) => {
      const gate = new Promise<void>((done) => gates.push(done))
      const slow: Device = { name: 'slow@1.0', keys: { twice: async (base) => { running++; await gate; return { n: Number(base.n ?? 1) * 2 } } } }
      const store = await openRedisStore({ url: DB_URL, keyPrefix: `${prefix}race:` })
      stores.push(store)
      const ledger: LedgerTrust = { self, trusts: () => true }
      return createResolver({ registry: createRegistry([messageDevice(), slow]), store, log: memoryLogger(), ledger })
    }
    try {
      const [a, b] = [await nodeAs('A'.repeat(43)), await nodeAs('B'.repeat(43))]
      const path = '/~slow@1.0&n+integer=21/twice'
      const first = a.resolve(path)
      const second = b.resolve(path)
      for (let i = 0; i < 200 && running < 2; i++) await new Promise((r) => setTimeout(r, 5))
      expect(running).toBe(2)
      gates[0]!()
      const ra = await first
      expect((await loadStep(stores[1]!, ra.hashpath))?.writer).toBe('A'.repeat(43))
      gates[1]!()
      const rb = await second
      expect([ra.cached, rb.cached, rb.id]).toEqual([false, false, ra.id])
      // B computed the same step but wrote after A: A's record stays.
      expect((await loadStep(stores[1]!, ra.hashpath))?.writer).toBe('A'.repeat(43))
    } finally {
      for (const open of gates) open()
      for (const store of stores) await store.close()
    }
  })
})

describe.skipIf(redis.skip)('two node processes on one Redis ledger', () => {
  const dirs = [tempDir(), tempDir()]
  let nodeA: ServerProcess | undefined
  let nodeB: ServerProcess | undefined
  let addressA = ''
  let addressB = ''
  let store: StreamingStore | undefined

  beforeAll(async () => {
    const keygen = async (dir: string) => {
      const made = await runCli(['keygen', '--out', join(dir, 'wallet.json'), '--kind', 'ed25519'])
      expect(made.code).toBe(0)
      return made.stdout.trim()
    }
    ;[addressA, addressB] = [await keygen(dirs[0]!.dir), await keygen(dirs[1]!.dir)]
    const storeUrl = `${DB_URL}?prefix=${prefix}nodes:`
    const start = (dir: string, trust: string[]) =>
      startServer(['--data', dir, '--wallet', join(dir, 'wallet.json'), '--store', storeUrl, ...trust.map((t) => `--trust=${t}`)])
    // B trusts A; A trusts nobody else: B's records are evidence to A, never answers.
    ;[nodeA, nodeB] = await Promise.all([start(dirs[0]!.dir, []), start(dirs[1]!.dir, [addressA])])
    store = await openRedisStore({ url: DB_URL, keyPrefix: `${prefix}nodes:` })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()])
    await store?.close()
    for (const dir of dirs) dir.cleanup()
    await dropPrefix()
  })

  const ask = async (node: ServerProcess, path: string) => {
    const res = await fetch(node.url + path, { headers: { accept: 'application/json' } })
    expect(res.status).toBe(200)
    return { cache: res.headers.get('ao-cache'), id: res.headers.get('ao-id'), hashpath: res.headers.get('hashpath') ?? '', untrusted: res.headers.get('hashbeam-untrusted-record'), body: await res.json() }
  }

  it('answers a step computed by a trusted node from the ledger, naming the writer', async () => {
    const path = '/~message@1.0&a=1/set&b+integer=2/set&c=shared/keys'
    const onA = await ask(nodeA!, path)
    expect(onA.cache).toBe('miss')
    const onB = await ask(nodeB!, path)
    expect(onB).toMatchObject({ cache: 'hit', id: onA.id, hashpath: onA.hashpath, body: onA.body })
    expect((await loadStep(store!, onA.hashpath))?.writer).toBe(addressA)
  })

  it('re-executes a step whose record was written by a node it does not trust, and keeps that record', async () => {
    const path = '/~message@1.0&a=2/set&b=from-b/keys'
    const onB = await ask(nodeB!, path)
    expect(onB.cache).toBe('miss')
    const onA = await ask(nodeA!, path)
    expect(onA).toMatchObject({ cache: 'miss', id: onB.id, untrusted: addressB })
    expect((await loadStep(store!, onB.hashpath))?.writer).toBe(addressB)
  })

  it('leaves one record per step when both nodes execute the same new steps at once', async () => {
    const paths = Array.from({ length: 12 }, (_, i) => `/~message@1.0&race+integer=${i}/set&x=${i}/keys`)
    const answers = await Promise.all(paths.map(async (path) => Promise.all([ask(nodeA!, path), ask(nodeB!, path)])))
    for (const [i, [a, b]] of answers.entries()) {
      expect(a!.id).toBe(b!.id)
      const writer = (await loadStep(store!, a!.hashpath))?.writer
      expect([addressA, addressB]).toContain(writer)
      // The record stays the first one: B (which trusts A) answers from it when A wrote it.
      const again = await ask(nodeB!, paths[i]!)
      if (writer === addressA) expect(again.cache).toBe('hit')
      expect((await loadStep(store!, a!.hashpath))?.writer).toBe(writer)
    }
  })
})

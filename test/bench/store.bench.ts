/**
 * @module
 * Store benchmark: put and get throughput of every backend next to the raw library under it
 * (lmdb-js `put`/`getBinary`, ioredis `set`/`getBuffer`), for 1 KiB and 1 MiB values.
 *
 * Each measurement runs for a fixed time (HASHBEAM_BENCH_SECONDS, default 1.5 s) with
 * CONCURRENCY operations in flight, which is how a node uses its store and what lets LMDB group
 * commits. The raw rows are the ceiling: our LMDB rows add the wait for fsync (`flushed`) and
 * the transaction that keeps chunks consistent; our Redis rows add the Lua script that keeps
 * the key index in step. Data lives under os.tmpdir() and a unique Redis prefix, removed after.
 *
 *     npm run build && node dist/test/bench/store.bench.js
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { open as openLmdb } from 'lmdb'
import { openFsStore } from '../../devices/store/backends/fs.js'
import { openLmdbStore } from '../../devices/store/backends/lmdb.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { openRedisStore } from '../../devices/store/backends/redis.js'
import { REDIS_URL, redisUnavailableReason } from '../helpers/redis.js'

const CONCURRENCY = 16
const SIZES = [{ label: '1 KiB', bytes: 1024, keys: 2000 }, { label: '1 MiB', bytes: 1024 * 1024, keys: 64 }]

/** The two operations a row measures, whatever sits underneath. */
interface Target {
  readonly name: string
  put(key: string, value: Uint8Array): Promise<unknown>
  get(key: string): Promise<unknown> | unknown
  close(): Promise<void>
}

interface Rate { ops: number; mbps: number }

/** Runs `op` with CONCURRENCY in flight until `seconds` pass; returns ops/s and MB/s. */
async function measure(seconds: number, bytes: number, op: (i: number) => Promise<unknown> | unknown): Promise<Rate> {
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  let next = 0
  let done = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      await op(next++)
      done++
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  return { ops: done / elapsed, mbps: (done * bytes) / elapsed / 1e6 }
}


async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL)
  let cursor = '0'
  do {
    const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = nextCursor
    if (keys.length > 0) await client.unlink(...keys)
  } while (cursor !== '0')
  await client.quit()
}

/** Every target, in table order; Redis ones only when Redis answers. */
async function openTargets(dir: string, prefix: string, redisDown: string | undefined): Promise<Target[]> {
  const targets: Target[] = []
  const asTarget = (name: string, store: { put: Target['put']; get: Target['get']; close(): Promise<void> }): Target =>
    ({ name, put: (k, v) => store.put(k, v), get: (k) => store.get(k), close: () => store.close() })
  targets.push(asTarget('memory', memoryStore()))
  targets.push(asTarget('fs', await openFsStore({ root: join(dir, 'fs') })))
  targets.push(asTarget('lmdb', await openLmdbStore({ path: join(dir, 'lmdb') })))
  const raw = openLmdb({ path: join(dir, 'raw-lmdb'), encoding: 'binary', keyEncoding: 'binary' })
  targets.push({
    name: 'raw lmdb-js (no flushed wait)',
    put: (k, v) => raw.put(Buffer.from(k), v),
    get: (k) => raw.getBinary(Buffer.from(k)),
    close: () => raw.close(),
  })
  if (redisDown !== undefined) return targets
  targets.push(asTarget('redis', await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })))
  const client = new Redis(REDIS_URL)
  targets.push({
    name: 'raw ioredis',
    put: (k, v) => client.set(`${prefix}raw:${k}`, Buffer.from(v.buffer, v.byteOffset, v.length)),
    get: (k) => client.getBuffer(`${prefix}raw:${k}`),
    close: async () => { await client.quit() },
  })
  return targets
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1))

/** Runs the benchmark and returns a markdown table. */
export async function benchStore(options: { seconds?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? Number(process.env.HASHBEAM_BENCH_SECONDS ?? 1.5)
  const dir = await mkdtemp(join(tmpdir(), 'hashbeam-bench-store-'))
  const prefix = `hashbeam-bench:${randomBytes(6).toString('hex')}:`
  const redisDown = await redisUnavailableReason()
  const lines = [
    `Store throughput, ${CONCURRENCY} operations in flight, ${seconds} s per cell.`,
    '',
    '| backend | value | put ops/s | put MB/s | get ops/s | get MB/s |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ]
  const targets = await openTargets(dir, prefix, redisDown)
  try {
    for (const target of targets) {
      for (const size of SIZES) {
        const value = randomBytes(size.bytes)
        const key = (i: number): string => `bench/${size.bytes}/${i % size.keys}`
        const put = await measure(seconds, size.bytes, (i) => target.put(key(i), value))
        const get = await measure(seconds, size.bytes, (i) => target.get(key(i)))
        lines.push(`| ${target.name} | ${size.label} | ${fmt(put.ops)} | ${fmt(put.mbps)} | ${fmt(get.ops)} | ${fmt(get.mbps)} |`)
      }
    }
  } finally {
    for (const target of targets) await target.close()
    await rm(dir, { recursive: true, force: true })
    if (redisDown === undefined) await deleteRedisPrefix(prefix)
  }
  if (redisDown !== undefined) lines.push('', `Redis rows skipped: ${REDIS_URL} unreachable (${redisDown}).`)
  return lines.join('\n')
}

const invokedAs = process.argv[1]
if (invokedAs !== undefined && import.meta.url === pathToFileURL(invokedAs).href) {
  console.log(await benchStore())
}

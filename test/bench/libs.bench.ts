/**
 * Hand-written pieces kept on hot paths, next to the library that would replace them (issue
 * 13): the two-generation LRU (core/lru.ts) against `lru-cache` on a cache hit — what a cached
 * HTTP answer and a cached step cost — and the ledger's record reader (core/ledger.ts) against
 * the general DAG-CBOR decode, on real records written by the resolver. Alternating rounds,
 * medians; the ratios are what docs/benchmarks.md records.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decode as ipldDecode } from '@ipld/dag-cbor'
import { LRUCache } from 'lru-cache'
import { decodeCanonical } from '../../core/codec.js'
import { decodeStep, encodeStep } from '../../core/ledger.js'
import { createLru } from '../../core/lru.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import { stepKey } from '../../core/store.js'
import type { Logger } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { REPO_ROOT } from './paths.js'

const ROUNDS = 5
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Operations per second of `run(n)`, median over alternating rounds of every candidate. */
function compare(candidates: Record<string, (n: number) => unknown>, n: number): Record<string, number> {
  const rates: Record<string, number[]> = {}
  for (const name of Object.keys(candidates)) {
    candidates[name]!(n / 10) // warm-up
    rates[name] = []
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(candidates)) {
      const t = performance.now()
      run(n)
      rates[name]!.push(n / ((performance.now() - t) / 1000))
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, median(xs)]))
}

/** Cache hits on 512 resident keys shaped like the node's (43-character IDs), limit 1,000. */
function lruRows(): string[] {
  const keys = Array.from({ length: 512 }, (_, i) => `${'k'.repeat(36)}${String(i).padStart(7, '0')}`)
  const ours = createLru<string, object>(1000)
  const theirs = new LRUCache<string, object>({ max: 1000 })
  for (const key of keys) {
    ours.set(key, { key })
    theirs.set(key, { key })
  }
  let sink = 0
  const hits = (cache: { get(key: string): object | undefined }) => (n: number) => {
    for (let i = 0; i < n; i++) if (cache.get(keys[i & 511]!) !== undefined) sink++
  }
  const rates = compare({ ours: hits(ours), theirs: hits(theirs) }, 4_000_000)
  if (sink === 0) throw new Error('bench: no hits')
  // Misses that insert: 4,096 keys cycling through a 1,000-entry cache, every get a miss.
  const cycle = Array.from({ length: 4096 }, (_, i) => `${'m'.repeat(36)}${String(i).padStart(7, '0')}`)
  const inserts = (cache: { get(key: string): object | undefined; set(key: string, value: object): unknown }) => (n: number) => {
    for (let i = 0; i < n; i++) {
      const key = cycle[i & 4095]!
      if (cache.get(key) === undefined) cache.set(key, { key })
    }
  }
  const churn = compare({ ours: inserts(createLru(1000)), theirs: inserts(new LRUCache<string, object>({ max: 1000 })) }, 1_000_000)
  return [
    `| core/lru.ts, cache hit | ${fmt(rates.ours!)} gets/s | 1.00 |`,
    `| lru-cache ${LRU_CACHE_VERSION}, cache hit | ${fmt(rates.theirs!)} gets/s | ${(rates.theirs! / rates.ours!).toFixed(2)} |`,
    `| core/lru.ts, miss + set (evicting) | ${fmt(churn.ours!)} ops/s | 1.00 |`,
    `| lru-cache ${LRU_CACHE_VERSION}, miss + set (evicting) | ${fmt(churn.theirs!)} ops/s | ${(churn.theirs! / churn.ours!).toFixed(2)} |`,
  ]
}

/** A real step record, as the resolver stores it, and the same record with one non-ASCII byte. */
async function stepRecords(): Promise<{ layout: Uint8Array; general: Uint8Array }> {
  const store = memoryStore()
  const resolver = createResolver({ registry: createRegistry([messageDevice()]), store, log: silent })
  const { hashpath } = await resolver.resolve('/~message@1.0&hello=world/set&greeting=hi')
  const layout = await store.get(stepKey(hashpath))
  if (layout === undefined) throw new Error('bench: the resolver stored no step record')
  // The reader takes ASCII only; one "é" sends an otherwise identical record the general way.
  const record = decodeStep(layout)
  const general = encodeStep({ ...record, key: `${record.key}é` })
  return { layout, general }
}

async function recordRows(): Promise<string[]> {
  const { layout, general } = await stepRecords()
  const rates = compare({
    layout: (n) => { for (let i = 0; i < n; i++) decodeStep(layout) },
    general: (n) => { for (let i = 0; i < n; i++) decodeStep(general) },
    cborOnly: (n) => { for (let i = 0; i < n; i++) decodeCanonical(layout) },
    ipldOnly: (n) => { for (let i = 0; i < n; i++) ipldDecode(layout) },
  }, 200_000)
  const us = (rate: number) => (1e6 / rate).toFixed(2)
  return [
    `| decodeStep, record reader (core/ledger.ts) | ${fmt(rates.layout!)} records/s (${us(rates.layout!)} µs) | 1.00 |`,
    `| decodeStep, general DAG-CBOR path (same record, one non-ASCII byte) | ${fmt(rates.general!)} records/s (${us(rates.general!)} µs) | ${(rates.general! / rates.layout!).toFixed(2)} |`,
    `| decode alone: strict DAG-CBOR (core/codec.ts, cborg) | ${fmt(rates.cborOnly!)} records/s (${us(rates.cborOnly!)} µs) | ${(rates.cborOnly! / rates.layout!).toFixed(2)} |`,
    `| decode alone: @ipld/dag-cbor | ${fmt(rates.ipldOnly!)} records/s (${us(rates.ipldOnly!)} µs) | ${(rates.ipldOnly! / rates.layout!).toFixed(2)} |`,
  ]
}

const fmt = (rate: number): string => Math.round(rate).toLocaleString('en-US')
const LRU_CACHE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/lru-cache/package.json'), 'utf8')) as { version: string }).version

/** Runs the benchmark; returns markdown tables. */
export async function benchLibs(): Promise<string> {
  const lru = ['| what | rate | ratio to ours |', '| --- | --- | --- |', ...lruRows()]
  const records = ['| what | rate | ratio to the reader |', '| --- | --- | --- |', ...await recordRows()]
  return [...lru, '', ...records].join('\n')
}

/**
 * Ledger benchmarks (issue: replay): verify steps/s on a 100,000-step chain (target ≥ 100k/s),
 * replay time against the original execution of the same message steps (target ≤ 1.1×), and
 * export/import MB/s — in one process on the memory store, so the numbers are the code's; verify
 * also on LMDB, the node's default store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRegistry } from '../../core/registry.js'
import { createResolver, type Resolver } from '../../core/resolve.js'
import { replayHashpath } from '../../core/replay.js'
import { idOf } from '../../core/id.js'
import type { Logger, Message, Value } from '../../core/types.js'
import { verifyHashpath } from '../../core/verify.js'
import { messageDevice } from '../../devices/message/index.js'
import { exportChain } from '../../devices/replay/car.js'
import { importChain } from '../../devices/replay/import.js'
import { testSigner } from '../helpers/export-signer.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { openLmdbStore } from '../../devices/store/backends/lmdb.js'
import type { BatchOp, Store } from '../../core/store.js'

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }

function fresh(): Resolver {
  return createResolver({ registry: createRegistry([messageDevice()]), store: memoryStore(), log: silent })
}

/** Runs `steps` set-steps on one base; returns the last hashpath and the time taken. */
async function buildChain(resolver: Resolver, steps: number): Promise<{ hashpath: string; ms: number }> {
  let value: Value = { device: 'message@1.0', n: 0 }
  let hashpath = idOf(value as Message)
  const began = performance.now()
  for (let i = 1; i <= steps; i++) {
    const r = await resolver.step(value as Message, hashpath, { path: 'set', n: i })
    value = r.value
    hashpath = r.hashpath
  }
  return { hashpath, ms: performance.now() - began }
}

export async function benchReplay(): Promise<string> {
  const rows: string[] = []
  const big = fresh()
  const chain = await buildChain(big, 100_000)
  const verifyRate = async (store: Store): Promise<{ rate: number; ms: number }> => {
    const runs: number[] = []
    for (let i = 0; i < 4; i++) { // the first run warms the JIT; the median of the other three counts
      const t = performance.now()
      const report = await verifyHashpath(store, chain.hashpath)
      runs.push(performance.now() - t)
      if (!report.valid || report.steps !== 100_000) throw new Error('bench: the 100k chain did not verify')
    }
    const ms = [...runs.slice(1)].sort((a, b) => a - b)[1]!
    return { rate: 100_000 / (ms / 1000), ms }
  }
  const memory = await verifyRate(big.store)
  rows.push(`| verify a 100,000-step chain (memory store) | ${memory.rate.toFixed(0)} steps/s | ${(memory.ms / 1000).toFixed(2)} s | target ≥ 100,000 steps/s |`)
  // The same chain in the embedded store the node uses by default.
  const dir = mkdtempSync(join(tmpdir(), 'hashbeam-bench-verify-'))
  try {
    const lmdb = await openLmdbStore({ path: dir })
    let ops: BatchOp[] = []
    for await (const key of big.store.list('')) {
      ops.push({ type: 'put', key, value: (await big.store.get(key))! })
      if (ops.length === 10_000) { await lmdb.batch(ops); ops = [] }
    }
    await lmdb.batch(ops)
    const onDisk = await verifyRate(lmdb)
    rows.push(`| verify the same chain (LMDB store) | ${onDisk.rate.toFixed(0)} steps/s | ${(onDisk.ms / 1000).toFixed(2)} s | |`)
    await lmdb.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  const small = fresh()
  const original = await buildChain(small, 5_000)
  const r0 = performance.now()
  const replay = await replayHashpath(small, original.hashpath)
  const replayMs = performance.now() - r0
  if (replay.verified !== 5_000) throw new Error('bench: replay did not verify every step')
  rows.push(`| replay 5,000 message steps vs their original execution | ${(replayMs / original.ms).toFixed(2)}× | ${(replayMs / 1000).toFixed(2)} s vs ${(original.ms / 1000).toFixed(2)} s | target ≤ 1.1× |`)

  const e0 = performance.now()
  const car = await exportChain(small, original.hashpath, await testSigner())
  const exportMs = performance.now() - e0
  const i0 = performance.now()
  await importChain(memoryStore(), car)
  const importMs = performance.now() - i0
  const mb = car.byteLength / 1e6
  rows.push(`| export 5,000 steps as CAR (${mb.toFixed(1)} MB) | ${(mb / (exportMs / 1000)).toFixed(1)} MB/s | ${(exportMs / 1000).toFixed(2)} s | |`)
  rows.push(`| import that CAR (every block re-hashed) | ${(mb / (importMs / 1000)).toFixed(1)} MB/s | ${(importMs / 1000).toFixed(2)} s | |`)
  return ['| what | rate | time | target |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

/**
 * HTTP benchmark (issue: foundation): requests/s of `/~message@1.0&hello=world/hello` served
 * by a real node process, next to a bare hono hello-world served the same way, in one run;
 * plus in-process resolves/s. Load comes from autocannon in this process; each server runs in
 * its own child process, so on a 2-core machine client and server get one core each.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { REPO_ROOT } from './paths.js'
import { serverProcess } from './server-process.js'

const PATH = '/~message@1.0&hello=world/hello'
const ROUNDS = 3

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function load(url: string, seconds: number): Promise<number> {
  const result = await autocannon({ url, connections: 16, duration: seconds, pipelining: 1 })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`bench: ${result.non2xx} non-2xx, ${result.errors} errors from ${url}`)
  return result.requests.average
}

/** Runs the benchmark; returns a markdown table. */
export async function benchHttp(seconds = 4): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'hashbeam-bench-'))
  const rows: string[] = []
  try {
    const hono = await serverProcess([join(REPO_ROOT, 'dist/test/bench/bare-hono.js')])
    const node = await serverProcess([join(REPO_ROOT, 'bin/hashbeam.js'), 'serve', '--port', '0', '--data', data])
    try {
      await load(hono.url + PATH, 1) // warm-up both
      await load(node.url + PATH, 1)
      // Alternating rounds, medians compared: on a shared 2-core machine either server's rate
      // swings between runs (bare hono is often bound by the load generator, not itself).
      const bare: number[] = []
      const ours: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        bare.push(await load(hono.url + PATH, seconds))
        ours.push(await load(node.url + PATH, seconds))
      }
      const b = median(bare)
      const o = median(ours)
      const each = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ')
      rows.push(`| bare hono hello-world (same adapter) | ${b.toFixed(0)} req/s (rounds: ${each(bare)}) | 1.00 |`)
      rows.push(`| hashbeam \`${PATH}\` (LMDB, cache hit) | ${o.toFixed(0)} req/s (rounds: ${each(ours)}) | ${(o / b).toFixed(2)} (per round: ${ours.map((x, i) => (x / bare[i]!).toFixed(2)).join(', ')}) |`)
    } finally {
      await hono.stop()
      await node.stop()
    }
    const resolver = createResolver({ registry: createRegistry([messageDevice()]), store: memoryStore(), log: silentLog })
    for (const [label, cache] of [['in-process resolve, cache hit', {}], ['in-process resolve, no-cache (executes + compares)', { noCache: true }]] as const) {
      await resolver.resolve(PATH)
      const n = 20_000
      const t = performance.now()
      for (let i = 0; i < n; i++) await resolver.resolve(PATH, undefined, { cache })
      rows.push(`| ${label} | ${(n / ((performance.now() - t) / 1000)).toFixed(0)} resolves/s | — |`)
    }
  } finally {
    rmSync(data, { recursive: true, force: true })
  }
  return ['| what | rate | ratio to bare hono |', '| --- | --- | --- |', ...rows].join('\n')
}

const silentLog = { debug() {}, info() {}, warn() {}, error() {}, child() { return silentLog } }

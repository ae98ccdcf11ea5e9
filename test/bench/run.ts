/**
 * `npm run bench`: every benchmark, one after another on one machine (each in its own process),
 * printed as markdown to paste into docs/benchmarks.md. Pick some with `npm run bench -- http store`.
 */
import { spawnSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { benchBatch } from './batch.bench.js'
import { benchCluster } from './cluster.bench.js'
import { benchHttp } from './http.bench.js'
import { benchInfer } from './infer.bench.js'
import { benchLibs } from './libs.bench.js'
import { benchPool } from './pool.bench.js'
import { benchReplay } from './replay.bench.js'
import { benchStore } from './store.bench.js'

const BENCHES: Record<string, () => Promise<string>> = {
  batch: () => benchBatch(),
  cluster: () => benchCluster(),
  http: () => benchHttp(),
  infer: () => benchInfer(),
  libs: () => benchLibs(),
  pool: () => benchPool(),
  replay: () => benchReplay(),
  store: () => benchStore(),
}

/**
 * Each benchmark runs in a process of its own: one that ran before would otherwise leave its
 * heap and its JIT feedback (a store method seen with other argument shapes, say) to the next,
 * which measured verify 30% slower after the HTTP benchmark than alone.
 */
function runAlone(name: string): string {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--one', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (child.status !== 0) throw new Error(`benchmark "${name}" failed (exit ${child.status})`)
  return child.stdout
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--one') {
    const bench = BENCHES[args[1] ?? '']
    if (bench === undefined) throw new Error(`unknown benchmark "${args[1]}"`)
    process.stdout.write(await bench())
    return
  }
  const names = args.length > 0 ? args : Object.keys(BENCHES)
  for (const name of names) {
    if (BENCHES[name] === undefined) throw new Error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(', ')})`)
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  process.stdout.write(`# Benchmarks — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n\n`)
  for (const name of names) process.stdout.write(`## ${name}\n\n${runAlone(name)}\n\n`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})

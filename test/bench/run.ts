/**
 * `npm run bench`: every benchmark in one run on one machine, printed as markdown to paste into
 * docs/benchmarks.md. Pick some with `npm run bench -- http store`.
 */
import { cpus, totalmem } from 'node:os'
import { benchHttp } from './http.bench.js'
import { benchInfer } from './infer.bench.js'
import { benchReplay } from './replay.bench.js'
import { benchStore } from './store.bench.js'

const BENCHES: Record<string, () => Promise<string>> = {
  http: () => benchHttp(),
  infer: () => benchInfer(),
  replay: () => benchReplay(),
  store: () => benchStore(),
}

async function main(): Promise<void> {
  const picked = process.argv.slice(2)
  const names = picked.length > 0 ? picked : Object.keys(BENCHES)
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  process.stdout.write(`# Benchmarks — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n\n`)
  for (const name of names) {
    const bench = BENCHES[name]
    if (bench === undefined) throw new Error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(', ')})`)
    process.stdout.write(`## ${name}\n\n${await bench()}\n\n`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})

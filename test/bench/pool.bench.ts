/**
 * Inference-pool benchmark (issue 15): aggregate generated tokens/s through one dispatcher with
 * 1 worker and with 2 (each `--threads 1`), alternating rounds in one run, medians compared
 * (target ≥ 1.6× with 2 on a 2-core machine). A private redis-server (no persistence) holds the
 * queues; the dispatcher and workers are real `hashbeam serve` processes; 8 clients send
 * distinct prompts (no request is answered from a ledger), so every token is generated.
 *
 * Each round also reads the CPU time of every process of the pool from /proc (dispatcher,
 * workers, redis-server, this client) and of the whole machine, and reports µs of CPU per
 * generated token: on one 2-core machine the second worker only helps when the rest of the
 * pool costs little next to the worker's own work per token. The tiny model shows the pool's
 * overhead (a token costs its worker almost nothing); the medium model is the regime a pool is
 * for (the worker's compute dominates). Interleaved with the pool's rounds, the same worker
 * nodes are asked directly (no dispatcher, no Redis), 1 then 2: the ratio the machine itself
 * gives two engines, which bounds the pool's. `HASHBEAM_BENCH_POOL_MODELS=medium` runs one
 * model, `HASHBEAM_BENCH_POOL_ROUNDS` sets the rounds per row (default 3).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf, type GgufSize } from '../../devices/gpu-infer/gguf.js'
import { freePort } from '../helpers/process.js'
import { hashbeamServe, stopChild, type ServerProcess } from './server-process.js'
import { cpuMeter } from './proc-cpu.js'

const CLIENTS = 8
/** Every other client streams (server-sent events); off by default, as recorded in docs/benchmarks.md. */
const STREAMING = process.env.HASHBEAM_BENCH_POOL_STREAMING === '1'
/** Requests and tokens per round: about as many seconds per round for either model. */
const WORK: Record<'tiny' | 'medium', { requests: number; maxTokens: number }> = {
  tiny: { requests: 48, maxTokens: 48 },
  medium: { requests: 32, maxTokens: 64 },
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Completion tokens of one request; a streaming client reads every event to the `result` one. */
async function completionTokens(res: Response, stream: boolean): Promise<number> {
  if (res.status !== 200) throw new Error(`bench: ${res.status} ${await res.text()}`)
  if (!stream) return ((await res.json()) as { usage: { 'completion-tokens': number } }).usage['completion-tokens']
  const text = await res.text()
  const block = text.split('\n\n').find((b) => b.startsWith('event: result'))
  const data = block?.split('\n').find((l) => l.startsWith('data:'))?.slice(5)
  const tokens = data === undefined ? undefined : (JSON.parse(data) as { value?: { usage?: { 'completion-tokens'?: number } } }).value?.usage?.['completion-tokens']
  if (typeof tokens !== 'number') throw new Error(`bench: a streamed answer without a result: ${text.slice(-300)}`)
  return tokens
}

/**
 * Generated tokens and seconds of `requests` distinct requests from CLIENTS clients, spread over
 * `urls`. With HASHBEAM_BENCH_POOL_STREAMING=1 every other client streams (server-sent events).
 */
async function drive(urls: readonly string[], model: string, tag: string, requests: number, maxTokens: number): Promise<{ tokens: number; seconds: number }> {
  let next = 0
  let tokens = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
    const url = urls[client % urls.length]!
    const stream = STREAMING && client % 2 === 1
    while (next < requests) {
      const i = next++
      const res = await fetch(`${url}/~gpu-infer@1.0/run&model=${model}&prompt=${tag}%20${i}&max-tokens+integer=${maxTokens}&temperature+float=0.8${stream ? '&stream=true' : ''}`,
        { headers: { accept: stream ? 'text/event-stream' : 'application/json' } })
      // Not `tokens += await …`: that reads `tokens` before the await and loses what the other
      // clients added meanwhile (it undercounted every round while a streamed body was read).
      const got = await completionTokens(res, stream)
      tokens += got
    }
  }))
  return { tokens, seconds: (performance.now() - started) / 1000 }
}

async function untilWorkers(url: string, model: string, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const q = await (await fetch(`${url}/~gpu-infer@1.0/queue`, { headers: { accept: 'application/json' } })).json() as { models: Array<{ model: string; workers: number }> }
    if ((q.models.find((m) => m.model === model)?.workers ?? 0) === n) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`bench: ${n} workers never registered`)
}

/** `pool`: through the dispatcher; `plain`: the same worker nodes asked directly, no pool (the machine's own ceiling). */
type Kind = 'pool' | 'plain'
interface Round { kind: Kind; workers: 1 | 2; tokensPerSecond: number; tokens: number; cpuUsPerToken: Map<string, number>; othersUsPerToken: number; busyShare: number }
const ROLES = ['dispatcher', 'worker 1', 'worker 2', 'redis-server', 'client (bench)'] as const

/** Alternating rounds, 1 worker then 2, for one model size; returns the markdown section. */
async function benchSize(size: 'tiny' | 'medium', rounds: number): Promise<string> {
  const { requests, maxTokens } = WORK[size]
  const data = mkdtempSync(join(tmpdir(), `hashbeam-bench-pool-${size}-`))
  const children: ChildProcess[] = []
  try {
    const model = join(data, `${size}.gguf`)
    const bytes = await writeGguf(model, { size: size as GgufSize, seed: 11 })
    const port = await freePort()
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    children.push(redis)
    await new Promise((r) => setTimeout(r, 300))
    const pool = `redis://127.0.0.1:${port}/0`
    const workerArgs = (n: number) => ['--data', join(data, `w${n}`), '--store', 'memory', '--worker', pool, '--model', `${size}=${model}`,
      '--threads', '1', '--context-size', '512', '--max-queue', String(CLIENTS)]
    const dispatcher = await hashbeamServe(['--port', '0', '--data', join(data, 'd'), '--store', 'memory', '--dispatch', pool, '--no-demo-model', '--max-queue', '64'])
    children.push(dispatcher.child)
    const first = await hashbeamServe(['--port', '0', ...workerArgs(1)])
    children.push(first.child)
    await untilWorkers(dispatcher.url, size, 1)
    await drive([dispatcher.url], size, 'warm%20one', CLIENTS, maxTokens)
    const results: Round[] = []
    let seq = 0
    const measure = async (kind: Kind, workers: 1 | 2, second: ServerProcess | undefined): Promise<void> => {
      const pids = new Map<string, number>([['dispatcher', dispatcher.child.pid!], ['worker 1', first.child.pid!], ['redis-server', redis.pid!], ['client (bench)', process.pid]])
      if (second !== undefined) pids.set('worker 2', second.child.pid!)
      const urls = kind === 'pool' ? [dispatcher.url] : [first.url, ...(second === undefined ? [] : [second.url])]
      const meter = cpuMeter(pids)
      const run = await drive(urls, size, `round%20${seq++}`, requests, maxTokens)
      const cpu = meter.end()
      const ours = [...cpu.perProcess.values()].reduce((a, b) => a + b, 0)
      const us = (ms: number) => ms * 1000 / run.tokens
      results.push({
        kind, workers, tokens: run.tokens, tokensPerSecond: run.tokens / run.seconds,
        cpuUsPerToken: new Map([...cpu.perProcess].map(([name, ms]) => [name, us(ms)])),
        othersUsPerToken: us(Math.max(0, cpu.machineBusyMs - ours)), busyShare: cpu.machineBusyMs / cpu.machineTotalMs,
      })
    }
    for (let r = 0; r < rounds; r++) {
      await measure('pool', 1, undefined)
      await measure('plain', 1, undefined)
      const second = await hashbeamServe(['--port', '0', ...workerArgs(2)])
      await untilWorkers(dispatcher.url, size, 2)
      // The new worker's first jobs warm its caches; they are not measured.
      await drive([dispatcher.url], size, `warm%20two%20${r}`, CLIENTS, maxTokens)
      await measure('pool', 2, second)
      await measure('plain', 2, second)
      await stopChild(second.child)
      await untilWorkers(dispatcher.url, size, 1)
    }
    return table(size, bytes, requests, maxTokens, results)
  } finally {
    for (const child of children.reverse()) await stopChild(child)
    rmSync(data, { recursive: true, force: true })
  }
}

function table(size: string, bytes: number, requests: number, maxTokens: number, results: Round[]): string {
  const of = (kind: Kind, n: 1 | 2) => results.filter((r) => r.kind === kind && r.workers === n)
  const rate = (kind: Kind, n: 1 | 2) => median(of(kind, n).map((r) => r.tokensPerSecond))
  const perRound = (kind: Kind) => of(kind, 2).map((r, i) => (r.tokensPerSecond / of(kind, 1)[i]!.tokensPerSecond).toFixed(2)).join(', ')
  const cpuOf = (kind: Kind, n: 1 | 2, role: string) => {
    const xs = of(kind, n).map((r) => r.cpuUsPerToken.get(role)).filter((x): x is number => x !== undefined)
    return xs.length === 0 ? '–' : median(xs).toFixed(0)
  }
  const total = (kind: Kind, n: 1 | 2) => median(of(kind, n).map((r) => [...r.cpuUsPerToken.values()].reduce((a, b) => a + b, 0))).toFixed(0)
  const label = (kind: Kind, n: 1 | 2) => kind === 'pool' ? `pool, ${n} worker${n === 2 ? 's' : ''}` : `plain node${n === 2 ? 's' : ''} asked directly, ${n}`
  const rows = [['pool', 1], ['pool', 2], ['plain', 1], ['plain', 2]] as const
  const rateRow = (kind: Kind, n: 1 | 2) => `| ${label(kind, n)} | ${rate(kind, n).toFixed(0)} (${of(kind, n).map((r) => r.tokensPerSecond.toFixed(0)).join(', ')}) | ` +
    `${n === 1 ? '1.00' : `**${(rate(kind, 2) / rate(kind, 1)).toFixed(2)}** (${perRound(kind)})`} | ${(100 * median(of(kind, n).map((r) => r.busyShare))).toFixed(0)}% |`
  return [
    `### ${size} model (${(bytes / 1e6).toFixed(1)} MB)`,
    '',
    `${requests} distinct requests per round (${maxTokens} tokens max, temperature 0.8) from ${CLIENTS} clients${STREAMING ? ', half of them streaming' : ', answers as JSON'}; ` +
      `each worker \`--threads 1\`, \`--parallel 1\`; ${of('pool', 1).length} rounds of each row, interleaved (pool 1, plain 1, pool 2, plain 2), medians. ` +
      'The plain rows ask the same worker nodes directly (clients split between them), no dispatcher: what the machine gives two engines without the pool.',
    '',
    '| path | generated tokens/s (rounds) | 2 vs 1 (per round) | machine busy |',
    '| --- | --- | --- | --- |',
    ...rows.map(([kind, n]) => rateRow(kind, n)),
    '',
    'CPU per generated token (µs, utime + stime from /proc, median over rounds; the dispatcher idles in the plain rows); "other processes" is the rest of the machine\'s busy time in the same interval:',
    '',
    `| path | ${ROLES.join(' | ')} | ours, total | other processes |`,
    `| --- | ${ROLES.map(() => '---').join(' | ')} | --- | --- |`,
    ...rows.map(([kind, n]) => `| ${label(kind, n)} | ${ROLES.map((role) => cpuOf(kind, n, role)).join(' | ')} | ${total(kind, n)} | ${median(of(kind, n).map((r) => r.othersUsPerToken)).toFixed(0)} |`),
  ].join('\n')
}

/** Runs the benchmark; returns markdown. */
export async function benchPool(): Promise<string> {
  const sizes = (process.env.HASHBEAM_BENCH_POOL_MODELS ?? 'tiny,medium').split(',').map((s) => s.trim()) as Array<'tiny' | 'medium'>
  for (const s of sizes) if (WORK[s] === undefined) throw new Error(`bench: pool models are tiny or medium, not "${s}"`)
  const rounds = Number(process.env.HASHBEAM_BENCH_POOL_ROUNDS ?? 3)
  const start = loadavg()
  const sections: string[] = []
  for (const size of sizes) sections.push(await benchSize(size, rounds))
  const end = loadavg()
  return [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; load average ${start.map((x) => x.toFixed(2)).join(' ')} at the start, ${end.map((x) => x.toFixed(2)).join(' ')} at the end.`,
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n')
}

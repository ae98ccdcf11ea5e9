/**
 * Inference-pool benchmark (issue 15): aggregate generated tokens/s through one dispatcher with
 * 1 worker, then with 2 (each `--threads 1`), in one run (target ≥ 1.6× with 2 on a 2-core
 * machine). A private redis-server (no persistence) holds the queues; the dispatcher and workers
 * are real `hashbeam serve` processes on the generated tiny model; 8 clients send distinct
 * prompts (no request is answered from a ledger), so every token is generated.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { freePort } from '../helpers/process.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../../devices/gpu-infer/gguf.js'
import { REPO_ROOT } from './paths.js'

const CLIENTS = 8
const REQUESTS = 48
const MAX_TOKENS = 48


function serve(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/hashbeam.js'), 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT, env: { ...process.env, HASHBEAM_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  return new Promise((done, fail) => {
    const onData = (c: Buffer) => {
      out += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m?.[1] !== undefined) done({ url: m[1], child })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => fail(new Error(`server exited ${code}: ${out}`)))
  })
}

const stop = (child: ChildProcess) => new Promise<void>((done) => {
  if (child.exitCode !== null || child.signalCode !== null) return done()
  child.once('exit', () => done())
  child.kill('SIGTERM')
})

/** Tokens/s of REQUESTS distinct requests from CLIENTS clients. */
async function rate(url: string, tag: string): Promise<number> {
  let next = 0
  let tokens = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < REQUESTS) {
      const i = next++
      const res = await fetch(`${url}/~gpu-infer@1.0/run&model=tiny&prompt=${tag}%20${i}&max-tokens+integer=${MAX_TOKENS}&temperature+float=0.8`, { headers: { accept: 'application/json' } })
      if (res.status !== 200) throw new Error(`bench: ${res.status} ${await res.text()}`)
      tokens += ((await res.json()) as { usage: { 'completion-tokens': number } }).usage['completion-tokens']
    }
  }))
  return tokens / ((performance.now() - started) / 1000)
}

async function untilWorkers(url: string, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const q = await (await fetch(`${url}/~gpu-infer@1.0/queue`, { headers: { accept: 'application/json' } })).json() as { models: Array<{ model: string; workers: number }> }
    if (q.models.find((m) => m.model === 'tiny')?.workers === n) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`bench: ${n} workers never registered`)
}

/** Runs the benchmark; returns a markdown table. */
export async function benchPool(): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'hashbeam-bench-pool-'))
  const children: ChildProcess[] = []
  try {
    const model = join(data, 'tiny.gguf')
    await writeGguf(model, { size: 'tiny', seed: 11 })
    const port = await freePort()
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    children.push(redis)
    await new Promise((r) => setTimeout(r, 300))
    const pool = `redis://127.0.0.1:${port}/0`
    const workerArgs = (n: number) => ['--data', join(data, `w${n}`), '--store', 'memory', '--worker', pool, '--model', `tiny=${model}`, '--threads', '1', '--context-size', '512']
    const dispatcher = await serve(['--data', join(data, 'd'), '--store', 'memory', '--dispatch', pool, '--no-demo-model', '--max-queue', '64'])
    children.push(dispatcher.child)
    children.push((await serve(workerArgs(1))).child)
    await untilWorkers(dispatcher.url, 1)
    await rate(dispatcher.url, 'warm%20one')
    const one = await rate(dispatcher.url, 'one%20worker')
    children.push((await serve(workerArgs(2))).child)
    await untilWorkers(dispatcher.url, 2)
    await rate(dispatcher.url, 'warm%20two')
    const two = await rate(dispatcher.url, 'two%20workers')
    return [
      `${REQUESTS} distinct requests (tiny model, ${MAX_TOKENS} tokens, temperature 0.8) from ${CLIENTS} clients through one dispatcher; each worker \`--threads 1\`.`,
      '',
      '| workers | generated tokens/s | ratio |',
      '| --- | --- | --- |',
      `| 1 | ${one.toFixed(0)} | 1.00 |`,
      `| 2 | ${two.toFixed(0)} | ${(two / one).toFixed(2)} |`,
    ].join('\n')
  } finally {
    for (const child of children.reverse()) await stop(child)
    rmSync(data, { recursive: true, force: true })
  }
}

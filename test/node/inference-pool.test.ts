/**
 * The inference pool (issue 15) with real processes on loopback: a dispatcher (`--dispatch`, no
 * model) and two workers (`--worker`) on the generated tiny model, a private redis-server for the
 * pool (so it can be killed and restarted), the shared ledger on the suite's Redis (database 13,
 * a prefix of this run's own), and a fresh single node as the reference for every answer.
 * Processes are reused across the cases, in order: results, one execution, a worker killed
 * mid-stream, a full queue, a client that leaves, Redis restarted.
 */
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { ask, getJson, keygenIn, poolHarness, until, type Answer, type Ask } from '../helpers/pool.js'
import { startServer, type ServerProcess } from '../helpers/process.js'

const harness = await poolHarness('inference pool')
const { skip, poolRedis } = harness
const LEASE_MS = 1500
// Prompts the generated tiny model (seed 11) answers greedily with all 450 tokens (checked by
// hand): jobs long enough to kill a worker, cancel or lose Redis in the middle of.
let models: ModelDir
let modelPath = ''
const dirs = Array.from({ length: 5 }, () => tempDir())
let solo: ServerProcess
let dispatcher: ServerProcess
let workers: ServerProcess[] = []
let addresses: string[] = []
const engineFlags = () => ['--model', `tiny=${modelPath}`, '--threads', '1', '--context-size', '512']
const poolFlags = () => harness.poolFlags(LEASE_MS)
const json = getJson
const queueOf = async (node: ServerProcess) => json(`${node.url}/~gpu-infer@1.0/queue`)
const tinyStats = async (node: ServerProcess) => ((await queueOf(node)).models as Array<Record<string, number>>).find((m) => (m as unknown as { model: string }).model === 'tiny')
const executions = async () => (await Promise.all(workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)
  .map(async (w) => Number(((await queueOf(w)).worker as { executions: number }).executions)))).reduce((a, b) => a + b, 0)

/** Answers of the same requests on the fresh single node, one at a time. */
async function soloAnswers(specs: readonly Ask[]): Promise<Answer[]> {
  const out: Answer[] = []
  for (const spec of specs) out.push(await ask(solo.url, spec))
  return out
}

/** The PID in the lease of the job running now (consumer names are `<address>:<pid>:<random>`). */
async function runningWorkerPid(): Promise<number | undefined> {
  const client = new Redis(poolRedis!.url)
  try {
    const leases = await client.keys('hashbeam:pool:lease:*')
    const holder = leases[0] === undefined ? null : await client.get(leases[0])
    return holder === null ? undefined : Number(holder.split(':')[1])
  } finally {
    client.disconnect()
  }
}

beforeAll(async () => {
  if (skip) return
  models = await modelDir()
  modelPath = await models.make('tiny', { size: 'tiny', seed: 11, chatTemplate: true })
  addresses = await keygenIn(dirs.slice(2, 4).map((d) => d.dir))
  const pool = poolRedis!.url
  ;[solo, ...workers] = await Promise.all([
    startServer(['--data', dirs[0]!.dir, '--wallet', sharedWalletPath(), ...engineFlags()]),
    ...dirs.slice(2, 4).map((d) => startServer(['--data', d.dir, '--wallet', join(d.dir, 'wallet.json'), '--worker', pool, ...engineFlags(), ...poolFlags()], { HASHBEAM_LOG_LEVEL: 'info' })),
  ])
  dispatcher = await startServer(['--data', dirs[1]!.dir, '--wallet', sharedWalletPath(), '--dispatch', pool, '--no-demo-model', '--max-queue', '64',
    ...poolFlags(), ...addresses.map((a) => `--trust=${a}`)])
  await until('two live workers', async () => (await tinyStats(dispatcher))?.workers === 2)
}, 120_000)

afterAll(async () => {
  await Promise.all([solo, dispatcher, ...workers].map((p) => p?.stop('SIGKILL')))
  await poolRedis?.kill()
  for (const d of dirs) d.cleanup()
  await models?.cleanup()
  await harness.dropLedger()
})

describe.skipIf(skip)('inference pool: dispatcher + 2 workers on loopback', () => {
  it('40 concurrent mixed requests: every ao-id and text equals the same request run alone', { timeout: 120_000 }, async () => {
    const surfaces = ['path', 'completion', 'chat'] as const
    const specs: Ask[] = Array.from({ length: 40 }, (_, i) => ({
      surface: surfaces[i % 3]!, prompt: `pool request ${i % 20}`, stream: i % 4 < 2, maxTokens: 8,
      ...(i % 2 === 1 ? { temperature: 0.8 } : {}),
    }))
    const pooled = await Promise.all(specs.map((spec) => ask(dispatcher.url, spec)))
    const alone = await soloAnswers(specs)
    pooled.forEach((answer, i) => {
      expect(answer.error, `request ${i}`).toBeUndefined()
      expect([answer.status, answer.id, answer.text], `request ${i}`).toEqual([200, alone[i]!.id, alone[i]!.text])
    })
    // Both workers took part (pulling, not pushing: neither is told which jobs to take).
    const served = await Promise.all(workers.map(async (w) => Number(((await queueOf(w)).worker as { completed: number }).completed)))
    expect(served.every((n) => n > 0), `completed per worker: ${served}`).toBe(true)
  })

  it('10 identical concurrent requests run once in the cluster', async () => {
    const spec: Ask = { surface: 'completion', prompt: 'ten of the same', stream: false, maxTokens: 48, temperature: 0.5 }
    const before = await executions()
    const answers = await Promise.all(Array.from({ length: 10 }, () => ask(dispatcher.url, spec)))
    expect(new Set(answers.map((a) => a.id)).size).toBe(1)
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(await executions()).toBe(before + 1)
    // Afterwards the shared ledger answers: no job at all.
    const again = await ask(dispatcher.url, spec)
    expect([again.id, again.headers.get('ao-cache')]).toEqual([answers[0]!.id, 'hit'])
    expect(await executions()).toBe(before + 1)
  })

  it('a streaming client that joins a job nobody streamed gets the whole text, identical to the solo run', async () => {
    // Jobs whose clients do not stream publish no tokens (only their result); a streaming client
    // that joins one flags it, and the worker then publishes every token so far and the rest.
    // Greedy and 450 tokens long (see above): the job still runs when the second client joins.
    const quiet: Ask = { surface: 'completion', prompt: 'on and on', stream: false, maxTokens: 450 }
    const loud: Ask = { ...quiet, stream: true }
    const before = await executions()
    const first = ask(dispatcher.url, quiet)
    await until('the job to start', async () => (await runningWorkerPid()) !== undefined, 200, 10)
    const [late, early] = await Promise.all([ask(dispatcher.url, loud), first])
    const [reference] = await soloAnswers([loud])
    expect([late.status, early.status]).toEqual([200, 200])
    expect([late.id, late.text]).toEqual([reference!.id, reference!.text])
    expect(early.text).toBe(reference!.text)
    expect(await executions()).toBe(before + 1)
    // Token by token, not the whole text at the end (which the surface would also send).
    expect(late.pieces.length, String(late.text.length)).toBeGreaterThan(10)
  })

  it('kill -9 of the worker streaming a job: the stream continues, identical to the solo run', { timeout: 60_000 }, async () => {
    const spec: Ask = { surface: 'path', prompt: 'a long story', stream: true, maxTokens: 450 }
    let killed: ServerProcess | undefined
    const answer = await ask(dispatcher.url, spec, {
      onPiece: () => {
        if (killed !== undefined) return
        killed = workers[0] // marks the kill as started; replaced below by the one actually running the job
        void runningWorkerPid().then((pid) => {
          killed = workers.find((w) => w.child.pid === pid)
          killed?.child.kill('SIGKILL')
        })
      },
    })
    expect(killed?.child.pid).toBeDefined()
    const [reference] = await soloAnswers([spec])
    expect(answer.error).toBeUndefined()
    expect([answer.id, answer.text]).toEqual([reference!.id, reference!.text])
    await killed!.stop('SIGKILL')
    workers = workers.filter((w) => w !== killed)
    expect(killed!.child.signalCode).toBe('SIGKILL')
    // The job really changed hands mid-stream: its events name two runs by two workers.
    const client = new Redis(poolRedis!.url)
    try {
      const runs: string[][] = []
      for (const key of await client.keys('hashbeam:pool:ev:*')) {
        const starts = (await client.xrange(key, '-', '+')).map(([, f]) => f).filter((f) => f[1] === 'start')
        runs.push(starts.map((f) => f[f.indexOf('worker') + 1]!))
      }
      expect(runs.some((r) => r.length === 2 && r[0] !== r[1]), JSON.stringify(runs)).toBe(true)
    } finally {
      client.disconnect()
    }
  })

  it('a full queue answers 503 with retry-after; the rest complete', { timeout: 60_000 }, async () => {
    const small = await startServer(['--data', dirs[4]!.dir, '--wallet', sharedWalletPath(), '--dispatch', poolRedis!.url, '--no-demo-model',
      '--max-queue', '1', ...poolFlags(), ...addresses.map((a) => `--trust=${a}`)])
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        ask(small.url, { surface: 'path', prompt: `crowd ${i}`, stream: false, maxTokens: 64, temperature: 0.9 })))
      const refused = answers.filter((a) => a.status === 503)
      expect(refused.length).toBeGreaterThan(0)
      for (const r of refused) {
        expect((r.error as { code: string }).code).toBe('queue-full')
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      }
      expect(answers.filter((a) => a.status === 200).length + refused.length).toBe(6)
    } finally {
      await small.stop()
    }
  })

  it('a client that leaves frees its job: waiting ones leave the queue, a running one stops', { timeout: 60_000 }, async () => {
    const worker = workers[0]!
    const before = await executions()
    // The one worker left is busy with a long job, so the second waits in the queue.
    const busy = ask(dispatcher.url, { surface: 'path', prompt: 'again and again', stream: false, maxTokens: 450 })
    await until('the long job to run', async () => (await tinyStats(dispatcher))?.['in-flight'] === 1, 100, 20)
    const leaving = new AbortController()
    const waiting = ask(dispatcher.url, { surface: 'chat', prompt: 'never mind', stream: false, maxTokens: 400 }, { signal: leaving.signal }).catch((e: Error) => e)
    await until('the second job to wait', async () => (await tinyStats(dispatcher))?.waiting === 1, 100, 20)
    leaving.abort()
    expect(await waiting).toBeInstanceOf(Error)
    await until('the waiting job to leave the queue', async () => (await tinyStats(dispatcher))?.waiting === 0, 100, 20)
    expect((await busy).status).toBe(200)
    expect(await executions()).toBe(before + 1)
    // A running job: the client leaves after the first token; the worker stops it.
    const stopping = new AbortController()
    const streamed = ask(dispatcher.url, { surface: 'path', prompt: 'count to many', stream: true, maxTokens: 450 },
      { signal: stopping.signal, onPiece: () => stopping.abort() }).catch((e: Error) => e)
    await streamed
    await until('the worker to cancel the job', async () => Number(((await queueOf(worker)).worker as { cancelled: number }).cancelled) === 1)
    expect(await executions()).toBe(before + 1)
  })

  it('Redis restarted mid-run: requests in flight fail with 503, the cluster recovers without restarts', { timeout: 60_000 }, async () => {
    // One worker is left: the streamed job runs, the plain one waits behind it; then Redis goes.
    let firstPiece!: () => void
    const started = new Promise<void>((done) => { firstPiece = done })
    const streamed = ask(dispatcher.url, { surface: 'path', prompt: 'endless', stream: true, maxTokens: 450 }, { onPiece: () => firstPiece() })
    await started
    const plain = ask(dispatcher.url, { surface: 'completion', prompt: 'also in flight', stream: false, maxTokens: 400 })
    await until('the plain job to wait', async () => (await tinyStats(dispatcher))?.waiting === 1, 100, 10)
    await poolRedis!.restart()
    const [s, p] = await Promise.all([streamed, plain])
    expect(s.error).toMatchObject({ status: 503, code: 'pool-unavailable' })
    expect([p.status, (p.error as { error: { code: string } } | undefined)?.error.code]).toEqual([503, 'pool-unavailable'])
    const spec: Ask = { surface: 'path', prompt: 'after the restart', stream: true, maxTokens: 8 }
    let after: Answer | undefined
    await until('the pool to answer again', async () => {
      after = await ask(dispatcher.url, spec)
      return after.status === 200 && after.error === undefined
    }, 60, 250)
    const [reference] = await soloAnswers([spec])
    expect([after!.id, after!.text]).toEqual([reference!.id, reference!.text])
  })
})

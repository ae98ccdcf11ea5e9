/**
 * The inference pool (issue 15) where it must not give way, with real processes on loopback: a
 * dispatcher (`--dispatch`, no model), an honest worker on the generated tiny model, a private
 * redis-server for the pool and the shared ledger on the suite's Redis (database 13, a prefix of
 * this run's own).
 *
 * - Fairness: one worker (one thread, one slot), a signer who floods the queue and one who asks
 *   for a few; the worker's own log gives the order it ran the jobs in.
 * - Determinism fault: a second worker that departs from the first from its first token (the
 *   TEST-ONLY injector, `HASHBEAM_TEST_FAULT_AT=first`, refused without HASHBEAM_TEST_MODE=1);
 *   the worker streaming a job is killed, the other re-executes it and cannot reproduce the text
 *   the client already has. (Failover between identical workers: inference-pool.test.ts.)
 */
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { laneOf } from '../../devices/gpu-infer/dispatch-keys.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { ask, getJson, keygenIn, poolHarness, until, type Ask } from '../helpers/pool.js'
import { startServer, type ServerProcess } from '../helpers/process.js'

const harness = await poolHarness('inference pool faults')
const { skip, poolRedis } = harness
// Long enough that the dispatcher still counts a stopped worker as live (3 leases) while the
// fairness case queues its jobs; short enough for a quick failover in the fault case.
const LEASE_MS = 4000
const POOL_PREFIX = 'hashbeam:pool:'
let models: ModelDir
let modelPath = ''
const dirs = Array.from({ length: 3 }, () => tempDir())
let dispatcher: ServerProcess
let honest: ServerProcess
let addresses: string[] = []
const workerFlags = (dir: string) => ['--data', dir, '--wallet', join(dir, 'wallet.json'), '--worker', poolRedis!.url,
  '--model', `tiny=${modelPath}`, '--threads', '1', '--parallel', '1', '--context-size', '512', ...poolFlags()]
const poolFlags = () => harness.poolFlags(LEASE_MS)
const json = getJson
const liveWorkers = async () => ((await json(`${dispatcher.url}/~gpu-infer@1.0/queue`)).models as Array<{ model: string; workers: number }>)
  .find((m) => m.model === 'tiny')?.workers

async function withPoolRedis<T>(work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(poolRedis!.url)
  try { return await work(client) } finally { client.disconnect() }
}

/** Hashpaths of the jobs a worker executed, in the order its log says it ran them (one slot). */
const executedInOrder = (worker: ServerProcess): string[] => worker.stdout().split('\n').flatMap((line) => {
  if (!line.includes('pool: job executed')) return []
  const entry = JSON.parse(line) as { msg?: string; hashpath?: string }
  return entry.msg === 'pool: job executed' && entry.hashpath !== undefined ? [entry.hashpath] : []
})

/** Two fresh signers whose jobs go to different fairness lanes (1 in 8 pairs share one: retry). */
async function signersInTwoLanes(): Promise<[Wallet, Wallet]> {
  const first = await createWallet('ed25519')
  for (let i = 0; i < 40; i++) {
    const second = await createWallet('ed25519')
    if (laneOf(walletAddress(second)) !== laneOf(walletAddress(first))) return [first, second]
  }
  throw new Error('no two signers in different lanes in 40 tries')
}

beforeAll(async () => {
  if (skip) return
  models = await modelDir()
  modelPath = await models.make('tiny', { size: 'tiny', seed: 11, chatTemplate: true })
  addresses = await keygenIn(dirs.slice(1).map((d) => d.dir))
  honest = await startServer(workerFlags(dirs[1]!.dir), { HASHBEAM_LOG_LEVEL: 'info' })
  dispatcher = await startServer(['--data', dirs[0]!.dir, '--wallet', sharedWalletPath(), '--dispatch', poolRedis!.url, '--no-demo-model',
    '--max-queue', '64', ...poolFlags(), ...addresses.map((a) => `--trust=${a}`)])
  await until('the worker to be live', async () => (await liveWorkers()) === 1)
}, 120_000)

afterAll(async () => {
  honest?.child.kill('SIGCONT')
  await Promise.all([dispatcher, honest].map((p) => p?.stop('SIGKILL')))
  await poolRedis?.kill()
  for (const d of dirs) d.cleanup()
  await models?.cleanup()
  await harness.dropLedger()
})

describe.skipIf(skip)('inference pool: fairness and determinism faults on loopback', () => {
  it('one worker serves two signers round-robin: a flood from one does not make the other wait for all of it', { timeout: 90_000 }, async () => {
    const [greedy, modest] = await signersInTwoLanes()
    const laneKey = (w: Wallet) => `${POOL_PREFIX}q:tiny:${laneOf(walletAddress(w))}`
    const queued = (w: Wallet) => withPoolRedis((c) => c.xlen(laneKey(w)))
    const job = (who: string, i: number): Ask => ({ surface: 'path', prompt: `${who} asks, job ${i}`, stream: false, maxTokens: 8 })
    // The worker is held (SIGSTOP) while both signers queue, so the order it then serves in
    // depends on the lanes alone, not on a race between submissions and the worker.
    honest.child.kill('SIGSTOP')
    let flood: Array<ReturnType<typeof ask>> = []
    let few: Array<ReturnType<typeof ask>> = []
    try {
      flood = Array.from({ length: 12 }, (_, i) => ask(dispatcher.url, job('greedy', i), { signer: greedy }))
      await until('the flood to be queued', async () => (await queued(greedy)) === 12, 150, 50)
      few = Array.from({ length: 3 }, (_, i) => ask(dispatcher.url, job('modest', i), { signer: modest }))
      await until('the few to be queued after it', async () => (await queued(modest)) === 3, 150, 50)
    } finally {
      honest.child.kill('SIGCONT')
    }
    const [greedyAnswers, modestAnswers] = await Promise.all([Promise.all(flood), Promise.all(few)])
    const who = new Map<string, string>()
    for (const [mark, answers] of [['G', greedyAnswers], ['M', modestAnswers]] as const) {
      for (const a of answers) {
        expect([a.status, a.error]).toEqual([200, undefined])
        who.set(a.headers.get('hashpath')!, mark)
      }
    }
    expect(who.size).toBe(15)
    const ran = () => executedInOrder(honest).filter((hp) => who.has(hp))
    // The log is written asynchronously: its last line may come just after the last answer.
    await until('the worker to log all 15 jobs', async () => ran().length === 15, 50, 100)
    const order = ran().map((hp) => who.get(hp)).join('')
    // The rule: while two lanes hold jobs, neither is served twice in a row. So the modest
    // signer's 3 jobs are among the first 6 run, alternating with the flood (first-come order
    // would run them last: 12 G, then 3 M).
    expect(order, `execution order by signer: ${order}`).toMatch(/^(GM){3}G{9}$|^(MG){3}G{9}$/)
  })

  it('a re-execution that differs from the streamed text: the client gets determinism-fault, the record names both workers and their profiles', { timeout: 90_000 }, async () => {
    // The second worker departs from the first at the first character of every result.
    const liar = await startServer(workerFlags(dirs[2]!.dir), {
      HASHBEAM_LOG_LEVEL: 'info', HASHBEAM_TEST_MODE: '1', HASHBEAM_TEST_FAULT_EVERY: '1', HASHBEAM_TEST_FAULT_AT: 'first',
    })
    try {
      await until('two live workers', async () => (await liveWorkers()) === 2)
      const workers = [honest, liar]
      const profiles = await Promise.all(workers.map((w) => json(`${w.url}/~gpu-infer@1.0/profile`)))
      // A prompt the generated tiny model (seed 11) answers with all 450 tokens (inference-pool.test.ts):
      // the job still runs when the kill comes.
      const spec: Ask = { surface: 'path', prompt: 'a long story', stream: true, maxTokens: 450 }
      let killed: number | undefined
      let killing = false
      const answer = await ask(dispatcher.url, spec, {
        onPiece: () => {
          if (killing) return
          killing = true
          // Whichever worker runs the job (the lease names its PID) dies with text already sent.
          void withPoolRedis(async (c) => {
            const lease = (await c.keys(`${POOL_PREFIX}lease:*`))[0]
            return lease === undefined ? null : c.get(lease)
          }).then((holder) => {
            killed = workers.findIndex((w) => w.child.pid === Number(holder?.split(':')[1]))
            workers[killed]?.child.kill('SIGKILL')
          })
        },
      })
      expect(killed === 0 || killed === 1, `killed worker index ${killed}`).toBe(true)
      const survivor = 1 - killed!
      expect(answer.pieces.length).toBeGreaterThan(0)
      expect(answer.error).toMatchObject({ status: 502, code: 'determinism-fault' })
      // The fault record: listed under the pool's `faults` key, stored in the shared ledger.
      const faults = await withPoolRedis((c) => c.lrange(`${POOL_PREFIX}faults`, 0, -1))
      expect(faults.length).toBe(1)
      expect((answer.error as { message: string }).message).toContain(faults[0])
      const record = await json(`${dispatcher.url}/${faults[0]}`)
      expect(record).toMatchObject({ type: 'determinism-fault', at: 0 })
      expect(record.published).not.toEqual(record.reproduced)
      // Both workers, the one that streamed first and the one that re-executed, with their profiles.
      expect(record.workers).toEqual([
        { address: addresses[killed!], profile: profiles[killed!] },
        { address: addresses[survivor], profile: profiles[survivor] },
      ])
      // Nothing half-done answers later: the job is gone from the queue, no lease is left.
      await until('the job to leave the pool', () => withPoolRedis(async (c) =>
        (await c.keys(`${POOL_PREFIX}lease:*`)).length === 0 && (await c.xlen(`${POOL_PREFIX}q:tiny:anon`)) === 0))
    } finally {
      await liar.stop('SIGKILL')
    }
  })
})

/**
 * Issue 18's acceptance: nodes that check each other. A router, three workers and two checkers,
 * each a real `hashbeam serve` process on 127.0.0.1 with its own data dir and wallet, on one
 * Redis ledger (a key prefix of this run). One worker runs the TEST-ONLY fault injector
 * (HASHBEAM_TEST_MODE=1, HASHBEAM_TEST_FAULT_EVERY=5: one output token changed in every 5th
 * result). The checker at rate 0.5 (same profile) proves the fault within 60 requests, the router
 * benches the liar for the model, the proof verifies offline with `hashbeam verify-fault`, and no
 * honest worker is blamed over 300 requests. The second checker runs another profile
 * (--context-size): it records determinism gaps naming that field, never a fault proof.
 * verify=2 answers on an honest pair, and 409 with a proof once the liar is in the pair.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { loadOrCreateWallet } from '../../node/wallet-file.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { deletePrefix, redisGate, REDIS_URL, uniquePrefix } from '../devices/store/redis-env.js'
import { tempDir } from '../helpers/node.js'
import { signPrivileged } from '../helpers/operator.js'
import { freePort, runCli, startServer, type ServerProcess } from '../helpers/process.js'

const { skip } = await redisGate()
const prefix = uniquePrefix('peer-check')
const dirs = Array.from({ length: 6 }, () => tempDir())
const started: ServerProcess[] = []
// A fixed checker key: with the seeded model and fixed prompts the selection is the same each run.
const SECRET = '5eed'.repeat(16)
const MODEL_ARGS = ['--threads', '1', '--context-size', '256', '--receipts', 'always']
let models: ModelDir
let operator: Wallet
let router: ServerProcess
let checker: ServerProcess
let gapChecker: ServerProcess
const workers: Array<{ url: string; address: string }> = []
let liar = ''
let sent = 0


async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const p = await startServer(args, { HASHBEAM_LOG_LEVEL: 'warn', ...env })
  started.push(p)
  return p
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what}: not within ${ms} ms`)
}

interface NodeRow { address: string; checks: { checked: number; agreed: number; faults: number; gaps: number }; benched: Array<{ 'model-sha256': string }> }
const nodesNow = async (): Promise<NodeRow[]> => ((await (await fetch(`${router.url}/~router@1.0/nodes`)).json()) as { nodes: NodeRow[] }).nodes
const faultsNow = async (): Promise<Record<string, Array<{ proof: unknown; by: string }>>> =>
  ((await (await fetch(`${router.url}/~router@1.0/faults`)).json()) as { faults: Record<string, Array<{ proof: unknown; by: string }>> }).faults

/** One inference through the router: a prompt no other request uses, 3 tokens. */
async function infer(extra = '', init: RequestInit = {}): Promise<Response> {
  const n = sent++
  return fetch(`${router.url}/~gpu-infer@1.0/run&model=tiny&prompt=request%20number%20${n}&max-tokens+integer=3${extra}`, { headers: { accept: 'application/json' }, ...init })
}

async function signedPost(path: string): Promise<Response> {
  const url = `${router.url}${path}`
  return fetch(url, signPrivileged(operator, { url, method: 'POST' }, { params: { created: Math.floor(Date.now() / 1000) } }))
}

beforeAll(async () => {
  if (skip) return
  models = await modelDir()
  const model = await models.make('tiny', { size: 'tiny', seed: 11 })
  operator = await createWallet('ed25519')
  const wallets = await Promise.all([1, 2, 3, 4, 5].map((i) => loadOrCreateWallet(join(dirs[i]!.dir, 'wallet.json'), 'ed25519')))
  const addresses = wallets.map(walletAddress)
  router = await serve(['--data', dirs[0]!.dir, '--store', 'memory', '--router', '--wallet-kind', 'ed25519', '--no-demo-model',
    '--operator', walletAddress(operator), ...addresses.flatMap((a) => ['--admit', a])])
  const store = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`
  const common = (i: number) => ['--data', dirs[i]!.dir, '--wallet', join(dirs[i]!.dir, 'wallet.json'), '--store', store, '--no-demo-model', '--model', `tiny=${model}`]
  const ports = [await freePort(), await freePort(), await freePort()]
  await Promise.all([0, 1, 2].map(async (i) => {
    const trust = addresses.filter((_, j) => j !== i).flatMap((a) => ['--trust', a])
    // Worker 2 lies: the TEST-ONLY injector, refused without HASHBEAM_TEST_MODE=1.
    const env = i === 2 ? { HASHBEAM_TEST_MODE: '1', HASHBEAM_TEST_FAULT_EVERY: '5' } : {}
    await serve([...common(i + 1), '--port', String(ports[i]), '--join', router.url, ...MODEL_ARGS, ...trust], env)
    workers[i] = { url: `http://127.0.0.1:${ports[i]}`, address: addresses[i]! }
  }))
  liar = workers[2]!.address
  checker = await serve([...common(4), ...MODEL_ARGS, '--check-peers', '0.5', '--check-router', router.url, '--check-secret', SECRET])
  // Another profile: the context size differs.
  gapChecker = await serve([...common(5), '--threads', '1', '--context-size', '512', '--check-peers', '0.1', '--check-router', router.url, '--check-secret', SECRET])
  await until(async () => (await nodesNow()).length === 3, 20_000, 'three workers registered')
}, 120_000)

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')))
  for (const d of dirs) d.cleanup()
  await models?.cleanup()
  if (!skip) await deletePrefix(prefix)
})

describe.skipIf(skip)('peer checks: a router, three workers (one lying), two checkers on one Redis ledger', () => {
  it('the fault injector is refused outside test mode', async () => {
    const refused = await startServer(['--data', dirs[0]!.dir, '--store', 'memory', '--no-demo-model'], { HASHBEAM_TEST_FAULT_EVERY: '5', HASHBEAM_TEST_MODE: '' })
      .then((p) => p.stop('SIGKILL').then(() => 'started'), (err: Error) => err.message)
    expect(refused).toMatch(/test-only fault injector/)
  })

  it('the checker proves the liar\'s fault within 60 requests; the router benches it for the model', async () => {
    let provenAt = 0
    for (let i = 0; i < 60 && provenAt === 0; i++) {
      const res = await infer()
      expect(res.status).toBe(200)
      await res.arrayBuffer()
      if ((await faultsNow())[liar] !== undefined) provenAt = sent
    }
    // The checker works behind the feed: the last results sent may still be in its backlog.
    if (provenAt === 0) await until(async () => (await faultsNow())[liar] !== undefined, 30_000, 'a fault proven for the first 60 requests')
    const faults = await faultsNow()
    expect(Object.keys(faults)).toEqual([liar])
    const liarRow = (await nodesNow()).find((n) => n.address === liar)!
    expect(liarRow.benched).toHaveLength(1)
    expect(liarRow.checks.faults).toBeGreaterThanOrEqual(1)
    // Out of rotation for the model: no inference goes to it any more.
    for (let i = 0; i < 12; i++) {
      const res = await infer()
      expect(res.status).toBe(200)
      expect(res.headers.get('hashbeam-node')).not.toBe(liar)
      await res.arrayBuffer()
    }
    // The proof, checked offline by a third party.
    const file = join(dirs[0]!.dir, 'proof.json')
    writeFileSync(file, JSON.stringify(faults[liar]![0]!.proof))
    const verdict = await runCli(['verify-fault', file])
    expect(verdict.code).toBe(0)
    expect(JSON.parse(verdict.stdout)).toMatchObject({ valid: true })
  }, 240_000)

  it('no honest worker is blamed over 300 requests; the other-profile checker records gaps, never a proof', async () => {
    while (sent < 300) {
      const batch = await Promise.all([infer(), infer()])
      for (const res of batch) {
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
    }
    await until(async () => {
      const status = await (await fetch(`${checker.url}/~checker@1.0/status`, { headers: { accept: 'application/json' } })).json() as { selected: number; checked: number; skipped: number; errors: number }
      return status.checked + status.skipped + status.errors >= status.selected
    }, 60_000, 'the checker caught up')
    const rows = await nodesNow()
    for (const honest of workers.filter((w) => w.address !== liar)) {
      const row = rows.find((n) => n.address === honest.address)!
      expect(row.benched).toEqual([])
      expect(row.checks.faults).toBe(0)
      expect(row.checks.agreed).toBeGreaterThan(10)
    }
    expect(Object.keys(await faultsNow())).toEqual([liar])
    const gaps = await (await fetch(`${gapChecker.url}/~checker@1.0/status`, { headers: { accept: 'application/json' } })).json() as { faults: number; gaps: number; agreed: number; recent: Array<{ outcome: string; id: string; fields: string[] }> }
    expect(gaps.faults).toBe(0)
    expect(gaps.agreed).toBe(0)
    expect(gaps.gaps).toBeGreaterThan(0)
    expect(gaps.recent.every((r) => r.outcome === 'gap')).toBe(true)
    expect(gaps.recent[0]!.fields).toEqual(['context-size'])
    const record = await (await fetch(`${gapChecker.url}/${gaps.recent[0]!.id}`, { headers: { accept: 'application/json' } })).json() as Record<string, unknown>
    expect(record).toMatchObject({ type: 'hashbeam-determinism-gap', fields: ['context-size'] })
  }, 400_000)

  it('verify=2: an honest pair answers; with the liar in the pair, 409 with a fault proof', async () => {
    const ok = await infer('?verify=2')
    expect(ok.status).toBe(200)
    expect(ok.headers.get('hashbeam-verified')).toBe('2')
    expect(ok.headers.get('hashbeam-verified-by')).not.toContain(liar)
    // Only the operator puts the liar back.
    expect((await fetch(`${router.url}/~router@1.0/clear-fault?node=${liar}`, { method: 'POST' })).status).toBe(403)
    expect((await signedPost(`/~router@1.0/clear-fault?node=${liar}`)).status).toBe(200)
    expect((await nodesNow()).find((n) => n.address === liar)!.benched).toEqual([])
    // The liar with one honest worker, in a route of their own; the liar tampers with every 5th result.
    const route = JSON.stringify({ template: '^/~gpu-infer@1\\.0/', nodes: [workers[0]!.url, workers[2]!.url], strategy: 'All', priority: 1 })
    const url = `${router.url}/~router@1.0/routes`
    const body = new TextEncoder().encode(route)
    const set = await fetch(url, signPrivileged(operator, { url, headers: { 'content-type': 'text/plain', 'inline-body-key': 'route' }, body }, { params: { created: Math.floor(Date.now() / 1000) } }))
    expect(set.status).toBe(200)
    let conflict: Response | undefined
    for (let i = 0; i < 6 && conflict === undefined; i++) {
      const res = await infer('?verify=2')
      if (res.status === 409) conflict = res
      else {
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
    }
    expect(conflict).toBeDefined()
    const report = await conflict!.json() as { code: string; divergence: Array<{ node: string; result: string }>; 'fault-proofs': unknown[] }
    expect(report.code).toBe('verification-diverged')
    expect(report.divergence.map((d) => d.node).sort()).toEqual([workers[0]!.address, liar].sort())
    expect(report['fault-proofs'].length).toBeGreaterThanOrEqual(1)
    const file = join(dirs[0]!.dir, 'quorum-proof.json')
    writeFileSync(file, JSON.stringify(report['fault-proofs'][0]))
    expect((await runCli(['verify-fault', file])).code).toBe(0)
    expect((await infer('?verify=4')).status).toBe(400)
  }, 120_000)
})

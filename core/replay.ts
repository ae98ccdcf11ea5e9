/**
 * @module
 * replay(hashpath): re-execute every step of a chain from its stored inputs with this node's
 * devices, and compare result IDs (DESIGN §5). Where verify proves the ledger is intact, replay
 * proves the computation: the same inputs through the same devices give the same outputs.
 *
 * Each step is judged on its own recorded inputs, so one divergence does not hide the rest:
 * - verified      the recomputed result ID equals the recorded one;
 * - unverifiable  the step was recorded as non-deterministic (a clock read, …): never "passing";
 * - divergent     a reason: `output-mismatch` (same profile, different result: a fault),
 *                 `profile-mismatch` (the result names a runtime profile other than ours: a
 *                 difference of machines, not a fault), `missing-input`, `device-missing`.
 * The report gives the counts and the first divergence.
 *
 * Promotion (docs/security.md, "Ledger provenance"): a record no trusted key stands behind
 * (imported from an untrusted signer, or from before records named writers) is never an answer.
 * When replay reproduces it — and every step before it reproduced too, so its base is the
 * honest one — this node now stands behind it: the record is rewritten with this node as its
 * writer (`promoted`). Nothing else ever replaces a record.
 */
import { CorruptionError, isAoError } from './errors.js'
import { encodeStep, loadMessage, loadStep, type StepRecord } from './ledger.js'
import { stepKey } from './store.js'
import { recordedImplementation } from './implementation.js'
import { isMessage } from './message.js'
import type { Resolver } from './resolve.js'
import type { Message } from './types.js'
import { verifyHashpath } from './verify.js'
import { chainWalker, type WalkLimits } from './walk.js'

export type DivergenceReason = 'output-mismatch' | 'profile-mismatch' | 'missing-input' | 'device-missing' | 'implementation-changed'

export interface Divergence {
  readonly step: number
  readonly hashpath: string
  readonly expected: string
  readonly got: string | null
  readonly reason: DivergenceReason
  readonly detail?: string
}

export interface ReplayReport {
  readonly hashpath: string
  readonly steps: number
  readonly verified: number
  readonly unverifiable: number
  readonly divergent: number
  readonly 'first-divergence': Divergence | null
  /** Untrusted records this replay reproduced and made this node's own. */
  readonly promoted: number
  /** Replay only runs on an intact ledger: the verify report when it was not. */
  readonly ledger?: { valid: false; reason: string; message: string }
}

/**
 * The chain of records from the root to `hashpath`, oldest first. The walk is bounded
 * (core/walk.ts): a cycle or a chain past the limit is a 422, and it yields as it goes.
 */
export async function chainOf(resolver: Resolver, hashpath: string, limits?: WalkLimits): Promise<StepRecord[]> {
  const chain: StepRecord[] = []
  const walk = chainWalker(hashpath, limits)
  let at: string | undefined = hashpath
  while (at !== undefined) {
    const record = await loadStep(resolver.store, at)
    if (record === undefined) break
    chain.push(record)
    if (walk.due()) await walk.pause()
    at = record.base.includes('/') ? walk.next(record.base) : undefined
  }
  return chain.reverse()
}

/** Re-executes one recorded step; null when it reproduced the recorded result. */
async function replayStep(resolver: Resolver, record: StepRecord, base: Message, step: number): Promise<Divergence | null> {
  const diverge = (reason: DivergenceReason, got: string | null, detail?: string): Divergence => ({
    step, hashpath: record.hashpath, expected: record.result, got, reason, ...(detail === undefined ? {} : { detail }),
  })
  if (!resolver.registry.has(record.device)) return diverge('device-missing', null, `this node has no ${record.device}`)
  const hints = resolver.registry.get(record.device).replay
  // A missing or damaged input is a damaged ledger: it propagates, and verify names it.
  const req = await loadMessage(resolver.store, record.request)
  let got: string
  let value: unknown
  try {
    const result = await resolver.step(base, record.base, req, { cache: { noCache: true, noStore: true } })
    if (result.hashpath !== record.hashpath) throw new CorruptionError(`replay: ${record.hashpath} recomputes to ${result.hashpath}`, { code: 'corrupt-record' })
    got = result.id
    value = result.value
  } catch (err) {
    if (isAoError(err) && err.code === 'corrupt-record') throw err
    if (isAoError(err) && hints?.missingInputCodes?.includes(err.code) === true) return diverge('missing-input', null, err.message)
    return diverge('output-mismatch', null, `re-execution failed: ${(err as Error).message}`)
  }
  if (got === record.result) return null
  // A device whose code changed since it wrote the step: not a fault, a new implementation.
  const implementation = resolver.registry.get(record.device).implementation
  if (implementation !== undefined) {
    const wroteWith = await recordedImplementation(resolver.store, record.hashpath)
    if (wroteWith !== implementation) return diverge('implementation-changed', got, `recorded by ${wroteWith ?? 'an unnamed implementation'}, replayed with ${implementation}`)
  }
  const recorded = await loadMessage(resolver.store, record.result).catch(() => undefined)
  const ours = isMessage(value as Message) ? hints?.profileOf?.(value as Message) : undefined
  const theirs = recorded === undefined ? undefined : hints?.profileOf?.(recorded)
  if (ours !== undefined && theirs !== undefined && ours !== theirs) {
    return diverge('profile-mismatch', got, `recorded on profile ${theirs}, replayed on ${ours}`)
  }
  return diverge('output-mismatch', got)
}

/** The report of a chain whose ledger is damaged: what verify finds, nothing replayed. */
async function damaged(resolver: Resolver, hashpath: string): Promise<ReplayReport | undefined> {
  const ledger = await verifyHashpath(resolver.store, hashpath)
  if (ledger.valid) return undefined
  return {
    hashpath, steps: ledger.steps, verified: 0, unverifiable: 0, divergent: 0, 'first-divergence': null, promoted: 0,
    ledger: { valid: false, reason: ledger.failure?.reason ?? 'unknown', message: ledger.failure?.message ?? '' },
  }
}

/**
 * Replays a hashpath against this node's devices. The ledger is checked on the way (every
 * message is hash-checked as it is loaded, every recomputed hashpath compared with its record);
 * only when something does not match does a full verify run, to name the damage.
 */
export async function replayHashpath(resolver: Resolver, hashpath: string): Promise<ReplayReport> {
  let verified = 0
  let unverifiable = 0
  let promoted = 0
  const { ledger } = resolver
  // True while every step so far reproduced: only then is a step's base the honest one.
  let clean = true
  const divergences: Divergence[] = []
  let chain: StepRecord[] = []
  try {
    chain = await chainOf(resolver, hashpath)
    if (chain.length === 0) return (await damaged(resolver, hashpath)) ?? emptyReport(hashpath)
    let base = await loadMessage(resolver.store, chain[0]?.base ?? hashpath)
    const turns = chainWalker(hashpath) // only for its clock: the chain was walked already
    for (const [i, record] of chain.entries()) {
      if (turns.due()) await turns.pause()
      if (!record.deterministic) {
        unverifiable++
        clean = false
      } else {
        const divergence = await replayStep(resolver, record, base, i + 1)
        if (divergence === null) verified++
        else divergences.push(divergence)
        if (divergence !== null) clean = false
        else if (clean && ledger.self !== '' && record.writer !== ledger.self && !ledger.trusts(record.writer)) {
          await resolver.store.put(stepKey(record.hashpath), encodeStep({ ...record, writer: ledger.self }))
          promoted++
        }
      }
      // The next step runs on the *recorded* result, so each step is judged on its own inputs.
      base = await loadMessage(resolver.store, record.result)
    }
  } catch (err) {
    if (!isAoError(err) || err.status === 508) throw err
    return (await damaged(resolver, hashpath)) ?? emptyReport(hashpath)
  }
  return { hashpath, steps: chain.length, verified, unverifiable, divergent: divergences.length, 'first-divergence': divergences[0] ?? null, promoted }
}

const emptyReport = (hashpath: string): ReplayReport => ({
  hashpath, steps: 0, verified: 0, unverifiable: 0, divergent: 0, 'first-divergence': null, promoted: 0,
  ledger: { valid: false, reason: 'missing-record', message: `no step record for ${hashpath}` },
})

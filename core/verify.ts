/**
 * @module
 * verify(hashpath): walk the step records back to the root ID, recompute every hashpath by the
 * rule of core/hashpath.ts, and check that every message a record names exists and hashes to
 * its ID (DESIGN §5). Nothing is executed, so it is fast; `replay` re-executes.
 *
 * The report names the first failing step (1 = the first step after the root, 0 = the root
 * message), so a flipped byte anywhere in the chain points at where it is.
 */
import { isAoError } from './errors.js'
import { hashpathAlgOf, hashpathOf, splitHashpath } from './hashpath.js'
import { loadMessage, loadStep, type StepRecord } from './ledger.js'
import type { Store } from './store.js'
import type { Message } from './types.js'
import { MESSAGE_DEVICE } from './dispatch.js'
import { normalizeKey } from './message.js'

/** Why a step failed verification. */
export type VerifyFailureReason =
  | 'missing-record' | 'corrupt-record' | 'missing-message' | 'corrupt-message'
  | 'hashpath-mismatch' | 'record-mismatch' | 'chain-too-long' | 'invalid-hashpath'

export interface VerifyFailure {
  /** 0 = the root message, n = the n-th step; absent when the walk back failed before the root. */
  readonly step?: number
  readonly hashpath: string
  readonly reason: VerifyFailureReason
  readonly message: string
}

export interface VerifyReport {
  readonly valid: boolean
  readonly hashpath: string
  /** The root message ID the chain starts from (when reached). */
  readonly root?: string
  /** Number of step records walked. */
  readonly steps: number
  /** Steps flagged non-deterministic (verify checks them; replay cannot). */
  readonly nondeterministic: number
  readonly failure?: VerifyFailure
}

export const DEFAULT_MAX_CHAIN = 1_000_000

class StepFailure extends Error {
  readonly reason: VerifyFailureReason
  /** The hashpath being read when a walk back failed. */
  readonly at: string | undefined
  constructor(reason: VerifyFailureReason, message: string, at?: string) {
    super(message)
    this.reason = reason
    this.at = at
  }
}

async function load(store: Store, id: string): Promise<Message> {
  try {
    return await loadMessage(store, id)
  } catch (err) {
    if (isAoError(err) && err.status === 404) throw new StepFailure('missing-message', err.message)
    if (isAoError(err)) throw new StepFailure('corrupt-message', err.message)
    throw err
  }
}

async function walkBack(store: Store, hashpath: string, maxChain: number): Promise<StepRecord[]> {
  const chain: StepRecord[] = []
  let at = hashpath
  for (;;) {
    if (chain.length >= maxChain) throw new StepFailure('chain-too-long', `more than ${maxChain} steps`)
    let record: StepRecord | undefined
    try {
      record = await loadStep(store, at)
    } catch (err) {
      if (isAoError(err)) throw new StepFailure('corrupt-record', err.message, at)
      throw err
    }
    if (record === undefined) throw new StepFailure('missing-record', `no step record for ${at}`, at)
    if (record.hashpath !== at) throw new StepFailure('record-mismatch', `record stored at ${at} claims ${record.hashpath}`, at)
    chain.push(record)
    if (!record.base.includes('/')) return chain.reverse()
    at = record.base
  }
}

/** Verifies a hashpath against the store. Never throws for a bad chain: it reports. */
export async function verifyHashpath(store: Store, hashpath: string, maxChain = DEFAULT_MAX_CHAIN): Promise<VerifyReport> {
  try {
    splitHashpath(hashpath)
  } catch (err) {
    return { valid: false, hashpath, steps: 0, nondeterministic: 0, failure: { hashpath, reason: 'invalid-hashpath', message: (err as Error).message } }
  }
  let chain: StepRecord[]
  try {
    chain = await walkBack(store, hashpath, maxChain)
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    // Walking back, the root (and so the step number) is not known yet: the hashpath names it.
    const at = err.at ?? hashpath
    return { valid: false, hashpath, steps: 0, nondeterministic: 0, failure: { hashpath: at, reason: err.reason, message: err.message } }
  }
  const root = chain[0]?.base ?? hashpath
  const nondeterministic = chain.filter((r) => !r.deterministic).length
  const report = { hashpath, root, steps: chain.length, nondeterministic }
  let step = 0
  let at = root
  try {
    let base = await load(store, root)
    for (const record of chain) {
      step += 1
      at = record.hashpath
      const req = await load(store, record.request)
      const result = await load(store, record.result)
      const expected = hashpathOf(record.base, req, hashpathAlgOf(base))
      if (expected !== record.hashpath) {
        throw new StepFailure('hashpath-mismatch', `recomputed ${expected}, recorded ${record.hashpath}`)
      }
      const device = typeof req['as-device'] === 'string' ? req['as-device'] : typeof base.device === 'string' ? base.device : MESSAGE_DEVICE
      const key = typeof req.path === 'string' ? normalizeKey(req.path) : ''
      if (record.device !== device || record.key !== key || record.alg !== hashpathAlgOf(base)) {
        throw new StepFailure('record-mismatch', `record says ${record.device} "${record.key}", the messages say ${device} "${key}"`)
      }
      base = result
    }
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    return { valid: false, ...report, failure: { step, hashpath: at, reason: err.reason, message: err.message } }
  }
  return { valid: true, ...report }
}

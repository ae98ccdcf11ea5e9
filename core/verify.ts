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
import { decodeMessage } from './codec.js'
import { DEFAULT_HASHPATH_ALG, hashpathAlgOf, nextHashpath, splitHashpath, type HashpathAlg } from './hashpath.js'
import { idOfBytes } from './id.js'
import { isBareKeyRequest } from './message.js'
import { messageKey } from './store.js'
import { loadStep, type StepRecord } from './ledger.js'
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

/** A message's bytes, checked against its ID. */
async function loadBytes(store: Store, id: string): Promise<Uint8Array> {
  const bytes = await store.get(messageKey(id))
  if (bytes === undefined) throw new StepFailure('missing-message', `store: no message ${id}`)
  if (idOfBytes(bytes) !== id) throw new StepFailure('corrupt-message', `store: message ${id} does not hash to its ID`)
  return bytes
}

function decodeOrFail(bytes: Uint8Array): Message {
  try {
    return decodeMessage(bytes)
  } catch (err) {
    throw new StepFailure('corrupt-message', (err as Error).message)
  }
}

const DEVICE_KEY = new TextEncoder().encode('device')
const ALG_KEY = new TextEncoder().encode('hashpath-alg')

/**
 * What the next step needs from its base: the device and the hashpath algorithm. A map whose
 * bytes do not contain the text "device" cannot have that key, so most results (inference
 * outputs included) are never decoded here.
 */
function baseFacts(bytes: Uint8Array): { device: string; alg: HashpathAlg } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.indexOf(DEVICE_KEY) === -1 && buf.indexOf(ALG_KEY) === -1) return { device: MESSAGE_DEVICE, alg: DEFAULT_HASHPATH_ALG }
  const base = decodeOrFail(bytes)
  return { device: typeof base.device === 'string' ? base.device : MESSAGE_DEVICE, alg: hashpathAlgOf(base) }
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
    let base = baseFacts(await loadBytes(store, root))
    for (const record of chain) {
      step += 1
      at = record.hashpath
      const req = decodeOrFail(await loadBytes(store, record.request))
      const result = await loadBytes(store, record.result)
      // The request's ID was just checked against its bytes: no need to re-encode it.
      const part = isBareKeyRequest(req) && typeof req.path === 'string' && req.path !== '' ? req.path : record.request
      const expected = nextHashpath(record.base, part, base.alg)
      if (expected !== record.hashpath) {
        throw new StepFailure('hashpath-mismatch', `recomputed ${expected}, recorded ${record.hashpath}`)
      }
      const device = typeof req['as-device'] === 'string' ? req['as-device'] : base.device
      const key = typeof req.path === 'string' ? normalizeKey(req.path) : ''
      if (record.device !== device || record.key !== key || record.alg !== base.alg) {
        throw new StepFailure('record-mismatch', `record says ${record.device} "${record.key}", the messages say ${device} "${key}"`)
      }
      base = baseFacts(result)
    }
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    return { valid: false, ...report, failure: { step, hashpath: at, reason: err.reason, message: err.message } }
  }
  return { valid: true, ...report }
}

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
import { DEFAULT_HASHPATH_ALG, nextHashpath, splitHashpath, type HashpathAlg } from './hashpath.js'
import { idOfBytes } from './id.js'
import { isBareKeyRequest } from './message.js'
import { messageKey, stepKey } from './store.js'
import { decodeStep, type LedgerTrust, type StepRecord } from './ledger.js'
import type { Store } from './store.js'
import type { Message } from './types.js'
import { MESSAGE_DEVICE } from './dispatch.js'
import { normalizeKey } from './message.js'
import { chainWalker, DEFAULT_MAX_CHAIN } from './walk.js'
import { indexOfBytes } from './bytes.js'

/** Why a step failed verification. */
export type VerifyFailureReason =
  | 'missing-record' | 'corrupt-record' | 'missing-message' | 'corrupt-message'
  | 'hashpath-mismatch' | 'record-mismatch' | 'chain-too-long' | 'chain-cycle' | 'invalid-hashpath'

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
  /**
   * Who stands behind each step, root to end, as runs of consecutive steps by one writer
   * (`from`/`to` are step numbers; writer `''` = nobody known). Absent when the walk back broke.
   */
  readonly writers?: readonly WriterRun[]
  /** With a trust policy: steps whose record no trusted key stands behind (never answers). */
  readonly untrusted?: number
}

export interface WriterRun {
  readonly writer: string
  readonly from: number
  readonly to: number
  /** With a trust policy: whether this node answers from this writer's records. */
  readonly trusted?: boolean
}

export { DEFAULT_MAX_CHAIN }

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

/** A message's bytes as read from the store, checked against its ID. */
function checked(bytes: Uint8Array | undefined, id: string): Uint8Array {
  if (bytes === undefined) throw new StepFailure('missing-message', `store: no message ${id}`)
  if (idOfBytes(bytes) !== id) throw new StepFailure('corrupt-message', `store: message ${id} does not hash to its ID`)
  return bytes
}

/** A message read and checked against its ID. */
const loadBytes = async (store: Pick<Store, 'get'>, id: string): Promise<Uint8Array> => checked(await store.get(messageKey(id)), id)

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
interface BaseFacts {
  readonly device: string
  /** As the message says it; a value that is no algorithm simply matches no record. */
  readonly alg: unknown
}

function baseFacts(bytes: Uint8Array): BaseFacts {
  if (indexOfBytes(bytes, DEVICE_KEY) === -1 && indexOfBytes(bytes, ALG_KEY) === -1) return { device: MESSAGE_DEVICE, alg: DEFAULT_HASHPATH_ALG }
  const base = decodeOrFail(bytes)
  return { device: typeof base.device === 'string' ? base.device : MESSAGE_DEVICE, alg: base['hashpath-alg'] ?? DEFAULT_HASHPATH_ALG }
}

/** What one step's own messages say, read as its record is met walking back. */
interface StepCheck {
  /** Counted from the end of the chain: 1 = the step that produced the verified hashpath. */
  readonly fromEnd: number
  readonly record: StepRecord
  /** The request could not be read or decoded: the step's first failure. */
  readonly unreadable?: StepFailure
  /** What the request contributes to the hashpath, and what the record must then say. */
  readonly part?: string
  readonly asDevice?: string
  readonly key?: string
  /** The result could not be read: this step's last failure. */
  readonly late?: StepFailure
}

/**
 * Checks one record's request and result as read. The request's ID was checked against its
 * bytes, so it is never re-encoded. The hashpath link and the record's consistency need the base's
 * facts (its device and algorithm), which walking back are known one step later: `finish`.
 */
function checkStep(record: StepRecord, fromEnd: number, request: Uint8Array | undefined, result: Uint8Array | undefined): { check: StepCheck; facts?: BaseFacts } {
  let check: StepCheck
  try {
    const req = decodeOrFail(checked(request, record.request))
    check = {
      fromEnd, record,
      part: isBareKeyRequest(req) && typeof req.path === 'string' && req.path !== '' ? req.path : record.request,
      asDevice: typeof req['as-device'] === 'string' ? req['as-device'] : undefined,
      key: typeof req.path === 'string' ? normalizeKey(req.path) : '',
    }
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    check = { fromEnd, record, unreadable: err }
  }
  try {
    return { check, facts: baseFacts(checked(result, record.result)) }
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    return { check: { ...check, late: err } }
  }
}

const isAlg = (alg: unknown): alg is HashpathAlg => alg === 'sha-256-chain' || alg === 'accumulate-256'

/**
 * The step's failure, in the forward walk's order — request, link, record, result — now that
 * its base's facts are known (undefined: the base could not be read, so an earlier step failed
 * and is the one reported; the record's own algorithm stands in for the link).
 */
function finish(check: StepCheck, base: BaseFacts | undefined): StepFailure | undefined {
  if (check.unreadable !== undefined) return check.unreadable
  const { record } = check
  const alg = base !== undefined && isAlg(base.alg) ? base.alg : record.alg
  let expected: string
  try {
    expected = nextHashpath(record.base, check.part!, alg)
  } catch (err) {
    if (!isAoError(err)) throw err
    return new StepFailure('hashpath-mismatch', err.message) // a malformed base is a broken link
  }
  if (expected !== record.hashpath) return new StepFailure('hashpath-mismatch', `recomputed ${expected}, recorded ${record.hashpath}`)
  if (base !== undefined) {
    const device = check.asDevice ?? base.device
    if (record.device !== device || record.key !== check.key || record.alg !== base.alg) {
      return new StepFailure('record-mismatch', `record says ${record.device} "${record.key}" (${record.alg}), the messages say ${device} "${check.key}" (${String(base.alg)})`)
    }
  }
  return check.late
}

/**
 * Verifies a hashpath against the store. Never throws for a bad chain: it reports.
 *
 * One pass from the end back to the root: each step is checked as its record is read, so
 * nothing is held per step (a 100,000-step chain used to keep every record alive until a
 * second, forward pass). The report is the forward walk's: a broken link back is reported
 * first, else the failing step nearest the root, numbered from it.
 */
export async function verifyHashpath(store: Pick<Store, 'get'>, hashpath: string, maxChain = DEFAULT_MAX_CHAIN, trust?: LedgerTrust): Promise<VerifyReport> {
  try {
    splitHashpath(hashpath)
  } catch (err) {
    return { valid: false, hashpath, steps: 0, nondeterministic: 0, failure: { hashpath, reason: 'invalid-hashpath', message: (err as Error).message } }
  }
  let at = hashpath
  let steps = 0
  let nondeterministic = 0
  const walk = chainWalker(hashpath, { maxSteps: maxChain })
  let pending: StepCheck | undefined
  // Writers walking back, as runs: [writer, steps] from the end of the chain.
  const runs: Array<[string, number]> = []
  let run: [string, number] = ['', 0]
  // The failing step nearest the root found so far (walking back, each find replaces the last).
  let first: { check: StepCheck | undefined; failure: StepFailure } | undefined
  const settle = (facts: BaseFacts | undefined): void => {
    const failure = pending === undefined ? undefined : finish(pending, facts)
    if (failure !== undefined) first = { check: pending, failure }
  }
  try {
    for (;;) {
      // The reads are awaited here and everything else is synchronous: at 100,000 steps, every
      // promise an async helper would add per step shows in the rate.
      const record = recordAt(at, await store.get(stepKey(at)))
      steps += 1
      if (!record.deterministic) nondeterministic += 1
      if (record.writer === run[0] && run[1] > 0) run[1] += 1
      else runs.push(run = [record.writer, 1])
      const request = await store.get(messageKey(record.request))
      const result = await store.get(messageKey(record.result))
      const { check, facts } = checkStep(record, steps, request, result)
      settle(facts)
      pending = check
      if (!record.base.includes('/')) break
      if (walk.due()) await walk.pause()
      at = walkTo(walk, record.base)
    }
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    // The walk back broke before the root: the root, and so step numbers, are unknown.
    return { valid: false, hashpath, steps: 0, nondeterministic: 0, failure: { hashpath: err.at ?? hashpath, reason: err.reason, message: err.message } }
  }
  const root = pending!.record.base
  try {
    settle(baseFacts(await loadBytes(store, root)))
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err
    first = { check: undefined, failure: err } // step 0 comes before every step
  }
  const report = { hashpath, root, steps, nondeterministic, ...provenance(runs, steps, trust) }
  if (first === undefined) return { valid: true, ...report }
  const { check, failure } = first
  const step = check === undefined ? 0 : steps - check.fromEnd + 1
  return { valid: false, ...report, failure: { step, hashpath: check?.record.hashpath ?? root, reason: failure.reason, message: failure.message } }
}

/** The writer runs, root first, with trust flags and the untrusted count when a policy is given. */
function provenance(runs: ReadonlyArray<[string, number]>, steps: number, trust: LedgerTrust | undefined): Pick<VerifyReport, 'writers' | 'untrusted'> {
  const writers: WriterRun[] = []
  let untrusted = 0
  let from = 1
  for (let i = runs.length - 1; i >= 0; i--) {
    const [writer, count] = runs[i]!
    const trusted = trust === undefined ? undefined : writer === trust.self || trust.trusts(writer)
    if (trusted === false) untrusted += count
    writers.push({ writer, from, to: from + count - 1, ...(trusted === undefined ? {} : { trusted }) })
    from += count
  }
  if (from - 1 !== steps) throw new Error('verify: writer runs do not add up to the chain') // a bug, never input
  return trust === undefined ? { writers } : { writers, untrusted }
}

/** The walker's next hashpath; a cycle or an over-long chain is a failure of the walk back. */
function walkTo(walk: ReturnType<typeof chainWalker>, base: string): string {
  try {
    return walk.next(base)
  } catch (err) {
    if (!isAoError(err)) throw err
    // A cycle is named where it closes; an over-long chain by the hashpath asked about.
    throw err.code === 'chain-cycle' ? new StepFailure('chain-cycle', err.message, base) : new StepFailure('chain-too-long', err.message)
  }
}

/** The record read at a hashpath, checked to be the record of that hashpath. */
function recordAt(at: string, bytes: Uint8Array | undefined): StepRecord {
  if (bytes === undefined) throw new StepFailure('missing-record', `no step record for ${at}`, at)
  let record: StepRecord
  try {
    record = decodeStep(bytes)
  } catch (err) {
    if (isAoError(err)) throw new StepFailure('corrupt-record', err.message, at)
    throw err
  }
  if (record.hashpath !== at) throw new StepFailure('record-mismatch', `record stored at ${at} claims ${record.hashpath}`, at)
  return record
}

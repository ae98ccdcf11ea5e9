/**
 * @module
 * What a checker (a node started with `--check-peers`) tells a router, and how the router knows
 * who said it: JSON text signed with the checker's key under the device tag `router@1.0/check`,
 * the same scheme as offers (offer.ts). Two kinds: `poll` (the results relayed since `after`)
 * and `report` (the outcome of each check, with the fault proof when one was found). `time`
 * must be newer than the last message accepted from that address (a captured report cannot be
 * counted twice) and within a minute of the router's clock.
 */
import { ForbiddenError, InvalidRequestError } from '../../core/errors.js'
import type { Signer } from '../../core/types.js'
import { MAX_SKEW_MS } from './offer.js'
import { checkSignedJson, envelopeOf, readSignedJson, signJson, type Envelope } from './signed-json.js'

export const CHECK_TAG = 'router@1.0/check'
/** A report carries fault proofs (a request, a result and two receipts each): 1 MiB in all. */
export const MAX_CHECK_BYTES = 1024 * 1024
/** Outcomes per report. */
export const MAX_OUTCOMES = 64

export type CheckOutcomeKind = 'agree' | 'fault' | 'gap'

export interface CheckOutcome {
  /** The node whose result was checked (its address). */
  readonly node: string
  /** The result ID it signed. */
  readonly result: string
  readonly hashpath: string
  readonly outcome: CheckOutcomeKind
  readonly 'model-sha256': string
  /** `fault`: the proof document, as typed JSON (core/json.ts), and its ID in the shared ledger. */
  readonly proof?: unknown
  readonly 'proof-id'?: string
  /** `gap`: the ID of the determinism-gap record and the profile fields that differed. */
  readonly 'gap-id'?: string
  readonly fields?: readonly string[]
}

export type CheckMessage =
  | { readonly kind: 'poll'; readonly after: number }
  | { readonly kind: 'report'; readonly outcomes: readonly CheckOutcome[] }

export type SignedCheck = CheckMessage & Envelope
const bad = (message: string): InvalidRequestError => new InvalidRequestError(`router: ${message}`, { code: 'invalid-check' })

export async function signCheck(signer: Signer, message: CheckMessage, time: number): Promise<{ message: string; signature: string }> {
  const { text, signature } = await signJson(signer, CHECK_TAG, { ...message, ...envelopeOf(signer, time) })
  return { message: text, signature }
}

function checkOutcomes(list: unknown): void {
  if (!Array.isArray(list) || list.length > MAX_OUTCOMES) throw bad(`outcomes is a list of at most ${MAX_OUTCOMES}`)
  for (const o of list as Array<Record<string, unknown> | null>) {
    if (o === null || typeof o !== 'object') throw bad('an outcome is an object')
    for (const key of ['node', 'result', 'hashpath', 'model-sha256']) if (typeof o[key] !== 'string' || (o[key] as string).length > 1024) throw bad(`an outcome has ${key} (text)`)
    if (o.outcome !== 'agree' && o.outcome !== 'fault' && o.outcome !== 'gap') throw bad('outcome is agree, fault or gap')
    if (o.fields !== undefined && (!Array.isArray(o.fields) || o.fields.length > 64 || !o.fields.every((f) => typeof f === 'string' && f.length <= 128))) throw bad('fields is a list of names')
  }
}

/** The message, once its signature verifies under the key it names and that key is its address's. */
export function verifyCheck(text: string, signature: string, signer: Signer): SignedCheck {
  const o = readSignedJson(text, MAX_CHECK_BYTES, 'a check message', bad)
  if (o.kind === 'poll') {
    if (typeof o.after !== 'number' || !Number.isSafeInteger(o.after) || o.after < 0) throw bad('after is a sequence number')
  } else if (o.kind === 'report') checkOutcomes(o.outcomes)
  else throw bad('kind is poll or report')
  checkSignedJson(o, text, signature, signer, CHECK_TAG, bad,
    () => new ForbiddenError('router: the check message\'s signature does not verify under its address', { code: 'check-signature' }))
  return o as unknown as SignedCheck
}

/** Refuses a message from far off the router's clock, or no newer than the last one from that address. */
export function checkFreshness(msg: SignedCheck, newest: Map<string, number>, now: number): void {
  if (Math.abs(msg.time - now) > MAX_SKEW_MS) throw new ForbiddenError('router: the check message\'s time is more than a minute from this router\'s clock', { code: 'offer-stale' })
  if (msg.time <= (newest.get(msg.address) ?? -1)) throw new ForbiddenError('router: a check message no newer than one already accepted from this node', { code: 'offer-replayed' })
  newest.set(msg.address, msg.time)
}

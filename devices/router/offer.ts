/**
 * @module
 * A node's signed offer: what it tells a router when it registers, at every heartbeat and when
 * it leaves. The offer is JSON text signed with the node's key under the device tag
 * `router@1.0/offer` (identity/signer.ts: the signature can never pass for anything else); the
 * router checks that the public key is the address's and that the signature is over exactly
 * these bytes. Replays are refused by `time`: each offer from an address must be newer than the
 * last one the router accepted from it, and within `MAX_SKEW_MS` of the router's clock.
 *
 * The load part is open to growth: `load.models[name]` carries what the node's engine reports
 * per model (`queued`, `running`, `max-queue`); a queue fed from elsewhere (Redis Streams
 * dispatch) adds its numbers under the same names.
 */
import { ForbiddenError, InvalidRequestError } from '../../core/errors.js'
import type { Signer } from '../../core/types.js'
import { checkSignedJson, envelopeOf, readSignedJson, signJson, type Envelope } from './signed-json.js'

export const OFFER_TAG = 'router@1.0/offer'
export const MAX_OFFER_BYTES = 64 * 1024
/** How far an offer's `time` may be from the router's clock. */
export const MAX_SKEW_MS = 60_000

export type OfferAction = 'register' | 'heartbeat' | 'deregister'

export interface ModelOffer {
  readonly name: string
  readonly sha256: string
  readonly bytes: number
}

export interface ModelLoad {
  readonly queued: number
  readonly running: number
  readonly 'max-queue': number
}

export interface OfferBody {
  readonly url: string
  readonly devices: readonly string[]
  readonly models: readonly ModelOffer[]
  readonly capacity: { readonly parallel: number; readonly 'max-queue': number }
  readonly load: { readonly models: Readonly<Record<string, ModelLoad>> }
}

export interface Offer extends OfferBody, Envelope {
  readonly action: OfferAction
}

const bad = (message: string): InvalidRequestError => new InvalidRequestError(`router: ${message}`, { code: 'invalid-offer' })

/** The offer as signed JSON text, ready to POST. */
export async function signOffer(signer: Signer, action: OfferAction, body: OfferBody, time = Date.now()): Promise<{ offer: string; signature: string }> {
  const offer: Offer = { action, ...envelopeOf(signer, time), ...body }
  const { text, signature } = await signJson(signer, OFFER_TAG, offer)
  return { offer: text, signature }
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1e9

function checkLoad(load: unknown): void {
  const models = (load as { models?: unknown } | null)?.models
  if (models === null || typeof models !== 'object' || Array.isArray(models) || Object.keys(models).length > 256) throw bad('load.models is a map of at most 256 models')
  for (const l of Object.values(models as Record<string, unknown>)) {
    const m = l as Record<string, unknown> | null
    if (m === null || typeof m !== 'object' || !count(m.queued) || !count(m.running) || !count(m['max-queue'])) throw bad('a model load has queued, running and max-queue counts')
  }
}

function checkShape(o: Record<string, unknown>): void {
  if (o.action !== 'register' && o.action !== 'heartbeat' && o.action !== 'deregister') throw bad('action is register, heartbeat or deregister')
  if (typeof o.url !== 'string' || !/^https?:\/\/[^/\s?#]+$/i.test(o.url) || o.url.length > 512) throw bad('url is http(s)://host:port, nothing after it')
  if (!Array.isArray(o.devices) || o.devices.length > 256 || !o.devices.every((d) => typeof d === 'string' && d.length <= 128)) throw bad('devices is a list of names')
  if (!Array.isArray(o.models) || o.models.length > 256) throw bad('models is a list of at most 256 models')
  for (const m of o.models as Array<Record<string, unknown> | null>) {
    if (m === null || typeof m !== 'object' || typeof m.name !== 'string' || m.name.length > 128 || typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256) || !count(m.bytes)) {
      throw bad('a model is {name, sha256 (hex), bytes}')
    }
  }
  const cap = o.capacity as Record<string, unknown> | null
  if (cap === null || typeof cap !== 'object' || !count(cap.parallel) || !count(cap['max-queue'])) throw bad('capacity has parallel and max-queue counts')
  checkLoad(o.load)
}

/**
 * The offer, once its signature verifies under the key it names and that key is its address's.
 * Throws 400 `invalid-offer` for a malformed one, 403 `node-not-admitted` for an address `admits`
 * refuses (checked before the signature), 403 `offer-signature` for a bad signature.
 */
export function verifyOffer(text: string, signature: string, signer: Signer, admits: (address: string) => boolean = () => true): Offer {
  const o = readSignedJson(text, MAX_OFFER_BYTES, 'an offer', bad)
  checkShape(o)
  // Before any signature work: an address the router does not admit costs it a JSON parse only.
  if (!admits(o.address as string)) {
    throw new ForbiddenError('router: this node is not admitted (the operator\'s --admit list)', { code: 'node-not-admitted', detail: { address: o.address as string } })
  }
  checkSignedJson(o, text, signature, signer, OFFER_TAG, bad, (why) => new ForbiddenError(why === 'key'
    ? 'router: the offer\'s public key is not its address\'s' : 'router: the offer\'s signature does not verify', { code: 'offer-signature' }))
  return o as unknown as Offer
}

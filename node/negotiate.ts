/**
 * @module
 * Transport choices a request makes, and the reply codec they select.
 *
 * `stream`, `attest`, `accept-codec`, `require-codec` and `accept-bundle` say how to answer, not what to
 * compute, so when they arrive as unsigned keys (query, path `&k=v`) they are taken out of the
 * plan as it is built (core/request.ts `finishPlan`, `take`): the answer has the same hashpath
 * whichever form was asked for. A signed key stays (the signature covers it; an ANS-104 client
 * puts its routing hints in tags), but it is read all the same.
 *
 * Codec choice, as HyperBEAM's `accept_to_codec`: `require-codec` > `accept-codec` > `accept`
 * (`application/json`, `application/cbor`, `multipart/form-data`, negotiated by RFC 9110 with
 * `negotiator`) > the default, `httpsig@1.0`. Each of the first two is read from the header,
 * else from the request's keys.
 * Codec names: `httpsig@1.0`, `json@1.0`, `cbor@1.0`, or a MIME type `application/<name>`
 * (HyperBEAM's spelling). An unknown explicit codec is a 406 `unsupported-codec`.
 */
import Negotiator from 'negotiator'
import { NotAcceptableError } from '../core/errors.js'
import type { ReplyOptionKey } from '../core/keys.js'
import { createLru } from '../core/lru.js'
import type { HeaderView } from './http-headers.js'

export type ReplyCodec = 'httpsig@1.0' | 'json@1.0' | 'cbor@1.0'
export const DEFAULT_REPLY_CODEC: ReplyCodec = 'httpsig@1.0'

export type TransportKeys = Partial<Record<ReplyOptionKey, string | boolean>>

/** True when the request asked for a Server-Sent Events stream. */
export const wantsStream = (keys: TransportKeys, accept: string): boolean =>
  keys.stream === true || keys.stream === 'true' || keys.stream === '1' || accept.includes('text/event-stream')

/** A Map, not an object: a header naming `constructor` must not find Object's. */
const ALIASES: ReadonlyMap<string, ReplyCodec> = new Map([
  ['httpsig@1.0', 'httpsig@1.0'], ['httpsig', 'httpsig@1.0'], ['application/httpsig', 'httpsig@1.0'], ['multipart/form-data', 'httpsig@1.0'],
  ['json@1.0', 'json@1.0'], ['json', 'json@1.0'], ['application/json', 'json@1.0'],
  ['cbor@1.0', 'cbor@1.0'], ['cbor', 'cbor@1.0'], ['application/cbor', 'cbor@1.0'],
])

function codecNamed(name: string, header: string): ReplyCodec {
  const codec = ALIASES.get(name.trim().toLowerCase())
  if (codec === undefined) {
    throw new NotAcceptableError(`reply: ${header} "${name.slice(0, 60)}" is not a codec this node writes (httpsig@1.0, json@1.0, cbor@1.0)`, {
      code: 'unsupported-codec', detail: { codec: name.slice(0, 60) },
    })
  }
  return codec
}

/** The codec for a map result. */
export function chooseCodec(headers: Pick<HeaderView, 'get'>, keys: TransportKeys): ReplyCodec {
  const explicit = (name: 'require-codec' | 'accept-codec') => {
    const value = headers.get(name) ?? keys[name]
    return typeof value === 'string' && value.trim() !== '' ? codecNamed(value, name) : undefined
  }
  return explicit('require-codec') ?? explicit('accept-codec') ?? fromAccept(headers.get('accept') ?? '') ?? DEFAULT_REPLY_CODEC
}

/**
 * The media types `accept` may name and their codecs, the default's first: so a wildcard
 * (`*\/*`) picks the default, as if the header named nothing we write. JSON is offered with the
 * charset our replies carry too, since a media range's parameters must match to count.
 */
const OFFERED: ReadonlyMap<string, ReplyCodec> = new Map([
  ['multipart/form-data', 'httpsig@1.0'], ['application/json', 'json@1.0'], ['application/json; charset=utf-8', 'json@1.0'],
  ['application/cbor', 'cbor@1.0'], ['application/httpsig', 'httpsig@1.0'],
])
const OFFERED_TYPES = [...OFFERED.keys()]

/**
 * The codec an Accept header prefers, by RFC 9110 §12.5.1 (q-value, then specificity, then
 * order). What clients send almost always (`*\/*`, nothing, or one type we write) is answered
 * by a lookup: the HTTP hot path should not parse; `negotiator` reads everything else.
 */
function fromAccept(accept: string): ReplyCodec | undefined {
  if (accept === '' || accept === '*/*') return undefined
  const exact = ALIASES.get(accept)
  if (exact !== undefined) return exact
  const known = negotiated.get(accept)
  if (known !== undefined) return known ?? undefined
  const best = new Negotiator({ headers: { accept } }).mediaType(OFFERED_TYPES)
  const codec = best === undefined ? undefined : OFFERED.get(best)
  if (accept.length <= MAX_REMEMBERED_ACCEPT) negotiated.set(accept, codec ?? null)
  return codec
}

/**
 * Negotiated answers by header value (null: no preference). A client sends one Accept value on
 * every request, and negotiator takes tens of µs on a browser's; a remembered one is a lookup.
 * Bounded in entries and in key length, so varying headers cost negotiator, never memory.
 */
const negotiated = createLru<string, ReplyCodec | null>(256)
const MAX_REMEMBERED_ACCEPT = 512

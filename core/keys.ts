/**
 * @module
 * The key rules in one place: which keys are private, which steer resolution, which describe
 * the transport or a codec's framing rather than a message's content. Every layer asks here
 * instead of keeping its own list.
 */

/** Keys starting with `priv` are private: never encoded, hashed, stored or returned. */
export const PRIVATE_PREFIX = 'priv'

/** True for a private key (`priv…`). */
export const isPrivateKey = (key: string): boolean => key.startsWith(PRIVATE_PREFIX)

/** The key holding a message's signatures; left out of its unsigned ID. */
export const COMMITMENTS_KEY = 'commitments'

/** Keys only the path may set (`/~device@1.0/key`): a query, header or body setting one is refused. */
export const PATH_ONLY_KEYS: ReadonlySet<string> = new Set(['path', 'as-device'])

/**
 * Keys of a request that steer resolution rather than carry data: what a device such as
 * message@1.0 `set` never copies into its result. A request's `commitments` are its own
 * signatures, not content.
 */
export const CONTROL_KEYS: ReadonlySet<string> = new Set([...PATH_ONLY_KEYS, COMMITMENTS_KEY])

/** Keys that say where a message sits in a chain, not what it says. */
export const NON_CONTENT_KEYS: ReadonlySet<string> = new Set(['path', 'hashpath'])

/**
 * Reply options a client may put in a query (`?stream=true`): how to answer, never part of the
 * request's content unless a signature covers them.
 */
export const REPLY_OPTION_KEYS = ['stream', 'attest', 'accept-codec', 'require-codec', 'accept-bundle'] as const
export type ReplyOptionKey = (typeof REPLY_OPTION_KEYS)[number]

/** Keys a codec adds to frame a message on the wire (httpsig, ANS-104), never content. */
export const CODEC_FRAMING_KEYS: ReadonlySet<string> = new Set([
  'signing-format', 'inline-body-key', 'ao-types', 'codec-device', 'content-type', 'data-protocol', 'variant',
  'type', 'body', 'data', 'target', 'anchor',
])

/** Request headers that describe the transport, not the request: never keys of a message. */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'host', 'user-agent', 'accept', 'connection', 'content-length', 'content-type', 'content-encoding',
  'transfer-encoding', 'cookie', 'cache-control', 'pragma', 'origin', 'referer', 'te', 'trailer', 'upgrade',
  'keep-alive', 'via', 'forwarded', 'dnt', 'range', 'authorization', 'proxy-authorization', 'expect',
  'priority', 'traceparent', 'tracestate', 'baggage', 'upgrade-insecure-requests', 'x-request-id',
  'x-real-ip', 'signature', 'signature-input', 'content-digest', 'ao-types', 'require-codec',
  'accept-codec', 'accept-bundle', 'codec-device', 'last-event-id', 'purpose', 'x-stainless-retry-count',
])
const TRANSPORT_HEADER_PREFIXES = ['accept-', 'sec-', 'if-', 'x-forwarded-', 'proxy-', 'x-stainless-', 'access-control-']

/** True for a request header that is transport, not a message key. */
export const isTransportHeader = (name: string): boolean =>
  TRANSPORT_HEADERS.has(name) || TRANSPORT_HEADER_PREFIXES.some((p) => name.startsWith(p))

/**
 * Headers that change how a request is *read* (signatures, digests, types, body codec): a
 * request carrying one is not "plain", so its plan depends on more than its target.
 */
export const READING_HEADERS: ReadonlySet<string> = new Set([
  'signature', 'signature-input', 'content-digest', 'ao-types', 'codec-device', 'content-type',
])

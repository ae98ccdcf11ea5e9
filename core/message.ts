/**
 * @module
 * Small, pure helpers over messages: type checks, case-insensitive key access, and the wrapping
 * of literal results so that every result has an ID.
 */
import { ID_SHAPED_KEY } from './codec.js'
import type { Message, Value } from './types.js'
import { isPrivateKey, NON_CONTENT_KEYS } from './keys.js'

/** True for a plain message (map), false for literals and lists. */
export function isMessage(value: unknown): value is Message {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  )
}

/** Normalises a key: AO-Core keys are case-insensitive and stored lower-case; IDs keep their case. */
export const normalizeKey = (key: string): string => (ID_SHAPED_KEY.test(key) ? key : key.toLowerCase())

/** Reads a key case-insensitively; undefined when absent. */
export function getKey(message: Message, key: string): Value | undefined {
  const k = normalizeKey(key)
  return Object.prototype.hasOwnProperty.call(message, k) ? message[k] : undefined
}

/**
 * A literal result (string, number, bytes…) becomes `{ao-result: 'body', body}` for hashing and
 * storage, as HyperBEAM's `force_message` does; messages pass through unchanged.
 */
export function asResultMessage(value: Value): Message {
  return isMessage(value) ? value : { 'ao-result': 'body', body: value }
}

/** Inverse of asResultMessage: the literal inside a wrapped result, or the message itself. */
export function fromResultMessage(message: Message): Value {
  const keys = Object.keys(message)
  if (message['ao-result'] === 'body' && keys.length === 2 && 'body' in message) return message.body as Value
  return message
}

/** Keys of a request that do not count as content when computing a hashpath part. */
export { NON_CONTENT_KEYS }

/** True when a request carries nothing but its `path` (its hashpath part is then the key name). */
export function isBareKeyRequest(req: Message): boolean {
  return Object.keys(req).every((k) => NON_CONTENT_KEYS.has(k) || isPrivateKey(k))
}

/**
 * A message with `keys` laid over it (request keys over a stored base). `commitments` are merged
 * by commitment ID rather than replaced: a signed request to a stored signed message adds its
 * signatures next to the message's own instead of erasing them.
 */
export function overlayKeys(base: Message, keys: Message): Message {
  const out: Message = { ...base, ...keys }
  const own = base.commitments
  const added = keys.commitments
  if (isMessage(own) && isMessage(added)) out.commitments = { ...own, ...added }
  return out
}

/**
 * @module
 * Canonical encoding: DAG-CBOR (deterministic CBOR — map keys sorted by length then bytes,
 * shortest integers, float64 only, no undefined/NaN/Infinity, no duplicate keys), through
 * `@ipld/dag-cbor`, which is cborg in exactly that profile and passes the IPLD codec fixtures.
 *
 * `encodeMessage` adds the AO-Core rules on top: keys are lower-case strings, private keys
 * (`priv…`) are dropped before encoding so they can never reach a hash, a store or a reply.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { InvalidMessageError, InvalidRequestError } from './errors.js'
import type { Message, Value } from './types.js'
import { isPrivateKey } from './keys.js'

/** Multicodec code of DAG-CBOR, used in CIDs. */
export const DAG_CBOR_CODE = 0x71

/** Encodes any DAG-CBOR data model value canonically (no message rules applied). */
export function encodeCanonical(value: unknown): Uint8Array {
  try {
    return dagCbor.encode(value)
  } catch (cause) {
    throw new InvalidMessageError(`codec: cannot encode: ${(cause as Error).message}`, { cause })
  }
}

/**
 * How deep maps and lists may nest in what a client sends (a JSON or CBOR body, an imported
 * block): the decoders and every walk over a message recurse, and a few thousand levels
 * overflow the stack. 128 leaves room for any real request (a 32-level JSON schema inside an
 * OpenAI body is ~70) while keeping every recursion far from the limit.
 */
export const MAX_NESTING_DEPTH = 128

/** The 400 for input nested deeper than `limit` (code `nesting-too-deep`). */
export const nestingTooDeep = (what: string, limit: number): InvalidRequestError =>
  new InvalidRequestError(`${what} nests deeper than ${limit} levels`, { code: 'nesting-too-deep', detail: { limit } })

/** Decodes canonical DAG-CBOR strictly; non-canonical or malformed bytes are rejected. */
export function decodeCanonical(bytes: Uint8Array, options: { maxDepth?: number } = {}): unknown {
  // Only input from outside pays for the scan: stored records were checked when they came in.
  if (options.maxDepth !== undefined) checkCborDepth(bytes, options.maxDepth)
  try {
    return dagCbor.decode(bytes)
  } catch (cause) {
    throw new InvalidMessageError(`codec: cannot decode: ${(cause as Error).message}`, { cause })
  }
}

/**
 * Throws `nesting-too-deep` when CBOR `bytes` hold maps or lists nested deeper than `limit`.
 * A loop over item heads (no recursion, no allocation per item; string bodies are skipped), so
 * it is safe on any input; malformed bytes end the scan and are left to the decoder to refuse.
 */
export function checkCborDepth(bytes: Uint8Array, limit: number): void {
  const remaining: number[] = [1] // items still expected at each open level; [0] is the top
  let pos = 0
  while (remaining.length > 0) {
    const top = remaining.length - 1
    if (remaining[top] === 0) {
      remaining.pop()
      continue
    }
    remaining[top]!--
    if (pos >= bytes.length) return
    const head = bytes[pos++]!
    const major = head >> 5
    const info = head & 31
    let arg = info
    if (info >= 24) {
      if (info > 27) return // indefinite length or reserved: not DAG-CBOR
      const size = 1 << (info - 24)
      if (pos + size > bytes.length) return
      arg = 0
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]!
      pos += size
    }
    if (major === 2 || major === 3) pos += arg
    else if (major === 4 || major === 5) {
      if (remaining.length > limit) throw nestingTooDeep('codec: CBOR data', limit)
      if (arg > 0) remaining.push(major === 4 ? arg : arg * 2)
    } else if (major === 6) remaining[top]!++ // a tag: its item follows at the same level
  }
}

/**
 * Keys are lower-case, except 43-character IDs (commitment IDs, process IDs used as keys), which
 * are case-sensitive by nature: HyperBEAM never lower-cases them either.
 */
export const ID_SHAPED_KEY = /^[A-Za-z0-9_-]{43}$/
export const isValidKeyCase = (key: string): boolean => key === key.toLowerCase() || ID_SHAPED_KEY.test(key)

/** True for a key that is private: never encoded, hashed, stored or returned. */
export { isPrivateKey }

/**
 * Returns the public form of a value: private keys removed at every depth, keys checked.
 * Throws InvalidMessageError for values outside the message data model. A key holding
 * `undefined` is left out (an optional field spread into a message), unless `strict`: a
 * device's output must say what it means (core/resolve.ts).
 */
export function publicValue(value: Value, where = 'message', strict = false): Value {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidMessageError(`codec: ${where} holds a non-finite number`)
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new InvalidMessageError(`codec: ${where} holds an integer outside ±2^53`)
    }
    return value
  }
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map((v, i) => publicValue(v, `${where}[${i}]`, strict))
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined
  if (proto === Object.prototype || proto === null) {
    const out: Message = {}
    for (const key of Object.keys(value)) {
      if (isPrivateKey(key)) continue
      if (!isValidKeyCase(key)) throw new InvalidMessageError(`codec: key "${key}" in ${where} is not lower-case`)
      const v = (value as Message)[key]
      if (v === undefined) {
        if (strict) throw new InvalidMessageError(`codec: ${where}.${key} is undefined (leave the key out, or give it a value)`)
        continue
      }
      out[key] = publicValue(v, `${where}.${key}`, strict)
    }
    return out
  }
  throw new InvalidMessageError(`codec: ${where} holds an unsupported ${typeof value}`)
}

/**
 * Equality in the data model: the same canonical bytes. The same object is equal to itself
 * without encoding: a signed body is checked against every message of its chain, and
 * encoding a large one for each was most of the cost of a signed upload.
 */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  const x = encodeCanonical(publicValue(a))
  const y = encodeCanonical(publicValue(b))
  return x.length === y.length && x.every((byte, i) => byte === y[i])
}

/** Canonical bytes of a message (private keys removed; `strict`: no key may hold undefined). */
export function encodeMessage(message: Message, strict = false): Uint8Array {
  return encodeCanonical(publicValue(message, 'message', strict))
}

/** Decodes a stored or received message; the top level must be a map. */
export function decodeMessage(bytes: Uint8Array): Message {
  const value = decodeCanonical(bytes)
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new InvalidMessageError('codec: encoded value is not a message (map)')
  }
  return value as Message
}

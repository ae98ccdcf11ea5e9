/**
 * @module
 * Messages ⇄ JSON. Bytes use the DAG-JSON convention `{"/": {"bytes": "<base64>"}}` so a JSON
 * reply can be turned back into the exact message it came from; keys are lower-cased on the
 * way in (AO-Core keys are case-insensitive).
 */
import { base64Bytes, toBase64 } from './bytes.js'
import { MAX_NESTING_DEPTH, nestingTooDeep } from './codec.js'
import { InvalidRequestError } from './errors.js'
import { normalizeKey } from './message.js'
import type { Message, Value } from './types.js'

const isBytesLink = (v: Record<string, unknown>): boolean => {
  const slash = v['/']
  return Object.keys(v).length === 1 && typeof slash === 'object' && slash !== null &&
    Object.keys(slash).length === 1 && typeof (slash as Record<string, unknown>).bytes === 'string'
}

/**
 * JSON data → message value; throws InvalidRequestError for what a message cannot hold, and
 * `nesting-too-deep` past MAX_NESTING_DEPTH levels (JSON.parse itself does not recurse, but
 * this walk and every later one do).
 */
export function fromJson(value: unknown, where = 'body', depth = 0): Value {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new InvalidRequestError(`request: ${where} holds an integer outside ±2^53`, { code: 'invalid-json' })
    }
    return value
  }
  if (value instanceof Uint8Array) return value // from a CBOR body
  if (typeof value === 'object' && depth >= MAX_NESTING_DEPTH) throw nestingTooDeep(`request: ${where.length > 80 ? `${where.slice(0, 80)}…` : where}`, MAX_NESTING_DEPTH)
  if (Array.isArray(value)) return value.map((v, i) => fromJson(v, `${where}[${i}]`, depth + 1))
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (isBytesLink(record)) return base64Bytes((record['/'] as { bytes: string }).bytes)
    const out: Message = {}
    for (const [key, v] of Object.entries(record)) out[normalizeKey(key)] = fromJson(v, `${where}.${key}`, depth + 1)
    return out
  }
  throw new InvalidRequestError(`request: ${where} is not JSON data`, { code: 'invalid-json' })
}

/**
 * Throws `nesting-too-deep` when parsed JSON nests deeper than `limit`: for JSON kept as it
 * came (an OpenAI body) before anything recursive (`JSON.stringify` included) walks it.
 */
export function checkJsonDepth(value: unknown, what: string, limit = MAX_NESTING_DEPTH): void {
  const pending: Array<[unknown, number]> = [[value, 0]]
  while (pending.length > 0) {
    const [v, depth] = pending.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth >= limit) throw nestingTooDeep(what, limit)
    for (const member of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof member === 'object' && member !== null) pending.push([member, depth + 1])
    }
  }
}

/** Message value → JSON-safe data. */
export function toJson(value: Value): unknown {
  if (value instanceof Uint8Array) return { '/': { bytes: toBase64(value) } }
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v)
    return out
  }
  return value
}

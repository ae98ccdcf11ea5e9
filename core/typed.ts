/**
 * @module
 * Typed values: `k+integer=1`, `k+float=1.5`, `k+boolean=true`, `k+list=…`, `k+map=…`.
 * Lists and maps are RFC 9651 structured fields (parsed by `structured-headers`), the same
 * syntax HyperBEAM's `ao-types` uses, so a value reads the same in a path, a query or a header.
 */
import { DisplayString, Token, parseDictionary, parseList } from 'structured-headers'
import type { BareItem, InnerList, Item } from 'structured-headers'
import { InvalidRequestError } from './errors.js'
import type { Message, Value } from './types.js'

/** The type names a key may carry after `+`. */
export const VALUE_TYPES = ['integer', 'float', 'boolean', 'atom', 'list', 'map', 'binary', 'string'] as const
export type ValueType = (typeof VALUE_TYPES)[number]

const INTEGER = /^-?(0|[1-9][0-9]*)$/
const FLOAT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/

const bad = (key: string, type: string, text: string, why: string) =>
  new InvalidRequestError(`path: "${key}+${type}=${text.slice(0, 80)}" ${why}`, { code: 'invalid-typed-value', detail: { key, type } })

function fromBareItem(item: BareItem): Value {
  if (item instanceof Token) return item.toString()
  if (item instanceof DisplayString) return item.toString()
  if (item instanceof Date) return Math.floor(item.getTime() / 1000)
  if (item instanceof ArrayBuffer) return new Uint8Array(item)
  if (ArrayBuffer.isView(item)) return new Uint8Array(item.buffer, item.byteOffset, item.byteLength)
  return item as Value
}

function fromMember(member: Item | InnerList): Value {
  const [value] = member
  return Array.isArray(value) ? value.map(([inner]) => fromBareItem(inner)) : fromBareItem(value)
}

/** Decodes `text` as a value of `type`; throws InvalidRequestError (400) when it does not fit. */
export function decodeTypedValue(key: string, type: string, text: string): Value {
  switch (type) {
    case 'binary':
    case 'string':
      return text
    case 'integer': {
      if (!INTEGER.test(text)) throw bad(key, type, text, 'is not an integer')
      const n = Number(text)
      if (!Number.isSafeInteger(n)) throw bad(key, type, text, 'is outside ±2^53')
      return n
    }
    case 'float': {
      if (!FLOAT.test(text)) throw bad(key, type, text, 'is not a finite decimal number')
      const n = Number(text)
      if (!Number.isFinite(n)) throw bad(key, type, text, 'is not finite')
      return n
    }
    case 'boolean':
    case 'atom':
      if (text === 'true' || text === '?1') return true
      if (text === 'false' || text === '?0') return false
      if (type === 'atom' && text === 'null') return null
      if (type === 'atom' && text !== '') return text
      throw bad(key, type, text, 'is not true or false')
    case 'list':
      try {
        return parseList(text).map(fromMember)
      } catch (cause) {
        throw bad(key, type, text, `is not a structured-field list (${(cause as Error).message})`)
      }
    case 'map':
      try {
        const out: Message = {}
        for (const [k, member] of parseDictionary(text)) out[k] = fromMember(member)
        return out
      } catch (cause) {
        throw bad(key, type, text, `is not a structured-field dictionary (${(cause as Error).message})`)
      }
    default:
      throw new InvalidRequestError(`path: unknown value type "${type}" for key "${key}" (expected one of ${VALUE_TYPES.join(', ')})`, {
        code: 'unknown-value-type',
      })
  }
}

/**
 * Splits a raw key into its name and optional type: `count+integer` and `count integer`
 * (some encoders turn `+` into a space) both give `["count", "integer"]`.
 */
export function splitTypedKey(raw: string): [name: string, type: string | undefined] {
  const at = raw.search(/[+ ]/)
  if (at === -1) return [raw, undefined]
  return [raw.slice(0, at), raw.slice(at + 1)]
}

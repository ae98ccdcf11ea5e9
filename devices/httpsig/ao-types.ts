/**
 * @module
 * Typed keys over HTTP. AO clients send every key as a header (or tag) whose value is text; an
 * `ao-types` dictionary says which keys are not plain text: `ao-types: n="integer", ok="atom"`.
 * This module turns such text back into message values.
 *
 * Two dialects exist and both are accepted (interop.md §1.4, §8.4):
 * - HyperBEAM / hbsig: a proper RFC 8941 dictionary with string values, lists as sf-lists of
 *   strings, members typed inline as `"(ao-type-integer) 1"`;
 * - aoconnect: bare tokens (`num=integer,list=list`, still a valid dictionary) and lists written
 *   `(ao-type-integer) 1,(ao-type-binary) a`, which is *not* an sf-list, so it is split by hand.
 *
 * Types: integer, float, atom (true/false/null, else the name as text), boolean, binary,
 * list, map (an sf-dictionary), empty-binary, empty-list, empty-message. Anything else is a 400:
 * guessing would change what the client meant, and so the message's ID.
 */
import { parseDictionary, parseList, Token, type BareItem } from 'structured-headers'
import { InvalidRequestError } from '../../core/errors.js'
import { normalizeKey } from '../../core/message.js'
import type { Message, Value } from '../../core/types.js'
import { HEADER, TYPES_CODE } from './constants.js'

const INLINE_TYPE = /^\(ao-type-([a-z0-9-]+)\) ([\s\S]*)$/

/** Parses an `ao-types` field into key → type name (keys percent-decoded and lower-cased). */
export function parseAoTypes(field: string): Map<string, string> {
  const types = new Map<string, string>()
  let members: Array<[string, unknown]>
  try {
    members = [...parseDictionary(field)].map(([key, [value]]) => [key, value])
  } catch {
    members = field.split(',').filter((p) => p.trim() !== '').map((pair) => {
      const match = /^\s*([^=\s]+)\s*=\s*"?([a-z0-9-]+)"?\s*$/.exec(pair)
      if (match === null) throw badTypes(`ao-types member "${pair.trim().slice(0, 40)}" is not key=type`)
      return [match[1]!, match[2]!]
    })
  }
  for (const [key, value] of members) {
    const type = value instanceof Token ? value.toString() : value
    if (typeof type !== 'string') throw badTypes(`ao-types gives "${key}" a type that is not a name`)
    types.set(decodeKey(key), type)
  }
  return types
}

/** Decodes one text value of the given ao-type. */
export function decodeTypedValue(type: string, raw: string, key = 'value'): Value {
  switch (type) {
    case 'binary': return raw
    case 'integer': {
      const n = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN
      if (!Number.isSafeInteger(n)) throw badValue(key, type, raw)
      return n
    }
    case 'float': {
      const n = raw.trim() === '' ? NaN : Number(raw.trim())
      if (!Number.isFinite(n)) throw badValue(key, type, raw)
      return n
    }
    case 'atom':
    case 'boolean': {
      const atom = raw.trim().replace(/^"(.*)"$/, '$1')
      if (atom === 'true' || atom === 'false') return atom === 'true'
      if (type === 'boolean') throw badValue(key, type, raw)
      return atom === 'null' ? null : atom
    }
    case 'empty-binary': return ''
    case 'empty-list': return []
    case 'empty-message': return {}
    case 'list': return decodeList(raw, key)
    case 'map': return decodeMap(raw, key)
    default: throw badTypes(`ao-types: "${key}" has the unsupported type "${type}"`)
  }
}

/**
 * Turns text fields (header or tag name → value) into a message: names lower-cased, values typed
 * by the `ao-types` field, which is consumed. Keys typed empty-* need no field of their own.
 */
export function decodeTypedFields(fields: Readonly<Record<string, string>>): Message {
  const lower = new Map(Object.entries(fields).map(([name, value]) => [name.toLowerCase(), value]))
  const typesField = lower.get(HEADER.aoTypes)
  const types = typesField === undefined ? new Map<string, string>() : parseAoTypes(typesField)
  lower.delete(HEADER.aoTypes)
  const message: Message = {}
  for (const [key, raw] of lower) {
    const type = types.get(key)
    message[key] = type === undefined ? raw : decodeTypedValue(type, raw, key)
  }
  for (const [key, type] of types) {
    if (!(key in message) && type.startsWith('empty-')) message[key] = decodeTypedValue(type, '', key)
  }
  return message
}

function decodeList(raw: string, key: string): Value[] {
  if (raw.trim() === '') return []
  try {
    return parseList(raw).map((member) => {
      if (Array.isArray(member[0])) return (member[0] as Array<[BareItem, unknown]>).map(([item]) => bareValue(item, key))
      return bareValue(member[0] as BareItem, key)
    })
  } catch (err) {
    if (err instanceof InvalidRequestError) throw err
    // aoconnect's `(ao-type-integer) 1,(ao-type-binary) a`: split on commas outside quotes.
    return splitOutsideQuotes(raw).map((part) => inlineTyped(part.trim(), key))
  }
}

function decodeMap(raw: string, key: string): Message {
  let dictionary
  try {
    dictionary = parseDictionary(raw)
  } catch (cause) {
    throw new InvalidRequestError(`ao-types: "${key}" is typed map but is not an sf-dictionary`, { code: TYPES_CODE.badValue, cause })
  }
  const out: Message = {}
  for (const [name, [value]] of dictionary) {
    out[decodeKey(name)] = Array.isArray(value) ? value.map(([item]) => bareValue(item, key)) : bareValue(value, key)
  }
  return out
}

/** A list member: strings may carry an inline `(ao-type-…)` prefix; other sf types map directly. */
function bareValue(item: BareItem, key: string): Value {
  if (typeof item === 'string') return inlineTyped(item, key)
  if (typeof item === 'number' || typeof item === 'boolean') return item
  if (item instanceof Token) return item.toString()
  if (item instanceof ArrayBuffer) return new Uint8Array(item)
  throw badValue(key, 'list', String(item))
}

function inlineTyped(text: string, key: string): Value {
  const match = INLINE_TYPE.exec(text)
  return match === null ? text : decodeTypedValue(match[1]!, match[2]!, key)
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (const ch of text) {
    if (ch === '"') quoted = !quoted
    if (ch === ',' && !quoted) {
      parts.push(current)
      current = ''
    } else current += ch
  }
  return [...parts, current]
}

/**
 * ao-types keys are percent-escaped when not valid sf keys (HyperBEAM's `hb_escape`); keys are
 * case-insensitive except 43-character IDs, which keep their case (core/message.ts).
 */
function decodeKey(key: string): string {
  let decoded: string
  try {
    decoded = normalizeKey(decodeURIComponent(key))
  } catch {
    throw badTypes(`ao-types key "${key}" is not valid percent-encoding`)
  }
  // Assigning `__proto__` would replace a message's prototype instead of adding a key.
  if (decoded === '__proto__') throw badTypes('ao-types may not type "__proto__"')
  return decoded
}

const badTypes = (message: string) => new InvalidRequestError(message, { code: TYPES_CODE.badTypes })
const badValue = (key: string, type: string, raw: string) =>
  new InvalidRequestError(`ao-types: "${key}" is typed ${type} but holds "${raw.slice(0, 40)}"`, { code: TYPES_CODE.badValue })

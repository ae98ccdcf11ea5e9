/**
 * @module
 * `httpsig@1.0` as a message codec (HyperBEAM's `dev_codec_httpsig_conv`, our dialect): a
 * message ⇄ HTTP header fields plus, when needed, a deterministic `multipart/form-data` body.
 *
 * At each level of the message (the top level, then each nested message):
 * - a short printable text value whose key is a plain header name becomes a field;
 * - integers, floats, booleans and null become fields too, their type in that level's
 *   `ao-types` (`n="integer"`, `ok="atom"`); `""`, `[]` and `{}` are only a type
 *   (`empty-binary`, `empty-list`, `empty-message`);
 * - a list of such scalars is a field holding an sf-list of strings, non-text members written
 *   `"(ao-type-integer) 1"` as HyperBEAM does, typed `list`;
 * - everything else is a part named by its key path (`a/b`, each key percent-encoded): a
 *   nested message is a part whose fields are its keys (and so on down); a long, non-ASCII or
 *   oddly named scalar is a part whose body is the value; bytes are parts typed `binary`
 *   (Hashbeam tells text from bytes, HyperBEAM reads both as binaries); a list that cannot be
 *   a field is a message of its members keyed 1, 2, … typed `list`.
 * Field names that mean something to HTTP clients (`content-*`, `set-cookie`, `location`,
 * `cache-control`, …) are never produced from keys, whatever a message holds: such keys travel
 * as parts. Decoding reverses every rule, so `decode(encode(m))` has the ID of `m`, and also reads
 * HyperBEAM's and hbsig's parts (`addBodyParts`); a part nested deeper than `MAX_PART_DEPTH`
 * keys, or named `__proto__`, is a 400.
 */
import { serializeList, type Item } from 'structured-headers'
import { InvalidRequestError } from '../../core/errors.js'
import { isPrivateKey } from '../../core/keys.js'
import type { Message, Value } from '../../core/types.js'
import { isMessage } from '../../core/message.js'
import { decodeTypedValue, parseAoTypes } from './ao-types.js'
import { contentDigestField } from './content-digest.js'
import { DEFAULT_BODY_KEY, HEADER } from './constants.js'
import { utf8 } from './encoding.js'
import { boundaryOf, decodeMultipart, encodeMultipart, type Part } from './multipart.js'

/** Largest value written as a field (HyperBEAM's MAX_HEADER_LENGTH). */
export const MAX_FIELD_BYTES = 4096
/** Top-level fields stop here; later keys become parts (clients cap header blocks at ~16 KiB). */
export const MAX_HEADER_BLOCK_BYTES = 8192

const REPLY_FIELDS = new Set([
  'ao-types', 'codec-device', 'hashpath', 'ao-id', 'ao-cache', 'ao-type', 'x-request-id', 'signature', 'signature-input',
  'set-cookie', 'set-cookie2', 'location', 'refresh', 'link', 'www-authenticate', 'proxy-authenticate', 'cache-control',
  'expires', 'pragma', 'age', 'etag', 'last-modified', 'vary', 'date', 'server', 'connection', 'keep-alive',
  'transfer-encoding', 'te', 'trailer', 'upgrade', 'via', 'warning', 'allow', 'retry-after', 'accept-ranges', 'alt-svc',
  'clear-site-data', 'strict-transport-security', 'permissions-policy', 'referrer-policy', 'x-frame-options',
  'x-content-type-options', 'x-xss-protection', 'server-timing', 'timing-allow-origin', 'host', 'status',
])
const REPLY_PREFIXES = ['content-', 'access-control-', 'cross-origin-', 'sec-', 'proxy-', 'hashbeam-', 'x-forwarded-']

/** Header fields of a reply that never carry a message key (transport and security fields). */
export const isReservedReplyField = (name: string): boolean =>
  REPLY_FIELDS.has(name) || REPLY_PREFIXES.some((p) => name.startsWith(p))
const isPartField = (name: string): boolean => name === 'content-disposition' || name === HEADER.aoTypes || name === 'content-type'

const FIELD_NAME = /^[a-z0-9][a-z0-9_.-]*$/
const PRINTABLE = /^[\x20-\x7e]*$/
const INLINE_TYPE = /^\(ao-type-/
const fits = (text: string) => text.length <= MAX_FIELD_BYTES && PRINTABLE.test(text) && text.trim() === text

interface Level {
  fields: Array<[string, string]>
  types: Array<[string, string]>
  parts: Part[]
}

/** Encodes a message: header fields (sorted) and, when any key needs one, a multipart body. */
export function encodeMessage(message: Message): { fields: Array<[string, string]>; body: Uint8Array } {
  const level = encodeLevel(message, [], true)
  const fields = [...level.fields]
  if (level.types.length > 0) fields.push([HEADER.aoTypes, serializeTypes(level.types)])
  if (level.parts.length === 0) return { fields: fields.sort(byName), body: new Uint8Array() }
  const { body, boundary } = encodeMultipart(level.parts)
  fields.push(['content-type', `multipart/form-data; boundary="${boundary}"`], [HEADER.contentDigest, contentDigestField(body)])
  return { fields: fields.sort(byName), body }
}

const byName = (a: readonly [string, string], b: readonly [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

function encodeLevel(message: Message, path: string[], top: boolean): Level {
  const level: Level = { fields: [], types: [], parts: [] }
  let budget = MAX_HEADER_BLOCK_BYTES
  const fieldOk = (key: string, text: string) =>
    FIELD_NAME.test(key) && !(top ? isReservedReplyField(key) : isPartField(key)) && fits(text) && (!top || budget - key.length - text.length - 4 >= 0)
  const addField = (key: string, text: string) => {
    level.fields.push([key, text])
    budget -= key.length + text.length + 4
  }
  const scalarPart = (key: string, bytes: Uint8Array) => level.parts.push({ name: partName([...path, key]), fields: [], body: bytes })
  for (const key of Object.keys(message).sort()) {
    const value = message[key]
    if (value === undefined || isPrivateKey(key)) continue
    const type = typeOf(value)
    if (type !== undefined) level.types.push([key, type])
    if (type?.startsWith('empty-')) continue
    if (value instanceof Uint8Array) scalarPart(key, value)
    else if (Array.isArray(value)) {
      const text = listField(value)
      if (text !== undefined && fieldOk(key, text)) addField(key, text)
      else level.parts.push(...mapParts(Object.fromEntries(value.map((v, i) => [String(i + 1), v])), [...path, key]))
    } else if (isMessage(value)) level.parts.push(...mapParts(value, [...path, key]))
    else {
      const text = scalarText(value)
      if (fieldOk(key, text)) addField(key, text)
      else scalarPart(key, utf8(text))
    }
  }
  return level
}

function mapParts(message: Message, path: string[]): Part[] {
  const inner = encodeLevel(message, path, false)
  const fields = [...inner.fields]
  if (inner.types.length > 0) fields.push([HEADER.aoTypes, serializeTypes(inner.types)])
  return [{ name: partName(path), fields: fields.sort(byName), body: new Uint8Array() }, ...inner.parts]
}

function typeOf(value: Value): string | undefined {
  if (value === '') return 'empty-binary'
  if (value instanceof Uint8Array) return 'binary'
  if (Array.isArray(value)) return value.length === 0 ? 'empty-list' : 'list'
  if (isMessage(value)) return Object.keys(value).length === 0 ? 'empty-message' : undefined
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float'
  if (typeof value === 'boolean' || value === null) return 'atom'
  return undefined
}

const scalarText = (value: Value): string => (value === null ? 'null' : String(value))

/** A list as one field, or undefined when a member cannot be an sf-string. */
function listField(list: readonly Value[]): string | undefined {
  const items: Item[] = []
  for (const member of list) {
    if (typeof member === 'string') {
      if (!PRINTABLE.test(member) || INLINE_TYPE.test(member)) return undefined
      items.push([member, new Map()])
    } else if (typeof member === 'number' || typeof member === 'boolean' || member === null) {
      items.push([`(ao-type-${typeOf(member)}) ${scalarText(member)}`, new Map()])
    } else return undefined
  }
  return serializeList(items)
}

/** `ao-types` as an sf-dictionary of strings; keys that are not sf-keys are percent-escaped. */
function serializeTypes(types: ReadonlyArray<readonly [string, string]>): string {
  const escape = (key: string) => (/^[a-z*][a-z0-9_.*-]*$/.test(key) ? key : [...utf8(key)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''))
  return types.map(([k, t]) => `${escape(k)}="${t}"`).join(', ')
}

const partName = (path: readonly string[]) => path.map(encodeURIComponent).join('/')
const badPart = (message: string) => new InvalidRequestError(`multipart: ${message}`, { code: 'invalid-multipart' })

/** How deep a part may name its key: deeper messages than this are an attack, not a message. */
export const MAX_PART_DEPTH = 64

function partPath(name: string): string[] {
  const pieces = name.split('/')
  if (pieces.length > MAX_PART_DEPTH) throw badPart(`part "${name.slice(0, 60)}…" is nested deeper than ${MAX_PART_DEPTH}`)
  return pieces.map(decodePartKey)
}

function decodePartKey(piece: string): string {
  let key: string
  try {
    key = decodeURIComponent(piece)
  } catch {
    throw badPart(`part name piece "${piece.slice(0, 40)}" is not percent-encoding`)
  }
  // Assigning `__proto__` would replace a message's prototype instead of adding a key.
  if (key === '__proto__') throw badPart('a part may not be named "__proto__"')
  return key
}

/** Decodes fields and body produced by `encodeMessage` (or any client using the same rules). */
export function decodeMessage(fields: Iterable<readonly [string, string]>, body: Uint8Array = new Uint8Array()): Message {
  const own = new Map<string, string>()
  let contentType = ''
  for (const [raw, value] of fields) {
    const name = raw.toLowerCase()
    if (name === 'content-type') contentType = value
    if (name === HEADER.aoTypes || !isReservedReplyField(name)) own.set(name, value)
  }
  const root = decodeLevel(own)
  addBodyParts(root.message, root.types, body, boundaryOf(contentType), DEFAULT_BODY_KEY)
  return root.message
}

/**
 * Adds the keys of a multipart body to `message` (in place), whose own keys came from header
 * fields typed by `types` (its `ao-types`), then turns numbered messages typed `list` into
 * lists; gives the top-level keys the parts set. Takes our parts and HyperBEAM's (hbsig's): a
 * part may name a key whose parent has no part of its own (`items/1` without `items`), carry
 * both fields and a body (a message whose body key is the body), or be `inline` (the body key,
 * `inlineKey`, of the top level).
 */
export function addBodyParts(message: Message, types: Map<string, string>, body: Uint8Array, boundary: string | undefined, inlineKey: string): string[] {
  const topKeys = new Set<string>()
  if (boundary !== undefined && body.length > 0) {
    const parts = decodeMultipart(body, boundary).map((p) => ({ ...p, path: p.inline === true ? [inlineKey] : partPath(p.name) }))
    parts.sort((a, b) => a.path.length - b.path.length)
    const root = { message, types }
    for (const part of parts) {
      placePart(root, part.path, part)
      topKeys.add(part.path[0]!)
    }
  }
  finishLists(message, types)
  return [...topKeys]
}

interface Decoded {
  message: Message
  types: Map<string, string>
}

function decodeLevel(fields: Map<string, string>): Decoded {
  const typesField = fields.get(HEADER.aoTypes)
  const types = typesField === undefined ? new Map<string, string>() : parseAoTypes(typesField)
  const message: Message = {}
  for (const [name, raw] of fields) {
    if (name === HEADER.aoTypes) continue
    const type = types.get(name)
    message[name] = type === undefined ? raw : decodeTypedValue(type, raw, name)
  }
  for (const [key, type] of types) if (type.startsWith('empty-')) message[key] = decodeTypedValue(type, '', key)
  return { message, types }
}

/** Level tracking for nested parts: each decoded message keeps its own types for list fix-up. */
const levels = new WeakMap<Message, Map<string, string>>()

function placePart(root: Decoded, path: string[], part: Part): void {
  let parent = root.message
  let parentTypes = root.types
  for (const key of path.slice(0, -1)) {
    // HyperBEAM names deep parts by their whole path; a parent without a part of its own is a message.
    const next = parent[key] ?? (parent[key] = {})
    if (!isMessage(next)) throw badPart(`part "${path.join('/')}" has no parent message`)
    parent = next
    parentTypes = levels.get(next) ?? new Map()
  }
  const key = path[path.length - 1]!
  const type = parentTypes.get(key)
  // The parent's type says what an empty value is; hbsig also sends its empty part.
  if (type?.startsWith('empty-') === true && part.body.length === 0) {
    parent[key] = decodeTypedValue(type, '', key)
    return
  }
  const fields = part.fields.filter(([n]) => !isPartField(n) || n === HEADER.aoTypes)
  if (fields.length === 0 && (part.body.length > 0 || type === 'binary')) {
    parent[key] = partValue(type, part.body, key)
    return
  }
  const inner = decodeLevel(new Map(fields))
  if (part.body.length > 0) {
    const bodyKey = inner.message[HEADER.inlineBodyKey]
    const name = typeof bodyKey === 'string' && bodyKey !== '' ? bodyKey.toLowerCase() : DEFAULT_BODY_KEY
    inner.message[name] = partValue(inner.types.get(name), part.body, name)
  }
  const existing = parent[key]
  // Parts are placed parents first, so a message already here came from a repeated name.
  const placed = isMessage(existing) ? Object.assign(existing, inner.message) : inner.message
  levels.set(placed, inner.types)
  parent[key] = placed
}

/**
 * A part body as a value: bytes when typed `binary`, else text decoded by its type; untyped
 * bytes that are not UTF-8 stay bytes (HyperBEAM and hbsig send binaries untyped).
 */
function partValue(type: string | undefined, body: Uint8Array, key: string): Value {
  if (type === 'binary') return new Uint8Array(body)
  let text: string
  try {
    text = strictUtf8.decode(body)
  } catch {
    if (type === undefined) return new Uint8Array(body)
    throw badPart(`part "${key}" typed ${type} is not UTF-8`)
  }
  return type === undefined ? text : decodeTypedValue(type, text, key)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Messages typed `list` (numbered members) become arrays, depth first. */
function finishLists(value: Value, types: Map<string, string>): Value {
  if (!isMessage(value)) return value
  for (const [key, member] of Object.entries(value)) {
    const inner = isMessage(member) ? finishLists(member, levels.get(member) ?? new Map()) : member
    value[key] = types.get(key) === 'list' && isMessage(inner)
      ? Object.keys(inner).sort((a, b) => Number(a) - Number(b)).map((k) => inner[k]!)
      : inner
  }
  return value
}

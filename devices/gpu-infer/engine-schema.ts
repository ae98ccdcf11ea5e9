/**
 * @module
 * JSON-schema-constrained output: checks a schema, bounds it, and fixes the grammar so that
 * whatever the model prefers, a finished generation parses and validates.
 *
 * node-llama-cpp compiles a JSON schema subset to a GBNF grammar, but silently: an unknown
 * `type` becomes `null`, `pattern`/`minimum` are ignored, `anyOf` becomes `null`. We reject what
 * it would not honour (400 `invalid-json-schema`) instead of returning output that ignores the
 * schema. Then three fixes make termination and validity hold even on a random model:
 * - unbounded strings/arrays get a maxLength/maxItems cap, and "any JSON" slots (missing
 *   `items`, `additionalProperties: true`) become bounded scalars: a greedy random model
 *   otherwise writes one string forever;
 * - its number grammar allows exponents, so an "integer" like `5e-3` could be generated and
 *   then fail its own validator; we drop exponents from integers and cap float exponents at
 *   two digits (no `1e999` → Infinity);
 * - `anyOf` is rewritten to `oneOf` (any output valid for one branch is valid for anyOf).
 * The result is a restriction of the caller's schema, so valid output is valid for theirs.
 *
 * Bounded work: a schema is at most LIMITS.maxSchemaBytes of JSON, LIMITS.maxSchemaNodes
 * sub-schemas and LIMITS.maxSchemaEnumValues enum values (400 `json-schema-too-large` /
 * `json-schema-too-complex`), checked before anything costly; the grammar itself is compiled
 * in a worker thread (schema-compiler.ts).
 */
import { InvalidRequestError } from '../../core/errors.js'
import { LIMITS } from './constants.js'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type Schema = { [k: string]: Json }

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'])
const FORMATS = new Set(['date-time', 'time', 'date'])
// Annotations carry no constraint: accepted and dropped.
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', '$schema', '$id', '$comment'])
const KEYWORDS = new Set([
  'type', 'const', 'enum', 'oneOf', 'anyOf', '$defs', '$ref', 'properties', 'additionalProperties',
  'minProperties', 'maxProperties', 'required', 'items', 'prefixItems', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'format',
])

const limitError = (code: string, message: string, limit: number) =>
  new InvalidRequestError(`gpu-infer: json-schema ${message}`, { code, detail: { limit } })
const tooLarge = (bytes: number) =>
  limitError('json-schema-too-large', `is ${bytes} bytes; the limit is ${LIMITS.maxSchemaBytes}`, LIMITS.maxSchemaBytes)
export const tooComplex = (what: string, limit: number) => limitError('json-schema-too-complex', `has more than ${limit} ${what}`, limit)

/**
 * The schema a request carries — JSON text, or a structured value from a JSON/CBOR body —
 * size-checked before it is parsed or walked (400 `json-schema-too-large`).
 */
export function parseJsonSchema(value: unknown): unknown {
  if (typeof value === 'string') {
    checkJsonSchemaText(value)
    try {
      return JSON.parse(value)
    } catch {
      return fail('', 'not valid JSON')
    }
  }
  const bytes = jsonSizeUpTo(value, LIMITS.maxSchemaBytes)
  if (bytes > LIMITS.maxSchemaBytes) throw tooLarge(bytes)
  return value
}

/** 400 `json-schema-too-large` for schema text past the limit (callers check it early). */
export function checkJsonSchemaText(text: string): void {
  const bytes = Buffer.byteLength(text)
  if (bytes > LIMITS.maxSchemaBytes) throw tooLarge(bytes)
}

/** About the JSON length of `value`, counted until it passes `limit` (no recursion). */
function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0
  const pending: unknown[] = [value]
  while (pending.length > 0 && size <= limit) {
    const v = pending.pop()
    if (typeof v === 'string') size += v.length + 2
    else if (v instanceof Uint8Array) size += v.length
    else if (Array.isArray(v)) {
      size += 2 + v.length
      for (let i = 0; i < v.length && size <= limit; i++) pending.push(v[i])
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v)
      size += 2 + keys.length
      for (let i = 0; i < keys.length && size <= limit; i++) {
        size += keys[i]!.length + 3
        pending.push((v as Record<string, unknown>)[keys[i]!])
      }
    } else size += 5
  }
  return size
}

const fail = (path: string, why: string): never => {
  throw new InvalidRequestError(`gpu-infer: invalid json-schema at ${path || '#'}: ${why}`, { code: 'invalid-json-schema', detail: { at: path || '#' } })
}
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v)
const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v)
const count = (s: Schema, key: string, path: string): number | undefined => {
  const v = s[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`${path}/${key}`, 'must be an integer >= 0')
  return v as number
}

/** A bounded "any value": what an unconstrained slot may hold in our output. */
const boundedAny = (): Schema => ({
  oneOf: [{ type: 'string', maxLength: LIMITS.schemaStringCap }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
})

function impliedType(s: Schema): string | undefined {
  if (['properties', 'additionalProperties', 'required', 'minProperties', 'maxProperties'].some((k) => k in s)) return 'object'
  if (['items', 'prefixItems', 'minItems', 'maxItems'].some((k) => k in s)) return 'array'
  if (['minLength', 'maxLength', 'format'].some((k) => k in s)) return 'string'
  return undefined
}

/** Validate `schema` and return the bounded schema to compile. Throws 400 `invalid-json-schema`. */
export function boundJsonSchema(schema: unknown): Schema {
  if (!isObject(schema)) fail('', 'a JSON schema must be an object')
  const root = schema as Schema
  const defs = isObject(root.$defs) ? root.$defs : {}
  const seen = new WeakSet<object>()
  // Compile cost grows with every sub-schema and enum value: both are budgeted.
  let nodes = 0
  let enumValues = 0

  const walk = (s: unknown, path: string, depth: number): Schema => {
    if (s === true) return boundedAny()
    if (!isObject(s)) return fail(path, 'must be an object')
    if (depth > LIMITS.maxSchemaDepth) fail(path, `nested deeper than ${LIMITS.maxSchemaDepth}`)
    if (++nodes > LIMITS.maxSchemaNodes) throw tooComplex('sub-schemas', LIMITS.maxSchemaNodes)
    if (seen.has(s)) fail(path, 'cyclic object')
    seen.add(s)
    const out: Schema = {}
    for (const key of Object.keys(s)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) fail(`${path}/${key}`, `unsupported keyword "${key}"`)
    }
    if (typeof s.description === 'string') out.description = s.description
    if (s.$defs !== undefined) {
      if (depth > 0) fail(`${path}/$defs`, 'only allowed at the root')
      if (!isObject(s.$defs)) fail(`${path}/$defs`, 'must be an object')
      const d: Schema = {}
      for (const [k, v] of Object.entries(s.$defs as Schema)) d[k] = walk(v, `${path}/$defs/${k}`, depth + 1)
      out.$defs = d
    }
    if (s.$ref !== undefined) {
      const ref = s.$ref
      if (typeof ref !== 'string' || !ref.startsWith('#/$defs/') || !(ref.slice(8) in defs)) fail(`${path}/$ref`, 'must be "#/$defs/<name>" of a defined name')
      out.$ref = ref
      seen.delete(s)
      return out
    }
    if (s.const !== undefined) {
      if (!isScalar(s.const)) fail(`${path}/const`, 'must be a string, number, boolean or null')
      out.const = s.const
    } else if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) fail(`${path}/enum`, 'must be a non-empty array of scalars')
      enumValues += (s.enum as Json[]).length
      if (enumValues > LIMITS.maxSchemaEnumValues) throw tooComplex('enum values', LIMITS.maxSchemaEnumValues)
      if (!(s.enum as Json[]).every(isScalar)) fail(`${path}/enum`, 'must be a non-empty array of scalars')
      out.enum = s.enum
    } else if (s.oneOf !== undefined || s.anyOf !== undefined) {
      const key = s.oneOf !== undefined ? 'oneOf' : 'anyOf'
      const list = s[key]
      if (!Array.isArray(list) || list.length === 0) fail(`${path}/${key}`, 'must be a non-empty array of schemas')
      out.oneOf = (list as Json[]).map((x, i) => walk(x, `${path}/${key}/${i}`, depth + 1))
    } else if (s.type !== undefined) {
      Object.assign(out, walkTyped(s, path, depth))
    } else {
      // No type: infer it from type-specific keywords (the common `{properties, required}`
      // shorthand); with none, `{}` means "any value", which node-llama-cpp would turn into
      // `null`; we allow bounded scalars.
      const implied = impliedType(s)
      Object.assign(out, implied === undefined ? boundedAny() : walkTyped({ ...s, type: implied }, path, depth))
    }
    seen.delete(s)
    return out
  }

  const walkTyped = (s: Schema, path: string, depth: number): Schema => {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (types.length === 0 || !types.every((t) => typeof t === 'string' && TYPES.has(t)) || new Set(types).size !== types.length) {
      fail(`${path}/type`, `must be one of ${[...TYPES].join(', ')} (or a list of them)`)
    }
    // A type list becomes oneOf of single types, so each branch gets its own bounds.
    if (types.length > 1) return { oneOf: types.map((t) => walkTyped({ ...s, type: t }, path, depth)) }
    const type = types[0] as string
    const out: Schema = { type }
    if (type === 'string') {
      const min = count(s, 'minLength', path)
      const max = count(s, 'maxLength', path)
      if (s.format !== undefined) {
        if (typeof s.format !== 'string' || !FORMATS.has(s.format)) fail(`${path}/format`, `supported formats: ${[...FORMATS].join(', ')}`)
        if (min !== undefined || max !== undefined) fail(path, 'format cannot be combined with minLength/maxLength')
        out.format = s.format
        return out
      }
      if (min !== undefined && max !== undefined && min > max) fail(path, 'minLength > maxLength')
      if (min !== undefined) out.minLength = min
      out.maxLength = max ?? Math.max(min ?? 0, LIMITS.schemaStringCap)
    } else if (type === 'array') {
      const min = count(s, 'minItems', path)
      const max = count(s, 'maxItems', path)
      if (min !== undefined && max !== undefined && min > max) fail(path, 'minItems > maxItems')
      const prefix = s.prefixItems
      if (prefix !== undefined && !Array.isArray(prefix)) fail(`${path}/prefixItems`, 'must be an array of schemas')
      if (Array.isArray(prefix)) out.prefixItems = prefix.map((x, i) => walk(x, `${path}/prefixItems/${i}`, depth + 1))
      out.items = s.items === undefined ? boundedAny() : walk(s.items, `${path}/items`, depth + 1)
      if (min !== undefined) out.minItems = min
      out.maxItems = max ?? Math.max(min ?? 0, (Array.isArray(prefix) ? prefix.length : 0) + LIMITS.schemaArrayCap)
    } else if (type === 'object') {
      const props: Schema = {}
      if (s.properties !== undefined) {
        if (!isObject(s.properties)) fail(`${path}/properties`, 'must be an object')
        for (const [k, v] of Object.entries(s.properties as Schema)) props[k] = walk(v, `${path}/properties/${k}`, depth + 1)
      }
      out.properties = props
      if (s.required !== undefined) {
        // node-llama-cpp always emits every listed property, so any `required` subset holds.
        if (!Array.isArray(s.required) || !s.required.every((k) => typeof k === 'string' && k in props)) fail(`${path}/required`, 'must list names from properties')
        out.required = s.required
      }
      const extra = s.additionalProperties
      if (extra !== undefined && extra !== false) {
        out.additionalProperties = extra === true ? boundedAny() : walk(extra, `${path}/additionalProperties`, depth + 1)
        const min = count(s, 'minProperties', path)
        const max = count(s, 'maxProperties', path)
        if (min !== undefined) out.minProperties = min
        out.maxProperties = max ?? Object.keys(props).length + LIMITS.schemaArrayCap
      }
    }
    return out
  }

  return walk(root, '', 0)
}

const EXPONENT = ' ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?'

/**
 * Tighten node-llama-cpp's number rules in a compiled grammar (see the module comment).
 * Unknown grammar text (another node-llama-cpp version) is returned unchanged: the output is
 * then still validated after generation.
 */
export function tightenNumberRules(grammar: string): string {
  return grammar.split('\n').map((line) => {
    if (!line.includes(EXPONENT)) return line
    if (line.startsWith('integer-number-rule ::=')) return line.replace(EXPONENT, '')
    return line.replace(EXPONENT, ' ([eE] [-+]? [0-9]{1,2})?')
  }).join('\n')
}

/**
 * @module
 * The HyperPATH parser (after HyperBEAM's `hb_singleton`), DESIGN §3. Pure: text in, a tree out.
 *
 *     /<base ID>~dev@1.0&k=v / key&a=1&n+integer=2 / key~other@1.0 / (sub/path) / …
 *
 * - Segments split on `/` outside parentheses; empty segments are dropped.
 * - A segment is `head&k=v&flag…`. The head is a key, `key~device@ver`, `~device@ver`, an ID
 *   (43-char or CID), `ID~device@ver`, or a parenthesised sub-path.
 * - `k+type=v` is a typed value (core/typed.ts); `k=(…)` is a value computed by a sub-path.
 * - Splitting happens on the raw text and each piece is percent-decoded afterwards, so
 *   `%26`, `%3D`, `%2F` and `%28` stay literal characters inside keys and values.
 * Every failure is an AoError with a stable code: the parser throws nothing else, whatever
 * the input (a property test checks this).
 */
import { InvalidRequestError, PathTooLongError } from './errors.js'
import { isId, toAoId } from './id.js'
import { normalizeKey } from './message.js'
import { decodeTypedValue, splitTypedKey } from './typed.js'
import type { Value } from './types.js'
import { utf8ByteLength } from './bytes.js'

/**
 * Marks the sub-paths the parser made. A body, a signed key or a device's message may hold an
 * object of the same shape; only a parsed one is ever resolved (a symbol key cannot arrive in
 * JSON, CBOR or a header), else a JSON body `{"a": {"kind": "subpath", …}}` ran as a computation.
 */
const PARSED = Symbol('parsed sub-path')

/** A value computed by resolving a sub-path. */
export interface SubPath {
  readonly kind: 'subpath'
  readonly path: HyperPath
  readonly [PARSED]: true
}

const subPath = (path: HyperPath): SubPath => ({ kind: 'subpath', path, [PARSED]: true })
export type PathValue = Value | SubPath

/** One parsed segment. Exactly one of `key`, `id`, `sub` is set, or only `device`. */
export interface Segment {
  /** The key to resolve (lower-case). */
  readonly key?: string
  /** `~name@version` (or `~name`, resolved to the newest version later). */
  readonly device?: string
  /** An ID base (AO form), only valid as the first segment. */
  readonly id?: string
  /** A parenthesised sub-path whose result is this step's message. */
  readonly sub?: HyperPath
  /** `&k=v` keys of this segment. */
  readonly keys: Readonly<Record<string, PathValue>>
}

export interface HyperPath {
  readonly segments: readonly Segment[]
}

/** Parser limits; the node passes its configured values. */
export interface PathLimits {
  readonly maxSegmentBytes: number
  readonly maxPathBytes: number
  readonly maxSteps: number
  readonly maxDepth: number
}

export const DEFAULT_PATH_LIMITS: PathLimits = { maxSegmentBytes: 512, maxPathBytes: 8192, maxSteps: 64, maxDepth: 16 }

const DEVICE_NAME = /^[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9._-]*)?$/
const KEY_CHARS = /^[^\u0000-\u001f\u007f/&=~()]+$/

const invalid = (message: string, code: string, detail?: Record<string, unknown>) =>
  new InvalidRequestError(`path: ${message}`, detail === undefined ? { code } : { code, detail })

export const isSubPath = (value: unknown): value is SubPath =>
  typeof value === 'object' && value !== null && (value as Partial<SubPath>)[PARSED] === true

/** Percent-decodes one piece; malformed escapes are a 400, not a URIError. */
export function decodePiece(raw: string): string {
  if (!raw.includes('%')) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    throw invalid(`malformed percent-encoding in "${raw.slice(0, 80)}"`, 'invalid-percent-encoding')
  }
}

/** Splits on `sep` where parentheses are balanced; throws on unbalanced parentheses. */
export function splitOutsideParens(text: string, sep: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '(') depth++
    else if (c === ')') {
      depth--
      if (depth < 0) throw invalid(`unbalanced ")" at offset ${i}`, 'unbalanced-parentheses')
    } else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  if (depth !== 0) throw invalid('unbalanced "(": a sub-path is not closed', 'unbalanced-parentheses')
  parts.push(text.slice(start))
  return parts
}

/** Checks and normalises a key name (keys are case-insensitive). */
export function normalizeKeyName(raw: string): string {
  if (raw === '') throw invalid('empty key', 'invalid-key')
  if (!KEY_CHARS.test(raw)) throw invalid(`key "${raw.slice(0, 80)}" has forbidden characters`, 'invalid-key')
  return normalizeKey(raw)
}

function normalizeDevice(raw: string): string {
  const name = raw.toLowerCase()
  if (!DEVICE_NAME.test(name)) throw invalid(`"~${raw.slice(0, 80)}" is not a device name (name@version)`, 'invalid-device-name')
  return name
}

/** True when `raw` is one parenthesised group: `(…)` whose first "(" closes at the end. */
function isParenthesised(raw: string): boolean {
  if (!raw.startsWith('(') || !raw.endsWith(')')) return false
  let depth = 0
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '(') depth++
    else if (raw[i] === ')' && --depth === 0) return i === raw.length - 1
  }
  return false
}

function parseSegmentKeys(pieces: readonly string[], limits: PathLimits, depth: number): Record<string, PathValue> {
  const keys: Record<string, PathValue> = {}
  for (const piece of pieces) {
    if (piece === '') continue
    const eq = piece.indexOf('=')
    const rawKey = decodePiece(eq === -1 ? piece : piece.slice(0, eq))
    const [name, type] = splitTypedKey(rawKey)
    const key = normalizeKeyName(name)
    if (eq === -1) {
      if (type !== undefined) throw invalid(`typed key "${rawKey}" has no value`, 'invalid-typed-value')
      keys[key] = true
      continue
    }
    const rawValue = piece.slice(eq + 1)
    if (isParenthesised(rawValue) && type === undefined) {
      keys[key] = subPath(parseWithin(rawValue.slice(1, -1), limits, depth + 1))
    } else if (type === 'resolve') {
      keys[key] = subPath(parseWithin(decodePiece(rawValue), limits, depth + 1))
    } else {
      const text = decodePiece(rawValue)
      keys[key] = type === undefined ? text : decodeTypedValue(key, type, text)
    }
  }
  return keys
}

function parseSegment(raw: string, limits: PathLimits, depth: number): Segment {
  if (raw.length > limits.maxSegmentBytes || utf8ByteLength(raw) > limits.maxSegmentBytes) {
    throw invalid(`a segment is ${utf8ByteLength(raw)} bytes; the limit is ${limits.maxSegmentBytes}`, 'path-segment-too-long', {
      limit: limits.maxSegmentBytes,
    })
  }
  const pieces = splitOutsideParens(raw, '&')
  const head = pieces[0] ?? ''
  const keys = parseSegmentKeys(pieces.slice(1), limits, depth)
  if (head.startsWith('(')) {
    if (!isParenthesised(head)) throw invalid(`"${head.slice(0, 80)}" is not a sub-path`, 'invalid-subpath')
    return { sub: parseWithin(head.slice(1, -1), limits, depth + 1), keys }
  }
  const tilde = head.indexOf('~')
  const rawName = decodePiece(tilde === -1 ? head : head.slice(0, tilde))
  const device = tilde === -1 ? undefined : normalizeDevice(decodePiece(head.slice(tilde + 1)))
  const withDevice = device === undefined ? {} : { device }
  if (rawName === '') {
    if (device === undefined) throw invalid(`segment "${raw.slice(0, 80)}" has no key`, 'invalid-key')
    return { ...withDevice, keys }
  }
  if (isId(rawName)) return { id: toAoId(rawName), ...withDevice, keys }
  return { key: normalizeKeyName(rawName), ...withDevice, keys }
}

function parseWithin(text: string, limits: PathLimits, depth: number): HyperPath {
  if (depth > limits.maxDepth) {
    // A limit on what the client wrote (like the step count), not a runaway device: a 4xx.
    throw new PathTooLongError(`path: sub-paths nest deeper than ${limits.maxDepth}`, { code: 'path-too-deep', detail: { limit: limits.maxDepth } })
  }
  const raw = splitOutsideParens(text, '/').filter((s) => s !== '')
  if (raw.length > limits.maxSteps) {
    throw new PathTooLongError(`path: ${raw.length} segments; the limit is ${limits.maxSteps}`, { code: 'too-many-steps', detail: { limit: limits.maxSteps } })
  }
  const segments = raw.map((s) => parseSegment(s, limits, depth))
  if (segments.length === 0) throw invalid('empty path', 'empty-path')
  segments.forEach((segment, i) => {
    if (i > 0 && segment.id !== undefined) throw invalid('an ID may only be the first segment', 'misplaced-id')
    if (i > 0 && segment.key === undefined && segment.sub === undefined) {
      throw invalid('a bare "~device" segment may only be the first segment (use key~device@1.0)', 'misplaced-device')
    }
  })
  return { segments }
}

/**
 * Parses the path part of a URL (no query string) into segments.
 * @throws InvalidRequestError (400), PathTooLongError (414)
 */
export function parsePath(path: string, limits: PathLimits = DEFAULT_PATH_LIMITS): HyperPath {
  if (typeof path !== 'string') throw invalid('not a string', 'invalid-path')
  if (utf8ByteLength(path) > limits.maxPathBytes) {
    throw new PathTooLongError(`path: ${utf8ByteLength(path)} bytes; the limit is ${limits.maxPathBytes}`, {
      code: 'path-too-long',
      detail: { limit: limits.maxPathBytes },
    })
  }
  return parseWithin(path, limits, 0)
}

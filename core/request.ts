/**
 * @module
 * From a parsed path plus the request's other keys to a plan: the base and the step requests.
 *
 * Keys from the query string, the body and key-carrying headers are *global*: they apply to
 * every message of the chain, the base included (HyperBEAM's rule). `N.key=v` applies to the
 * message built from segment N only (segments count from 1, the first included even when it
 * only builds the base). Precedence: a segment's own `&k=v` > `N.key` > global.
 */
import { sameValue } from './codec.js'
import { InvalidRequestError } from './errors.js'
import { PATH_ONLY_KEYS } from './keys.js'
import { decodePiece, isSubPath, normalizeKeyName, type HyperPath, type PathValue } from './path.js'
import { decodeTypedValue, splitTypedKey } from './typed.js'
import type { Message, Value } from './types.js'

export type KeySet = Record<string, PathValue>

/** Keys that arrived outside the path. */
export interface ExtraKeys {
  readonly global: KeySet
  /** Segment number (from 1) → keys for that segment's message only. */
  readonly scoped: ReadonlyMap<number, KeySet>
}

export const NO_EXTRA_KEYS: ExtraKeys = { global: {}, scoped: new Map() }

/** The base of a chain: an empty message, a device, an ID from the store or a sub-path. */
export interface BasePlan {
  readonly id?: string
  readonly device?: string
  readonly sub?: HyperPath
  readonly keys: KeySet
}

/** One step: resolve `key` (or the message a sub-path computes) with these keys. */
export interface StepPlan {
  readonly key?: string
  readonly device?: string
  readonly sub?: HyperPath
  readonly keys: KeySet
}

export interface RequestPlan {
  readonly base: BasePlan
  readonly steps: readonly StepPlan[]
}

const SCOPED = /^([1-9][0-9]{0,3})\.(.+)$/

/**
 * Adds one `[N.]name[+type]` = value pair to an ExtraKeys under construction. A type suffix
 * decodes a text value; values that arrive already typed (JSON, CBOR) are taken as they are.
 */
export function addExtraKey(extra: { global: KeySet; scoped: Map<number, KeySet> }, rawName: string, raw: Value): void {
  const scoped = SCOPED.exec(rawName)
  const [name, type] = splitTypedKey(scoped === null ? rawName : scoped[2] ?? '')
  const key = normalizeKeyName(name)
  if (PATH_ONLY_KEYS.has(key)) throw new InvalidRequestError(`request: "${key}" can only be set by the path`, { code: 'reserved-key' })
  if (type !== undefined && typeof raw !== 'string') {
    throw new InvalidRequestError(`request: "${rawName}" has a type but its value is not text`, { code: 'invalid-typed-value' })
  }
  const value = type === undefined ? raw : decodeTypedValue(key, type, raw as string)
  if (scoped === null) {
    extra.global[key] = value
    return
  }
  const n = Number(scoped[1])
  const keys = extra.scoped.get(n) ?? {}
  keys[key] = value
  extra.scoped.set(n, keys)
}

/**
 * Parses a raw query string (without `?`). `+` stays a literal plus (it introduces a type),
 * unlike form encoding; `k` alone means `k=true`.
 */
export function parseQuery(search: string): ExtraKeys {
  const extra = { global: {} as KeySet, scoped: new Map<number, KeySet>() }
  if (search === '') return extra
  for (const pair of search.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decodePiece(eq === -1 ? pair : pair.slice(0, eq))
    if (eq === -1) {
      extra.global[normalizeKeyName(name)] = true
      continue
    }
    addExtraKey(extra, name, decodePiece(pair.slice(eq + 1)))
  }
  return extra
}

/**
 * What the transport adds while the plan is built, in the same pass over each message's keys
 * (node/app.ts): reply options taken out, the request's signatures put on.
 */
export interface PlanTransport {
  /**
   * Keys that say how to answer, not what to compute (`stream`, `accept-codec`…): taken out of
   * every message unless signed, so the answer has the same hashpath whichever was asked for.
   * Their values are returned (the global one first, then the base's, then each step's).
   */
  readonly take?: readonly string[]
  /** Signed keys and their signed values: kept, and every message must hold exactly these. */
  readonly committed?: Readonly<Record<string, Value>>
  /** The request's signatures, put on every message next to the keys they cover. */
  readonly commitments?: Message
}

/** A plan as the resolver runs it, and the reply options taken out of it. */
export interface FinishedPlan {
  readonly plan: RequestPlan
  readonly taken: Readonly<Record<string, string | boolean>>
}

/** Builds the plan. The first segment is the base when it is an ID, a bare device or a sub-path. */
export function planRequest(path: HyperPath, extra: ExtraKeys = NO_EXTRA_KEYS): RequestPlan {
  return buildPlan(path, extra, undefined)
}

/**
 * Builds the plan in one pass: each message's keys are merged once (global < `N.key` < the
 * segment's own), then lose the taken keys and gain the commitments, in that same object.
 */
export function finishPlan(path: HyperPath, extra: ExtraKeys, transport: PlanTransport): FinishedPlan {
  const take = transport.take ?? []
  const committed = transport.committed ?? {}
  const commitments = transport.commitments
  const taken: Record<string, string | boolean> = {}
  const read = (from: KeySet) => {
    for (const key of take) {
      const value = from[key]
      if (taken[key] === undefined && (typeof value === 'string' || typeof value === 'boolean')) taken[key] = value
    }
  }
  read(extra.global)
  const plan = buildPlan(path, extra, (keys) => {
    read(keys)
    for (const key of take) if (key in keys && !(key in committed)) delete keys[key]
    if (commitments !== undefined) attachCommitments(keys, committed, commitments)
    return keys
  })
  return { plan, taken }
}

function buildPlan(path: HyperPath, extra: ExtraKeys, finish: ((keys: KeySet) => KeySet) | undefined): RequestPlan {
  const withKeys = (n: number, own: KeySet): KeySet => {
    const keys = { ...extra.global, ...extra.scoped.get(n), ...own }
    return finish === undefined ? keys : finish(keys)
  }
  const [first, ...rest] = path.segments
  if (first === undefined) throw new InvalidRequestError('path: empty path', { code: 'empty-path' })
  const firstBuildsBase = first.key === undefined
  const base: BasePlan = firstBuildsBase
    ? {
        ...(first.id === undefined ? {} : { id: first.id }),
        ...(first.device === undefined ? {} : { device: first.device }),
        ...(first.sub === undefined ? {} : { sub: first.sub }),
        keys: withKeys(1, first.keys),
      }
    : { keys: finish === undefined ? { ...extra.global } : finish({ ...extra.global }) }
  const stepSegments = firstBuildsBase ? rest : path.segments
  const offset = firstBuildsBase ? 2 : 1
  const steps = stepSegments.map((segment, i): StepPlan => ({
    ...(segment.key === undefined ? {} : { key: segment.key }),
    ...(segment.device === undefined ? {} : { device: segment.device }),
    ...(segment.sub === undefined ? {} : { sub: segment.sub }),
    keys: withKeys(i + offset, segment.keys),
  }))
  return { base, steps }
}

/**
 * Puts a request's commitments on one message's keys, after checking that they hold exactly
 * the signed values (a path or query key may not replace one, nor set `commitments`).
 */
function attachCommitments(keys: KeySet, committed: Readonly<Record<string, Value>>, commitments: Message): void {
  if ('commitments' in keys) throw committedKeyConflict('commitments')
  for (const key in committed) {
    const own = keys[key]
    if (own === undefined || isSubPath(own) || !sameValue(own as Value, committed[key])) throw committedKeyConflict(key)
  }
  keys.commitments = commitments
}

/** A path or query key that contradicts a signed one. */
export const committedKeyConflict = (key: string): InvalidRequestError =>
  new InvalidRequestError(`request: "${key}" is signed, and the path or query may not set it to something else`, {
    code: 'committed-key-conflict', detail: { key },
  })

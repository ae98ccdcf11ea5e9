/**
 * @module
 * The resolver: a request's way through the node, as a short pipeline of named phases
 * (DESIGN §4–6, after HyperBEAM's `hb_ao:resolve` stages):
 *
 *     plan → materialize base → for each step: materialize request → dispatch →
 *            hashpath → cache lookup → execute → record step → next step
 *
 * A multi-step path folds: the result of step n is the base of step n+1; the first error
 * stops the chain. A literal result is carried to the next step wrapped as
 * `{ao-result: 'body', body}`, which is also the message its ID is computed over.
 */
import { CacheMissError, InternalError, InvalidRequestError, RecursionLimitError, isAoError } from './errors.js'
import { dispatch, isDeterministic } from './dispatch.js'
import { hashpathAlgOf, hashpathOf } from './hashpath.js'
import { idOf } from './id.js'
import { loadMessage, loadStep, messageWrites, stepWrites, type StepRecord } from './ledger.js'
import { asResultMessage, fromResultMessage, isMessage, normalizeKey, overlayKeys } from './message.js'
import { DEFAULT_PATH_LIMITS, isSubPath, parsePath, type HyperPath, type PathLimits } from './path.js'
import type { Registry } from './registry.js'
import { NO_EXTRA_KEYS, planRequest, type ExtraKeys, type KeySet, type RequestPlan } from './request.js'
import type { Store } from './store.js'
import type { Logger, Message, ResolveContext, ResolveResult, StreamSink, Value } from './types.js'

/** How a request treats the step ledger as a cache (HTTP `cache-control`). */
export interface CacheControl {
  /** Recompute even when recorded; compare with the record and flag a mismatch. */
  readonly noCache?: boolean
  /** Write nothing to the store. */
  readonly noStore?: boolean
  /** Answer only from the ledger; a miss is a 504. */
  readonly onlyIfCached?: boolean
}

export interface ResolveOptions {
  readonly signal?: AbortSignal
  readonly cache?: CacheControl
  readonly stream?: StreamSink
  readonly log?: Logger
  /** Sub-resolution depth; callers leave it unset. */
  readonly depth?: number
  /** The transport method, shown to top-level steps as `ctx.method` (never hashed). */
  readonly method?: string
}

export const DEFAULT_HOT_CACHE_ENTRIES = 4096

/** A small LRU of hashpath → answer (Map keeps insertion order; a hit re-inserts). */
function createHotCache(limit: number) {
  const entries = new Map<string, { id: string; value: Value }>()
  return {
    get(key: string) {
      const hit = entries.get(key)
      if (hit !== undefined) {
        entries.delete(key)
        entries.set(key, hit)
      }
      return hit
    },
    set(key: string, entry: { id: string; value: Value }) {
      if (limit <= 0) return
      entries.delete(key)
      entries.set(key, entry)
      if (entries.size > limit) entries.delete(entries.keys().next().value as string)
    },
  }
}

export interface ResolverInit {
  readonly registry: Registry
  readonly store: Store
  readonly log: Logger
  /** Public node options handed to devices; never change a deterministic result. */
  readonly options?: Readonly<Record<string, unknown>>
  readonly limits?: Partial<PathLimits>
  /** Answers kept in memory for repeated deterministic steps (0 turns the hot cache off). */
  readonly hotCacheEntries?: number
}

export interface Resolver {
  readonly registry: Registry
  readonly store: Store
  readonly limits: PathLimits
  /** Parses, plans and runs a path. */
  resolve(path: string, extra?: ExtraKeys, opts?: ResolveOptions): Promise<ResolveResult>
  /** Runs a plan. */
  run(plan: RequestPlan, opts?: ResolveOptions): Promise<ResolveResult>
  /** Runs one step on a base whose hashpath is known. */
  step(base: Message, baseHashpath: string, req: Message, opts?: ResolveOptions): Promise<ResolveResult>
}

const NEVER_ABORTED = new AbortController().signal

export function createResolver(init: ResolverInit): Resolver {
  const { registry, store } = init
  const limits: PathLimits = { ...DEFAULT_PATH_LIMITS, ...init.limits }
  const options = Object.freeze({ ...init.options })

  // Recently answered deterministic steps, already checked against their IDs when read. A record
  // never changes once written (the first one is the evidence), so these never go stale.
  const hot = createHotCache(init.hotCacheEntries ?? DEFAULT_HOT_CACHE_ENTRIES)

  const checkDepth = (depth: number) => {
    if (depth > limits.maxDepth) throw new RecursionLimitError(`resolve: sub-resolutions nest deeper than ${limits.maxDepth}`)
  }

  /** Replaces sub-path values by their results. */
  async function materializeKeys(keys: KeySet, opts: ResolveOptions): Promise<Message> {
    const out: Message = {}
    for (const [key, value] of Object.entries(keys)) {
      out[key] = isSubPath(value) ? (await runPath(value.path, opts)).value : value
    }
    return out
  }

  const runPath = (path: HyperPath, opts: ResolveOptions) =>
    run(planRequest(path), { ...opts, depth: (opts.depth ?? 0) + 1 })

  async function materializeBase(plan: RequestPlan, opts: ResolveOptions): Promise<Message> {
    const { id, device, sub, keys } = plan.base
    let base: Message = {}
    if (id !== undefined) base = await loadMessage(store, id)
    else if (sub !== undefined) base = asResultMessage((await runPath(sub, opts)).value)
    base = overlayKeys(base, await materializeKeys(keys, opts))
    if (device !== undefined) base.device = registry.canonical(device)
    return base
  }

  async function materializeStep(step: RequestPlan['steps'][number], opts: ResolveOptions): Promise<Message> {
    const keys = await materializeKeys(step.keys, opts)
    if (step.sub !== undefined) {
      const computed = (await runPath(step.sub, opts)).value
      if (!isMessage(computed) || typeof computed.path !== 'string') {
        throw new InvalidRequestError('resolve: a sub-path step must compute a message with a "path" key', { code: 'invalid-subpath-step' })
      }
      return { ...keys, ...computed }
    }
    const req: Message = { ...keys, path: step.key ?? '' }
    if (step.device !== undefined) req['as-device'] = registry.canonical(step.device)
    return req
  }

  async function run(plan: RequestPlan, opts: ResolveOptions = {}): Promise<ResolveResult> {
    checkDepth(opts.depth ?? 0)
    const meta = new Map<string, string>()
    let value: Value = await materializeBase(plan, opts)
    let hashpath = idOf(value as Message)
    let id = hashpath
    let cached = false
    let deterministic = true
    for (const stepPlan of plan.steps) {
      const req = await materializeStep(stepPlan, opts)
      const outcome = await execStep(asResultMessage(value), hashpath, req, opts, deterministic)
      const result = outcome.result
      deterministic = outcome.deterministic
      ;({ value, hashpath, id, cached } = result)
      for (const [k, v] of result.meta) meta.set(k, v)
    }
    if (plan.steps.length === 0 && opts.cache?.noStore !== true) {
      // A bare base is still an answer worth keeping: later paths may start from its ID.
      await store.batch(messageWrites([value as Message]))
    }
    return { value, hashpath, id, cached, meta }
  }

  const step = async (base: Message, baseHashpath: string, req: Message, opts: ResolveOptions = {}): Promise<ResolveResult> =>
    (await execStep(base, baseHashpath, req, opts, true)).result

  /**
   * One step. `baseDeterministic` is false when the base came out of a non-deterministic step
   * earlier in the chain: a hashpath names inputs, not outputs, so the same hashpath then
   * stands for different bases, and the step may neither be answered from the ledger nor be
   * recorded as reproducible (e.g. `/commit/id`, `/~meta@1.0/info/name`).
   */
  async function execStep(
    base: Message, baseHashpath: string, req: Message, opts: ResolveOptions, baseDeterministic: boolean,
  ): Promise<{ result: ResolveResult; deterministic: boolean }> {
    const depth = opts.depth ?? 0
    checkDepth(depth)
    const key = typeof req.path === 'string' ? normalizeKey(req.path) : ''
    if (key === '') throw new InvalidRequestError('resolve: a step needs a key', { code: 'missing-key' })
    const chosen = dispatch(registry, base, req, key)
    const alg = hashpathAlgOf(base)
    const hashpath = hashpathOf(baseHashpath, req, alg)
    const cache = opts.cache ?? {}
    const declaredDeterministic = baseDeterministic && isDeterministic(chosen.device, key, req)
    const meta = new Map<string, string>()
    // The step logger and the abort signal are built on first use: most steps read neither, and
    // each costs more than resolving a cached step.
    let stepLog: Logger | undefined
    const logger = (): Logger => (stepLog ??= (opts.log ?? init.log).child({ hashpath, device: chosen.device.name, key }))

    // no-cache + no-store is a pure recomputation (replay compares for itself): skip the ledger.
    const pure = cache.noCache === true && cache.noStore === true
    const warm = declaredDeterministic && cache.noCache !== true ? hot.get(hashpath) : undefined
    if (warm !== undefined) return { result: { value: warm.value, hashpath, id: warm.id, cached: true, meta }, deterministic: true }
    const recorded = declaredDeterministic && !pure ? await loadStep(store, hashpath) : undefined
    if (recorded !== undefined && recorded.deterministic && cache.noCache !== true) {
      const value = fromResultMessage(await loadMessage(store, recorded.result))
      hot.set(hashpath, { id: recorded.result, value })
      return { result: { value, hashpath, id: recorded.result, cached: true, meta }, deterministic: true }
    }
    if (cache.onlyIfCached === true) {
      throw new CacheMissError(`resolve: ${hashpath} is not cached`, { detail: { hashpath } })
    }

    let deterministic = declaredDeterministic
    const ctx: ResolveContext = {
      options,
      store,
      get log() { return logger() },
      get signal() { return opts.signal ?? NEVER_ABORTED },
      depth,
      hashpath: baseHashpath,
      meta,
      ...(opts.stream === undefined ? {} : { stream: opts.stream }),
      ...(depth === 0 && opts.method !== undefined ? { method: opts.method } : {}),
      markNonDeterministic: () => { deterministic = false },
      resolve: (path, sub) => {
        const nested = { ...opts, depth: depth + 1 }
        if (typeof path === 'string') return resolveText(path, NO_EXTRA_KEYS, nested)
        const [first, ...rest] = path
        const root = sub?.base ?? first ?? {}
        const steps = sub?.base === undefined ? rest : path
        return runMessages(root, steps, nested)
      },
    }
    let value: Value
    try {
      value = await chosen.handler(base, req, ctx)
    } catch (err) {
      if (isAoError(err)) throw err
      throw new InternalError(`resolve: ${chosen.runner.name} failed on "${key}"`, { cause: err })
    }
    const resultMessage = asResultMessage(value)
    const id = idOf(resultMessage)
    if (recorded !== undefined && recorded.result !== id) {
      meta.set('cache-mismatch', recorded.result)
      logger().warn({ recorded: recorded.result, recomputed: id }, 'recomputed result differs from the recorded one')
    }
    if (cache.noStore !== true && recorded === undefined) {
      const record: StepRecord = {
        hashpath, base: baseHashpath, request: idOf(req), device: chosen.device.name, key, result: id, deterministic, alg,
      }
      const rootBase = baseHashpath.includes('/') ? [] : [base]
      await store.batch(stepWrites([...rootBase, req, resultMessage], record))
      if (deterministic) hot.set(hashpath, { id, value })
    }
    return { result: { value, hashpath, id, cached: false, meta }, deterministic }
  }

  async function runMessages(root: Message, reqs: readonly Message[], opts: ResolveOptions): Promise<ResolveResult> {
    checkDepth(opts.depth ?? 0)
    let value: Value = root
    let hashpath = idOf(root)
    let result: ResolveResult = { value, hashpath, id: hashpath, cached: false, meta: new Map() }
    let deterministic = true
    for (const req of reqs) {
      const outcome = await execStep(asResultMessage(value), hashpath, req, opts, deterministic)
      ;({ result, deterministic } = outcome)
      ;({ value, hashpath } = result)
    }
    return result
  }

  const resolveText = (path: string, extra: ExtraKeys = NO_EXTRA_KEYS, opts: ResolveOptions = {}) =>
    run(planRequest(parsePath(path, limits), extra), opts)

  return { registry, store, limits, resolve: resolveText, run, step }
}

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
import { bareKeyPart, hashpathAlgOf, nextHashpath, type HashpathAlg } from './hashpath.js'
import { EncodedMessage } from './id.js'
import { implementationWrite, recordedImplementation } from './implementation.js'
import { createLru } from './lru.js'
import { loadMessage, loadStep, messageWrites, stepWrites, type LedgerTrust, type StepRecord } from './ledger.js'
import { asResultMessage, fromResultMessage, isMessage, normalizeKey, overlayKeys } from './message.js'
import { PATH_ONLY_KEYS } from './keys.js'
import { DEFAULT_PATH_LIMITS, isSubPath, parsePath, type HyperPath, type PathLimits } from './path.js'
import { NO_EXTRA_KEYS, planRequest, type ExtraKeys, type KeySet, type RequestPlan } from './request.js'
import { StepContext } from './step-context.js'
import type { Logger, Message, ResolveResult, Value } from './types.js'
import { unprepared, type PreparedPlan, type ResolveOptions, type Resolver, type ResolverInit } from './resolver-types.js'

export type { CacheControl, PreparedPlan, ResolveOptions, Resolver, ResolverInit, StepObserver, StepSource } from './resolver-types.js'
export { unprepared } from './resolver-types.js'

export const DEFAULT_HOT_CACHE_ENTRIES = 4096

export type { LedgerTrust }

/** A resolver built without a policy (tests, benches) believes its own store, as it writes it. */
const BELIEVE_THE_STORE: LedgerTrust = { self: '', trusts: () => true }

const NEVER_ABORTED = new AbortController().signal

/**
 * What a device returned, encoded. Output outside the message data model (upper-case keys,
 * Maps, class instances, `undefined` values, the raw result of `ctx.resolve`) is the device's
 * fault, not the client's: a 500 `invalid-device-output` naming the device and the key, logged.
 */
function deviceOutput(result: Message, device: string, key: string, log: () => Logger): EncodedMessage {
  try {
    return EncodedMessage.of(result, true)
  } catch (err) {
    if (!isAoError(err) || err.code !== 'invalid-message') throw err
    const raw = 'cached' in result && 'meta' in result && 'hashpath' in result && 'id' in result
    const hint = raw ? ' (it returned the result of ctx.resolve: return its .value, or a message of its own)' : ''
    log().error({ err, device, key }, 'device returned output outside the message data model')
    throw new InternalError(`resolve: ${device} returned bad output for "${key}": ${err.message}${hint}`, {
      code: 'invalid-device-output', cause: err, detail: { device, key },
    })
  }
}

/**
 * Options for a sub-resolution. The signal is read and carried explicitly: a caller's options
 * may make it on first read through a getter, which a spread would not copy from a prototype.
 */
function nestedOptions(opts: ResolveOptions, depth: number): ResolveOptions {
  const signal = opts.signal
  return { ...opts, depth, ...(signal === undefined ? {} : { signal }) }
}

/**
 * The root base's write beside the first step's record (a later step's base is a result,
 * written by its own step): from the bytes its ID was computed from when they are at hand.
 */
function rootWrite(base: Message, baseHashpath: string, root: EncodedMessage | undefined): Array<Message | EncodedMessage> {
  if (baseHashpath.includes('/')) return []
  return [root !== undefined && root.id === baseHashpath ? root : base]
}

/**
 * A message as a request: its `path` parsed, its other keys global (as a body's keys are), so
 * data passes whole instead of through the path's segment limit. `as-device` stays the path's.
 */
function planMessage(message: Message, extra: ExtraKeys, limits: PathLimits): RequestPlan {
  const { path, ...keys } = message
  if (typeof path !== 'string' || path === '') {
    throw new InvalidRequestError('resolve: a message to resolve needs a "path" (a HyperPATH such as /~message@1.0/key)', { code: 'empty-path' })
  }
  for (const key of Object.keys(keys)) {
    if (PATH_ONLY_KEYS.has(key)) throw new InvalidRequestError(`resolve: "${key}" can only be set by the path`, { code: 'reserved-key' })
  }
  return planRequest(parsePath(path.startsWith('/') ? path : `/${path}`, limits), { global: { ...extra.global, ...keys }, scoped: extra.scoped })
}

interface StepOutcome {
  readonly result: ResolveResult
  readonly deterministic: boolean
  /** The step's hashpath may name other computations too (see execStep): never a ledger answer. */
  readonly orderBlind: boolean
}

/**
 * `fn(value)` now when the value is at hand, after it settles when it is a promise. The
 * resolver's common case (literal keys, a cached step) then runs without a single microtask.
 */
function andThen<T, U>(value: T | Promise<T>, fn: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}

export function createResolver(init: ResolverInit): Resolver {
  const { registry, store } = init
  const limits: PathLimits = { ...DEFAULT_PATH_LIMITS, ...init.limits }
  const options = Object.freeze({ ...init.options })
  const ledger = init.ledger ?? BELIEVE_THE_STORE
  const believed = (record: StepRecord): boolean => record.writer === ledger.self || ledger.trusts(record.writer)

  // Recently answered deterministic steps, already checked against their IDs when read. A record
  // never changes once written (the first one is the evidence), so these never go stale.
  // Each answer keeps its record's writer: an operator who stops trusting a writer is obeyed at once.
  const hot = createLru<string, { id: string; value: Value; writer: string }>(init.hotCacheEntries ?? DEFAULT_HOT_CACHE_ENTRIES)
  const onStep = init.onStep

  const checkDepth = (depth: number) => {
    if (depth > limits.maxDepth) throw new RecursionLimitError(`resolve: sub-resolutions nest deeper than ${limits.maxDepth}`)
  }

  /**
   * Replaces sub-path values by their results. Keys without sub-paths (nearly all) are copied
   * without an await: a cached answer is a handful of microseconds, and each promise counts.
   */
  function materializeKeys(keys: KeySet, opts: ResolveOptions): Message | Promise<Message> {
    for (const key in keys) if (isSubPath(keys[key])) return materializeSubPaths(keys, opts)
    return { ...keys } as Message
  }

  async function materializeSubPaths(keys: KeySet, opts: ResolveOptions): Promise<Message> {
    const out: Message = {}
    for (const [key, value] of Object.entries(keys)) {
      out[key] = isSubPath(value) ? (await runPath(value.path, opts)).value : value
    }
    return out
  }

  const runPath = (path: HyperPath, opts: ResolveOptions) =>
    run(unprepared(planRequest(path)), nestedOptions(opts, (opts.depth ?? 0) + 1))

  function materializeBase(plan: RequestPlan, opts: ResolveOptions): Message | Promise<Message> {
    const { id, device, sub, keys } = plan.base
    const loaded: Message | Promise<Message> = id !== undefined
      ? loadMessage(store, id)
      : sub !== undefined ? runPath(sub, opts).then((r) => asResultMessage(r.value)) : {}
    return andThen(loaded, (from) => andThen(materializeKeys(keys, opts), (own) => {
      const base = overlayKeys(from, own)
      if (device !== undefined) base.device = registry.canonical(device)
      return base
    }))
  }

  function materializeStep(step: RequestPlan['steps'][number], opts: ResolveOptions): Message | Promise<Message> {
    return andThen(materializeKeys(step.keys, opts), (keys) => {
      if (step.sub !== undefined) {
        return runPath(step.sub, opts).then(({ value: computed }) => {
          if (!isMessage(computed) || typeof computed.path !== 'string') {
            throw new InvalidRequestError('resolve: a sub-path step must compute a message with a "path" key', { code: 'invalid-subpath-step' })
          }
          return { ...keys, ...computed }
        })
      }
      const req: Message = { ...keys, path: step.key ?? '' }
      if (step.device !== undefined) req['as-device'] = registry.canonical(step.device)
      return req
    })
  }

  /**
   * A plan's base ID when it is known before running: a base loaded by ID alone is that ID (its
   * bytes are checked against it when loaded); a base built only from literal keys is the same
   * message on every run, encoded here once. Anything else (a sub-path, a loaded base with
   * keys on top) is computed per run.
   */
  function prepare(plan: RequestPlan): PreparedPlan {
    const { id, device, sub, keys } = plan.base
    const literal = sub === undefined && !Object.values(keys).some(isSubPath)
    if (id !== undefined && device === undefined && literal && Object.keys(keys).length === 0) return { plan, baseId: id, encodedBase: undefined }
    if (id !== undefined || !literal) return { plan, baseId: undefined, encodedBase: undefined }
    const encoded = EncodedMessage.of(materializeBase(plan, {}) as Message)
    return { plan, baseId: encoded.id, encodedBase: encoded }
  }

  async function run(prepared: PreparedPlan, opts: ResolveOptions = {}): Promise<ResolveResult> {
    checkDepth(opts.depth ?? 0)
    const { plan } = prepared
    const meta = new Map<string, string>()
    const materialized = materializeBase(plan, opts)
    let value: Value = materialized instanceof Promise ? await materialized : materialized
    const root = prepared.baseId === undefined ? EncodedMessage.of(value as Message) : prepared.encodedBase
    let hashpath = prepared.baseId ?? (root as EncodedMessage).id
    let id = hashpath
    let cached = false
    let deterministic = true
    let orderBlind = false
    for (const stepPlan of plan.steps) {
      const pending = materializeStep(stepPlan, opts)
      const req = pending instanceof Promise ? await pending : pending
      const executing = execStep(asResultMessage(value), hashpath, req, opts, deterministic, orderBlind, root)
      const outcome = executing instanceof Promise ? await executing : executing
      const result = outcome.result
      deterministic = outcome.deterministic
      orderBlind = outcome.orderBlind
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
    (await execStep(base, baseHashpath, req, opts, true, false)).result

  /**
   * One step. `baseDeterministic` is false when the base came out of a non-deterministic step
   * earlier in the chain: a hashpath names inputs, not outputs, so the same hashpath then
   * stands for different bases, and the step may neither be answered from the ledger nor be
   * recorded as reproducible (e.g. `/commit/id`, `/~meta@1.0/info/name`).
   */
  function execStep(
    base: Message, baseHashpath: string, req: Message, opts: ResolveOptions, baseDeterministic: boolean, baseOrderBlind: boolean,
    root?: EncodedMessage,
  ): StepOutcome | Promise<StepOutcome> {
    const depth = opts.depth ?? 0
    checkDepth(depth)
    const startedAt = onStep === undefined ? 0 : performance.now()
    const key = typeof req.path === 'string' ? normalizeKey(req.path) : ''
    if (key === '') throw new InvalidRequestError('resolve: a step needs a key', { code: 'missing-key' })
    const chosen = dispatch(registry, base, req, key)
    const alg = hashpathAlgOf(base)
    // A bare key request's part is its key; any other request's is its ID, encoded once here
    // and written from the same bytes.
    const bare = bareKeyPart(req)
    const encodedReq = bare === undefined ? EncodedMessage.of(req) : undefined
    const hashpath = nextHashpath(baseHashpath, bare ?? (encodedReq as EncodedMessage).id, alg)
    const cache = opts.cache ?? {}
    const declaredDeterministic = baseDeterministic && isDeterministic(chosen.device, key, req)
    // accumulate-256 adds its parts, so swapping two steps keeps the hashpath: such a hashpath
    // names a set of requests, not one computation. Neither it nor anything computed on top of
    // it (even after the base drops `hashpath-alg`) is answered from the ledger (docs/hashpath.md).
    const orderBlind = baseOrderBlind || alg === 'accumulate-256'
    const warm = declaredDeterministic && !orderBlind && cache.noCache !== true ? hot.get(hashpath) : undefined
    if (warm !== undefined && (warm.writer === ledger.self || ledger.trusts(warm.writer))) {
      onStep?.(chosen.device.name, key, hashpath, 'memory', startedAt)
      return { result: { value: warm.value, hashpath, id: warm.id, cached: true, meta: new Map() }, deterministic: true, orderBlind }
    }
    const step = { base, baseHashpath, req, encodedReq, root, opts, key, chosen, alg, hashpath, declaredDeterministic, orderBlind }
    if (onStep === undefined) return execUncached(step)
    return execUncached(step).then((outcome) => {
      onStep(chosen.device.name, key, hashpath, outcome.result.cached ? 'ledger' : 'executed', startedAt)
      return outcome
    }, (err: unknown) => {
      onStep(chosen.device.name, key, hashpath, 'failed', startedAt)
      throw err
    })
  }

  /** The rest of a step, past the in-memory answers: the ledger, then the device. */
  async function execUncached(step: {
    base: Message; baseHashpath: string; req: Message; encodedReq: EncodedMessage | undefined; root: EncodedMessage | undefined
    opts: ResolveOptions; key: string; chosen: ReturnType<typeof dispatch>; alg: HashpathAlg; hashpath: string
    declaredDeterministic: boolean; orderBlind: boolean
  }): Promise<StepOutcome> {
    const { base, baseHashpath, req, opts, key, chosen, alg, hashpath, declaredDeterministic, orderBlind } = step
    const cache = opts.cache ?? {}
    const depth = opts.depth ?? 0
    const meta = new Map<string, string>()
    // The step logger and the abort signal are built on first use: most steps read neither, and
    // each costs more than resolving a cached step.
    let stepLog: Logger | undefined
    const logger = (): Logger => (stepLog ??= (opts.log ?? init.log).child({ hashpath, device: chosen.device.name, key }))
    // no-cache + no-store is a pure recomputation (replay compares for itself): skip the ledger.
    const pure = cache.noCache === true && cache.noStore === true
    const recorded = declaredDeterministic && !pure ? await loadStep(store, hashpath) : undefined
    // A record nobody this node trusts stands behind is never an answer (and never replaced:
    // only replay promotes it, once re-execution agrees). The reply says so in a header. An
    // order-blind step's record is kept (the first computation's evidence) but never answers.
    // A device that names its code is answered from the ledger only by the code that wrote it:
    // a record this node stands behind but older code wrote is recomputed and replaced. (Any
    // other record is untrusted whatever wrote it, and stays.)
    const implementation = chosen.device.implementation
    const believedRecord = recorded !== undefined && believed(recorded)
    const wroteWith = implementation === undefined || !believedRecord ? implementation : await recordedImplementation(store, hashpath)
    const sameCode = wroteWith === implementation
    if (!sameCode) meta.set('implementation-changed', wroteWith ?? 'unknown')
    const trusted = believedRecord && sameCode
    if (recorded !== undefined && !believedRecord && !orderBlind) meta.set('untrusted-record', recorded.writer === '' ? 'unknown' : recorded.writer)
    if (trusted && !orderBlind && recorded.deterministic && cache.noCache !== true) {
      const value = fromResultMessage(await loadMessage(store, recorded.result))
      hot.set(hashpath, { id: recorded.result, value, writer: recorded.writer })
      return { result: { value, hashpath, id: recorded.result, cached: true, meta }, deterministic: true, orderBlind }
    }
    if (cache.onlyIfCached === true) {
      throw new CacheMissError(`resolve: ${hashpath} is not cached`, { detail: { hashpath } })
    }

    const ctx = new StepContext({
      options, store, depth, hashpath: baseHashpath, meta, stream: opts.stream,
      method: depth === 0 ? opts.method : undefined,
      caller: depth === 0 ? opts.caller : undefined,
      log: logger,
      signal: () => opts.signal ?? NEVER_ABORTED,
      resolve: (path, sub) => {
        const nested = nestedOptions(opts, depth + 1)
        if (!Array.isArray(path)) return resolveText(path, NO_EXTRA_KEYS, nested)
        const [first, ...rest] = path
        const root = sub?.base ?? first ?? {}
        const steps = sub?.base === undefined ? rest : path
        return runMessages(root, steps, nested)
      },
    })
    let value: Value
    try {
      value = await chosen.handler(base, req, ctx)
    } catch (err) {
      if (isAoError(err)) throw err
      throw new InternalError(`resolve: ${chosen.runner.name} failed on "${key}"`, { cause: err })
    }
    const deterministic = declaredDeterministic && ctx.deterministic
    const output = deviceOutput(asResultMessage(value), chosen.device.name, key, logger)
    const id = output.id
    if (recorded !== undefined && !orderBlind && recorded.result !== id) {
      meta.set('cache-mismatch', recorded.result)
      logger().warn({ recorded: recorded.result, recomputed: id }, 'recomputed result differs from the recorded one')
    }
    if (cache.noStore !== true && (recorded === undefined || !sameCode)) {
      const encodedReq = step.encodedReq ?? EncodedMessage.of(req)
      const record: StepRecord = {
        hashpath, base: baseHashpath, request: encodedReq.id, device: chosen.device.name, key, result: id, deterministic, alg, writer: ledger.self,
      }
      const writes = stepWrites([...rootWrite(base, baseHashpath, step.root), encodedReq, output], record, recorded !== undefined)
      if (implementation !== undefined) writes.push(implementationWrite(hashpath, implementation))
      await store.batch(writes)
      if (deterministic && !orderBlind) hot.set(hashpath, { id, value, writer: ledger.self })
    }
    return { result: { value, hashpath, id, cached: false, meta }, deterministic, orderBlind }
  }

  async function runMessages(root: Message, reqs: readonly Message[], opts: ResolveOptions): Promise<ResolveResult> {
    checkDepth(opts.depth ?? 0)
    const encodedRoot = EncodedMessage.of(root)
    let value: Value = root
    let hashpath = encodedRoot.id
    let result: ResolveResult = { value, hashpath, id: hashpath, cached: false, meta: new Map() }
    let deterministic = true
    let orderBlind = false
    for (const req of reqs) {
      const outcome = await execStep(asResultMessage(value), hashpath, req, opts, deterministic, orderBlind, encodedRoot)
      ;({ result, deterministic, orderBlind } = outcome)
      ;({ value, hashpath } = result)
    }
    return result
  }

  /** Parsing throws; a caller of `resolve` gets every refusal as a rejection. */
  function resolveText(path: string | Message, extra: ExtraKeys = NO_EXTRA_KEYS, opts: ResolveOptions = {}): Promise<ResolveResult> {
    let plan: RequestPlan
    try {
      plan = typeof path === 'string' ? planRequest(parsePath(path, limits), extra) : planMessage(path, extra, limits)
    } catch (err) {
      return Promise.reject(err)
    }
    return run(unprepared(plan), opts)
  }

  return { registry, store, limits, ledger, resolve: resolveText, prepare, run, step }
}

/**
 * @module
 * The HTTP face of the node: one hono app where every path is a HyperPATH.
 *
 *     request → (path, query, headers, body) → plan → resolver → response
 *
 * Streaming: `accept: text/event-stream` or a `stream` key asks for Server-Sent Events. The
 * `stream` flag is a transport choice, not part of the computation, so it is taken out of the
 * request before hashing: a streamed answer has the same hashpath and ID as a plain one. The
 * reply codec keys (`accept-codec`, `require-codec`) are treated the same way (negotiate.ts).
 *
 * Identity: signatures (RFC 9421 headers or an ANS-104 body) are verified before the request
 * is planned, and become the `commitments` of every message of the chain (http-identity.ts).
 * A signed request also names its `caller`, which privileged actions authorise through
 * (request-caller.ts, core/authority.ts); unsigned requests skip all of it.
 */
import { randomUUID } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { isAoError } from '../core/errors.js'
import { parsePath } from '../core/path.js'
import { finishPlan, type RequestPlan } from '../core/request.js'
import { REPLY_OPTION_KEYS } from '../core/keys.js'
import { unprepared, type CacheControl, type Resolver, type ResolveOptions } from '../core/resolve.js'
import type { Caller, Logger, ResolveResult, StreamSink } from '../core/types.js'
import { nodeIncoming, requestHeaders } from './http-headers.js'
import { incomingKeys, targetOf } from './http-identity.js'
import { createPlanCache, isPlainRequest } from './plan-cache.js'
import { parseCacheControl, readBody } from './http-request.js'
import { errorResponse, resultResponse } from './http-response.js'
import { eventStreamResponse, linkAbort } from './http-stream.js'
import { chooseCodec, wantsStream, type TransportKeys } from './negotiate.js'
import { wantsReceipt, type Receipts } from '../devices/attest/index.js'
import { requestCaller, type CallerPolicy } from './request-caller.js'
import type { Wallet } from '../identity/keys.js'
import { COUNTED, type Counted } from './metrics-http.js'
import type { NodeMetrics } from './metrics.js'
import { requestSpan } from './telemetry.js'
import { toJson } from '../core/json.js'

export interface AppInit {
  readonly resolver: Resolver
  readonly log: Logger
  readonly bodyLimit: number
  /** Per-request time limit; generation is cancelled past it. */
  readonly requestTimeoutMs?: number
  /** Extra routes mounted before the HyperPATH catch-all (e.g. the OpenAI surface). */
  readonly routes?: (app: Hono) => void
  /**
   * The node's identity, for signed replies: httpsig replies are signed when `signReplies()`
   * says so, or when the request carries RFC 9421's `accept-signature`.
   */
  readonly identity?: { readonly wallet: Wallet; signReplies(): boolean }
  /** Inference receipts (`attest=true`, or always when configured). */
  readonly receipts?: Receipts
  /** Plans of plain requests kept by target (node/plan-cache.ts); 0 plans every request. */
  readonly planCacheEntries?: number
  /** How signed requests name their caller; without it, no request can authorise anything. */
  readonly callers?: CallerPolicy
  /** Request counts and durations by device, key and status (node/metrics.ts). */
  readonly metrics?: NodeMetrics
}

/** What a request's handling learnt, for its metrics and span: its plan and its answer. */
class Seen {
  plan: RequestPlan | undefined = undefined
  answer: ResolveResult | undefined = undefined
}

const UNPLANNED = ['other', 'other'] as const

export const DEFAULT_PLAN_CACHE_ENTRIES = 1024

export const DEFAULT_REQUEST_TIMEOUT_MS = 5 * 60_000

/** Server-Sent Events around one resolution: device events as they come, then `result`. */
function sseResponse(
  run: (sink: StreamSink, signal: AbortSignal) => Promise<ResolveResult>,
  finish: (result: ResolveResult) => Promise<Record<string, unknown>>,
  requestId: string, parent: AbortSignal, log: Logger, onDone: () => void,
): Response {
  return eventStreamResponse(async (send, signal) => {
    const emit = (event: string, data: unknown) => send(JSON.stringify(data), event)
    try {
      const result = await run({ write: emit }, signal)
      emit('result', { hashpath: result.hashpath, id: result.id, cached: result.cached, value: toJson(result.value), meta: Object.fromEntries(result.meta), ...(await finish(result)) })
    } catch (err) {
      if (!isAoError(err)) log.error({ err, requestId }, 'stream failed')
      else log.info({ requestId, status: err.status, code: err.code }, 'stream ended with an error')
      emit('error', isAoError(err) ? { ...err.toJSON(), 'request-id': requestId } : { status: 500, code: 'internal', 'request-id': requestId })
    }
  }, parent, { 'x-request-id': requestId }, onDone)
}

/** A logger whose child is made on first use: one object per request, no closures. */
class LazyChildLogger implements Logger {
  #child: Logger | undefined
  readonly #parent: Logger
  readonly #bindings: Record<string, unknown>
  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }
  private get log(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings))
  }
  debug(obj: object | string, msg?: string): void { this.log.debug(obj, msg) }
  info(obj: object | string, msg?: string): void { this.log.info(obj, msg) }
  warn(obj: object | string, msg?: string): void { this.log.warn(obj, msg) }
  error(obj: object | string, msg?: string): void { this.log.error(obj, msg) }
  child(bindings: Record<string, unknown>): Logger { return this.log.child(bindings) }
}

/**
 * A request's resolve options, its abort signal made on first read. A class: a getter in an
 * object literal gives every request's options a hidden class of their own (V8 cannot share
 * a map whose accessor is a fresh closure), which measured as long scavenges and old-space
 * growth under load.
 */
class RequestOptions implements ResolveOptions {
  readonly cache: CacheControl
  readonly log: Logger
  readonly method: string
  readonly caller: Caller | undefined
  #signal: AbortSignal | undefined
  readonly #link: () => AbortSignal
  constructor(cache: CacheControl, log: Logger, method: string, caller: Caller | undefined, link: () => AbortSignal) {
    this.cache = cache
    this.log = log
    this.method = method
    this.caller = caller
    this.#link = link
  }
  get signal(): AbortSignal {
    return (this.#signal ??= this.#link())
  }
}

export function createApp(init: AppInit): Hono {
  const { resolver, log, bodyLimit } = init
  const timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const app = new Hono()
  init.routes?.(app)
  const plans = createPlanCache(init.planCacheEntries ?? DEFAULT_PLAN_CACHE_ENTRIES)
  const metrics = init.metrics
  // A plan's metric labels (bounded: node/metrics.ts), kept with the plan, which is reused.
  const planLabels = new WeakMap<RequestPlan, readonly [string, string]>()
  const labelsOf = (plan: RequestPlan | undefined): readonly [string, string] => {
    if (plan === undefined || metrics === undefined) return UNPLANNED
    let labels = planLabels.get(plan)
    if (labels === undefined) {
      const last = plan.steps[plan.steps.length - 1]
      const device = last?.device ?? plan.base.device ?? (plan.base.id === undefined ? undefined : 'other')
      labels = metrics.labels(device, last === undefined || last.sub !== undefined ? undefined : last.key)
      planLabels.set(plan, labels)
    }
    return labels
  }

  app.all('*', async (c) => {
    const started = performance.now()
    const span = requestSpan(c.req)
    const seen = new Seen()
    const response = await span.run(() => handle(c, seen, started))
    const counted = c.get(COUNTED as never) as Counted | undefined
    if (counted !== undefined) counted.done = true
    if (metrics !== undefined) {
      const [device, key] = labelsOf(seen.plan)
      metrics.http(device, key, response.status, (performance.now() - started) / 1000)
    }
    span.end(response.status, seen.answer)
    return response
  })

  async function handle(c: Context, seen: Seen, started: number): Promise<Response> {
    const requestId = randomUUID()
    const raw = c.req.raw
    const headers = requestHeaders(c)
    // The target as sent ("/path?query"); Node has it without building a URL.
    const target = nodeIncoming(c)?.url ?? targetOf(raw.url)
    // A pino child costs ~10 µs: build it only if something below logs through it.
    const reqLog = new LazyChildLogger(log, { requestId })
    const cleanups: Array<() => void> = []
    let pathname = target
    // Only a signed request has a caller, and a signed request is never a kept plan.
    let caller: Caller | undefined
    try {
      const plain = isPlainRequest(raw.method, target, headers)
      let prepared = plain ? plans.get(target) : undefined
      if (prepared === undefined) {
        const url = new URL(raw.url)
        pathname = url.pathname
        if (url.pathname === '/' && url.search === '') {
          const devices = resolver.registry.list().map((d) => d.name)
          return c.json({ name: 'hashbeam', info: '/~meta@1.0/info', devices, example: '/~message@1.0&hello=world/hello' })
        }
        const path = parsePath(url.pathname, resolver.limits)
        const body = raw.method === 'GET' || raw.method === 'HEAD' ? new Uint8Array(0) : await readBody(raw, bodyLimit)
        // Signatures are checked before anything runs: a bad one is a 400, never ignored.
        const incoming = incomingKeys({ method: raw.method, url: raw.url, headers }, body)
        if (incoming.proof !== undefined && init.callers !== undefined) {
          caller = requestCaller(incoming.proof, { method: raw.method, target: targetOf(raw.url), body }, init.callers)
        }
        // One pass: reply options taken out, the signatures put on every message; a plain
        // request's plan is kept, so its base ID is computed now, once (the resolver's prepare).
        const { commitments } = incoming
        const { plan, taken } = finishPlan(path, incoming.extra, {
          take: REPLY_OPTION_KEYS, committed: incoming.committed,
          ...(commitments === undefined || Object.keys(commitments).length === 0 ? {} : { commitments }),
        })
        prepared = { run: plain ? resolver.prepare(plan) : unprepared(plan), keys: taken as TransportKeys, pathname: url.pathname }
        if (plain) plans.set(target, prepared)
      }
      pathname = prepared.pathname
      const { run, keys } = prepared
      seen.plan = run.plan
      const accept = headers.get('accept') ?? ''
      const codec = chooseCodec(headers, keys)
      // Built on first use (a device that can be cancelled reads it): an AbortController per
      // request would cost more than a cached answer.
      const opts = new RequestOptions(
        parseCacheControl(headers.get('cache-control') ?? undefined), reqLog, raw.method, caller, () => linkAbort(raw.signal, timeoutMs, cleanups),
      )
      const receiptFor = async (result: ResolveResult) => init.receipts?.issue(result, wantsReceipt(keys))
      if (wantsStream(keys, accept)) {
        // The stream outlives this handler: its abort wiring is released when the stream ends.
        const release = cleanups.splice(0)
        const finish = async (result: ResolveResult) => {
          const receipt = await receiptFor(result)
          return receipt === undefined ? {} : { receipt }
        }
        const parent = opts.signal
        release.push(...cleanups.splice(0))
        return sseResponse((stream, s) => resolver.run(run, { ...opts, stream, signal: s }), finish, requestId, parent, reqLog, () => release.forEach((f) => f()))
      }
      const result = await resolver.run(run, opts)
      seen.answer = result
      const receipt = await receiptFor(result)
      log.info({ requestId, path: pathname, status: 200, hashpath: result.hashpath, cached: result.cached, ms: Math.round(performance.now() - started) }, 'request')
      const sign = init.identity !== undefined && (init.identity.signReplies() || headers.has('accept-signature'))
      const response = resultResponse(result, { codec, signer: sign ? init.identity?.wallet : undefined }, requestId)
      if (receipt !== undefined) response.headers.set('ao-receipt', receipt)
      return response
    } catch (err) {
      const status = isAoError(err) ? err.status : 500
      if (status >= 500 && (!isAoError(err) || err.code === 'internal')) reqLog.error({ err, path: pathname }, 'request failed')
      else reqLog.info({ path: pathname.slice(0, 200), status, code: isAoError(err) ? err.code : 'internal' }, 'request refused')
      return errorResponse(err, requestId)
    } finally {
      for (const cleanup of cleanups) cleanup()
    }
  }
  return app
}


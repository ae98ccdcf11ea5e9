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
 */
import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { isAoError } from '../core/errors.js'
import { parsePath } from '../core/path.js'
import { planRequest } from '../core/request.js'
import type { Resolver, ResolveOptions } from '../core/resolve.js'
import type { Logger, ResolveResult, StreamSink } from '../core/types.js'
import { attachCommitments, incomingKeys } from './http-identity.js'
import { parseCacheControl, readBody } from './http-request.js'
import { errorResponse, resultResponse } from './http-response.js'
import { eventStreamResponse, linkAbort } from './http-stream.js'
import { chooseCodec, takeTransportKeys, wantsStream } from './negotiate.js'
import { wantsReceipt, type Receipts } from './receipts.js'
import type { Wallet } from './wallet.js'
import { toJson } from './json.js'

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
}

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

/** A logger whose child is made on first use. */
function lazyChild(log: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined
  const get = (): Logger => (child ??= log.child(bindings))
  return {
    debug: (obj, msg) => get().debug(obj, msg),
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
    child: (more) => get().child(more),
  }
}

export function createApp(init: AppInit): Hono {
  const { resolver, log, bodyLimit } = init
  const timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const app = new Hono()
  init.routes?.(app)

  app.all('*', async (c) => {
    const requestId = randomUUID()
    const started = performance.now()
    const raw = c.req.raw
    const url = new URL(raw.url)
    // A pino child costs ~10 µs: build it only if something below logs through it.
    const reqLog = lazyChild(log, { requestId })
    const cleanups: Array<() => void> = []
    try {
      if (url.pathname === '/' && url.search === '') {
        const devices = resolver.registry.list().map((d) => d.name)
        return c.json({ name: 'hashbeam', info: '/~meta@1.0/info', devices, example: '/~message@1.0&hello=world/hello' })
      }
      const path = parsePath(url.pathname, resolver.limits)
      const body = raw.method === 'GET' || raw.method === 'HEAD' ? new Uint8Array(0) : await readBody(raw, bodyLimit)
      // Signatures are checked before anything runs: a bad one is a 400, never ignored.
      const incoming = incomingKeys(raw, body)
      const taken = takeTransportKeys(planRequest(path, incoming.extra), incoming.extra.global, incoming.committed)
      const plan = attachCommitments(taken.plan, incoming)
      const accept = raw.headers.get('accept') ?? ''
      const codec = chooseCodec(raw.headers, taken.keys)
      // Built on first use (a device that can be cancelled reads it): an AbortController per
      // request would cost more than a cached answer.
      let signal: AbortSignal | undefined
      const linked = () => (signal ??= linkAbort(raw.signal, timeoutMs, cleanups))
      const opts: ResolveOptions = {
        cache: parseCacheControl(raw.headers.get('cache-control') ?? undefined), log: reqLog, get signal() { return linked() }, method: raw.method,
      }
      const receiptFor = async (result: ResolveResult) => init.receipts?.issue(result, wantsReceipt(taken.keys))
      if (wantsStream(taken.keys, accept)) {
        // The stream outlives this handler: its abort wiring is released when the stream ends.
        const release = cleanups.splice(0)
        const finish = async (result: ResolveResult) => {
          const receipt = await receiptFor(result)
          return receipt === undefined ? {} : { receipt }
        }
        const parent = linked()
        release.push(...cleanups.splice(0))
        return sseResponse((stream, s) => resolver.run(plan, { ...opts, stream, signal: s }), finish, requestId, parent, reqLog, () => release.forEach((f) => f()))
      }
      const result = await resolver.run(plan, opts)
      const receipt = await receiptFor(result)
      log.info({ requestId, path: url.pathname, status: 200, hashpath: result.hashpath, cached: result.cached, ms: Math.round(performance.now() - started) }, 'request')
      const sign = init.identity !== undefined && (init.identity.signReplies() || raw.headers.has('accept-signature'))
      const response = resultResponse(result, { codec, signer: sign ? init.identity?.wallet : undefined }, requestId)
      if (receipt !== undefined) response.headers.set('ao-receipt', receipt)
      return response
    } catch (err) {
      const status = isAoError(err) ? err.status : 500
      if (status >= 500 && (!isAoError(err) || err.code === 'internal')) reqLog.error({ err, path: url.pathname }, 'request failed')
      else reqLog.info({ path: url.pathname.slice(0, 200), status, code: isAoError(err) ? err.code : 'internal' }, 'request refused')
      return errorResponse(err, requestId)
    } finally {
      for (const cleanup of cleanups) cleanup()
    }
  })
  return app
}


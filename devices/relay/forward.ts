/**
 * @module
 * Sending one request to the nodes of a route, in the route's order, until one answers. A
 * connection that fails, a 5xx or a timeout counts against the node's circuit breaker and the
 * request goes to the next node after a short backoff (25 ms, doubling, jittered); a 4xx is the
 * answer. At most `maxAttempts` nodes are tried; with none left the last 5xx is the answer, or
 * 503 `relay-failed`.
 *
 * Answers are kept whole (up to `BUFFER_LIMIT`) before the client sees a byte, so a node that
 * dies mid-body is failed over like one that never answered. A Server-Sent Events answer, or a
 * larger one, passes through unbuffered as it arrives: it is committed to its node from the first
 * byte. The executing node's headers pass through untouched — `hashpath`, `ao-id`, its
 * `signature` and `signature-input` — with `hashbeam-node` (its address) and
 * `hashbeam-node-url` added, so the client knows who computed the answer and can check it.
 */
import { RequestAbortedError, UnavailableError } from '../../core/errors.js'
import type { Candidate, Cluster } from '../router/index.js'

/** Answers up to this size are buffered (failover possible until the last byte). */
export const BUFFER_LIMIT = 8 * 1024 * 1024

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'content-length', 'cookie', 'set-cookie', 'expect', 'content-encoding',
])

export interface ForwardRequest {
  readonly method: string
  /** Path and query, from `/`. */
  readonly target: string
  readonly headers: Headers
  readonly body: Uint8Array | undefined
  /** The client's signal: when it leaves, the relayed request is cancelled. */
  readonly signal: AbortSignal
}

export interface ForwardOptions {
  readonly cluster: Cluster
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>
  /** Per attempt: until the answer's headers, and its body when buffered. */
  readonly timeoutMs: number
  readonly maxAttempts?: number
  readonly backoffMs?: number
  /** This router's address, sent in `via` (a router never relays such a request again). */
  readonly relayedBy: string
  /** Throws when the relay may not call this node (relay/targets.ts). */
  checkTarget(node: Candidate): Promise<void>
}

/** The `via` entry a router adds (RFC 9110 §7.6.3); `via` is a transport header, never a message key. */
export const VIA_PREFIX = '1.1 hashbeam-router/'

/** Whether a request already passed a Hashbeam router. */
export const relayedBefore = (headers: Headers): boolean => (headers.get('via') ?? '').includes(VIA_PREFIX)

/**
 * The request's own headers, hop-by-hop and cookies left out, and a `via` entry. Nothing is
 * added that a worker would read as a message key: the relayed request computes exactly what
 * the client's would have, to the same hashpath.
 */
export const outgoingHeaders = (incoming: Headers, relayedBy: string): Headers => {
  const out = new Headers()
  incoming.forEach((value, key) => { if (!HOP_BY_HOP.has(key)) out.set(key, value) })
  const via = incoming.get('via')
  out.set('via', `${via === null ? '' : `${via}, `}${VIA_PREFIX}${relayedBy}`)
  return out
}

function answerHeaders(res: Response, node: Candidate, attempts: number): Headers {
  const out = new Headers()
  res.headers.forEach((value, key) => { if (!HOP_BY_HOP.has(key)) out.append(key, value) })
  out.set('hashbeam-node', node.address)
  out.set('hashbeam-node-url', node.url)
  out.set('hashbeam-relay-attempts', String(attempts))
  return out
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((done) => {
  const timer = setTimeout(done, ms)
  signal.addEventListener('abort', () => { clearTimeout(timer); done() }, { once: true })
})

/** A body that calls `done` once it ends, fails or is cancelled (the node's in-flight count). */
function tracked(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read()
        if (end) {
          done()
          controller.close()
        } else controller.enqueue(value)
      } catch (err) {
        done()
        controller.error(err)
      }
    },
    cancel(reason) {
      done()
      return reader.cancel(reason)
    },
  }, { highWaterMark: 0 })
}

const streams = (res: Response): boolean => {
  if ((res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream')) return true
  const length = Number(res.headers.get('content-length') ?? NaN)
  return Number.isFinite(length) && length > BUFFER_LIMIT
}

export async function forward(req: ForwardRequest, nodes: readonly Candidate[], opts: ForwardOptions): Promise<Response> {
  const { cluster } = opts
  const maxAttempts = opts.maxAttempts ?? 4
  const backoffMs = opts.backoffMs ?? 25
  const headers = outgoingHeaders(req.headers, opts.relayedBy)
  let attempts = 0
  let lastAnswer: Response | undefined
  let lastError = 'no node of the route is available'
  for (const node of nodes) {
    if (attempts >= maxAttempts || req.signal.aborted) break
    if (!cluster.breakers.allow(node.address)) continue
    try {
      await opts.checkTarget(node)
    } catch (err) {
      lastError = (err as Error).message
      continue
    }
    if (attempts > 0) await sleep(Math.min(1_000, backoffMs * 2 ** (attempts - 1)) * (0.8 + Math.random() * 0.4), req.signal)
    attempts++
    const done = cluster.begin(node.address)
    const attempt = new AbortController()
    const timer = setTimeout(() => attempt.abort(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    const onClient = () => attempt.abort(req.signal.reason)
    req.signal.addEventListener('abort', onClient, { once: true })
    let passedOn = false
    try {
      const res = await opts.fetch(`${node.url}${req.target}`, {
        method: req.method, headers, ...(req.body === undefined ? {} : { body: req.body as BodyInit }), signal: attempt.signal, redirect: 'manual',
      })
      if (res.status >= 500) {
        const body = new Uint8Array(await res.arrayBuffer())
        cluster.breakers.failure(node.address)
        lastAnswer = new Response(body, { status: res.status, headers: answerHeaders(res, node, attempts) })
        lastError = `${node.url} answered ${res.status}`
        continue
      }
      if (streams(res) && res.body !== null) {
        clearTimeout(timer)
        cluster.breakers.success(node.address)
        passedOn = true
        return new Response(tracked(res.body, () => {
          done()
          req.signal.removeEventListener('abort', onClient)
        }), { status: res.status, headers: answerHeaders(res, node, attempts) })
      }
      const body = res.status === 204 || res.status === 304 || req.method === 'HEAD' ? null : new Uint8Array(await res.arrayBuffer())
      cluster.breakers.success(node.address)
      return new Response(body as BodyInit | null, { status: res.status, headers: answerHeaders(res, node, attempts) })
    } catch (err) {
      if (req.signal.aborted) throw new RequestAbortedError('relay: the client went away', { code: 'client-gone' })
      cluster.breakers.failure(node.address)
      lastError = `${node.url}: ${(err as Error).message}${(err as { cause?: { code?: string } }).cause?.code === undefined ? '' : ` (${(err as { cause: { code: string } }).cause.code})`}`
    } finally {
      clearTimeout(timer)
      if (!passedOn) {
        done()
        req.signal.removeEventListener('abort', onClient)
      }
    }
  }
  if (lastAnswer !== undefined) return lastAnswer
  throw new UnavailableError(`relay: no node answered (${lastError})`, { code: nodes.length === 0 ? 'no-viable-node' : 'relay-failed', retryAfterSeconds: 1 })
}

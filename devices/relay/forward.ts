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
import type { PinnedAddress } from './targets.js'
import { exchange, UpstreamError, type UpstreamAnswer, type UpstreamRequest } from './transport.js'

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
  /** The client's headers: Node's raw flat list (name, value, …), a web Headers, or names (lower-case) to values. */
  readonly headers: readonly string[] | Readonly<Record<string, string | string[] | undefined>> | Headers
  readonly body: Uint8Array | undefined
  /** The client: when it leaves, the relayed request is cancelled. */
  readonly client: ClientLink
}

/**
 * Whether the client is still there, and word when it leaves. Not an AbortSignal: on the router's
 * hot path a signal and its listeners cost more than the rest of the relay's own work.
 */
export interface ClientLink {
  gone(): boolean
  /** Calls `listener` once when the client leaves; returns what stops listening. */
  onGone(listener: () => void): () => void
}

/** A client known by an AbortSignal (the app's request, a device call's context). */
export const linkOfSignal = (signal: AbortSignal): ClientLink => ({
  gone: () => signal.aborted,
  onGone(listener) {
    signal.addEventListener('abort', listener, { once: true })
    return () => signal.removeEventListener('abort', listener)
  },
})

export interface ForwardOptions {
  readonly cluster: Cluster
  /** Per attempt: until the answer's headers, and its body when buffered. */
  readonly timeoutMs: number
  readonly maxAttempts?: number
  readonly backoffMs?: number
  /** This router's address, sent in `via` (a router never relays such a request again). */
  readonly relayedBy: string
  /** Throws when the relay may not call this node; else the address to connect to, if pinned (relay/targets.ts). */
  checkTarget(node: Candidate): PinnedAddress | undefined | Promise<PinnedAddress | undefined>
}

/** The `via` entry a router adds (RFC 9110 §7.6.3); `via` is a transport header, never a message key. */
export const VIA_PREFIX = '1.1 hashbeam-router/'

/** Whether a request already passed a Hashbeam router. */
export const relayedBefore = (via: string | string[] | null | undefined): boolean =>
  via !== null && via !== undefined && (Array.isArray(via) ? via.join(', ') : via).includes(VIA_PREFIX)

/**
 * The request's own headers, hop-by-hop and cookies left out, and a `via` entry, flat (name,
 * value, …). Nothing is added that a worker would read as a message key: the relayed request
 * computes exactly what the client's would have, to the same hashpath.
 */
export function outgoingHeaders(incoming: ForwardRequest['headers'], relayedBy: string, body: Uint8Array | undefined): string[] {
  const out: string[] = []
  let via: string | undefined
  const add = (key: string, value: string) => {
    if (HOP_BY_HOP.has(key)) return
    if (key === 'via') via = via === undefined ? value : `${via}, ${value}`
    else out.push(key, value)
  }
  if (Array.isArray(incoming)) {
    const raw = incoming as readonly string[]
    for (let i = 0; i < raw.length; i += 2) add(raw[i]!.toLowerCase(), raw[i + 1]!)
  } else if (incoming instanceof Headers) incoming.forEach((value, key) => add(key, value))
  else {
    const record = incoming as Readonly<Record<string, string | string[] | undefined>>
    for (const key in record) {
      const value = record[key]
      if (value !== undefined) add(key, Array.isArray(value) ? value.join(', ') : value)
    }
  }
  out.push('via', `${via === undefined ? '' : `${via}, `}${VIA_PREFIX}${relayedBy}`)
  if (body !== undefined) out.push('content-length', String(body.byteLength))
  return out
}

/** A relayed answer, before it becomes a Response or is written to the client's socket. */
export interface RelayAnswer {
  readonly status: number
  /** Flat: name, value, name, value… (Node's raw header form). */
  readonly headers: string[]
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null
}

export const toResponse = (answer: RelayAnswer): Response => {
  const headers = new Headers()
  for (let i = 0; i < answer.headers.length; i += 2) headers.append(answer.headers[i]!, answer.headers[i + 1]!)
  return new Response(answer.body as BodyInit | null, { status: answer.status, headers })
}

function answerHeaders(res: UpstreamAnswer, node: Candidate, attempts: number): string[] {
  const out: string[] = []
  const { headers } = res
  for (const key in headers) {
    const value = headers[key]
    if (value === undefined || HOP_BY_HOP.has(key)) continue
    if (typeof value === 'string') out.push(key, value)
    else for (const v of value) out.push(key, v)
  }
  out.push('hashbeam-node', node.address, 'hashbeam-node-url', node.url, 'hashbeam-relay-attempts', String(attempts))
  // A whole body gets its length where it is written; a streamed one keeps the node's, if it gave one.
  const length = headers['content-length']
  if (!(res.body instanceof Uint8Array) && typeof length === 'string') out.push('content-length', length)
  return out
}

const sleep = (ms: number, client: ClientLink): Promise<void> => new Promise((done) => {
  const stop = client.onGone(() => { clearTimeout(timer); done() })
  const timer = setTimeout(() => { stop(); done() }, ms)
})

/** Sends once; a kept-alive connection the node had closed gets one more try on a fresh one, not a failure. */
async function attempt(url: string, target: string, upstream: UpstreamRequest, register: (abort: (reason: Error) => void) => void): Promise<UpstreamAnswer> {
  const first = exchange(url, target, upstream)
  register(first.abort)
  try {
    return await first.answer
  } catch (err) {
    if (!(err instanceof UpstreamError && err.stale)) throw err
    const again = exchange(url, target, upstream)
    register(again.abort)
    return again.answer
  }
}

export async function forward(req: ForwardRequest, nodes: readonly Candidate[], opts: ForwardOptions): Promise<RelayAnswer> {
  const { cluster } = opts
  const maxAttempts = opts.maxAttempts ?? 4
  const backoffMs = opts.backoffMs ?? 25
  const headers = outgoingHeaders(req.headers, opts.relayedBy, req.body)
  let attempts = 0
  let lastAnswer: RelayAnswer | undefined
  let lastError = 'no node of the route is available'
  for (const node of nodes) {
    if (attempts >= maxAttempts || req.client.gone()) break
    if (!cluster.breakers.allow(node.address)) continue
    let pin: PinnedAddress | undefined
    try {
      const checked = opts.checkTarget(node)
      pin = checked instanceof Promise ? await checked : checked
    } catch (err) {
      lastError = (err as Error).message
      continue
    }
    if (attempts > 0) await sleep(Math.min(1_000, backoffMs * 2 ** (attempts - 1)) * (0.8 + Math.random() * 0.4), req.client)
    attempts++
    const done = cluster.begin(node.address)
    let abort: ((reason: Error) => void) | undefined
    const timer = setTimeout(() => abort?.(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    const stopListening = req.client.onGone(() => abort?.(new Error('the client went away')))
    let streamed = false
    let settled = false
    const onStreamSettled = () => {
      if (settled) return
      settled = true
      done()
      stopListening()
    }
    try {
      const upstream = { method: req.method, headers, body: req.body, pin, bufferLimit: BUFFER_LIMIT, onStreamSettled }
      const res = await attempt(node.url, req.target, upstream, (a) => { abort = a })
      if (res.status >= 500) {
        cluster.breakers.failure(node.address)
        // Only the last failure is answered: a streamed one before it is let go.
        if (lastAnswer?.body instanceof ReadableStream) void lastAnswer.body.cancel().catch(() => undefined)
        lastAnswer = { status: res.status, headers: answerHeaders(res, node, attempts), body: res.body }
        lastError = `${node.url} answered ${res.status}`
        continue
      }
      cluster.breakers.success(node.address)
      const empty = req.method === 'HEAD' || res.status === 204 || res.status === 304
      if (res.body instanceof ReadableStream) {
        if (empty) void res.body.cancel().catch(() => undefined)
        else streamed = true
      }
      return { status: res.status, headers: answerHeaders(res, node, attempts), body: empty ? null : res.body }
    } catch (err) {
      if (req.client.gone()) throw new RequestAbortedError('relay: the client went away', { code: 'client-gone' })
      cluster.breakers.failure(node.address)
      const code = (err as { code?: string }).code
      lastError = `${node.url}: ${(err as Error).message}${code === undefined ? '' : ` (${code})`}`
    } finally {
      clearTimeout(timer)
      if (!streamed) onStreamSettled()
    }
  }
  if (lastAnswer !== undefined) return lastAnswer
  throw new UnavailableError(`relay: no node answered (${lastError})`, { code: nodes.length === 0 ? 'no-viable-node' : 'relay-failed', retryAfterSeconds: 1 })
}

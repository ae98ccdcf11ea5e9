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
import type { IncomingMessage } from 'node:http'
import type { Candidate, Cluster } from '../router/index.js'
import type { PinnedAddress } from './targets.js'
import { headersOf, send, UpstreamError } from './transport.js'

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
  /** The client's headers (names lower-case), as Node parsed them or as a web Headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>> | Headers
  readonly body: Uint8Array | undefined
  /** The client's signal: when it leaves, the relayed request is cancelled. */
  readonly signal: AbortSignal
}

export interface ForwardOptions {
  readonly cluster: Cluster
  /** Per attempt: until the answer's headers, and its body when buffered. */
  readonly timeoutMs: number
  readonly maxAttempts?: number
  readonly backoffMs?: number
  /** This router's address, sent in `via` (a router never relays such a request again). */
  readonly relayedBy: string
  /** Throws when the relay may not call this node; else the address to connect to, if pinned (relay/targets.ts). */
  checkTarget(node: Candidate): Promise<PinnedAddress | undefined>
}

/** The `via` entry a router adds (RFC 9110 §7.6.3); `via` is a transport header, never a message key. */
export const VIA_PREFIX = '1.1 hashbeam-router/'

/** Whether a request already passed a Hashbeam router. */
export const relayedBefore = (via: string | string[] | null | undefined): boolean =>
  via !== null && via !== undefined && (Array.isArray(via) ? via.join(', ') : via).includes(VIA_PREFIX)

/**
 * The request's own headers, hop-by-hop and cookies left out, and a `via` entry. Nothing is
 * added that a worker would read as a message key: the relayed request computes exactly what
 * the client's would have, to the same hashpath.
 */
export function outgoingHeaders(incoming: ForwardRequest['headers'], relayedBy: string, body: Uint8Array | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (incoming instanceof Headers) incoming.forEach((value, key) => { if (!HOP_BY_HOP.has(key)) out[key] = value })
  else {
    for (const key in incoming) {
      const value = incoming[key]
      if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = Array.isArray(value) ? value.join(', ') : value
    }
  }
  out.via = `${out.via === undefined ? '' : `${out.via}, `}${VIA_PREFIX}${relayedBy}`
  if (body !== undefined) out['content-length'] = String(body.byteLength)
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

function answerHeaders(res: IncomingMessage, node: Candidate, attempts: number): string[] {
  const out: string[] = []
  for (const [key, value] of headersOf(res.headers)) if (!HOP_BY_HOP.has(key)) out.push(key, value)
  out.push('hashbeam-node', node.address, 'hashbeam-node-url', node.url, 'hashbeam-relay-attempts', String(attempts))
  return out
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((done) => {
  const timer = setTimeout(done, ms)
  signal.addEventListener('abort', () => { clearTimeout(timer); done() }, { once: true })
})

/** A body that calls `done` once it ends, fails or is cancelled (the node's in-flight count). */
function tracked(first: readonly Uint8Array[], rest: AsyncIterator<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < first.length) {
        controller.enqueue(first[i++]!)
        return
      }
      try {
        const { value, done: end } = await rest.next()
        if (end) {
          done()
          controller.close()
        } else controller.enqueue(value)
      } catch (err) {
        done()
        controller.error(err)
      }
    },
    async cancel() {
      done()
      await rest.return?.()
    },
  }, { highWaterMark: 0 })
}

const isEventStream = (res: IncomingMessage): boolean => (res.headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream')

/**
 * The answer's body: whole when it fits in `BUFFER_LIMIT` (failover stays possible until its
 * last byte), else — or for an event stream — a stream from what was read so far on.
 */
async function bodyOf(res: IncomingMessage, done: () => void): Promise<{ whole: Uint8Array } | { stream: ReadableStream<Uint8Array> }> {
  const iterator = (res as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  if (isEventStream(res) || Number(res.headers['content-length'] ?? 0) > BUFFER_LIMIT) return { stream: tracked([], iterator, done) }
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { value, done: end } = await iterator.next()
    if (end) break
    chunks.push(value)
    total += value.byteLength
    if (total > BUFFER_LIMIT) return { stream: tracked(chunks, iterator, done) }
  }
  return { whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }
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
    if (attempts >= maxAttempts || req.signal.aborted) break
    if (!cluster.breakers.allow(node.address)) continue
    let pin: PinnedAddress | undefined
    try {
      pin = await opts.checkTarget(node)
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
      const upstream = { method: req.method, headers, body: req.body, signal: attempt.signal, pin }
      const url = `${node.url}${req.target}`
      // A kept-alive connection the node had closed: once more on a fresh one, not a failure.
      const res = await send(url, upstream).catch((err: unknown) => (err instanceof UpstreamError && err.stale ? send(url, upstream) : Promise.reject(err)))
      if (res.statusCode === undefined || res.statusCode >= 500) {
        const body = await bodyOf(res, () => undefined)
        cluster.breakers.failure(node.address)
        lastAnswer = { status: res.statusCode ?? 502, headers: answerHeaders(res, node, attempts), body: 'whole' in body ? body.whole : body.stream }
        lastError = `${node.url} answered ${res.statusCode}`
        continue
      }
      const status = res.statusCode
      const body = req.method === 'HEAD' || status === 204 || status === 304 ? { whole: undefined } : await bodyOf(res, () => {
        done()
        req.signal.removeEventListener('abort', onClient)
      })
      cluster.breakers.success(node.address)
      if ('stream' in body) {
        clearTimeout(timer)
        passedOn = true
        return { status, headers: answerHeaders(res, node, attempts), body: body.stream }
      }
      return { status, headers: answerHeaders(res, node, attempts), body: body.whole ?? null }
    } catch (err) {
      if (req.signal.aborted) throw new RequestAbortedError('relay: the client went away', { code: 'client-gone' })
      cluster.breakers.failure(node.address)
      const code = (err as { code?: string }).code
      lastError = `${node.url}: ${(err as Error).message}${code === undefined ? '' : ` (${code})`}`
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

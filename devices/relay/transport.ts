/**
 * @module
 * The relay's HTTP client: one undici `Pool` per node, driven through `dispatch` with a handler
 * of our own. Each relayed request is two HTTP exchanges on the router, so the client's cost is
 * half the router's: the global `fetch` held the router to 0.13× of a worker's rate for a cached
 * answer, node:http with keep-alive agents to ~0.2× (its ClientRequest, agent queue and Readable
 * answer cost more than the exchange itself), and undici's dispatch — llhttp, no stream for a
 * whole answer — more than halves that again (docs/benchmarks.md §cluster).
 *
 * An answer is kept whole while it fits in `bufferLimit` — failover stays possible until its last
 * byte — and becomes a stream from the first byte on when it is larger or an event stream
 * (Server-Sent Events pass through unbuffered), paced by the reader: the socket is paused while
 * the client is slower than the node.
 *
 * A kept-alive connection the node closed while idle fails the next request before any answer
 * (`stale: true`): that request is sent once more, as Node's documentation advises, and never
 * counts against the node.
 */
import type { LookupFunction } from 'node:net'
import { Pool, type Dispatcher } from 'undici'
import type { PinnedAddress } from './targets.js'

/** Open pools at most (one per node, or per pinned address of a public peer); the oldest closes first. */
const MAX_POOLS = 512
// Timeouts are the relay's own (one timer per attempt, relay/forward.ts), never undici's.
const POOL_OPTIONS = { connections: 256, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 }
const pools = new Map<string, Pool>()

function pinnedLookup(pin: PinnedAddress): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, done: (...args: unknown[]) => void) => {
    if (opts.all === true) done(null, [{ address: pin.address, family: pin.family }])
    else done(null, pin.address, pin.family)
  }) as unknown as LookupFunction
}

function poolFor(origin: string, pin: PinnedAddress | undefined): Pool {
  const key = pin === undefined ? origin : `${origin} ${pin.address}`
  let pool = pools.get(key)
  if (pool === undefined) {
    if (pools.size >= MAX_POOLS) {
      const [oldest, closing] = pools.entries().next().value as [string, Pool]
      pools.delete(oldest)
      void closing.close() // lets the requests in flight finish
    }
    pool = new Pool(origin, pin === undefined ? POOL_OPTIONS : { ...POOL_OPTIONS, connect: { lookup: pinnedLookup(pin) } })
    pools.set(key, pool)
  }
  return pool
}

export interface UpstreamRequest {
  /** Connect to this address, whatever the host name resolves to now. */
  readonly pin?: PinnedAddress | undefined
  readonly method: string
  /** Flat: name, value, name, value… */
  readonly headers: readonly string[]
  readonly body: Uint8Array | undefined
  /** Answers up to this many bytes are read whole before the promise settles. */
  readonly bufferLimit: number
  /** Called once when a streamed body ends, fails or is cancelled. */
  readonly onStreamSettled?: (() => void) | undefined
}

export interface UpstreamAnswer {
  readonly status: number
  /** Names lower-case; a repeated field is an array. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Whole, or a stream of it from the first byte (larger than the limit, or an event stream). */
  readonly body: Uint8Array | ReadableStream<Uint8Array>
}

/** A failure before any answer; `stale`: a kept-alive connection the peer had closed. */
export class UpstreamError extends Error {
  readonly code: string | undefined
  readonly stale: boolean
  constructor(message: string, code: string | undefined, stale: boolean) {
    super(message)
    this.code = code
    this.stale = stale
  }
}

/** One request in flight: its answer, and a way to call it off. */
export interface Exchange {
  readonly answer: Promise<UpstreamAnswer>
  abort(reason: Error): void
}

const STALE_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])
const EMPTY = new Uint8Array(0)

/** The dispatch handler of one exchange: buffers, or streams with backpressure. */
class AnswerReader implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private abortReason: Error | undefined
  private status = 0
  private headers: Record<string, string | string[] | undefined> = {}
  private chunks: Buffer[] = []
  private total = 0
  private stream: ReadableStreamDefaultController<Uint8Array> | undefined
  private settled = false
  private readonly limit: number
  private readonly onStreamSettled: (() => void) | undefined
  private readonly resolve: (answer: UpstreamAnswer) => void
  private readonly reject: (err: Error) => void
  constructor(limit: number, onStreamSettled: (() => void) | undefined, resolve: (answer: UpstreamAnswer) => void, reject: (err: Error) => void) {
    this.limit = limit
    this.onStreamSettled = onStreamSettled
    this.resolve = resolve
    this.reject = reject
  }

  abort(reason: Error): void {
    if (this.controller === undefined) this.abortReason = reason
    else this.controller.abort(reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abortReason !== undefined) controller.abort(this.abortReason)
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return // 1xx: the answer is still to come
    this.status = status
    this.headers = headers
    const type = headers['content-type']
    const eventStream = typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream')
    if (eventStream || Number(headers['content-length'] ?? 0) > this.limit) this.startStream()
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // undici hands on an empty chunk each time a paused parse resumes: enqueued, it would reach
    // the reader, whose next pull resumes again — an endless round of microtasks, no I/O.
    if (chunk.byteLength === 0) return
    if (this.stream !== undefined) {
      if (this.settled) return
      this.stream.enqueue(chunk)
      if ((this.stream.desiredSize ?? 1) <= 0) controller.pause()
      return
    }
    this.chunks.push(chunk)
    this.total += chunk.byteLength
    if (this.total > this.limit) this.startStream()
  }

  onResponseEnd(): void {
    if (this.stream !== undefined) {
      if (this.settle()) this.stream.close()
      return
    }
    const { chunks } = this
    this.resolve({ status: this.status, headers: this.headers, body: chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.total) })
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.stream !== undefined) {
      if (this.settle()) this.stream.error(err)
      return
    }
    const code = (err as { code?: string }).code
    this.reject(new UpstreamError(err.message, code, this.status === 0 && code !== undefined && STALE_CODES.has(code)))
  }

  /** From here on the body is a stream, starting with what was read so far. */
  private startStream(): void {
    const buffered = this.chunks
    this.chunks = []
    const body = new ReadableStream<Uint8Array>({
      start: (stream) => {
        this.stream = stream
        for (const chunk of buffered) stream.enqueue(chunk)
      },
      pull: () => { this.controller?.resume() },
      cancel: (reason) => {
        this.settle()
        this.controller?.abort(reason instanceof Error ? reason : new Error('the reader went away'))
      },
    }, { highWaterMark: 16 })
    this.resolve({ status: this.status, headers: this.headers, body })
  }

  /** True the first time: the stream ends here, and its owner hears of it once. */
  private settle(): boolean {
    if (this.settled) return false
    this.settled = true
    this.onStreamSettled?.()
    return true
  }
}

const bases = new Map<string, { origin: string; prefix: string }>()

/** A node's URL as origin and path prefix (a node may live under a path), parsed once per URL. */
function baseOf(url: string): { origin: string; prefix: string } {
  let base = bases.get(url)
  if (base === undefined) {
    const parsed = new URL(url)
    base = { origin: parsed.origin, prefix: parsed.pathname.replace(/\/+$/, '') }
    if (bases.size >= MAX_POOLS) bases.delete(bases.keys().next().value as string)
    bases.set(url, base)
  }
  return base
}

/** The origin of a node's URL (parsed once per URL). */
export const originOf = (url: string): string => baseOf(url).origin

/** Sends one request to `url` (a node's URL, or any URL) + `path`; the answer settles per `bufferLimit`. */
export function exchange(url: string, path: string, req: UpstreamRequest): Exchange {
  const { origin, prefix } = baseOf(url)
  let reader: AnswerReader | undefined
  const answer = new Promise<UpstreamAnswer>((resolve, reject) => {
    reader = new AnswerReader(req.bufferLimit, req.onStreamSettled, resolve, reject)
    poolFor(origin, req.pin).dispatch({
      path: prefix === '' ? path : prefix + path, method: req.method, headers: req.headers as string[],
      body: req.body === undefined || req.body.byteLength === 0 ? null : req.body,
    }, reader)
  })
  const started = reader!
  return { answer, abort: (reason) => started.abort(reason) }
}

/** Closes every pool (a node shutting down; tests). */
export async function closeRelayPools(): Promise<void> {
  const all = [...pools.values()]
  pools.clear()
  await Promise.all(all.map((p) => p.close()))
}

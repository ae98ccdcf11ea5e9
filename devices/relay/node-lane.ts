/**
 * @module
 * The router's fast lane: a request with no body (GET, HEAD) that matches a route is relayed
 * straight from the node's HTTP server (HttpKit.preempt), before the app: no web `Request`, no
 * app routing, no `Response` — the client's raw headers go out as they came, the node's answer
 * is written on the client's socket in one write. A relayed request is two HTTP exchanges on the
 * router, so every microsecond around them counts (docs/benchmarks.md §cluster).
 *
 * Everything else — a body to read, `verify=N`, a request made through `app.request()` —
 * takes the app's way (relay/device.ts `preprocess`), to the same `forward`.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { UnavailableError } from '../../core/errors.js'
import type { HttpKit, Logger, RawLane } from '../../core/types.js'
import { summarize, type Cluster } from '../router/index.js'
import { forward, relayedBefore, type ClientLink, type ForwardOptions, type RelayAnswer } from './forward.js'

/** The router's own surface, never relayed: `/`, `/metrics`, the dashboard, router/relay/meta. */
export const ROUTER_OWN = /^\/(?:$|metrics$|dashboard(?:\/|$)|~(?:router|relay|meta|dashboard)@1\.0(?:[/&?]|$))/

/** The value of one header in Node's raw flat list (names in any case), repeated ones joined. */
export function rawHeader(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`
  }
  return value
}

/** The client of a Node response: gone when its connection closes before the answer is written. */
export const linkOfResponse = (outgoing: ServerResponse): ClientLink => ({
  gone: () => outgoing.destroyed && !outgoing.writableFinished,
  onGone(listener) {
    const closed = () => { if (!outgoing.writableFinished) listener() }
    outgoing.once('close', closed)
    return () => { outgoing.off('close', closed) }
  },
})

/** Resolves when the client's socket takes writes again, or is gone. */
function drained(outgoing: ServerResponse): Promise<void> {
  return new Promise((go) => {
    const done = () => {
      outgoing.off('drain', done)
      outgoing.off('close', done)
      go()
    }
    outgoing.on('drain', done)
    outgoing.on('close', done)
  })
}

/** A relayed answer onto the client's socket: whole in one write, or a stream as it arrives. */
export async function writeAnswer(outgoing: ServerResponse, answer: RelayAnswer): Promise<void> {
  const body = answer.body
  if (body === null || body instanceof Uint8Array) {
    outgoing.writeHead(answer.status, body === null ? answer.headers : [...answer.headers, 'content-length', String(body.byteLength)])
    outgoing.end(body ?? undefined)
    return
  }
  outgoing.writeHead(answer.status, answer.headers)
  outgoing.flushHeaders() // an event stream's client is waiting for the head
  const reader = body.getReader()
  const stop = () => { void reader.cancel(new Error('the client went away')).catch(() => undefined) }
  outgoing.once('close', stop)
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (!outgoing.write(value)) await drained(outgoing)
      if (outgoing.destroyed) return
    }
    outgoing.end()
  } catch {
    outgoing.destroy() // the node's stream broke: the client sees the answer cut, never a forged end
  } finally {
    outgoing.off('close', stop)
  }
}

/** A web Response (an error, a quorum's answer) onto the client's socket. */
export async function writeResponse(outgoing: ServerResponse, res: Response): Promise<void> {
  const headers: string[] = []
  res.headers.forEach((value, key) => { headers.push(key, value) })
  const body = new Uint8Array(await res.arrayBuffer())
  outgoing.writeHead(res.status, [...headers, 'content-length', String(body.byteLength)])
  outgoing.end(body)
}

/** A freshly computed, receipted answer joins the feed checkers sample from (router checks.ts). */
export function recordForCheckers(cluster: Cluster, answer: RelayAnswer, model: string | undefined): void {
  if (answer.status !== 200) return
  let node: string | undefined, receipt: string | undefined, hashpath: string | undefined, result: string | undefined
  const h = answer.headers // flat, names lower-case (relay/forward.ts)
  for (let i = 0; i < h.length; i += 2) {
    switch (h[i]) {
      case 'ao-receipt': receipt = h[i + 1]; break
      // A cache hit was computed by whoever wrote the record: checking it would check someone else.
      case 'ao-cache': if (h[i + 1] === 'hit') return; break
      case 'hashbeam-node': node = h[i + 1]; break
      case 'hashpath': hashpath = h[i + 1]; break
      case 'ao-id': result = h[i + 1]; break
    }
  }
  if (node === undefined || receipt === undefined || hashpath === undefined || result === undefined) return
  cluster.checks.record({ node, receipt, hashpath, result, ...(model === undefined ? {} : { model }) })
}

export const noLiveNode = (model: string | undefined): UnavailableError =>
  new UnavailableError(`relay: no live node for this route${model === undefined ? '' : ` serves model ${model}`}`, { code: 'no-viable-node', retryAfterSeconds: 1 })

export interface RouterLaneInit {
  readonly cluster: Cluster
  readonly forwarding: ForwardOptions
  readonly http: HttpKit
  readonly log: Logger
}

/** The lane (HttpKit.preempt): takes bodiless requests that match a route and relays them. */
export function routerLane(init: RouterLaneInit): RawLane {
  const { cluster, forwarding, http, log } = init

  async function relay(incoming: IncomingMessage, outgoing: ServerResponse, target: string, summary: ReturnType<typeof summarize>, route: NonNullable<ReturnType<Cluster['match']>>): Promise<void> {
    try {
      const plan = cluster.planRoute(route, summary, summary.keys.model)
      if (plan.nodes.length === 0) throw noLiveNode(plan.model)
      const sent = { method: incoming.method!, target, headers: incoming.rawHeaders, body: undefined, client: linkOfResponse(outgoing) }
      const answer = await forward(sent, plan.nodes, forwarding)
      recordForCheckers(cluster, answer, plan.model)
      await writeAnswer(outgoing, answer)
    } catch (err) {
      const requestId = randomUUID()
      log.info({ requestId, target: target.slice(0, 200), err: (err as Error).message }, 'relay refused')
      if (!outgoing.headersSent && !outgoing.destroyed) await writeResponse(outgoing, http.error(err, requestId)).catch(() => outgoing.destroy())
    }
  }

  return (req, res) => {
    const incoming = req as IncomingMessage
    const method = incoming.method
    if (method !== 'GET' && method !== 'HEAD') return false
    const target = incoming.url ?? '/'
    if (ROUTER_OWN.test(target) || target.includes('verify=')) return false
    const raw = incoming.rawHeaders
    if (relayedBefore(rawHeader(raw, 'via')) || rawHeader(raw, 'hashbeam-verify') !== undefined) return false
    const summary = summarize(method, target)
    const route = cluster.match(summary)
    if (route === undefined) return false
    void relay(incoming, res as ServerResponse, target, summary, route)
    return true
  }
}

/**
 * @module
 * `relay@1.0`, HyperBEAM's relay, and the router node's front door.
 *
 * Keys (HyperBEAM's names): `call` sends `relay-method` (default GET) `relay-path` with
 * `relay-body` to `peer` — or, without a peer, to the nodes the router's routes choose — and
 * answers `{status, node, node-url, hashpath, ao-id, content-type, body}`; `cast` does the same
 * in the background and answers at once (`{status: 202}`), at most `MAX_CASTS` at a time.
 *
 * Preprocess (a node started with `--router`, HyperBEAM's `on.request` router hook): every
 * request that matches a route is relayed (relay/forward.ts), every other one runs here. Never
 * relayed: the router's own surface (`/`, `/metrics`, `~router@1.0`, `~relay@1.0`,
 * `~meta@1.0`, the dashboard) and a request that already passed a Hashbeam router (its `via`
 * names one), so two routers can never bounce a request between them.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono, Next } from 'hono'
import { InvalidRequestError, NotFoundError, UnavailableError } from '../../core/errors.js'
import type { Device, HttpKit, Logger, Message, Value } from '../../core/types.js'
import { createCluster, summarize, type Candidate, type Cluster } from '../router/index.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { forward, linkOfSignal, relayedBefore, toResponse } from './forward.js'
import { quorumOf, runQuorum } from './quorum.js'
import { linkOfResponse, noLiveNode, rawHeader, recordForCheckers, ROUTER_OWN, routerLane, writeAnswer } from './node-lane.js'
import { checkTarget } from './targets.js'
import { closeRelayPools, originOf } from './transport.js'

export const RELAY_DEVICE_NAME = 'relay@1.0'
export const MAX_CASTS = 64
/** A JSON body up to this size is read for its `model` (the OpenAI routes name it there). */
const MODEL_SNIFF_BYTES = 1024 * 1024

export interface RelayDeviceInit {
  /** The cluster of a `--router` node: enables preprocess and routed `call`s. */
  readonly cluster?: Cluster
  readonly log: Logger
  /** This node's address (in the `via` of relayed requests). */
  readonly address: string
  /** Per attempt (default 300 s). */
  readonly timeoutMs?: number
}

const targetOf = (url: string): string => {
  const i = url.indexOf('/', url.indexOf('//') + 2)
  return i === -1 ? '/' : url.slice(i)
}

function modelInBody(headers: Headers, body: Uint8Array | undefined): string | undefined {
  if (body === undefined || body.byteLength > MODEL_SNIFF_BYTES) return undefined
  if (!(headers.get('content-type') ?? '').toLowerCase().startsWith('application/json')) return undefined
  try {
    const model = (JSON.parse(new TextDecoder().decode(body)) as { model?: unknown } | null)?.model
    return typeof model === 'string' ? model : undefined
  } catch {
    return undefined
  }
}

const asText = (value: Value | undefined): string | undefined => (typeof value === 'string' ? value : undefined)

export function relayDevice(init: RelayDeviceInit): Device {
  const { cluster, log } = init
  const timeoutMs = init.timeoutMs ?? 300_000
  let casts = 0
  // A `call` to a peer from a node without a cluster still has breakers and in-flight counts.
  const own = cluster ?? createCluster({ admit: [] })
  const registered = (origin: string) => cluster?.registry.atOrigin(origin) !== undefined
  const options = {
    timeoutMs, relayedBy: init.address,
    // A registered node (the hot path) needs no look-up; any other target is vetted and pinned.
    checkTarget: (node: Candidate) => (registered(originOf(node.url)) ? undefined : checkTarget(node.url, registered)),
  }

  /** What a `call` or `cast` sends, checked before anything is sent. */
  async function prepare(req: Message): Promise<{ method: string; path: string; headers: Headers; body: Uint8Array | undefined; nodes: Candidate[] }> {
    const path = asText(req['relay-path'])
    if (path === undefined || !path.startsWith('/')) throw new InvalidRequestError('relay: call needs `relay-path` (from /)', { code: 'relay-target' })
    const method = (asText(req['relay-method']) ?? 'GET').toUpperCase()
    if (!/^[A-Z]{3,7}$/.test(method)) throw new InvalidRequestError('relay: relay-method is an HTTP method', { code: 'relay-target' })
    const rawBody = req['relay-body']
    const body = typeof rawBody === 'string' ? new TextEncoder().encode(rawBody) : rawBody instanceof Uint8Array ? rawBody : undefined
    const headers = new Headers()
    const type = asText(req['relay-content-type'])
    if (type !== undefined) headers.set('content-type', type)
    const peer = asText(req.peer)
    let nodes: Candidate[]
    if (peer !== undefined) {
      const url = peer.replace(/\/+$/, '')
      // Refused here with its own 403; forward checks again and pins the address it vetted.
      await checkTarget(url, registered)
      nodes = [{ address: url, url, weight: 1, inFlight: 0 }]
    } else {
      if (cluster === undefined) throw new InvalidRequestError('relay: call needs `peer` on a node that is no router', { code: 'relay-target' })
      const summary = summarize(method, path)
      const plan = cluster.plan(summary, asText(req.model) ?? summary.keys.model)
      if (plan === undefined) throw new NotFoundError('relay: no route matches relay-path', { code: 'no-route' })
      nodes = [...plan.nodes]
    }
    return { method, path, headers, body, nodes }
  }

  /** The answer of `call`: the relayed response as a message. */
  async function send(sent: Awaited<ReturnType<typeof prepare>>, signal: AbortSignal): Promise<Message> {
    const { method, path, headers, body, nodes } = sent
    const res = toResponse(await forward({ method, target: path, headers, body, client: linkOfSignal(signal) }, nodes, { ...options, cluster: own }))
    const contentType = res.headers.get('content-type') ?? ''
    const bytes = new Uint8Array(await res.arrayBuffer())
    const text = /^(text\/|application\/json)/i.test(contentType)
    const out: Message = { status: res.status, 'content-type': contentType, body: text ? new TextDecoder().decode(bytes) : bytes }
    for (const key of ['hashbeam-node', 'hashbeam-node-url', 'hashpath', 'ao-id'] as const) {
      const v = res.headers.get(key)
      if (v !== null) out[key === 'hashbeam-node' ? 'node' : key === 'hashbeam-node-url' ? 'node-url' : key] = v
    }
    return out
  }

  async function preprocess(c: Context, next: Next, http: HttpKit): Promise<Response | void> {
    const raw = c.req.raw
    // Under @hono/node-server the Node objects are at hand: their parsed headers and the socket
    // to answer on cost far less than a web Request's Headers and a Response.
    const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined
    const incoming = env?.incoming
    const target = incoming?.url ?? targetOf(raw.url)
    if (cluster === undefined || ROUTER_OWN.test(target)) return next()
    if (relayedBefore(incoming === undefined ? raw.headers.get('via') : rawHeader(incoming.rawHeaders, 'via'))) return next()
    const method = incoming?.method ?? raw.method
    const summary = summarize(method, target)
    const route = cluster.match(summary)
    if (route === undefined) return next()
    try {
      const verifyHeader = incoming === undefined ? raw.headers.get('hashbeam-verify') : rawHeader(incoming.rawHeaders, 'hashbeam-verify') ?? null
      const quorum = quorumOf(target, verifyHeader)
      const body = method === 'GET' || method === 'HEAD' ? undefined : await http.readBody(raw, http.bodyLimit)
      const plan = cluster.planRoute(route, summary, summary.keys.model ?? modelInBody(raw.headers, body))
      if (plan.nodes.length === 0) throw noLiveNode(plan.model)
      const outgoing = env?.outgoing
      const client = outgoing === undefined ? linkOfSignal(raw.signal) : linkOfResponse(outgoing)
      const sent = { method, target: quorum?.target ?? target, headers: incoming?.rawHeaders ?? raw.headers, body, client }
      if (quorum !== undefined) return await runQuorum(sent, quorum.count, plan.nodes, { ...options, cluster })
      const answer = await forward(sent, plan.nodes, { ...options, cluster })
      recordForCheckers(cluster, answer, plan.model)
      if (outgoing === undefined) return toResponse(answer)
      await writeAnswer(outgoing, answer)
      return RESPONSE_ALREADY_SENT
    } catch (err) {
      const requestId = randomUUID()
      log.info({ requestId, target: target.slice(0, 200), err: (err as Error).message }, 'relay refused')
      return http.error(err, requestId)
    }
  }

  return {
    name: RELAY_DEVICE_NAME,
    info: { description: 'Sends requests to other nodes: call (synchronous) and cast (in the background); on a router node, relays every request that matches a route, with failover and circuit breakers.' },
    exports: ['call', 'cast'],
    deterministic: false,
    keys: {
      call: async (_base, req, ctx) => send(await prepare(req), ctx.signal ?? AbortSignal.timeout(timeoutMs)),
      cast: async (_base, req) => {
        if (casts >= MAX_CASTS) throw new UnavailableError(`relay: ${MAX_CASTS} casts already in flight`, { code: 'relay-busy', retryAfterSeconds: 1 })
        const sent = await prepare(req)
        casts++
        // The cast outlives the request: its own time limit, never the client's signal.
        void send(sent, AbortSignal.timeout(timeoutMs))
          .catch((err: Error) => log.warn({ err: err.message }, 'relay cast failed'))
          .finally(() => { casts-- })
        return { status: 202, accepted: true }
      },
    },
    // The pools are the process's (one per node, shared by every relay in it); idle sockets close.
    stop: () => closeRelayPools(),
    routes(app: unknown, http: HttpKit) {
      if (cluster === undefined) return
      http.preempt(routerLane({ cluster, forwarding: { ...options, cluster }, http, log }))
      ;(app as Hono).use('*', (c, next) => preprocess(c, next, http))
    },
  }
}

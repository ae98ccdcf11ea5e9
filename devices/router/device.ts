/**
 * @module
 * `router@1.0`: HyperBEAM's routes, with a registry of nodes that come and go.
 *
 *     GET  /~router@1.0/routes                       the route list, in order
 *     POST /~router@1.0/routes                       replace it (`routes`: JSON list) or add one
 *                                                    (`route`: JSON object); operator-signed only
 *     GET  /~router@1.0/route&route-path=/~x@1.0/y   which node(s) that request would go to
 *     GET  /~router@1.0/nodes                        live nodes: models, load, circuit, heartbeat
 *     POST /~router@1.0/register|heartbeat|deregister   a node's signed offer (devices/router/offer.ts)
 *     POST /~router@1.0/results|checks, GET faults, POST clear-fault   checkers (check-routes.ts)
 *
 * On a node started without `--router` there is no cluster: `routes` and `route` answer 404
 * `not-a-router`, and offers are refused the same way. A node started with `--join URL` runs the
 * joining side (join.ts) from `start` to `stop`.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { requireOperator } from '../../core/authority.js'
import { InvalidRequestError, NotFoundError } from '../../core/errors.js'
import { fromJson, toJson } from '../../core/json.js'
import type { Device, HttpKit, Logger, Message, ResolveContext, Signer } from '../../core/types.js'
import { clearFault, mountCheckRoutes } from './check-routes.js'
import type { Cluster } from './cluster.js'
import type { Joiner } from './join.js'
import { MAX_OFFER_BYTES, verifyOffer, type OfferAction } from './offer.js'
import { parseRoute, parseRoutes, summarize } from './routes.js'

export const ROUTER_DEVICE_NAME = 'router@1.0'

export interface RouterDeviceInit {
  /** The cluster this node routes for (`--router`); absent on a worker or a lone node. */
  readonly cluster?: Cluster
  /** The joining side (`--join`). */
  readonly joiner?: Joiner
  readonly signer: Signer
  readonly log: Logger
}

const notRouter = (): NotFoundError => new NotFoundError('router: this node is no router (start it with --router)', { code: 'not-a-router' })

async function changeRoutes(cluster: Cluster, req: Message, ctx: ResolveContext, log: Logger): Promise<void> {
  const caller = await requireOperator(ctx, 'router: a route change')
  const asJson = (v: unknown): unknown => (typeof v === 'string' ? v : toJson(v as never))
  let next
  if (req.routes !== undefined) next = parseRoutes(asJson(req.routes))
  else if (req.route !== undefined) {
    const raw = asJson(req.route)
    let value: unknown = raw
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw)
      } catch (err) {
        throw new InvalidRequestError(`router: route is not JSON (${(err as Error).message})`, { code: 'invalid-route' })
      }
    }
    next = [...cluster.routes(), parseRoute(value)]
  } else {
    throw new InvalidRequestError('router: a route change carries `routes` (a JSON list) or `route` (a JSON object)', { code: 'invalid-route' })
  }
  await cluster.setRoutes(next)
  log.info({ by: caller.address, routes: next.length }, 'routes changed')
}

const routesMessage = (cluster: Cluster): Message =>
  ({ routes: cluster.routes().map(({ index: _i, regex: _r, ...route }) => fromJson(route)) }) as Message

function routeAnswer(cluster: Cluster, req: Message): Message {
  const path = req['route-path'] ?? req.target
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidRequestError('router: route needs `route-path` (the request\'s path and query, from /)', { code: 'invalid-route' })
  }
  const method = typeof req['route-method'] === 'string' ? req['route-method'] : 'GET'
  const summary = summarize(method, path)
  const model = typeof req.model === 'string' ? req.model : summary.keys.model
  const plan = cluster.plan(summary, model)
  if (plan === undefined) throw new NotFoundError('router: no route matches this request; it would run here', { code: 'no-route' })
  const chosen = plan.route.strategy === 'All' ? plan.nodes : plan.nodes.slice(0, plan.route.choose)
  return {
    route: plan.route.index, strategy: plan.route.strategy,
    nodes: chosen.map((n) => n.url), addresses: chosen.map((n) => n.address),
    ...(plan.model === undefined ? {} : { model: plan.model }),
  }
}

async function offerRoute(c: Context, action: OfferAction, cluster: Cluster, init: RouterDeviceInit, http: HttpKit): Promise<Response> {
  const requestId = randomUUID()
  try {
    const bytes = await http.readBody(c.req.raw, MAX_OFFER_BYTES * 2)
    let body: { offer?: unknown; signature?: unknown }
    try {
      body = JSON.parse(new TextDecoder().decode(bytes)) as typeof body
    } catch {
      throw new InvalidRequestError('router: the body is {"offer": "<JSON text>", "signature": "<base64url>"}', { code: 'invalid-offer' })
    }
    if (typeof body?.offer !== 'string' || typeof body.signature !== 'string') {
      throw new InvalidRequestError('router: the body is {"offer": "<JSON text>", "signature": "<base64url>"}', { code: 'invalid-offer' })
    }
    const offer = verifyOffer(body.offer, body.signature, init.signer, (a) => cluster.registry.admits(a))
    if (offer.action !== action) throw new InvalidRequestError(`router: a ${offer.action} offer sent to /${action}`, { code: 'invalid-offer' })
    const answer = cluster.registry.accept(offer)
    if (action === 'register') init.log.info({ address: offer.address, url: offer.url, models: offer.models.map((m) => m.name) }, 'node registered')
    return c.json(answer)
  } catch (err) {
    return http.error(err, requestId)
  }
}

export function routerDevice(init: RouterDeviceInit): Device {
  const { cluster } = init
  return {
    name: ROUTER_DEVICE_NAME,
    info: { description: 'Routes requests to the nodes of a cluster (HyperBEAM routes and strategies, plus Least-Loaded and model filters); a registry of nodes that join with signed offers and expire without heartbeats.' },
    exports: ['routes', 'route', 'clear-fault'],
    // Routes and nodes change between two identical requests: never answered from cache.
    deterministic: false,
    keys: {
      routes: async (_base, req, ctx) => {
        if (cluster === undefined) throw notRouter()
        if (ctx.method === 'POST') await changeRoutes(cluster, req, ctx, init.log)
        return routesMessage(cluster)
      },
      route: (_base, req) => {
        if (cluster === undefined) throw notRouter()
        return routeAnswer(cluster, req)
      },
      'clear-fault': async (_base, req, ctx) => {
        if (cluster === undefined) throw notRouter()
        return clearFault(cluster, req, ctx, init.log)
      },
    },
    routes(app: unknown, http: HttpKit) {
      const hono = app as Hono
      for (const action of ['register', 'heartbeat', 'deregister'] as const) {
        hono.post(`/~router@1.0/${action}`, (c) => (cluster === undefined ? http.error(notRouter(), randomUUID()) : offerRoute(c, action, cluster, init, http)))
      }
      hono.get('/~router@1.0/nodes', (c) => {
        if (cluster === undefined) return http.error(notRouter(), randomUUID())
        return c.json({ 'ttl-ms': cluster.registry.ttlMs, now: Date.now(), nodes: cluster.nodes() })
      })
      mountCheckRoutes(hono, cluster, init.signer, init.log, http, notRouter)
    },
    async start() {
      init.joiner?.start()
    },
    async stop() {
      await init.joiner?.stop()
    },
  }
}

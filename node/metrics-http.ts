/**
 * @module
 * `GET /metrics` (Prometheus text format) and the request counting of the routes mounted
 * beside the HyperPATH catch-all (the catch-all counts its own, node/app.ts).
 *
 * Who may read the metrics (`--metrics`):
 * - `local` (the default): clients on a loopback address, unsigned; anyone else needs the
 *   operator's signed request. A node that listens on 127.0.0.1 (the default) is thus scraped
 *   as usual, and one opened to the network does not show its traffic to the world;
 * - `public`: anyone;
 * - `operator`: only a request signed by the operator (RFC 9421 over this request, checked as
 *   every privileged action is: core/authority.ts `requireOperator`, each signature once);
 * - `off`: no such route (the path is then resolved like any other).
 * Metrics name devices, keys, models and counts, never a path, a caller or a message.
 */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { requireOperator } from '../core/authority.js'
import type { MetricsAccess } from './config.js'
import { requestHeaders } from './http-headers.js'
import { incomingKeys, targetOf } from './http-identity.js'
import { errorResponse } from './http-response.js'
import type { NodeMetrics } from './metrics.js'
import { requestCaller, type CallerPolicy } from './request-caller.js'

export const METRICS_PATH = '/metrics'

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false
  const a = address.startsWith('::ffff:') ? address.slice(7) : address
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'))
}

/** Marks a request as counted by the catch-all, so a fall-through is not counted twice. */
export class Counted {
  done = false
}
export const COUNTED = 'hashbeam-counted'

/**
 * Counts requests to a mounted route family under `device`, with a key `keyOf` picks from a
 * fixed list (anything else is `other`); requests that fall through to the catch-all are left
 * to it.
 */
export function countRoutes(metrics: NodeMetrics, device: string, keyOf: (path: string) => string): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now()
    const counted = new Counted()
    c.set(COUNTED as never, counted as never)
    let status = 500
    try {
      await next()
      status = c.res.status
    } finally {
      if (!counted.done) {
        const [d] = metrics.labels(device, undefined)
        metrics.http(d, keyOf(c.req.path), status, (performance.now() - t0) / 1000)
      }
    }
  }
}

/** The last path segments if they are one of `keys`, else `other`. */
export const keyFrom = (keys: readonly string[]) => (path: string): string => keys.find((k) => path.endsWith(`/${k}`) || path.includes(`/${k}&`) || path.includes(`/${k}/`)) ?? 'other'

export interface MetricsRouteInit {
  readonly metrics: NodeMetrics
  readonly access: MetricsAccess
  readonly callers: CallerPolicy
}

export function mountMetrics(app: Hono, init: MetricsRouteInit): void {
  const { metrics, access } = init
  if (access === 'off') return // the path is then an ordinary HyperPATH
  app.get(METRICS_PATH, async (c) => {
    const t0 = performance.now()
    const response = await answer(c, init).catch((err: unknown) => errorResponse(err, randomUUID()))
    metrics.http('metrics', 'metrics', response.status, (performance.now() - t0) / 1000)
    return response
  })
}

async function answer(c: Context, init: MetricsRouteInit): Promise<Response> {
  const { metrics, access } = init
  const local = access === 'local' && isLoopback(remoteAddress(c))
  if (access === 'operator' || (access === 'local' && !local)) await authorise(c, init.callers)
  return new Response(await metrics.text(), { status: 200, headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' } })
}

const remoteAddress = (c: Context): string | undefined =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress

/** 403 unless the request is signed by the operator (and the signature is fresh and unspent). */
async function authorise(c: Context, callers: CallerPolicy): Promise<void> {
  const raw = c.req.raw
  const headers = requestHeaders(c)
  const incoming = incomingKeys({ method: raw.method, url: raw.url, headers }, new Uint8Array(0))
  const caller = incoming.proof === undefined ? undefined
    : requestCaller(incoming.proof, { method: raw.method, target: targetOf(raw.url), body: new Uint8Array(0) }, callers)
  await requireOperator({ caller }, 'metrics: reading them from a remote address')
}

/** The mounted route families counted by `countRoutes` (patterns as node/store-http.ts and node/openai.ts mount them). */
export const COUNTED_ROUTES: ReadonlyArray<readonly [string, (metrics: NodeMetrics) => MiddlewareHandler]> = [
  ['/:device{~store(?:@[0-9.]+)?}/*', (m) => countRoutes(m, 'store@1.0', keyFrom(['put', 'get', 'blob']))],
  ['/:device{~gpu-infer(?:@[0-9.]+)?}/v1/*', (m) => countRoutes(m, 'gpu-infer@1.0', keyFrom(['v1/chat/completions', 'v1/completions', 'v1/models']))],
]

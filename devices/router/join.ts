/**
 * @module
 * A worker's side of joining a router (`--join URL`): a signed `register` offer, then a signed
 * `heartbeat` every `heartbeat-ms` the router asked for (a third of its TTL), each carrying the
 * node's current load; a `deregister` when the node stops (SIGTERM), so the router drops it at
 * once instead of after the TTL. A router that is down or restarted is retried with backoff (a
 * heartbeat to a router that forgot the node registers it again). Never throws into the node.
 */
import type { HttpClient, Logger, Signer } from '../../core/types.js'
import { signOffer, type OfferAction, type OfferBody } from './offer.js'

export interface JoinOptions {
  /** The router's base URL. */
  readonly router: string
  /** This node's URL as the router should reach it. */
  readonly advertise: string
  /** What the node offers now (devices, models, capacity, load). */
  readonly offer: () => Promise<Omit<OfferBody, 'url'>>
  readonly signer: Signer
  readonly http: HttpClient
  readonly log: Logger
  /** Per request to the router. */
  readonly timeoutMs?: number
}

export interface Joiner {
  start(): void
  stop(): Promise<void>
  /** Whether the last offer was accepted. */
  joined(): boolean
}

const RETRY_MIN_MS = 250
const RETRY_MAX_MS = 5_000

export function createJoiner(opts: JoinOptions): Joiner {
  const base = opts.router.replace(/\/+$/, '')
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = true
  let registered = false
  let lastTime = 0
  let retryMs = RETRY_MIN_MS
  let heartbeatMs = 3_000

  const send = async (action: OfferAction, timeoutMs = opts.timeoutMs ?? 5_000): Promise<Response> => {
    lastTime = Math.max(Date.now(), lastTime + 1)
    const body = { ...(await opts.offer()), url: opts.advertise }
    const signed = await signOffer(opts.signer, action, body, lastTime)
    return opts.http.fetch(`${base}/~router@1.0/${action}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed), signal: AbortSignal.timeout(timeoutMs),
    })
  }

  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(() => void beat(), ms)
    timer.unref?.()
  }

  const beat = async () => {
    const action: OfferAction = registered ? 'heartbeat' : 'register'
    try {
      const res = await send(action)
      if (!res.ok) {
        const text = await res.text()
        throw new Error(`${res.status} ${text.slice(0, 300)}`)
      }
      const lease = await res.json() as { 'heartbeat-ms'?: unknown }
      if (typeof lease['heartbeat-ms'] === 'number' && lease['heartbeat-ms'] >= 50) heartbeatMs = lease['heartbeat-ms']
      if (!registered) opts.log.info({ router: base, heartbeatMs }, 'joined the router')
      registered = true
      retryMs = RETRY_MIN_MS
      schedule(heartbeatMs)
    } catch (err) {
      if (registered || retryMs === RETRY_MIN_MS) opts.log.warn({ router: base, action, err: (err as Error).message }, 'router offer failed; retrying')
      registered = false
      schedule(retryMs)
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2)
    }
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      schedule(0)
    },
    async stop() {
      if (stopped) return
      stopped = true
      clearTimeout(timer)
      if (!registered) return
      registered = false
      try {
        await (await send('deregister', 2_000)).body?.cancel()
      } catch (err) {
        opts.log.warn({ router: base, err: (err as Error).message }, 'deregistration failed; the router drops this node after its TTL')
      }
    },
    joined: () => registered,
  }
}

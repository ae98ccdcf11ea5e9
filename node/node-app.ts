/**
 * @module
 * The node's HTTP app as composed from its parts: the HyperPATH route (node/app.ts) with the
 * caller and reply identity, /metrics when enabled, and every device's own routes (`routes(app,
 * http)`, with the node's HttpKit: the dashboard's files, store's blobs, gpu-infer's OpenAI
 * surface), in registration order, mounted before the catch-all.
 */
import type { Hono } from 'hono'
import type { Resolver } from '../core/resolve.js'
import type { Store } from '../core/store.js'
import type { Device, Logger, RawLane } from '../core/types.js'
import type { Receipts } from '../devices/index.js'
import type { Wallet } from '../identity/keys.js'
import { createApp } from './app.js'
import type { NodeConfig } from './config.js'
import { createHttpKit } from './http-kit.js'
import type { NodeMetrics } from './metrics.js'
import { COUNTED_ROUTES, mountMetrics } from './metrics-http.js'
import type { NodeSettings } from './settings.js'
import { spentSignatures } from './spent-signatures.js'

export interface NodeAppParts {
  readonly config: NodeConfig
  readonly resolver: Resolver
  readonly log: Logger
  readonly store: Store
  readonly wallet: Wallet
  readonly address: string
  readonly settings: NodeSettings
  readonly metrics: NodeMetrics | undefined
  readonly receipts: Receipts | undefined
  readonly devices: readonly Device[]
}

/** The app, and the lanes the node's server runs before it (HttpKit.preempt). */
export function nodeApp(parts: NodeAppParts): { app: Hono; lanes: readonly RawLane[] } {
  const { config, resolver, log, settings, metrics, receipts } = parts
  const callers = { nodeAddress: parts.address, operator: () => settings.operator(), skewSeconds: config.signatureSkewSeconds, spent: spentSignatures(parts.store) }
  const lanes: RawLane[] = []
  const http = createHttpKit({ resolver, bodyLimit: config.bodyLimit, requestTimeoutMs: config.requestTimeoutMs, lanes, ...(receipts === undefined ? {} : { receipts }) })
  const app = createApp({
    resolver, log, bodyLimit: config.bodyLimit, requestTimeoutMs: config.requestTimeoutMs,
    identity: { wallet: parts.wallet, signReplies: () => settings.signReplies() },
    callers,
    ...(receipts === undefined ? {} : { receipts }),
    ...(metrics === undefined ? {} : { metrics }),
    routes: (a) => {
      if (metrics !== undefined) {
        mountMetrics(a, { metrics, access: config.metrics, callers })
        for (const [pattern, count] of COUNTED_ROUTES) a.use(pattern, count(metrics))
      }
      for (const device of parts.devices) device.routes?.(a, http)
    },
  })
  return { app, lanes }
}

/**
 * @module
 * What `createNode` returns (a running node's parts and lifecycle) and what it accepts besides
 * the configuration.
 */
import type { Hono } from 'hono'
import type { Registry } from '../core/registry.js'
import type { Resolver } from '../core/resolve.js'
import type { Store } from '../core/store.js'
import type { Device, DeviceBuilder, Logger, RawLane } from '../core/types.js'
import type { Wallet } from '../identity/keys.js'
import type { NodeConfig } from './config.js'
import type { NodeMetrics } from './metrics.js'
import type { NodeSettings } from './settings.js'

export interface HashbeamNode {
  readonly config: NodeConfig
  readonly app: Hono
  /** Handlers the node's HTTP server runs before the app (HttpKit.preempt; node/server.ts). */
  readonly lanes: readonly RawLane[]
  readonly resolver: Resolver
  readonly registry: Registry
  readonly store: Store
  readonly wallet: Wallet
  readonly address: string
  readonly log: Logger
  /** Runtime settings the operator may change (node/settings.ts). */
  readonly settings: NodeSettings
  /** Models served by gpu-infer: name → path (the demo model when none was configured). */
  readonly models: Readonly<Record<string, string>>
  /** The node's Prometheus metrics (node/metrics.ts); undefined with `--metrics off`. */
  readonly metrics: NodeMetrics | undefined
  start(): Promise<void>
  stop(): Promise<void>
}

export interface NodeInit {
  /** A logger to use instead of the default pino one. */
  readonly log?: Logger
  /** A store to use instead of opening `config.store` (tests). */
  readonly store?: Store
  /** Extra devices (or device builders, given the node's components), registered after the built-ins. */
  readonly devices?: readonly (Device | DeviceBuilder)[]
  /** Wallet file; default `<dataDir>/wallet.json`. */
  readonly walletPath?: string
  /** Progress of models loaded at start (`--preload`). */
  readonly onModelProgress?: (model: string, fraction: number) => void
}

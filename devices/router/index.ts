/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `router@1.0`: routes (HyperBEAM's shape and strategies, plus Least-Loaded and a model
 * filter), a registry of nodes that join with signed offers, heartbeat and expire after a TTL,
 * and circuit breakers — the cluster state relay@1.0 sends requests by. docs/cluster.md.
 *
 * @example
 * ```sh
 * hashbeam serve --router --admit <worker address> --port 8734
 * hashbeam serve --join http://127.0.0.1:8734 --port 8735
 * curl 'localhost:8734/~router@1.0/route&route-path=/~message@1.0%26a=1/a'
 * ```
 */
export { createBreakers, type Breakers, type CircuitState } from './breaker.js'
export { createCluster, DEFAULT_TTL_MS, servedModel, type Cluster, type ClusterOptions, type NodeView, type RoutePlan } from './cluster.js'
export { CHECK_TAG, signCheck, verifyCheck, type CheckMessage, type CheckOutcome, type CheckOutcomeKind } from './check-message.js'
export { createCheckBook, FEED_SIZE, type CheckBook, type FaultEntry, type FeedEntry, type NodeChecks } from './checks.js'
export { routerDevice, ROUTER_DEVICE_NAME, type RouterDeviceInit } from './device.js'
export { createJoiner, type Joiner, type JoinOptions } from './join.js'
export { OFFER_TAG, signOffer, verifyOffer, type ModelLoad, type ModelOffer, type Offer, type OfferBody } from './offer.js'
export type { Lease, RegisteredNode } from './registry.js'
export { DEFAULT_ROUTES, parseRoutes, summarize, type Route, type RequestSummary } from './routes.js'
export { orderNodes, STRATEGIES, type Candidate, type Load, type Strategy } from './strategies.js'

/** How a node takes part in a cluster (node/config.ts `cluster`). */
export interface ClusterConfig {
  /** Relay every request that matches a route (`--router`); accept registrations. */
  readonly router: boolean
  /** The router to join (`--join URL`). */
  readonly join: string | undefined
  /** This node's URL as the router reaches it (`--advertise`; default http://host:port). */
  readonly advertise: string | undefined
  /** Addresses allowed to register (`--admit`, the operator's list). */
  readonly admit: readonly string[]
  /** A registration's lifetime without a heartbeat (`--node-ttl`, default 10 s). */
  readonly ttlMs: number
  /** How long one relayed attempt may wait for its answer (`--relay-timeout`, default 300 s). */
  readonly relayTimeoutMs: number
  /** `--check-peers RATE`: re-execute this share (0–1] of other nodes' results (docs/verification.md). */
  readonly checkPeers?: number
  /** The router whose relayed results are checked (`--check-router URL`; default `--join`). */
  readonly checkRouter?: string
  /** `--check-secret HEX`: the HMAC key that picks results (default random per start). */
  readonly checkSecret?: string
}

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  router: false, join: undefined, advertise: undefined, admit: [], ttlMs: 10_000, relayTimeoutMs: 300_000,
}
export { offerSource, type OfferSourceInit } from './offer-source.js'

/**
 * @module
 * What a router knows and decides, shared by router@1.0 (routes, registrations, `route`,
 * `/nodes`) and relay@1.0 (which sends the requests): the route list, the registry of live
 * nodes, a circuit breaker per node and the requests in flight to each. `plan` answers, for a
 * request, the route it matches and every eligible node in the route's order: nodes that serve
 * the model when one is named, open circuits left out.
 */
import { readFileSync } from 'node:fs'
import writeFileAtomic from 'write-file-atomic'
import { createBreakers, type Breakers, type CircuitState } from './breaker.js'
import { createCheckBook, type CheckBook, type FaultEntry, type NodeChecks } from './checks.js'
import type { ModelOffer } from './offer.js'
import { createNodeRegistry, type NodeRegistry, type RegisteredNode } from './registry.js'
import { compileRoutes, DEFAULT_ROUTES, matchRoute, parseRoutes, sortRoutes, type CompiledRoute, type RequestSummary, type Route } from './routes.js'
import { orderNodes, type Candidate, type Load } from './strategies.js'

export interface ClusterOptions {
  /** Registration lifetime without a heartbeat (default 10 s). */
  readonly ttlMs?: number
  /** Addresses that may register (the operator's list). */
  readonly admit: readonly string[]
  /** Where the route list persists (absent: memory only, the defaults at start). */
  readonly routesFile?: string
  /** Where proven faults persist (absent: memory only). */
  readonly faultsFile?: string
  readonly breaker?: Parameters<typeof createBreakers>[0]
  readonly now?: () => number
  readonly log?: { info(obj: object, msg: string): void }
}

export interface RoutePlan {
  readonly route: CompiledRoute
  /** Eligible nodes, best first. */
  readonly nodes: readonly Candidate[]
  /** The model the nodes were filtered by. */
  readonly model?: string
}

/** A node as `/~router@1.0/nodes` shows it. */
export interface NodeView extends RegisteredNode {
  readonly circuit: CircuitState
  readonly 'in-flight': number
  readonly checks: NodeChecks
  /** Models (sha256) this node is out of rotation for, each by a proven fault. */
  readonly benched: readonly Pick<FaultEntry, 'model-sha256' | 'proof-id' | 'by' | 'at'>[]
}

export interface Cluster {
  readonly registry: NodeRegistry
  readonly breakers: Breakers
  /** Results relayed, checks reported, faults proven (checks.ts). */
  readonly checks: CheckBook
  routes(): readonly CompiledRoute[]
  /** Replaces the route list (sorted by priority) and persists it. */
  setRoutes(routes: readonly Route[]): Promise<void>
  plan(request: RequestSummary, model?: string): RoutePlan | undefined
  /** The route a request matches, without ordering nodes (the relay reads a body only then). */
  match(request: RequestSummary): CompiledRoute | undefined
  /** The nodes of a matched route for this request. */
  planRoute(route: CompiledRoute, request: RequestSummary, model?: string): RoutePlan
  /** Whether an address is on the operator's admission list. */
  admits(address: string): boolean
  /** Counts a request in flight to a node until the returned function is called. */
  begin(address: string): () => void
  nodes(): NodeView[]
}

export const DEFAULT_TTL_MS = 10_000

/** Whether a node serves the model (by name or sha256), and under which of its names. */
export function servedModel(models: readonly ModelOffer[], ref: string): ModelOffer | undefined {
  return models.find((m) => m.name === ref || m.sha256 === ref)
}

function loadOf(node: RegisteredNode, model: string | undefined): Load {
  if (model !== undefined) {
    const name = servedModel(node.models, model)?.name
    const l = name === undefined ? undefined : node.load[name]
    return { queued: l?.queued ?? 0, running: l?.running ?? 0, maxQueue: l?.['max-queue'] ?? node.capacity['max-queue'] }
  }
  let queued = 0
  let running = 0
  for (const l of Object.values(node.load)) {
    queued += l.queued
    running += l.running
  }
  // Without a model no single queue applies: never "full" on the totals.
  return { queued, running, maxQueue: 0 }
}

function readRoutes(file: string | undefined): Route[] {
  if (file === undefined) return [...DEFAULT_ROUTES]
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return [...DEFAULT_ROUTES]
  }
  return parseRoutes(text)
}

export function createCluster(opts: ClusterOptions): Cluster {
  const admitted = new Set(opts.admit)
  const breakers = createBreakers({ ...opts.breaker, ...(opts.now === undefined ? {} : { now: opts.now }) })
  const inFlight = new Map<string, number>()
  const checks = createCheckBook({ admits: (a) => admitted.has(a), ...(opts.faultsFile === undefined ? {} : { faultsFile: opts.faultsFile }), ...(opts.now === undefined ? {} : { now: opts.now }) })
  const registry = createNodeRegistry({
    ttlMs: opts.ttlMs ?? DEFAULT_TTL_MS, admits: (a) => admitted.has(a), ...(opts.now === undefined ? {} : { now: opts.now }),
    onRemove: (node, why) => {
      breakers.forget(node.address)
      opts.log?.info({ address: node.address, url: node.url, why }, 'node left the cluster')
    },
  })
  let compiled = compileRoutes(sortRoutes(readRoutes(opts.routesFile)))
  let turn = 0

  const candidate = (node: RegisteredNode, model: string | undefined, weight = 1): Candidate =>
    ({ address: node.address, url: node.url, weight, load: loadOf(node, model), inFlight: inFlight.get(node.address) ?? 0, verified: checks.stats(node.address).agreed })

  const candidates = (route: CompiledRoute, model: string | undefined): Candidate[] => {
    const live = registry.live()
    // A node with a proven fault on the model is out of its rotation until the operator clears it.
    const serves = (node: RegisteredNode) => {
      if (model === undefined) return true
      const served = servedModel(node.models, model)
      return served !== undefined && !checks.benched(node.address, served.sha256)
    }
    if (route.nodes === undefined) return live.filter(serves).map((n) => candidate(n, model))
    const out: Candidate[] = []
    for (const entry of route.nodes) {
      const node = live.find((n) => n.url === entry.url)
      if (node !== undefined) {
        if (serves(node)) out.push(candidate(node, model, entry.weight))
      } else if (model === undefined) {
        // An explicit node that never registered: no load, no models; relay@1.0 still checks it is no private target.
        out.push({ address: entry.url, url: entry.url, weight: entry.weight ?? 1, inFlight: inFlight.get(entry.url) ?? 0 })
      }
    }
    return out
  }

  function planRoute(route: CompiledRoute, request: RequestSummary, requestModel?: string): RoutePlan {
    const model = route.model ?? requestModel
    const ordered = orderNodes(route.strategy, candidates(route, model), { key: request.target, turn: turn++ })
    const nodes = ordered.filter((c) => breakers.state(c.address) !== 'open')
    return { route, nodes, ...(model === undefined ? {} : { model }) }
  }

  return {
    registry, breakers, checks,
    admits: (address) => admitted.has(address),
    routes: () => compiled,
    async setRoutes(routes) {
      const sorted = sortRoutes(routes)
      if (opts.routesFile !== undefined) await writeFileAtomic(opts.routesFile, JSON.stringify(sorted, null, 2))
      compiled = compileRoutes(sorted)
    },
    plan(request, requestModel) {
      const route = matchRoute(compiled, request)
      return route === undefined ? undefined : planRoute(route, request, requestModel)
    },
    match: (request) => matchRoute(compiled, request),
    planRoute,
    begin(address) {
      inFlight.set(address, (inFlight.get(address) ?? 0) + 1)
      let done = false
      return () => {
        if (done) return
        done = true
        const n = (inFlight.get(address) ?? 1) - 1
        if (n <= 0) inFlight.delete(address)
        else inFlight.set(address, n)
      }
    },
    nodes: () => registry.live().map((n) => ({
      ...n, circuit: breakers.state(n.address), 'in-flight': inFlight.get(n.address) ?? 0, checks: checks.stats(n.address),
      benched: checks.faults(n.address).map(({ proof: _proof, ...f }) => f),
    })),
  }
}

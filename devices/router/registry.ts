/**
 * @module
 * The router's registry of nodes, with a lifetime (HyperBEAM's router cannot remove a node; this
 * one does). A node is in it from its signed `register` (or a `heartbeat` after the router
 * restarted) until its `deregister`, or until `ttlMs` pass without a heartbeat — then it is gone
 * from every route. Only admitted addresses (the operator's list) may register: anyone else is
 * refused with 403 `node-not-admitted` and nothing changes. An offer must be newer than the last
 * one accepted from its address (403 `offer-replayed`) and close to the router's clock (403
 * `offer-stale`), so a captured offer cannot bring a node back.
 */
import { ForbiddenError } from '../../core/errors.js'
import { MAX_SKEW_MS, type ModelLoad, type ModelOffer, type Offer } from './offer.js'

export interface RegisteredNode {
  readonly address: string
  readonly url: string
  readonly devices: readonly string[]
  readonly models: readonly ModelOffer[]
  readonly capacity: Offer['capacity']
  readonly load: Readonly<Record<string, ModelLoad>>
  readonly registeredAt: number
  readonly lastHeartbeat: number
  readonly expiresAt: number
}

export interface RegistryOptions {
  readonly ttlMs: number
  /** The operator's admission list, read at each registration. */
  admits(address: string): boolean
  readonly now?: () => number
  /** Called once for each node that leaves (deregistered or expired). */
  readonly onRemove?: (node: RegisteredNode, why: 'deregistered' | 'expired') => void
}

/** What a registering node is told: how long its registration lives, how often to refresh it. */
export interface Lease {
  readonly 'ttl-ms': number
  readonly 'heartbeat-ms': number
}

export interface NodeRegistry {
  /** Applies a verified offer: registers, refreshes or removes the node. */
  accept(offer: Offer): Lease | { readonly removed: boolean }
  /** Live nodes (expired ones are removed first), by address. */
  live(): RegisteredNode[]
  /** The live node at this origin (`http://host:port`), if any. */
  atOrigin(origin: string): RegisteredNode | undefined
  /** Whether an address is on the admission list. */
  admits(address: string): boolean
  /** Removes every expired node; returns how many left. */
  sweep(): number
  readonly ttlMs: number
}

export function createNodeRegistry(opts: RegistryOptions): NodeRegistry {
  const now = opts.now ?? Date.now
  const nodes = new Map<string, RegisteredNode>()
  // The newest accepted offer time per address (admitted addresses only, so bounded).
  const newest = new Map<string, number>()
  const lease: Lease = { 'ttl-ms': opts.ttlMs, 'heartbeat-ms': Math.max(100, Math.floor(opts.ttlMs / 3)) }
  const remove = (address: string, why: 'deregistered' | 'expired'): boolean => {
    const node = nodes.get(address)
    if (node === undefined) return false
    nodes.delete(address)
    opts.onRemove?.(node, why)
    return true
  }
  const sweep = (): number => {
    const t = now()
    let n = 0
    for (const node of [...nodes.values()]) if (node.expiresAt <= t && remove(node.address, 'expired')) n++
    return n
  }
  return {
    ttlMs: opts.ttlMs,
    admits: (address) => opts.admits(address),
    accept(offer) {
      if (!opts.admits(offer.address)) {
        throw new ForbiddenError('router: this node is not admitted (the operator\'s --admit list)', { code: 'node-not-admitted', detail: { address: offer.address } })
      }
      const t = now()
      if (Math.abs(offer.time - t) > MAX_SKEW_MS) {
        throw new ForbiddenError(`router: the offer's time is more than ${MAX_SKEW_MS / 1000} s from this router's clock`, { code: 'offer-stale' })
      }
      if (offer.time <= (newest.get(offer.address) ?? -1)) {
        throw new ForbiddenError('router: an offer no newer than one already accepted from this node', { code: 'offer-replayed' })
      }
      newest.set(offer.address, offer.time)
      if (offer.action === 'deregister') return { removed: remove(offer.address, 'deregistered') }
      const before = nodes.get(offer.address)
      nodes.set(offer.address, {
        address: offer.address, url: offer.url, devices: offer.devices, models: offer.models, capacity: offer.capacity,
        load: offer.load.models, registeredAt: before?.registeredAt ?? t, lastHeartbeat: t, expiresAt: t + opts.ttlMs,
      })
      return lease
    },
    live() {
      sweep()
      return [...nodes.values()]
    },
    atOrigin(origin) {
      sweep()
      for (const node of nodes.values()) if (node.url === origin) return node
      return undefined
    },
    sweep,
  }
}

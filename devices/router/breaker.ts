/**
 * @module
 * A circuit breaker per node, what inference gateways add and HyperBEAM lacks: after
 * `threshold` failures in a row (connection refused, 5xx, timeout) the node's circuit opens and
 * no request is sent to it; after `cooldownMs` it half-opens and lets one request through as a
 * probe. The probe's success closes the circuit; its failure opens it again for twice as long
 * (up to `maxCooldownMs`).
 */

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  readonly threshold?: number
  readonly cooldownMs?: number
  readonly maxCooldownMs?: number
  readonly now?: () => number
}

interface Circuit {
  failures: number
  openedAt: number
  cooldownMs: number
  state: CircuitState
  probing: boolean
}

export interface Breakers {
  /** Whether a request may go to the node now; a half-open node takes one probe at a time. */
  allow(node: string): boolean
  success(node: string): void
  failure(node: string): void
  state(node: string): CircuitState
  /** Forget a node (deregistered or expired). */
  forget(node: string): void
}

export function createBreakers(opts: BreakerOptions = {}): Breakers {
  const threshold = opts.threshold ?? 3
  const base = opts.cooldownMs ?? 2_000
  const max = opts.maxCooldownMs ?? 30_000
  const now = opts.now ?? Date.now
  const circuits = new Map<string, Circuit>()
  const circuit = (node: string): Circuit => {
    let c = circuits.get(node)
    if (c === undefined) circuits.set(node, (c = { failures: 0, openedAt: 0, cooldownMs: base, state: 'closed', probing: false }))
    return c
  }
  const current = (c: Circuit): CircuitState => {
    if (c.state === 'open' && now() - c.openedAt >= c.cooldownMs) {
      c.state = 'half-open'
      c.probing = false
    }
    return c.state
  }
  return {
    allow(node) {
      const c = circuits.get(node)
      if (c === undefined) return true
      const state = current(c)
      if (state === 'closed') return true
      if (state === 'open' || c.probing) return false
      c.probing = true
      return true
    },
    success(node) {
      const c = circuits.get(node)
      if (c === undefined) return
      circuits.delete(node)
    },
    failure(node) {
      const c = circuit(node)
      const state = current(c)
      c.failures++
      if (state === 'half-open') {
        c.cooldownMs = Math.min(max, c.cooldownMs * 2)
        c.state = 'open'
        c.openedAt = now()
        c.probing = false
      } else if (state === 'closed' && c.failures >= threshold) {
        c.state = 'open'
        c.openedAt = now()
      }
    },
    state: (node) => {
      const c = circuits.get(node)
      return c === undefined ? 'closed' : current(c)
    },
    forget: (node) => { circuits.delete(node) },
  }
}

/**
 * @module
 * How a route orders its nodes. Each strategy returns *every* eligible node, best first: `route`
 * answers the first `choose` of them, and relay@1.0 fails over along the rest.
 *
 * | strategy | order |
 * | --- | --- |
 * | `All` | as listed (registered nodes: by address) |
 * | `Random` | shuffled |
 * | `By-Base` | HyperBEAM's: sha256(key) mod N picks the first, then the next ones around — sticky while the node set is stable |
 * | `By-Weight` | weighted random without replacement (`weight`, default 1) |
 * | `Nearest` | rendezvous: by 256-bit ring distance between sha256(key) and sha256(key:address) |
 * | `Least-Loaded` | fewest queued + running (heartbeats) + in flight from here; a full queue is left out |
 * | `By-Verified-Weight` | weighted random, the weight growing with the node's results that checkers reproduced |
 */
import { sha256 } from '../../core/sha256.js'
import { toHex } from '../../core/bytes.js'

export const STRATEGIES = ['All', 'Random', 'By-Base', 'By-Weight', 'Nearest', 'Least-Loaded', 'By-Verified-Weight'] as const
export type Strategy = (typeof STRATEGIES)[number]

/** A node's load for one request: the model it names, or the node's totals. */
export interface Load {
  readonly queued: number
  readonly running: number
  /** Requests the node lets wait (0: unknown, never full). */
  readonly maxQueue: number
}

export interface Candidate {
  readonly address: string
  readonly url: string
  readonly weight: number
  /** From the node's last heartbeat; absent for nodes that report none. */
  readonly load?: Load
  /** Requests this router has in flight to the node now. */
  readonly inFlight: number
  /** The node's results that checkers re-executed and reproduced (router checks.ts). */
  readonly verified?: number
}

/** Trust follows correctness: 1 for an unchecked node, up to 11 at 50 reproduced results. */
export const verifiedWeight = (c: Candidate): number => c.weight * (1 + Math.min(c.verified ?? 0, 50) / 5)

const UTF8 = new TextEncoder()
const hashInt = (text: string): bigint => BigInt(`0x${toHex(sha256(UTF8.encode(text)))}`)
const RING = 1n << 256n

/** sha256(text) read as a big-endian integer, mod n — By-Base's pick, without a 256-bit BigInt per request. */
function hashMod(text: string, n: number): number {
  let r = 0
  for (const byte of sha256(UTF8.encode(text))) r = (r * 256 + byte) % n
  return r
}

/** Whether the node's queue for this request is full (Least-Loaded leaves it out). */
export const isFull = (c: Candidate): boolean => c.load !== undefined && c.load.maxQueue > 0 && c.load.queued >= c.load.maxQueue

const byAddress = (a: Candidate, b: Candidate): number => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)

function shuffled<T>(list: readonly T[], random: () => number): T[] {
  const out = list.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

function byWeight(list: readonly Candidate[], random: () => number): Candidate[] {
  const left = list.slice()
  const out: Candidate[] = []
  while (left.length > 0) {
    const total = left.reduce((sum, c) => sum + c.weight, 0)
    let pick = random() * total
    let i = 0
    for (; i < left.length - 1; i++) {
      pick -= (left[i] as Candidate).weight
      if (pick < 0) break
    }
    out.push(...left.splice(i, 1))
  }
  return out
}

function nearest(list: readonly Candidate[], key: string): Candidate[] {
  const target = hashInt(key)
  const distance = (c: Candidate): bigint => {
    const d = (hashInt(`${key}:${c.address}`) - target + RING) % RING
    return d < RING - d ? d : RING - d
  }
  return list.map((c) => [c, distance(c)] as const).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([c]) => c)
}

const score = (c: Candidate): number => (c.load === undefined ? 0 : c.load.queued + c.load.running) + c.inFlight

/**
 * Least-Loaded: ties are broken by a rotating start (`turn`), so equally idle nodes share the
 * work instead of the first one taking all of it.
 */
function leastLoaded(list: readonly Candidate[], turn: number): Candidate[] {
  const open = list.filter((c) => !isFull(c)).sort(byAddress)
  const n = open.length
  return open.map((c, i) => [c, (i - (turn % Math.max(1, n)) + n) % Math.max(1, n)] as const)
    .sort((a, b) => score(a[0]) - score(b[0]) || a[1] - b[1]).map(([c]) => c)
}

export interface OrderOptions {
  /** The request's routing key (its path), for By-Base and Nearest. */
  readonly key: string
  readonly random?: () => number
  /** A counter that changes per request (Least-Loaded's tie-break). */
  readonly turn?: number
}

/** Every eligible node, best first. */
export function orderNodes(strategy: Strategy, nodes: readonly Candidate[], opts: OrderOptions): Candidate[] {
  const random = opts.random ?? Math.random
  const sorted = nodes.slice().sort(byAddress)
  switch (strategy) {
    case 'All':
      return nodes.slice()
    case 'Random':
      return shuffled(sorted, random)
    case 'By-Base': {
      if (sorted.length === 0) return []
      const first = hashMod(opts.key, sorted.length)
      return [...sorted.slice(first), ...sorted.slice(0, first)]
    }
    case 'By-Weight':
      return byWeight(sorted, random)
    case 'Nearest':
      return nearest(sorted, opts.key)
    case 'Least-Loaded':
      return leastLoaded(sorted, opts.turn ?? 0)
    case 'By-Verified-Weight':
      return byWeight(sorted.map((c) => ({ ...c, weight: verifiedWeight(c) })), random)
  }
}

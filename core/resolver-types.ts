/**
 * @module
 * The resolver's contract: its options, how it is built, what it offers (core/resolve.ts
 * implements it). Apart from the pipeline so callers and devices read the shape in one place.
 */
import type { EncodedMessage } from './id.js'
import type { LedgerTrust } from './ledger.js'
import type { PathLimits } from './path.js'
import type { Registry } from './registry.js'
import type { ExtraKeys, RequestPlan } from './request.js'
import type { Store } from './store.js'
import type { Caller, Logger, Message, ResolveResult, StreamSink } from './types.js'

/** How a request treats the step ledger as a cache (HTTP `cache-control`). */
export interface CacheControl {
  /** Recompute even when recorded; compare with the record and flag a mismatch. */
  readonly noCache?: boolean
  /** Write nothing to the store. */
  readonly noStore?: boolean
  /** Answer only from the ledger; a miss is a 504. */
  readonly onlyIfCached?: boolean
}

export interface ResolveOptions {
  readonly signal?: AbortSignal
  readonly cache?: CacheControl
  readonly stream?: StreamSink
  readonly log?: Logger
  /** Sub-resolution depth; callers leave it unset. */
  readonly depth?: number
  /** The transport method, shown to top-level steps as `ctx.method` (never hashed). */
  readonly method?: string
  /** The authenticated sender, shown to top-level steps as `ctx.caller` (never hashed). */
  readonly caller?: Caller
}

export interface ResolverInit {
  readonly registry: Registry
  readonly store: Store
  readonly log: Logger
  /** Public node options handed to devices; never change a deterministic result. */
  readonly options?: Readonly<Record<string, unknown>>
  readonly limits?: Partial<PathLimits>
  /** Answers kept in memory for repeated deterministic steps (0 turns the hot cache off). */
  readonly hotCacheEntries?: number
  /** Whose records answer from the ledger; the node passes its address and `--trust` list. */
  readonly ledger?: LedgerTrust
  /** Told after every step (metrics, traces: node/metrics.ts, node/telemetry.ts); must not throw. */
  readonly onStep?: StepObserver
}

/** Where a step's answer came from: the hot cache, the step ledger, the device, or an error. */
export type StepSource = 'memory' | 'ledger' | 'executed' | 'failed'

/** `startedAt` is `performance.now()` when the step began. */
export type StepObserver = (device: string, key: string, hashpath: string, source: StepSource, startedAt: number) => void

/**
 * A plan ready to run, from `Resolver.prepare`: the plan, and the ID of the base it builds when
 * that base is the same message every time the plan runs (an ID alone, or literal keys). The
 * HTTP layer prepares a request once and keeps prepared plain requests (node/plan-cache.ts):
 * encoding and hashing the base was most of the cost of a cached answer.
 */
export interface PreparedPlan {
  readonly plan: RequestPlan
  /** Trusted by `run` as the ID of the base the plan builds; undefined: computed per run. */
  readonly baseId: string | undefined
  /** That base encoded, written with the first step's record (absent for an ID alone: stored). */
  readonly encodedBase: EncodedMessage | undefined
}

/** A plan to run once: its base ID is computed as it runs (preparing would materialize the base twice). */
export const unprepared = (plan: RequestPlan): PreparedPlan => ({ plan, baseId: undefined, encodedBase: undefined })

export interface Resolver {
  readonly registry: Registry
  readonly store: Store
  readonly limits: PathLimits
  readonly ledger: LedgerTrust
  /**
   * Parses, plans and runs a path, or a message `{path, ...keys}` read as an HTTP request whose
   * other keys came in its body (they reach every message of the chain, of any size).
   */
  resolve(path: string | Message, extra?: ExtraKeys, opts?: ResolveOptions): Promise<ResolveResult>
  /** Readies a plan to run many times (its base ID once, when it is the same every run). */
  prepare(plan: RequestPlan): PreparedPlan
  /** Runs a prepared plan. */
  run(prepared: PreparedPlan, opts?: ResolveOptions): Promise<ResolveResult>
  /** Runs one step on a base whose hashpath is known. */
  step(base: Message, baseHashpath: string, req: Message, opts?: ResolveOptions): Promise<ResolveResult>
}

/**
 * @module
 * Bounded walks over a chain of step records (verify, replay, export, import).
 *
 * A chain is walked back from a hashpath through each record's `base`. Records come from the
 * store, and an imported or damaged store may hold records whose bases loop (A → B → A) or a
 * chain far longer than any honest one. A walk must therefore
 * - detect a cycle (Brent's algorithm: one string comparison per step, no set of visited
 *   hashpaths, so a million-step walk holds nothing per step),
 * - stop at a step limit,
 * - and give the event loop a turn every few milliseconds: store reads that resolve at once are
 *   microtasks, and a loop of microtasks starves every other request (DESIGN §12).
 *
 * The walker decides; the caller reads. Both refusals are 422s with stable codes
 * (`chain-cycle`, `chain-too-long`), so a walk that meets them fails like any bad input.
 *
 * @example
 * ```ts
 * const walk = chainWalker(hashpath)
 * for (let at = hashpath; ; ) {
 *   const record = await loadStep(store, at)
 *   if (walk.due()) await walk.pause()
 *   if (!record.base.includes('/')) break
 *   at = walk.next(record.base)        // throws 422 chain-cycle / chain-too-long
 * }
 * ```
 */
import { UnprocessableError } from './errors.js'

/** The longest chain any walk follows (verify's historical limit). */
export const DEFAULT_MAX_CHAIN = 1_000_000
/** A walk gives the event loop a turn after this much synchronous work (ms). */
export const DEFAULT_YIELD_EVERY_MS = 8

export interface WalkLimits {
  /** Steps a walk may take before it stops with `chain-too-long`. */
  readonly maxSteps?: number
  /** How long a walk may run between turns of the event loop (ms). */
  readonly yieldEveryMs?: number
}

export interface ChainWalker {
  /** Steps taken so far (the start counts as step 1). */
  readonly steps: number
  /** Moves to the next hashpath; throws 422 `chain-cycle` or `chain-too-long`. */
  next(hashpath: string): string
  /** True when the walk has run for `yieldEveryMs` since its last turn. */
  due(): boolean
  /** Gives the event loop a turn (a macrotask: timers and sockets run). */
  pause(): Promise<void>
}

/** The error a walk stops with on a cycle. */
export const cycleError = (at: string): UnprocessableError =>
  new UnprocessableError(`ledger: the chain loops back on itself at ${at.slice(0, 100)}`, { code: 'chain-cycle', detail: { hashpath: at.slice(0, 200) } })

/** The error a walk stops with past its limit. */
export const tooLongError = (maxSteps: number): UnprocessableError =>
  new UnprocessableError(`ledger: the chain is longer than ${maxSteps} steps`, { code: 'chain-too-long', detail: { limit: maxSteps } })

const turn = (): Promise<void> => new Promise((done) => setImmediate(done))

/** A walker starting at `start` (a class: no getter in a per-request object literal). */
export function chainWalker(start: string, limits: WalkLimits = {}): ChainWalker {
  return new Walker(start, limits.maxSteps ?? DEFAULT_MAX_CHAIN, limits.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS)
}

class Walker implements ChainWalker {
  // Brent: the tortoise waits at a hashpath while the hare runs `power` steps; a cycle shorter
  // than `power` brings the hare back to it. Then the tortoise jumps to the hare, power doubles.
  #tortoise: string
  #power = 1
  #lambda = 0
  #steps = 1
  #since = performance.now()
  #checks = 0
  readonly #maxSteps: number
  readonly #yieldEveryMs: number

  constructor(start: string, maxSteps: number, yieldEveryMs: number) {
    this.#tortoise = start
    this.#maxSteps = maxSteps
    this.#yieldEveryMs = yieldEveryMs
  }

  get steps(): number {
    return this.#steps
  }

  next(hashpath: string): string {
    if (hashpath === this.#tortoise) throw cycleError(hashpath)
    if (this.#steps >= this.#maxSteps) throw tooLongError(this.#maxSteps)
    this.#steps += 1
    this.#lambda += 1
    if (this.#lambda === this.#power) {
      this.#tortoise = hashpath
      this.#power *= 2
      this.#lambda = 0
    }
    return hashpath
  }

  due(): boolean {
    // The clock is read every 32 steps: a step costs microseconds, a clock read ~50 ns.
    if ((++this.#checks & 31) !== 0) return false
    return performance.now() - this.#since >= this.#yieldEveryMs
  }

  async pause(): Promise<void> {
    await turn()
    this.#since = performance.now()
  }
}

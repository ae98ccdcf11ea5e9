/**
 * @module
 * The context a device's handler receives for one step (`ResolveContext`).
 *
 * A class, not an object literal: its logger and abort signal are made on first read (most
 * steps read neither, and each costs more than a cached answer), and a getter in an object
 * literal is a fresh accessor on every evaluation, which V8 cannot share between objects: each
 * context would get a hidden class of its own, allocated in old space. On the prototype, the
 * getters are shared.
 */
import type { Caller, Logger, Message, ResolveContext, ResolveResult, StreamSink } from './types.js'

export interface StepContextInit {
  readonly options: Readonly<Record<string, unknown>>
  readonly store: ResolveContext['store']
  readonly depth: number
  readonly hashpath: string
  readonly meta: Map<string, string>
  readonly stream?: StreamSink | undefined
  readonly method?: string | undefined
  readonly caller?: Caller | undefined
  readonly log: () => Logger
  readonly signal: () => AbortSignal
  readonly resolve: ResolveContext['resolve']
}

export class StepContext implements ResolveContext {
  readonly options: Readonly<Record<string, unknown>>
  readonly store: ResolveContext['store']
  readonly depth: number
  readonly hashpath: string
  readonly meta: Map<string, string>
  readonly stream?: StreamSink
  readonly method?: string
  readonly caller?: Caller
  /** Own properties, so a handler may pass them on detached (`const { resolve } = ctx`). */
  readonly resolve: (path: string | Message | Message[], opts?: { base?: Message }) => Promise<ResolveResult>
  readonly markNonDeterministic: () => void
  #deterministic = true
  readonly #log: () => Logger
  readonly #signal: () => AbortSignal

  constructor(init: StepContextInit) {
    this.options = init.options
    this.store = init.store
    this.depth = init.depth
    this.hashpath = init.hashpath
    this.meta = init.meta
    if (init.stream !== undefined) this.stream = init.stream
    if (init.method !== undefined) this.method = init.method
    if (init.caller !== undefined) this.caller = init.caller
    this.resolve = init.resolve
    this.markNonDeterministic = () => { this.#deterministic = false }
    this.#log = init.log
    this.#signal = init.signal
  }

  get log(): Logger {
    return this.#log()
  }

  get signal(): AbortSignal {
    return this.#signal()
  }

  /** False once the handler marked the step non-deterministic. */
  get deterministic(): boolean {
    return this.#deterministic
  }
}

/**
 * @module
 * The shapes every part of Hashbeam agrees on: messages, devices and the resolution context.
 *
 * A message is a plain object with lower-case string keys. Values are the DAG-CBOR data model
 * restricted to what AO-Core needs. Integers are JS numbers with an integral value inside the
 * safe range; any other finite number is a float. (A float with an integral value therefore
 * travels as an integer, as in every JSON-based AO client.)
 */
import type { Store } from './store.js'

/** A scalar or composite value a message may hold. */
export type Value = string | Uint8Array | number | boolean | null | Value[] | Message

/** A map of lower-case keys to values. Keys starting with `priv` are private (never hashed). */
export interface Message {
  [key: string]: Value
}

/** A device name with its version: `message@1.0`. */
export type DeviceName = `${string}@${string}`

/** What a key handler receives besides the base and the request. */
export interface ResolveContext {
  /** The node's read-only, public options (never change a deterministic result). */
  readonly options: Readonly<Record<string, unknown>>
  /** The content-addressed store of the node. */
  readonly store: Store
  /** Structured logger scoped to the request. */
  readonly log: Logger
  /** Aborted when the client goes away or the request times out. */
  readonly signal: AbortSignal
  /** Current sub-resolution depth (0 for a top-level request). */
  readonly depth: number
  /** The hashpath of the base message of the current step. */
  readonly hashpath: string
  /** Resolve another path (a sub-resolution); subject to the recursion limit. */
  resolve(path: string | Message[], opts?: { base?: Message }): Promise<ResolveResult>
  /** Side-channel for a handler to report non-hashed facts (timings) to the HTTP layer. */
  readonly meta: Map<string, string>
  /**
   * A device can mark one step as non-deterministic (a clock read, a sampled output with no
   * seed): the step is then never cached and replay reports it as unverifiable.
   */
  markNonDeterministic(): void
  /** Streaming sink, present when the client asked for a stream (SSE). */
  readonly stream?: StreamSink
  /**
   * The transport method (`GET`, `POST`) of the request that started this resolution, on
   * top-level steps only (never inside a sub-path). It is not part of any hash: a device may use
   * it only to choose a side effect whose result is never cached, as meta@1.0 does for a config
   * update (`POST /~meta@1.0/info`).
   */
  readonly method?: string
  /**
   * Who sent the top-level request, when a signature over *that* HTTP request (or a signed
   * ANS-104 request) authenticates it; top-level steps only, like `method`, and never hashed.
   * Privileged actions authorise through it (core/authority.ts), never through commitments
   * carried inside a message (DESIGN §11).
   */
  readonly caller?: Caller
}

/** The authenticated sender of a request (DESIGN §11). */
export interface Caller {
  /** The signer's address (43 characters). */
  readonly address: string
  /** How the request was authenticated. */
  readonly via: 'httpsig' | 'ans104'
  /** True when the signer is the node's operator, with a signature fit to authorise. */
  readonly operator: boolean
  /**
   * Why this request's signature cannot authorise anything, though it verified: it does not
   * cover this request's target or body, its `created` is outside the node's skew, or its tag
   * forbids it (`{code, reason}`, a 403 from requireOperator). `operator` is then false.
   */
  readonly unfit?: { readonly code: string; readonly reason: string }
  /** The ID of the commitment the signature became on the request's messages, for the record. */
  readonly commitment?: string
  /**
   * Marks this request's signature as spent on a privileged action, durably. A signature is
   * accepted once: a second claim (a replayed request) is refused with 403 `signature-replayed`.
   */
  claim(): Promise<void>
}

/** A handler's way to push partial output to a client while it computes. */
export interface StreamSink {
  write(event: string, data: unknown): void
}

/** What a resolution produces: a message or a literal, and where it sits in the hashpath. */
export interface ResolveResult {
  readonly value: Value
  /** The output hashpath: `<rolling digest or base id>/<last step>`. */
  readonly hashpath: string
  /** The ID of the result message (a literal is wrapped as `{ao-result: 'body', body}`). */
  readonly id: string
  /** True when the answer came from the step ledger rather than from executing. */
  readonly cached: boolean
  /** Facts a device reported out of band (timings, cache mismatch flags). */
  readonly meta: ReadonlyMap<string, string>
}

/** A key handler: `(base, req, ctx) => result`. */
export type KeyHandler = (base: Message, req: Message, ctx: ResolveContext) => Value | Promise<Value>

/** A device-wide handler that receives every key (takes precedence over `keys`). */
export type AnyKeyHandler = (
  key: string, base: Message, req: Message, ctx: ResolveContext
) => Value | Promise<Value>

/** Static description a device gives of itself through its `info` key. */
export interface DeviceInfo {
  description: string
  [key: string]: Value
}

/**
 * A device: a plain object built by a factory and registered as `name@version`.
 * Lookup order for a key: `handler` → `keys[key]` → `default` → `message@1.0`.
 */
export interface Device {
  readonly name: DeviceName
  readonly info?: DeviceInfo
  readonly keys: Readonly<Record<string, KeyHandler>>
  readonly handler?: AnyKeyHandler
  readonly default?: AnyKeyHandler
  /** Only these keys are served by the device; others fall through to `message@1.0`. */
  readonly exports?: readonly string[]
  /** These keys fall through to `message@1.0`. */
  readonly excludes?: readonly string[]
  /** Whether results may be cached and replayed bit-exactly. Default true. */
  readonly deterministic?: boolean | ((key: string, req: Message) => boolean)
  /** How replay tells a difference of machines or installs from a fault in this device. */
  readonly replay?: DeviceReplayHints
  /** Load heavy resources. Called once by the node, in registration order. Idempotent. */
  start?(): Promise<void>
  /** Free resources. Called in reverse order. Idempotent. */
  stop?(): Promise<void>
}

/** What replay may ask a device about its own results (core/replay.ts knows no device). */
export interface DeviceReplayHints {
  /**
   * The runtime profile a result was computed on, when the device has such a notion: results of
   * two different profiles may differ without a fault (`profile-mismatch`, not `output-mismatch`).
   */
  profileOf?(result: Message): string | undefined
  /** Error codes meaning an input is not installed on this node (`missing-input`, not a fault). */
  readonly missingInputCodes?: readonly string[]
}

/** What the node hands a device factory. */
export interface DeviceComponents {
  readonly store: Store
  readonly log: Logger
  readonly options: Readonly<Record<string, unknown>>
}

/** A device module's default export: options in, device out. */
export type DeviceFactory = (components: DeviceComponents) => Device | Promise<Device>

/** The structured logger interface (pino-compatible subset). */
export interface Logger {
  debug(obj: object | string, msg?: string): void
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

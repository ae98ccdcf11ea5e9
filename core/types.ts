/**
 * @module
 * The shapes every part of Hashbeam agrees on: messages, devices and the resolution context.
 *
 * A message is a plain object with lower-case string keys. Values are the DAG-CBOR data model
 * restricted to what AO-Core needs. Integers are JS numbers with an integral value inside the
 * safe range; any other finite number is a float. (A float with an integral value therefore
 * travels as an integer, as in every JSON-based AO client.)
 */
import type { CacheControl, Resolver } from './resolve.js'
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
  /**
   * Resolve something else (a sub-resolution; subject to the recursion limit):
   * - a path string, `/~calc@1.0/add&a+integer=2&b+integer=3`;
   * - a message `{path, ...keys}`, read as an HTTP request with those keys in its body: `path` is
   *   the HyperPATH, every other key reaches each message of its chain, of any size (a path's
   *   segments are limited to 512 bytes);
   * - a list of messages, the first the base and each next one a step's request (`opts.base`: a
   *   base to start from, every message then a request).
   * The result is `{value, hashpath, id, cached, meta}`: return `result.value` (or a message of
   * your own), never the result object itself.
   */
  resolve(path: string | Message | Message[], opts?: { base?: Message }): Promise<ResolveResult>
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

/** The node's HTTP helpers for a device's routes (node/http-kit.ts builds them). */
export interface HttpKit {
  /** Limits of the node: the largest body it reads, the time a request may take. */
  readonly bodyLimit: number
  readonly requestTimeoutMs: number
  /** The node's resolver (full: steps, limits, registry). */
  readonly resolver: Resolver
  /** `cache-control` as the resolver's cache policy. */
  cachePolicy(header: string | undefined): CacheControl
  /** Reads a whole body up to `limit` bytes (413 past it, 408 when the client leaves). */
  readBody(request: Request, limit: number): Promise<Uint8Array>
  /** A resolved result as the HyperPATH route writes it, in the codec the client asked for. */
  reply(result: ResolveResult, request: Request, requestId: string, opts?: { defaultCodec?: 'json@1.0' | 'httpsig@1.0' | 'cbor@1.0'; keys?: Readonly<Record<string, unknown>> }): Response
  /** An error as the node's JSON error body (500s logged by the caller). */
  error(err: unknown, requestId: string): Response
  /**
   * A signal that aborts when the client leaves or `timeoutMs` passes; `cleanups` receives the
   * function that releases its timer and listener (call it when the answer is done).
   */
  linkAbort(client: AbortSignal, timeoutMs: number, cleanups: Array<() => void>): AbortSignal
  /** A `text/event-stream` answer: `produce` sends frames until done; its signal aborts with `parent` or the client. */
  eventStream(
    produce: (send: (data: string, event?: string) => void, signal: AbortSignal) => Promise<void>,
    parent: AbortSignal, headers: Record<string, string>, onDone?: () => void,
  ): Response
  /** The node's inference receipt for a result (`asked`: the client asked for one), if any is issued. */
  receipt(result: ResolveResult, asked: boolean): Promise<string | undefined>
  /**
   * Takes requests before the app, straight from the node's HTTP server: `lane` answers true
   * when it took a request (and answers it itself), false to leave it to the app. For a hot path
   * that cannot afford the app's routing (relay@1.0's router lane). The arguments are node:http's
   * `IncomingMessage` and `ServerResponse` (core/ knows no HTTP library); requests made through
   * `app.request()` or `app.fetch()` never reach a lane, so a lane's device answers those in
   * its routes too.
   */
  preempt(lane: RawLane): void
}

/** A request handler in front of the node's app (HttpKit.preempt): true when it took the request. */
export type RawLane = (incoming: unknown, outgoing: unknown) => boolean

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
  /**
   * The code behind this device (`sha256:<hex>` of a `--device` module, set by the loader; the
   * package's `hashbeam@<version>` for a built-in, set by devices/index.ts): the ledger answers a
   * step only while the implementation that computed it is loaded (core/implementation.ts).
   */
  readonly implementation?: string
  /** How replay tells a difference of machines or installs from a fault in this device. */
  readonly replay?: DeviceReplayHints
  /**
   * Mounts an HTTP surface beside the HyperPATH route (before it, so it sees its paths first).
   * `app` is the node's hono app (core/ knows no HTTP library: type it as `Hono` in the device);
   * `http` holds the node's HTTP helpers so a route answers as the HyperPATH route does.
   */
  routes?(app: unknown, http: HttpKit): void
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

/**
 * The node's key, as a device may use it: it signs and verifies, the key never leaves it. Every
 * signature is domain-separated: the signed bytes are `hashbeam-device-signature/1`, NUL, the
 * tag, NUL, then the data, so a device's signature can never pass for a message commitment, an
 * operator request, a signed reply or another tag's signature (identity/signer.ts).
 */
export interface Signer {
  /** The node's address (43 characters of base64url). */
  readonly address: string
  /** The node's key kind and raw public key (the RSA modulus or the Ed25519 point). */
  readonly kind: 'rsa' | 'ed25519'
  readonly publicKey: Uint8Array
  /** Signs `data` under `tag` (e.g. `my-device/result`). */
  sign(tag: string, data: Uint8Array): Promise<Uint8Array>
  /** Checks a `sign` signature: by this node, or by the key given. Never throws: false. */
  verify(tag: string, data: Uint8Array, signature: Uint8Array, by?: { kind: 'rsa' | 'ed25519'; publicKey: Uint8Array }): boolean
}

/**
 * The resolver as a device may use it outside a request (from `start`, a route, a timer): the
 * same paths, messages and lists of messages `ctx.resolve` takes, each a top-level resolution.
 */
export interface ResolverView {
  resolve(path: string | Message | Message[], opts?: { signal?: AbortSignal }): Promise<ResolveResult>
}

/** The node's HTTP client, for devices that call other nodes (a timeout applies by default). */
export interface HttpClient {
  fetch(input: string | URL, init?: RequestInit): Promise<Response>
}

/** What the node hands every device builder, built-in or loaded with `--device`. */
export interface DeviceComponents {
  readonly store: Store
  readonly log: Logger
  /** The node's public options (read-only; never change a deterministic result). */
  readonly options: Readonly<Record<string, unknown>>
  /** Signs with the node's key under a domain tag; the key itself never reaches a device. */
  readonly signer: Signer
  /** Resolves paths and messages through the node's devices (bound once the node is built). */
  readonly resolver: ResolverView
  /** Calls other nodes. */
  readonly http: HttpClient
}

/** Components in, device out: what a `--device` module exports by default. */
export type DeviceBuilder = (components: DeviceComponents) => Device | Promise<Device>

/**
 * A device's factory, the js-libp2p shape: `(init) => (components) => Device`. The author's
 * options (`init`) come first, at configuration; the node's parts (`components`) when it builds.
 *
 * @example
 * ```ts
 * export function echoDevice(init: { prefix?: string } = {}): DeviceBuilder {
 *   return ({ log }) => ({ name: 'echo@1.0', keys: { say: (_b, req) => `${init.prefix ?? ''}${String(req.text)}` } })
 * }
 * export default echoDevice()
 * ```
 */
export type DeviceFactory<Init = Record<string, unknown>> = (init?: Init) => DeviceBuilder

/** The structured logger interface (pino-compatible subset). */
export interface Logger {
  debug(obj: object | string, msg?: string): void
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

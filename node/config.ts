/**
 * @module
 * Node configuration: embedded defaults < environment (`HASHBEAM_*`) < command-line flags.
 * `publicConfig` is what `meta@1.0/info` shows: never paths to secrets, never the wallet.
 */
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { DEFAULT_PATH_LIMITS, type PathLimits } from '../core/path.js'
import { ConfigError } from '../core/errors.js'
import { DEFAULT_MAX_BLOB_BYTES } from '../devices/store/index.js'
import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../devices/router/index.js'

export interface NodeConfig {
  readonly port: number
  readonly host: string
  /** Data directory: store files, wallet, model hash cache. */
  readonly dataDir: string
  /** `lmdb` (default), `memory`, `fs`, or `redis://host:port/db`. */
  readonly store: string
  /** Extra device modules to load (`--device path`). */
  readonly devicePaths: readonly string[]
  readonly limits: PathLimits
  /** Maximum request body in bytes (413 beyond). */
  readonly bodyLimit: number
  /** Inference: named models (`--model name=path`), a models directory, and engine settings. */
  readonly models: Readonly<Record<string, string>>
  readonly modelsDir: string | undefined
  readonly preload: boolean
  readonly gpu: 'auto' | 'cuda' | 'vulkan' | 'metal' | false
  readonly threads: number
  /** Generate and serve a tiny demo model when no model is configured. */
  readonly demoModel: boolean
  /** llama.cpp settings, all recorded in every inference result's profile. */
  readonly batchSize: number
  readonly contextSize: number
  readonly flashAttention: boolean
  /** Inference requests allowed to wait per model; beyond → 503 with retry-after. */
  readonly maxQueue: number
  /** Requests one model serves at once (1–8), each computed exactly as if alone. */
  readonly parallel: number
  /** auto: batched or separate contexts by rule; batch; solo (docs/devices/gpu-infer.md). */
  readonly parallelMode: 'auto' | 'batch' | 'solo'
  /** The largest max-tokens a request may ask for. */
  readonly maxTokensCap: number
  /** Most choices (`n`) per OpenAI request (`--max-choices`). */
  readonly maxChoices: number
  /** Per-request time limit (ms); generation is cancelled past it. */
  readonly requestTimeoutMs: number
  /** Slow clients (node/server.ts): the request line and headers must arrive within this (ms). */
  readonly headersTimeoutMs: number
  /** A kept-alive connection with no request in flight is closed after this (ms). */
  readonly idleTimeoutMs: number
  /** A request body that stops arriving for this long (ms) has its connection closed. */
  readonly uploadIdleTimeoutMs: number
  /** Inference receipts: on request (`attest=true`) or on every inference answer. */
  readonly receipts: 'on-request' | 'always'
  /** Software measurements (hex) that attest@1.0 `verify` trusts. */
  readonly trustedMeasurements: readonly string[]
  /** The address allowed to change settings over HTTP (default: the node's own). */
  readonly operator?: string | undefined
  /**
   * How far (seconds) the `created` of a privileged request's signature may be from the node's
   * clock, either way (`--signature-skew`, default 300); a signature without `created` is
   * still accepted once.
   */
  readonly signatureSkewSeconds: number
  /** The kind of wallet created on first start; when set, an existing wallet must be of it. */
  readonly walletKind?: 'rsa' | 'ed25519'
  /** Ledger writers (addresses) whose records answer like the node's own (`--trust`). */
  readonly trust: readonly string[]
  /** replay@1.0: anyone may import a chain (else only the operator, by a signed request). */
  readonly openImport: boolean
  /** store@1.0: anyone may delete (else only the operator, by a signed request). */
  readonly storeOpen: boolean
  /** store@1.0: the largest blob accepted, in bytes (413 beyond). */
  readonly maxBlobBytes: number
  /** Who may read `GET /metrics` (node/metrics-http.ts): loopback clients by default. */
  readonly metrics: MetricsAccess
  /** Cluster role: router (`--router`, `--admit`), worker (`--join`), or neither (docs/cluster.md). */
  readonly cluster: ClusterConfig
  /**
   * TEST ONLY (env HASHBEAM_TEST_FAULT_EVERY=N, refused unless HASHBEAM_TEST_MODE=1): gpu-infer
   * changes one output token of every N-th result, so the peer checks have a liar to catch.
   */
  readonly testFaultEvery?: number
  /**
   * TEST ONLY (env HASHBEAM_TEST_FAULT_AT=first|last, default last; same refusal): where the
   * change lands; `first` changes the streamed tokens too (the pool's determinism-fault test).
   */
  readonly testFaultAt?: 'first' | 'last'
  /** Free-form extra options (public) for custom devices. */
  readonly extra: Readonly<Record<string, unknown>>
  /** Inference pool: hand gpu-infer runs to the Redis Streams queue at this URL (`--dispatch`). */
  readonly dispatch?: string | undefined
  /** Inference pool: serve the queue's jobs for this node's models (`--worker`). */
  readonly worker?: string | undefined
  /** Inference pool: how long a worker holds a job without renewing it (`--pool-lease-ms`). */
  readonly poolLeaseMs: number
}

/** `--dispatch` and `--worker`: Redis URLs, not both on one node (a worker would dispatch its own jobs). */
export function poolConfig(dispatch: string | undefined, worker: string | undefined): Pick<NodeConfig, 'dispatch' | 'worker'> {
  for (const [flag, url] of [['--dispatch', dispatch], ['--worker', worker]] as const) {
    if (url !== undefined && !/^rediss?:\/\//i.test(url)) throw new ConfigError(`config: ${flag} takes a redis:// URL; got "${url}"`)
  }
  if (dispatch !== undefined && worker !== undefined) throw new ConfigError('config: a node either dispatches (--dispatch) or works (--worker) for a pool, not both')
  return { ...(dispatch === undefined ? {} : { dispatch }), ...(worker === undefined ? {} : { worker }) }
}

export type MetricsAccess = 'local' | 'public' | 'operator' | 'off'

export function parseMetricsAccess(text: string): MetricsAccess {
  if (text === 'local' || text === 'public' || text === 'operator' || text === 'off') return text
  throw new ConfigError(`config: metrics is local, public, operator or off; got "${text}"`)
}

export const DEFAULT_PORT = 8734
export const DEFAULT_SIGNATURE_SKEW_SECONDS = 300
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024
export { DEFAULT_MAX_BLOB_BYTES }
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000
export const DEFAULT_IDLE_TIMEOUT_MS = 5_000
export const DEFAULT_UPLOAD_IDLE_TIMEOUT_MS = 30_000

/** Threads for llama.cpp: all cores but one, at least one (the library default is far slower). */
export const defaultThreads = (): number => Math.max(1, availableParallelism() - 1)

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return {
    port: parsePort(env.HASHBEAM_PORT ?? String(DEFAULT_PORT)),
    host: env.HASHBEAM_HOST ?? '127.0.0.1',
    dataDir: resolve(env.HASHBEAM_DATA ?? '.hashbeam'),
    store: env.HASHBEAM_STORE ?? 'lmdb',
    devicePaths: [],
    limits: DEFAULT_PATH_LIMITS,
    bodyLimit: DEFAULT_BODY_LIMIT,
    models: {},
    modelsDir: env.HASHBEAM_MODELS_DIR,
    preload: false,
    gpu: parseGpu(env.HASHBEAM_GPU ?? 'auto'),
    threads: env.HASHBEAM_THREADS === undefined ? defaultThreads() : parsePositive('HASHBEAM_THREADS', env.HASHBEAM_THREADS),
    demoModel: true,
    batchSize: 512,
    contextSize: 2048,
    flashAttention: false,
    maxQueue: 8,
    parallel: 1,
    parallelMode: 'auto',
    maxTokensCap: 2048,
    maxChoices: 8,
    requestTimeoutMs: 5 * 60_000,
    headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
    uploadIdleTimeoutMs: DEFAULT_UPLOAD_IDLE_TIMEOUT_MS,
    receipts: env.HASHBEAM_RECEIPTS === 'always' ? 'always' : 'on-request',
    trustedMeasurements: (env.HASHBEAM_TRUSTED_MEASUREMENTS ?? '').split(',').map((m) => m.trim()).filter((m) => m !== ''),
    operator: env.HASHBEAM_OPERATOR,
    signatureSkewSeconds: env.HASHBEAM_SIGNATURE_SKEW === undefined
      ? DEFAULT_SIGNATURE_SKEW_SECONDS : parsePositive('HASHBEAM_SIGNATURE_SKEW', env.HASHBEAM_SIGNATURE_SKEW),
    trust: (env.HASHBEAM_TRUST ?? '').split(/[\s,]+/).filter((a) => a !== ''),
    openImport: false,
    storeOpen: false,
    maxBlobBytes: DEFAULT_MAX_BLOB_BYTES,
    metrics: parseMetricsAccess(env.HASHBEAM_METRICS ?? 'local'),
    cluster: DEFAULT_CLUSTER_CONFIG,
    ...testFault(env),
    extra: {},
    ...poolConfig(env.HASHBEAM_DISPATCH, env.HASHBEAM_WORKER),
    poolLeaseMs: 5000,
  }
}

/** The test-only fault injector's setting: refused outside test mode, so no production node lies by accident. */
function testFault(env: NodeJS.ProcessEnv): { testFaultEvery?: number; testFaultAt?: 'first' | 'last' } {
  const at = env.HASHBEAM_TEST_FAULT_AT
  if (env.HASHBEAM_TEST_FAULT_EVERY === undefined) {
    if (at !== undefined) throw new ConfigError('config: HASHBEAM_TEST_FAULT_AT needs HASHBEAM_TEST_FAULT_EVERY (the test-only fault injector)')
    return {}
  }
  if (env.HASHBEAM_TEST_MODE !== '1') throw new ConfigError('config: HASHBEAM_TEST_FAULT_EVERY is a test-only fault injector; it is refused unless HASHBEAM_TEST_MODE=1')
  if (at !== undefined && at !== 'first' && at !== 'last') throw new ConfigError(`config: HASHBEAM_TEST_FAULT_AT is first or last; got "${at}"`)
  return { testFaultEvery: parsePositive('HASHBEAM_TEST_FAULT_EVERY', env.HASHBEAM_TEST_FAULT_EVERY), ...(at === undefined ? {} : { testFaultAt: at }) }
}

export function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`config: "${text}" is not a TCP port`)
  return port
}

export function parsePositive(name: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`config: ${name} must be a positive integer, got "${text}"`)
  return n
}

/** `--parallel`: 1 to 8 lanes per model. */
export function parseParallel(text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new ConfigError(`config: --parallel must be an integer from 1 to 8, got "${text}"`)
  return n
}

/** `--parallel-mode`. */
export function parseParallelMode(text: string): NodeConfig['parallelMode'] {
  if (text === 'auto' || text === 'batch' || text === 'solo') return text
  throw new ConfigError(`config: --parallel-mode must be auto, batch or solo; got "${text}"`)
}

/** Seconds (decimals allowed, > 0) → whole milliseconds. */
export function parseSeconds(name: string, text: string): number {
  const seconds = Number(text)
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new ConfigError(`config: ${name} must be a number of seconds (0 < s ≤ 86400), got "${text}"`)
  }
  return Math.max(1, Math.round(seconds * 1000))
}

export function parseGpu(text: string): NodeConfig['gpu'] {
  if (text === 'auto' || text === 'cuda' || text === 'vulkan' || text === 'metal') return text
  if (['false', 'off', 'none', 'cpu'].includes(text)) return false
  throw new ConfigError(`config: gpu must be auto, cuda, vulkan, metal or false; got "${text}"`)
}

/** The configuration a client may see (meta@1.0/info). */
export function publicConfig(config: NodeConfig): Record<string, unknown> {
  return {
    port: config.port,
    store: config.store.startsWith('redis://') ? 'redis' : config.store,
    // The role only: a pool URL may hold a password.
    pool: config.dispatch !== undefined ? 'dispatch' : config.worker !== undefined ? 'worker' : 'off',
    'body-limit': config.bodyLimit,
    'max-path-bytes': config.limits.maxPathBytes,
    'max-segment-bytes': config.limits.maxSegmentBytes,
    'max-steps': config.limits.maxSteps,
    'max-depth': config.limits.maxDepth,
    gpu: config.gpu === false ? 'off' : config.gpu,
    'max-tokens-cap': config.maxTokensCap,
    'max-queue': config.maxQueue,
    'store-open': config.storeOpen,
    'open-import': config.openImport,
    'max-blob-bytes': config.maxBlobBytes,
    'signature-skew': config.signatureSkewSeconds,
    'headers-timeout-ms': config.headersTimeoutMs,
    'idle-timeout-ms': config.idleTimeoutMs,
    'upload-idle-timeout-ms': config.uploadIdleTimeoutMs,
    metrics: config.metrics,
    ...config.extra,
  }
}

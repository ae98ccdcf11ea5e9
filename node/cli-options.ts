/**
 * @module
 * Command-line options shared by the `hashbeam` commands, and how they become a NodeConfig
 * (embedded defaults < environment < flags).
 */
import { resolve } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { defaultConfig, poolConfig, parseGpu, parseMetricsAccess, parseParallel, parseParallelMode, parsePort, parsePositive, parseSeconds, type NodeConfig } from './config.js'
import { createNode, type HashbeamNode } from './index.js'
import { parseWalletKind } from './keygen.js'
import { openStore } from '../devices/store/index.js'
import { countingStepReads } from './instrument.js'
import { createLogger } from './log.js'
import { progress } from './progress.js'
import { parseModelFlags } from '../devices/gpu-infer/index.js'

export const COMMON = {
  data: { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

export const SERVE = {
  ...COMMON,
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  device: { type: 'string', multiple: true },
  wallet: { type: 'string' },
  'wallet-kind': { type: 'string' },
  operator: { type: 'string' },
  'signature-skew': { type: 'string' },
  'max-blob-bytes': { type: 'string' },
  'store-open': { type: 'boolean' },
  trust: { type: 'string', multiple: true },
  'open-import': { type: 'boolean' },
  model: { type: 'string', multiple: true },
  'models-dir': { type: 'string' },
  preload: { type: 'boolean' },
  gpu: { type: 'string' },
  threads: { type: 'string' },
  'context-size': { type: 'string' },
  'batch-size': { type: 'string' },
  'flash-attention': { type: 'boolean' },
  'max-queue': { type: 'string' },
  parallel: { type: 'string' },
  'parallel-mode': { type: 'string' },
  'max-tokens-cap': { type: 'string' },
  'max-choices': { type: 'string' },
  'no-demo-model': { type: 'boolean' },
  receipts: { type: 'string' },
  'trusted-measurement': { type: 'string', multiple: true },
  'headers-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'upload-idle-timeout': { type: 'string' },
  'body-limit': { type: 'string' },
  metrics: { type: 'string' },
  router: { type: 'boolean' },
  join: { type: 'string' },
  advertise: { type: 'string' },
  admit: { type: 'string', multiple: true },
  'node-ttl': { type: 'string' },
  'check-peers': { type: 'string' },
  'check-router': { type: 'string' },
  'check-secret': { type: 'string' },
  'relay-timeout': { type: 'string' },
  dispatch: { type: 'string' },
  worker: { type: 'string' },
  'pool-lease-ms': { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/** A mistake in how a command was called: exit 2 with the usage text. */
export class UsageError extends Error {}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** Applies command-line values over the environment-derived defaults. */
export function configFrom(values: Values, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const base = defaultConfig(env)
  const str = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined)
  const port = str('port')
  const int = (key: string) => (str(key) === undefined ? undefined : parsePositive(`--${key}`, str(key) as string))
  const seconds = (key: string) => (str(key) === undefined ? undefined : parseSeconds(`--${key}`, str(key) as string))
  return {
    ...base,
    port: port === undefined ? base.port : parsePort(port),
    host: str('host') ?? base.host,
    dataDir: resolve(str('data') ?? base.dataDir),
    store: str('store') ?? base.store,
    devicePaths: ((values.device as string[] | undefined) ?? []).slice(),
    models: { ...base.models, ...parseModelFlags((values.model as string[] | undefined) ?? []) },
    modelsDir: str('models-dir') === undefined ? base.modelsDir : resolve(str('models-dir') as string),
    preload: values.preload === true || base.preload,
    gpu: str('gpu') === undefined ? base.gpu : parseGpu(str('gpu') as string),
    threads: int('threads') ?? base.threads,
    contextSize: int('context-size') ?? base.contextSize,
    batchSize: int('batch-size') ?? base.batchSize,
    flashAttention: values['flash-attention'] === true || base.flashAttention,
    maxQueue: int('max-queue') ?? base.maxQueue,
    parallel: str('parallel') === undefined ? base.parallel : parseParallel(str('parallel') as string),
    parallelMode: str('parallel-mode') === undefined ? base.parallelMode : parseParallelMode(str('parallel-mode') as string),
    maxTokensCap: int('max-tokens-cap') ?? base.maxTokensCap,
    maxChoices: int('max-choices') ?? base.maxChoices,
    demoModel: values['no-demo-model'] !== true && base.demoModel,
    receipts: receiptsMode(str('receipts') ?? base.receipts),
    trustedMeasurements: [...base.trustedMeasurements, ...((values['trusted-measurement'] as string[] | undefined) ?? [])],
    operator: str('operator') ?? base.operator,
    signatureSkewSeconds: int('signature-skew') ?? base.signatureSkewSeconds,
    maxBlobBytes: int('max-blob-bytes') ?? base.maxBlobBytes,
    storeOpen: values['store-open'] === true || base.storeOpen,
    trust: [...base.trust, ...((values.trust as string[] | undefined) ?? []).flatMap((t) => t.split(/[\s,]+/)).filter((a) => a !== '')],
    openImport: values['open-import'] === true || base.openImport,
    headersTimeoutMs: seconds('headers-timeout') ?? base.headersTimeoutMs,
    idleTimeoutMs: seconds('idle-timeout') ?? base.idleTimeoutMs,
    uploadIdleTimeoutMs: seconds('upload-idle-timeout') ?? base.uploadIdleTimeoutMs,
    bodyLimit: int('body-limit') ?? base.bodyLimit,
    metrics: str('metrics') === undefined ? base.metrics : parseMetricsAccess(str('metrics')!),
    cluster: clusterFrom(values, base, str, seconds),
    ...poolConfig(str('dispatch') ?? base.dispatch, str('worker') ?? base.worker),
    poolLeaseMs: int('pool-lease-ms') ?? base.poolLeaseMs,
    ...(str('wallet-kind') === undefined ? {} : { walletKind: parseWalletKind(str('wallet-kind')!) }),
  }
}

/** `--router`, `--join`, `--advertise`, `--admit`, `--node-ttl`, `--relay-timeout` (docs/cluster.md). */
function clusterFrom(values: Values, base: NodeConfig, str: (k: string) => string | undefined, seconds: (k: string) => number | undefined): NodeConfig['cluster'] {
  const join = str('join')
  const advertise = str('advertise')
  for (const [flag, url] of [['--join', join], ['--advertise', advertise]] as const) {
    if (url !== undefined && !/^https?:\/\/[^/\s?#]+\/?$/i.test(url)) throw new UsageError(`${flag} is a base URL: http(s)://host:port`)
  }
  const port = str('port')
  if (join !== undefined && advertise === undefined && (port === undefined ? base.port : Number(port)) === 0) {
    throw new UsageError('--join needs a fixed --port or an --advertise URL: the router must know where to reach this node')
  }
  return {
    router: values.router === true || base.cluster.router,
    join: join?.replace(/\/+$/, '') ?? base.cluster.join,
    advertise: advertise?.replace(/\/+$/, '') ?? base.cluster.advertise,
    admit: [...base.cluster.admit, ...((values.admit as string[] | undefined) ?? []).flatMap((t) => t.split(/[\s,]+/)).filter((a) => a !== '')],
    ttlMs: seconds('node-ttl') ?? base.cluster.ttlMs,
    relayTimeoutMs: seconds('relay-timeout') ?? base.cluster.relayTimeoutMs,
    ...checkFrom(str, join ?? base.cluster.join, base),
  }
}

/** `--check-peers RATE` (0 < RATE ≤ 1) and `--check-router URL` (default: the `--join` router). docs/verification.md. */
function checkFrom(str: (k: string) => string | undefined, join: string | undefined, base: NodeConfig): Pick<NodeConfig['cluster'], 'checkPeers' | 'checkRouter' | 'checkSecret'> {
  const secret = str('check-secret')
  if (secret !== undefined && !/^(?:[0-9a-f]{2}){16,64}$/i.test(secret)) throw new UsageError('--check-secret is 16 to 64 bytes in hex')
  const keep = secret === undefined ? {} : { checkSecret: secret.toLowerCase() }
  const rateText = str('check-peers')
  const router = str('check-router')?.replace(/\/+$/, '') ?? base.cluster.checkRouter
  if (router !== undefined && !/^https?:\/\/[^/\s?#]+$/i.test(router)) throw new UsageError('--check-router is a base URL: http(s)://host:port')
  if (rateText === undefined) return { ...(base.cluster.checkPeers === undefined ? {} : { checkPeers: base.cluster.checkPeers }), ...(router === undefined ? {} : { checkRouter: router }) }
  const rate = Number(rateText)
  if (!(rate > 0 && rate <= 1)) throw new UsageError('--check-peers is a share of results to re-execute: 0 < RATE ≤ 1')
  if (router === undefined && join === undefined) throw new UsageError('--check-peers needs the router whose results it checks: --check-router URL or --join URL')
  return { checkPeers: rate, ...(router === undefined ? {} : { checkRouter: router }), ...keep }
}

function receiptsMode(text: string): NodeConfig['receipts'] {
  if (text === 'always' || text === 'on-request') return text
  throw new UsageError('--receipts is on-request or always')
}

export const CHAIN = {
  ...SERVE,
  out: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options']

/**
 * A node without HTTP, for commands that re-execute or move chains; closed after `use`. With a
 * `progress` label, the step records read are shown as they go (node/progress.ts).
 */
export async function withNode<T>(values: Values, use: (node: HashbeamNode) => Promise<T>, progressLabel?: string): Promise<T> {
  const config = configFrom(values)
  const log = createLogger({ fd: 2, level: process.env.HASHBEAM_LOG_LEVEL ?? 'warn' })
  const bar = progressLabel === undefined ? undefined : progress(progressLabel, { format: (n) => `${n.toLocaleString('en')} step records read` })
  const store = bar === undefined ? undefined : countingStepReads(await openStore(config.store, { dataDir: config.dataDir, log }), (n) => bar.update(n))
  const node = await createNode(config, {
    log,
    ...(store === undefined ? {} : { store }),
    ...(typeof values.wallet === 'string' ? { walletPath: values.wallet } : {}),
  })
  try {
    await node.start()
    const result = await use(node)
    bar?.finish()
    return result
  } finally {
    await node.stop()
  }
}


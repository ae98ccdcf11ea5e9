/**
 * @module
 * Folder: the composition root (configuration, wallet files, the HTTP app, the server, the CLI).
 * May import: everything, a device only through its index.ts.
 *
 * `createNode(config)`: the running node assembled from its parts — store, wallet, devices,
 * registry, resolver and the HTTP app — with a lifecycle: `start` runs every device's `start`
 * in registration order, `stop` runs them in reverse and closes the store. Both idempotent.
 *
 * @example
 * ```ts
 * const node = await createNode({ ...defaultConfig(), store: 'memory' })
 * await node.start()
 * const res = await node.app.request('/~message@1.0&hello=world/hello')   // body: world
 * await node.stop()
 * ```
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Hono } from 'hono'
import { createRegistry, type Registry } from '../core/registry.js'
import { createResolver, type Resolver } from '../core/resolve.js'
import type { Store } from '../core/store.js'
import type { Device, DeviceBuilder, Logger, Message } from '../core/types.js'
import { commitMessage, messageDevice } from '../devices/message/index.js'
import { metaDevice } from '../devices/meta/index.js'
import { DEMO_MODEL_NAME, ensureDemoModel, fileHashCache, gpuInferDevice, scanModelsDir } from '../devices/gpu-infer/index.js'
import { replayDevice } from '../devices/replay/index.js'
import { openStore, storeDevice } from '../devices/store/index.js'
import { createApp } from './app.js'
import { createComponents } from './components.js'
import { createHttpKit } from './http-kit.js'
import { publicConfig, type NodeConfig } from './config.js'
import { loadDeviceModules } from './device-loader.js'
import { createLogger } from './log.js'
import { packageRoot } from './package-root.js'
import { attestDevice, measure, nvidiaCcProvider, sevSnpProvider } from '../devices/attest/index.js'
import { observedEngine, observedReplay, observedStore } from './instrument.js'
import { createMetrics, type NodeMetrics } from './metrics.js'
import { COUNTED_ROUTES, mountMetrics } from './metrics-http.js'
import { traceStep } from './telemetry.js'
import { dashboardDevice, mountDashboard } from '../devices/dashboard/index.js'
import { loadSettings, type NodeSettings } from './settings.js'
import { spentSignatures } from './spent-signatures.js'
import { type Wallet, walletAddress } from '../identity/keys.js'
import { loadOrCreateWallet } from './wallet-file.js'

export interface HashbeamNode {
  readonly config: NodeConfig
  readonly app: Hono
  readonly resolver: Resolver
  readonly registry: Registry
  readonly store: Store
  readonly wallet: Wallet
  readonly address: string
  readonly log: Logger
  /** Runtime settings the operator may change (node/settings.ts). */
  readonly settings: NodeSettings
  /** Models served by gpu-infer: name → path (the demo model when none was configured). */
  readonly models: Readonly<Record<string, string>>
  /** The node's Prometheus metrics (node/metrics.ts); undefined with `--metrics off`. */
  readonly metrics: NodeMetrics | undefined
  start(): Promise<void>
  stop(): Promise<void>
}

export interface NodeInit {
  /** A logger to use instead of the default pino one. */
  readonly log?: Logger
  /** A store to use instead of opening `config.store` (tests). */
  readonly store?: Store
  /** Extra devices (or device builders, given the node's components), registered after the built-ins. */
  readonly devices?: readonly (Device | DeviceBuilder)[]
  /** Wallet file; default `<dataDir>/wallet.json`. */
  readonly walletPath?: string
  /** Progress of models loaded at start (`--preload`). */
  readonly onModelProgress?: (model: string, fraction: number) => void
}


/** Name, version and commit of this software, for `meta@1.0/build`. */
export function buildInfo(): Message {
  let version = '0.0.0'
  try {
    version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    // Running from an unusual layout: the version is informational only.
  }
  let commit = process.env.HASHBEAM_COMMIT ?? 'unknown'
  try {
    const head = readFileSync(join(packageRoot(), '.git/HEAD'), 'utf8').trim()
    commit = head.startsWith('ref: ') ? readFileSync(join(packageRoot(), '.git', head.slice(5)), 'utf8').trim() : head
  } catch {
    // Not a git checkout (an npm install): keep the env value or "unknown".
  }
  return { name: 'hashbeam', version, commit, node: process.version }
}

/** The configured models, or the generated demo model when there are none and it is allowed. */
async function configuredModels(config: NodeConfig): Promise<Record<string, string>> {
  const models = { ...(await scanModelsDir(config.modelsDir)), ...config.models }
  if (Object.keys(models).length === 0 && config.demoModel) models[DEMO_MODEL_NAME] = await ensureDemoModel(config.dataDir)
  return models
}

export async function createNode(config: NodeConfig, init: NodeInit = {}): Promise<HashbeamNode> {
  const log = init.log ?? createLogger()
  const wallet = await loadOrCreateWallet(init.walletPath ?? join(config.dataDir, 'wallet.json'), config.walletKind)
  const address = walletAddress(wallet)
  const opened = init.store ?? (await openStore(config.store, { dataDir: config.dataDir, log }))
  // Read at scrape time only; `registry` and `gpuInfer` exist by then.
  const metrics = config.metrics === 'off' ? undefined : createMetrics({
    devices: () => registry, models: () => Object.keys(models), engineStats: () => gpuInfer.engineStats(),
  }, opened.kind)
  const store = metrics === undefined ? opened : observedStore(opened, metrics)
  const options = publicConfig(config)
  const { components, bind } = createComponents({ store, log, options, wallet })
  // Runtime settings (operator, name, initialized…) live outside `options`: no device sees
  // them, so an operator's change can never alter a deterministic result.
  const settings = await loadSettings({ dataDir: config.dataDir, address, operator: config.operator, trust: config.trust, fixed: options, log })
  const models = await configuredModels(config)
  const gpuInfer = gpuInferDevice({
    engine: {
      gpu: config.gpu, threads: config.threads, batchSize: config.batchSize, contextSize: config.contextSize,
      flashAttention: config.flashAttention, maxQueue: config.maxQueue, maxTokensCap: config.maxTokensCap,
      parallel: config.parallel, parallelMode: config.parallelMode,
      log: log.child({ device: 'gpu-infer' }), hashCache: fileHashCache(join(config.dataDir, 'model-hashes.json')),
    },
    observe: (engine) => observedEngine(engine, metrics),
    models, log: log.child({ device: 'gpu-infer' }), preload: config.preload ? Object.keys(models) : [],
    storedModels: { store, cacheDir: join(config.dataDir, 'models', 'from-store') },
    ...(init.onModelProgress === undefined ? {} : { onLoadProgress: init.onModelProgress }),
  })
  // The measurement names the llama.cpp binary in use, so it waits for the engine: measured at
  // start with --preload, else on the first report or receipt.
  const attest = attestDevice({
    wallet, log: log.child({ device: 'attest' }), trustedMeasurements: config.trustedMeasurements,
    measurement: async () => measure({ root: packageRoot(), llamaCpp: await gpuInfer.runtime() }),
    providers: [sevSnpProvider(), nvidiaCcProvider()],
    receipts: { store, always: config.receipts === 'always' }, eagerStart: config.preload,
  })
  const { receipts } = attest
  const devices: Device[] = [
    messageDevice({ wallet }),
    metaDevice({ publicInfo: () => ({ ...(options as Message), ...settings.current(), address }), build: buildInfo(), settings }),
    observedReplay(replayDevice({
      ...components, resolver: () => resolver, attestor: () => attest.attestor, openImport: config.openImport,
      exportSigner: { address, sign: (manifest) => commitMessage(manifest, wallet, 'export') },
    }), metrics),
    storeDevice({ store, log, open: config.storeOpen, maxBlobBytes: config.maxBlobBytes }),
    gpuInfer,
    attest,
    dashboardDevice({ store }),
    ...(await Promise.all((init.devices ?? []).map((d) => (typeof d === 'function' ? d(components) : d)))),
    ...(await loadDeviceModules(config.devicePaths, components)),
  ]
  const registry = createRegistry(devices)
  const resolver = createResolver({
    registry, store, log, options, limits: config.limits,
    ledger: { self: address, trusts: (writer) => settings.trusts(writer) },
    onStep: (device, key, hashpath, source, startedAt) => {
      metrics?.step(device, source)
      traceStep(device, key, hashpath, source, startedAt)
    },
  })
  const callers = { nodeAddress: address, operator: () => settings.operator(), skewSeconds: config.signatureSkewSeconds, spent: spentSignatures(store) }
  bind(resolver)
  const http = createHttpKit({ resolver, bodyLimit: config.bodyLimit, requestTimeoutMs: config.requestTimeoutMs, receipts })
  const app = createApp({
    resolver, log, bodyLimit: config.bodyLimit, requestTimeoutMs: config.requestTimeoutMs,
    identity: { wallet, signReplies: () => settings.signReplies() },
    callers,
    receipts,
    ...(metrics === undefined ? {} : { metrics }),
    routes: (a) => {
      mountDashboard(a, { root: join(packageRoot(), 'dist', 'dashboard') })
      if (metrics !== undefined) {
        mountMetrics(a, { metrics, access: config.metrics, callers })
        for (const [pattern, count] of COUNTED_ROUTES) a.use(pattern, count(metrics))
      }
      for (const device of devices) device.routes?.(a, http)
    },
  })

  let state: 'new' | 'started' | 'stopped' = 'new'
  let starting: Promise<void> | undefined
  return {
    config, app, resolver, registry, store, wallet, address, log, models, settings, metrics,
    async start() {
      if (state === 'started') return
      starting ??= (async () => {
        for (const device of devices) await device.start?.()
        state = 'started'
      })()
      await starting
    },
    async stop() {
      if (state === 'stopped') return
      state = 'stopped'
      for (const device of [...devices].reverse()) {
        try {
          await device.stop?.()
        } catch (err) {
          log.error({ err, device: device.name }, 'device failed to stop')
        }
      }
      await store.close()
    },
  }
}

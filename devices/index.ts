/**
 * @packageDocumentation
 * Folder: the built-in devices, registered as data. May import: core/, identity/, each device
 * through its index.ts; never node/ (eslint/boundaries.js).
 *
 * `builtinDevices(config, parts)`: the built-ins in registration order, each built from the
 * node's configuration (a structural subset of node/config.ts `NodeConfig`) and the parts the
 * node composes (store, wallet, components, metrics hooks). Custom devices come after them.
 *
 * @example
 * ```ts
 * const { devices, models, receipts } = await builtinDevices(config, { store, log, wallet, components, ... })
 * const registry = createRegistry([...devices, ...custom])
 * ```
 */
import { join } from 'node:path'
import type { Resolver } from '../core/resolve.js'
import type { Store } from '../core/store.js'
import type { Device, DeviceComponents, Logger, Message } from '../core/types.js'
import type { Wallet } from '../identity/keys.js'
import { attestDevice, measure, nvidiaCcProvider, sevSnpProvider, type Receipts } from './attest/index.js'
import { dashboardDevice } from './dashboard/index.js'
import { DEMO_MODEL_NAME, ensureDemoModel, fileHashCache, gpuInferDevice, scanModelsDir, type Engine, type EngineOptions } from './gpu-infer/index.js'
import { commitMessage, messageDevice } from './message/index.js'
import { metaDevice, type MetaSettings } from './meta/index.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { checkerDevice } from './checker/index.js'
import { relayDevice } from './relay/index.js'
import { createCluster, createJoiner, offerSource, routerDevice, type ClusterConfig } from './router/index.js'
import { replayDevice } from './replay/index.js'
import { storeDevice } from './store/index.js'

/** What the built-ins read from the node's configuration (node/config.ts fits it). */
export interface BuiltinConfig extends Pick<EngineOptions, 'gpu' | 'threads' | 'batchSize' | 'contextSize' | 'flashAttention' | 'maxQueue' | 'maxTokensCap' | 'parallel' | 'parallelMode'> {
  readonly dataDir: string
  readonly models: Readonly<Record<string, string>>
  readonly modelsDir: string | undefined
  readonly demoModel: boolean
  readonly preload: boolean
  readonly receipts: string
  readonly trustedMeasurements: readonly string[]
  readonly openImport: boolean
  readonly storeOpen: boolean
  readonly maxBlobBytes: number
  /** Most choices (`n`) per OpenAI request. */
  readonly maxChoices: number
  readonly port: number
  readonly host: string
  readonly cluster: ClusterConfig
  readonly dispatch?: string | undefined
  readonly worker?: string | undefined
  readonly poolLeaseMs: number
  /** TEST ONLY: gpu-infer's fault injector (node/config.ts refuses it outside test mode). */
  readonly testFaultEvery?: number
  readonly testFaultAt?: 'first' | 'last'
}

/** The parts the node composes and lends the built-ins. */
export interface BuiltinParts {
  readonly store: Store
  readonly log: Logger
  readonly wallet: Wallet
  readonly address: string
  readonly components: DeviceComponents
  /** The full resolver, for replay's re-execution (built before the devices, which join its registry). */
  readonly resolver: Resolver
  /** meta@1.0: public information read at call time, software identity, runtime settings. */
  readonly publicInfo: () => Message
  readonly build: Message
  readonly settings: MetaSettings
  /** The package root, for the software measurement and the dashboard's built files. */
  readonly root: string
  /** The node's instrumentation of the engine gpu-infer creates (metrics, traces). */
  readonly observeEngine?: (engine: Engine) => Engine
  readonly onModelProgress?: (model: string, fraction: number) => void
}

export interface Builtins {
  readonly devices: readonly Device[]
  /** Models served by gpu-infer: name → path (the demo model when none was configured). */
  readonly models: Readonly<Record<string, string>>
  readonly receipts: Receipts | undefined
  /** gpu-infer's per-model queues (metrics). */
  readonly engineStats: () => ReturnType<Engine['stats']>
}

/** The implementation every built-in names: `<package>@<version>` (`meta@1.0/build`). */
export const builtinImplementation = (build: Message): string => `${String(build.name ?? 'hashbeam')}@${String(build.version ?? '0.0.0')}`

/** The configured models, or the generated demo model when there are none and it is allowed. */
async function configuredModels(config: BuiltinConfig): Promise<Record<string, string>> {
  const models = { ...(await scanModelsDir(config.modelsDir)), ...config.models }
  if (Object.keys(models).length === 0 && config.demoModel) models[DEMO_MODEL_NAME] = await ensureDemoModel(config.dataDir)
  return models
}

export async function builtinDevices(config: BuiltinConfig, parts: BuiltinParts): Promise<Builtins> {
  const { store, log, wallet } = parts
  const models = await configuredModels(config)
  const hashCache = fileHashCache(join(config.dataDir, 'model-hashes.json'))
  const gpuInfer = gpuInferDevice({
    engine: {
      gpu: config.gpu, threads: config.threads, batchSize: config.batchSize, contextSize: config.contextSize,
      flashAttention: config.flashAttention, maxQueue: config.maxQueue, maxTokensCap: config.maxTokensCap,
      parallel: config.parallel, parallelMode: config.parallelMode,
      log: log.child({ device: 'gpu-infer' }), hashCache,
    },
    ...(parts.observeEngine === undefined ? {} : { observe: parts.observeEngine }),
    models, log: log.child({ device: 'gpu-infer' }), preload: config.preload ? Object.keys(models) : [], maxChoices: config.maxChoices,
    ...(config.testFaultEvery === undefined ? {} : { testFaultEvery: config.testFaultEvery }),
    ...(config.testFaultAt === undefined ? {} : { testFaultAt: config.testFaultAt }),
    storedModels: { store, cacheDir: join(config.dataDir, 'models', 'from-store') },
    ...(parts.onModelProgress === undefined ? {} : { onLoadProgress: parts.onModelProgress }),
    pool: {
      ...(config.dispatch === undefined ? {} : { dispatch: { url: config.dispatch, maxQueue: config.maxQueue, leaseMs: config.poolLeaseMs } }),
      ...(config.worker === undefined ? {} : {
        worker: { url: config.worker, leaseMs: config.poolLeaseMs, slots: config.parallel ?? 1, address: parts.address, resolver: parts.resolver, store },
      }),
    },
  })
  // The measurement names the llama.cpp binary in use, so it waits for the engine: measured at
  // start with --preload, else on the first report or receipt.
  const attest = attestDevice({
    wallet, log: log.child({ device: 'attest' }), trustedMeasurements: config.trustedMeasurements,
    measurement: async () => measure({ root: parts.root, llamaCpp: await gpuInfer.runtime() }),
    providers: [sevSnpProvider(), nvidiaCcProvider()],
    receipts: { store, always: config.receipts === 'always' }, eagerStart: config.preload,
  })
  const { cluster: clusterConfig } = config
  const cluster = clusterConfig.router
    ? createCluster({ ttlMs: clusterConfig.ttlMs, admit: clusterConfig.admit, routesFile: join(config.dataDir, 'routes.json'), faultsFile: join(config.dataDir, 'faults.json'), log: log.child({ device: 'router' }) })
    : undefined
  const joiner = clusterConfig.join === undefined ? undefined : createJoiner({
    router: clusterConfig.join, advertise: clusterConfig.advertise ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    signer: parts.components.signer, http: parts.components.http, log: log.child({ device: 'router' }),
    offer: offerSource({
      models, hashCache, engineStats: () => gpuInfer.engineStats(), poolLoad: () => gpuInfer.poolLoad(), devices: () => devices.map((d) => d.name),
      parallel: config.parallel ?? 1, maxQueue: config.maxQueue ?? 8,
    }),
  })
  const checkRouter = clusterConfig.checkRouter ?? clusterConfig.join
  const devices: Device[] = [
    // First: on a router its preprocess sees every request before any other device's routes.
    relayDevice({ ...(cluster === undefined ? {} : { cluster }), log: log.child({ device: 'relay' }), address: parts.address, timeoutMs: clusterConfig.relayTimeoutMs }),
    messageDevice({ wallet }),
    metaDevice({ publicInfo: parts.publicInfo, build: parts.build, settings: parts.settings }),
    replayDevice({
      ...parts.components, resolver: parts.resolver, attestor: attest.attestor, openImport: config.openImport,
      exportSigner: { address: parts.address, sign: (manifest) => commitMessage(manifest, wallet, 'export') },
    }),
    storeDevice({ store, log, open: config.storeOpen, maxBlobBytes: config.maxBlobBytes }),
    gpuInfer,
    attest,
    dashboardDevice({ store, files: join(parts.root, 'dist', 'dashboard') }),
    // Stopped before gpu-infer: a check in progress finishes on a running engine.
    checkerDevice(checkRouter === undefined || clusterConfig.checkPeers === undefined ? undefined : {
      rate: clusterConfig.checkPeers, router: checkRouter, signer: parts.components.signer, http: parts.components.http,
      log: log.child({ device: 'checker' }), resolver: parts.resolver, attestor: attest.attestor,
      ...(clusterConfig.checkSecret === undefined ? {} : { secret: hexToBytes(clusterConfig.checkSecret) }),
    }),
    // Last: stopped first, so a leaving worker deregisters before anything else shuts down.
    routerDevice({ ...(cluster === undefined ? {} : { cluster }), ...(joiner === undefined ? {} : { joiner }), signer: parts.components.signer, log: log.child({ device: 'router' }) }),
  ]
  // A built-in's code is the package's: the ledger answers its steps only while this version is
  // the one running (core/implementation.ts), so an upgrade recomputes instead of serving what
  // older code wrote.
  const implementation = builtinImplementation(parts.build)
  return { devices: devices.map((device) => ({ ...device, implementation })), models, receipts: attest.receipts, engineStats: () => gpuInfer.engineStats() }
}

// What the node composes from besides the device list, each from its device's door.
export { openStore } from './store/index.js'
export type { Receipts } from './attest/index.js'

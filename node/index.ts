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
import { join } from 'node:path'
import { openRegistry } from '../core/registry.js'
import { createResolver } from '../core/resolve.js'
import type { Message } from '../core/types.js'
import { builtinDevices, openStore } from '../devices/index.js'
import { walletAddress } from '../identity/keys.js'
import { buildInfo } from './build-info.js'
import { createComponents } from './components.js'
import { publicConfig, type NodeConfig } from './config.js'
import { loadDeviceModules } from './device-loader.js'
import { observedDevice, observedEngine, observedStore } from './instrument.js'
import { deviceLifecycle } from './lifecycle.js'
import { createLogger } from './log.js'
import { createMetrics } from './metrics.js'
import { nodeApp } from './node-app.js'
import type { HashbeamNode, NodeInit } from './node-types.js'
import { packageRoot } from './package-root.js'
import { loadSettings } from './settings.js'
import { traceStep } from './telemetry.js'
import { loadOrCreateWallet } from './wallet-file.js'

export { buildInfo } from './build-info.js'
export type { HashbeamNode, NodeInit } from './node-types.js'

export async function createNode(config: NodeConfig, init: NodeInit = {}): Promise<HashbeamNode> {
  const log = init.log ?? createLogger()
  const wallet = await loadOrCreateWallet(init.walletPath ?? join(config.dataDir, 'wallet.json'), config.walletKind)
  const address = walletAddress(wallet)
  const opened = init.store ?? (await openStore(config.store, { dataDir: config.dataDir, log }))
  // The devices join the registry once built: the resolver exists first, so they may be given it.
  const registry = openRegistry()
  // Models and queues are read at scrape time, from the built-ins made below.
  const metrics = config.metrics === 'off' ? undefined : createMetrics({
    devices: registry, models: () => Object.keys(builtins.models), engineStats: () => builtins.engineStats(),
  }, opened.kind)
  const store = metrics === undefined ? opened : observedStore(opened, metrics)
  const options = publicConfig(config)
  // Runtime settings (operator, name, initialized…) live outside `options`: no device sees
  // them, so an operator's change can never alter a deterministic result.
  const settings = await loadSettings({ dataDir: config.dataDir, address, operator: config.operator, trust: config.trust, fixed: options, log })
  const resolver = createResolver({
    registry, store, log, options, limits: config.limits,
    ledger: { self: address, trusts: (writer) => settings.trusts(writer) },
    onStep: (device, key, hashpath, source, startedAt) => {
      metrics?.step(device, source)
      traceStep(device, key, hashpath, source, startedAt)
    },
  })
  const components = createComponents({ store, log, options, wallet, resolver })
  const builtins = await builtinDevices(config, {
    store, log, wallet, address, components, resolver, settings, build: buildInfo(), root: packageRoot(),
    publicInfo: () => ({ ...(options as Message), ...settings.current(), address }),
    observeEngine: (engine) => observedEngine(engine, metrics),
    ...(init.onModelProgress === undefined ? {} : { onModelProgress: init.onModelProgress }),
  })
  const devices = [
    ...builtins.devices.map((device) => observedDevice(device, metrics)),
    ...(await Promise.all((init.devices ?? []).map((d) => (typeof d === 'function' ? d(components) : d)))),
    ...(await loadDeviceModules(config.devicePaths, components)),
  ]
  registry.register(devices)
  const { app, lanes } = nodeApp({ config, resolver, log, store, wallet, address, settings, metrics, receipts: builtins.receipts, devices })
  const { start, stop } = deviceLifecycle(devices, store, log)
  return { config, app, lanes, resolver, registry, store, wallet, address, log, models: builtins.models, settings, metrics, start, stop }
}

/**
 * @packageDocumentation
 * `hashbeam/testing`: what a device author's tests need, in the repository or outside it.
 *
 * - `deviceCompliance({make, samplePath})`: the compliance suite every device runs (vitest);
 * - `testComponents()`: the components a device builder receives, on a memory store with a
 *   fresh Ed25519 key, so `make: () => myDevice()(testComponents())` builds a device alone (its
 *   resolver view knows `message@1.0` only);
 * - `startTestNode({devices, devicePaths})`: a whole node (memory store, temporary data dir,
 *   its own Ed25519 wallet), started; `node.app.request(path)` answers as over HTTP.
 *
 * @example
 * ```ts
 * import { deviceCompliance, startTestNode, testComponents } from 'hashbeam/testing'
 * import { myDevice } from './my-device.js'
 * deviceCompliance({ make: () => myDevice()(testComponents()), samplePath: '/~my@1.0/hello' })
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import type { Device, DeviceBuilder, DeviceComponents } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { walletFromJwk } from '../../identity/keys.js'
import { defaultConfig, type NodeConfig } from '../../node/config.js'
import { createComponents } from '../../node/components.js'
import { createNode, type HashbeamNode } from '../../node/index.js'
import { memoryLogger } from './log.js'

export { deviceCompliance, type ComplianceSubject } from './device-suite.js'
export { memoryLogger } from './log.js'

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

/** A fresh Ed25519 wallet, made in microseconds (an RSA-4096 key takes seconds). */
export function testWallet() {
  const d = ed25519.utils.randomSecretKey()
  return walletFromJwk({ kty: 'OKP', crv: 'Ed25519', d: b64(d), x: b64(ed25519.getPublicKey(d)) })
}

/** Components for building a device outside a node (the resolver view knows `message@1.0` only). */
export function testComponents(): DeviceComponents {
  const store = memoryStore()
  const log = memoryLogger()
  const resolver = createResolver({ registry: createRegistry([messageDevice()]), store, log })
  return createComponents({ store, log, options: {}, wallet: testWallet(), resolver })
}

export interface TestNode extends HashbeamNode {
  /** Stops the node and removes its data dir. */
  close(): Promise<void>
}

/** A started node on a memory store in a temporary data dir, with the devices given. */
export async function startTestNode(opts: {
  devices?: readonly (Device | DeviceBuilder)[]
  devicePaths?: readonly string[]
  config?: Partial<NodeConfig>
} = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hashbeam-device-test-'))
  const config: NodeConfig = {
    ...defaultConfig({}), dataDir, store: 'memory', port: 0, demoModel: false, walletKind: 'ed25519',
    devicePaths: [...(opts.devicePaths ?? [])], ...opts.config,
  }
  const node = await createNode(config, {
    log: memoryLogger(), store: memoryStore(), ...(opts.devices === undefined ? {} : { devices: opts.devices }),
  })
  await node.start()
  return Object.assign(node, {
    async close() {
      await node.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  })
}

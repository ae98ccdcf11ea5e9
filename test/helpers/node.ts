import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import type { Device } from '../../core/types.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { defaultConfig, type NodeConfig } from '../../node/config.js'
import { createNode, type HashbeamNode } from '../../node/index.js'
import { memoryLogger } from './log.js'

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'hashbeam-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The wallet shared by the whole suite (made once in global-setup.ts). */
export const sharedWalletPath = (): string => inject('walletPath')

/** A node on a memory store (unless `config.store` says otherwise) with the shared wallet. */
export async function testNode(opts: { config?: Partial<NodeConfig>; devices?: Device[] } = {}): Promise<HashbeamNode & { logs: ReturnType<typeof memoryLogger>['entries'] }> {
  const { dir } = tempDir()
  const config: NodeConfig = { ...defaultConfig({}), dataDir: dir, store: 'memory', port: 0, demoModel: false, ...opts.config }
  const log = memoryLogger()
  const node = await createNode(config, {
    log,
    walletPath: sharedWalletPath(),
    ...(config.store === 'memory' ? { store: memoryStore() } : {}),
    ...(opts.devices === undefined ? {} : { devices: opts.devices }),
  })
  await node.start()
  return Object.assign(node, { logs: log.entries })
}

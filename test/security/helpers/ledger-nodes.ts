/**
 * Nodes for the ledger tests: each with its own data dir, LMDB store and Ed25519 wallet (so
 * two nodes have two addresses), and an operator wallet of its own to sign imports with.
 */
import { join } from 'node:path'
import { CAR_CONTENT_TYPE } from '../../../devices/replay/car.js'
import { defaultConfig, type NodeConfig } from '../../../node/config.js'
import { createNode, type HashbeamNode } from '../../../node/index.js'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { memoryLogger } from '../../helpers/log.js'
import { tempDir } from '../../helpers/node.js'
import { signPrivileged, URL_BASE } from '../../helpers/operator.js'

export interface LedgerNode {
  readonly node: HashbeamNode
  readonly operator: Wallet
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: Headers }>
  json(path: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>
  /** POSTs a CAR to /~replay@1.0/import, signed by the operator unless `unsigned`. */
  importCar(car: Uint8Array, opts?: { unsigned?: boolean; signer?: Wallet }): Promise<{ status: number; body: Record<string, unknown> }>
  stop(): Promise<void>
}

export async function ledgerNode(config: Partial<NodeConfig> = {}): Promise<LedgerNode> {
  const data = tempDir('hashbeam-ledger-')
  const operator = await createWallet('ed25519')
  const node = await createNode({
    ...defaultConfig({}), dataDir: data.dir, store: 'lmdb', port: 0, demoModel: false, walletKind: 'ed25519',
    operator: walletAddress(operator), ...config,
  }, { log: memoryLogger(), walletPath: join(data.dir, 'wallet.json') })
  await node.start()
  const request = (path: string, init: RequestInit = {}) => node.app.request(`${URL_BASE}${path}`, init)
  return {
    node, operator,
    async get(path, headers = {}) {
      const res = await request(path, { headers })
      return { status: res.status, body: await res.text(), headers: res.headers }
    },
    async json(path) {
      const res = await request(path, { headers: { accept: 'application/json' } })
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers }
    },
    async importCar(car, opts = {}) {
      const url = `${URL_BASE}/~replay@1.0/import`
      const headers = { 'content-type': CAR_CONTENT_TYPE }
      const init = opts.unsigned === true
        ? { method: 'POST', headers, body: car as BodyInit }
        : signPrivileged(opts.signer ?? operator, { url, headers, body: car })
      const res = await node.app.request(url, { ...init, headers: { ...init.headers, accept: 'application/json' } })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    },
    async stop() {
      await node.stop()
      data.cleanup()
    },
  }
}

export const q = (hashpath: string): string => encodeURIComponent(hashpath)

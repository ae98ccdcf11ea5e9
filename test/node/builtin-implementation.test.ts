// A built-in's code is the package's version: the ledger answers a built-in's step only while the
// version that computed it runs, and replay names an upgrade as a changed implementation.
import { afterAll, describe, expect, it } from 'vitest'
import { implementationKey } from '../../core/implementation.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { builtinImplementation } from '../../devices/index.js'
import { buildInfo } from '../../node/index.js'
import { defaultConfig } from '../../node/config.js'
import { createNode, type HashbeamNode } from '../../node/index.js'
import { memoryLogger } from '../helpers/log.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'

const UTF8 = new TextEncoder()
const PATH = '/~message@1.0&a=1/set&b=2/b'

describe('built-in implementation identity', () => {
  const store = memoryStore()
  const dir = tempDir()
  const nodes: HashbeamNode[] = []
  // Each node shares the store: a restart on the same data.
  const nodeOnStore = async () => {
    const node = await createNode({ ...defaultConfig({}), dataDir: dir.dir, store: 'memory', port: 0, demoModel: false }, { log: memoryLogger(), walletPath: sharedWalletPath(), store: { ...store, close: async () => {} } })
    nodes.push(node)
    return node
  }
  afterAll(async () => {
    for (const node of nodes) await node.stop()
    dir.cleanup()
  })

  it('every built-in names hashbeam@<version>, recorded beside its steps', async () => {
    const node = await nodeOnStore()
    const version = builtinImplementation(buildInfo())
    expect(version).toMatch(/^hashbeam@\d+\.\d+\.\d+/)
    for (const name of ['message@1.0', 'meta@1.0', 'replay@1.0', 'store@1.0', 'gpu-infer@1.0', 'attest@1.0', 'dashboard@1.0']) {
      expect(node.registry.get(name).implementation).toBe(version)
    }
    const res = await node.app.request(PATH)
    expect(res.status).toBe(200)
    const hashpath = res.headers.get('hashpath')!
    expect(new TextDecoder().decode(await store.get(implementationKey(hashpath)))).toBe(version)
  })

  it('a step an older version wrote is computed afresh, flagged, then recorded by this version', async () => {
    const node = await nodeOnStore()
    const first = await node.app.request(PATH)
    const hashpath = first.headers.get('hashpath')!
    // As if hashbeam@0.0.1 had written the last step of this chain.
    await store.put(implementationKey(hashpath), UTF8.encode('hashbeam@0.0.1'))
    const later = await nodeOnStore()
    const q = encodeURIComponent(hashpath)
    // The same answer from this version: replay verifies it (a differing one is reported as
    // implementation-changed, test/core/implementation.test.ts).
    const report = await (await later.app.request(`/~replay@1.0/replay&hashpath=${q}`, { headers: { accept: 'application/json' } })).json()
    expect(report).toMatchObject({ verified: 2, divergent: 0 })
    const answer = await later.app.request(PATH)
    expect([answer.status, answer.headers.get('ao-cache'), answer.headers.get('hashbeam-implementation-changed')]).toEqual([200, 'miss', 'hashbeam@0.0.1'])
    expect(await answer.text()).toBe('2')
    // Recorded again by this version: from then on a ledger answer.
    const again = await (await nodeOnStore()).app.request(PATH, { headers: { 'cache-control': 'only-if-cached' } })
    expect([again.status, again.headers.get('ao-cache')]).toEqual([200, 'hit'])
  })
})

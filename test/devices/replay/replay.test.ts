// replay@1.0: re-execution against the ledger, CAR export/import, and every divergence reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openRegistry } from '../../../core/registry.js'
import { createResolver, type Resolver } from '../../../core/resolve.js'
import { replayHashpath } from '../../../core/replay.js'
import { messageKey } from '../../../core/store.js'
import { loadStep } from '../../../core/ledger.js'
import type { Device, Message } from '../../../core/types.js'
import { createEngine } from '../../../devices/gpu-infer/engine.js'
import { gpuInferDevice } from '../../../devices/gpu-infer/index.js'
import { messageDevice } from '../../../devices/message/index.js'
import { MANIFEST_PAGE, exportChain } from '../../../devices/replay/car.js'
import { CarReader } from '@ipld/car'
import { decodeCanonical } from '../../../core/codec.js'
import { verifyHashpath } from '../../../core/verify.js'
import { importChain } from '../../../devices/replay/import.js'
import { testSigner } from '../../helpers/export-signer.js'
import { replayDevice } from '../../../devices/replay/index.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import type { Store } from '../../../core/store.js'
import { memoryLogger } from '../../helpers/log.js'
import { deviceCompliance } from '../../helpers/device-suite.js'
import { modelDir, type ModelDir } from '../gpu-infer/fixtures.js'

/** The bytes of a CAR's root block. */
async function rootBlock(car: Uint8Array): Promise<Uint8Array> {
  const reader = await CarReader.fromBytes(car)
  const [root] = await reader.getRoots()
  return (await reader.get(root!))!.bytes
}

function nodeOn(store: Store, devices: Device[]): Resolver {
  const registry = openRegistry()
  const resolver = createResolver({ registry, store, log: memoryLogger() })
  registry.register([messageDevice(), replayDevice({ store, resolver }), ...devices])
  return resolver
}

let ticks = 0
const clock: Device = { name: 'clock@1.0', deterministic: false, keys: { now: () => ++ticks } }
/** Test-only: a device that claims determinism but answers differently every time (a liar). */
const liar: Device = { name: 'liar@1.0', keys: { answer: () => `answer-${++ticks}` } }

describe('replay@1.0', () => {
  deviceCompliance({ make: () => replayDevice({ store: memoryStore() }), samplePath: `/~replay@1.0/verify&hashpath=${'A'.repeat(43)}%2Fkey` })

  it('re-executes a message chain: every step verified', async () => {
    const resolver = nodeOn(memoryStore(), [])
    const r = await resolver.resolve('/~message@1.0&a=1/set&b=2/set&c+integer=3/c')
    expect(await replayHashpath(resolver, r.hashpath)).toMatchObject({ steps: 3, verified: 3, unverifiable: 0, divergent: 0, 'first-divergence': null })
  })

  it('counts non-deterministic steps as unverifiable, never as verified', async () => {
    const resolver = nodeOn(memoryStore(), [clock])
    const r = await resolver.resolve('/~clock@1.0/now')
    expect(await replayHashpath(resolver, r.hashpath)).toMatchObject({ steps: 1, verified: 0, unverifiable: 1 })
  })

  it('names the first divergence of a device that changes its answer', async () => {
    const resolver = nodeOn(memoryStore(), [liar])
    const r = await resolver.resolve('/~liar@1.0/answer')
    const report = await replayHashpath(resolver, r.hashpath)
    expect(report['first-divergence']).toMatchObject({ step: 1, hashpath: r.hashpath, expected: r.id, reason: 'output-mismatch', got: expect.any(String) })
    expect(report['first-divergence']?.got).not.toBe(r.id)
  })

  it('reports device-missing on a node without the device', async () => {
    const store = memoryStore()
    const r = await nodeOn(store, [liar]).resolve('/~liar@1.0/answer')
    expect((await replayHashpath(nodeOn(store, []), r.hashpath))['first-divergence']).toMatchObject({ reason: 'device-missing' })
  })

  it('does not replay a damaged ledger: it reports what verify found', async () => {
    const store = memoryStore()
    const resolver = nodeOn(store, [])
    const r = await resolver.resolve('/~message@1.0&a=1/set&b=2/b')
    const record = await loadStep(store, r.hashpath)
    await store.delete(messageKey(record?.request ?? ''))
    expect(await replayHashpath(resolver, r.hashpath)).toMatchObject({ ledger: { valid: false, reason: 'missing-message' } })
  })

  it('exports a chain as a CAR that another node imports, verifies and replays to the same IDs', async () => {
    const a = nodeOn(memoryStore(), [])
    const r = await a.resolve('/~message@1.0&x=1/set&y+integer=2/set&z=3/keys')
    const car = await exportChain(a, r.hashpath, await testSigner())
    const storeB = memoryStore()
    const b = nodeOn(storeB, [])
    expect(await importChain(storeB, car)).toMatchObject({ hashpath: r.hashpath, steps: 3 })
    expect(await replayHashpath(b, r.hashpath)).toMatchObject({ steps: 3, verified: 3, divergent: 0 })
    const over = (await b.resolve(`/~replay@1.0/verify&hashpath=${encodeURIComponent(r.hashpath)}`)).value as Message
    expect(over.valid).toBe(true)
  })

  it('a chain longer than one manifest page is exported with pages, signed once, and imports whole', async () => {
    const a = nodeOn(memoryStore(), [])
    const r = await a.resolve('/~message@1.0&p=0/set&p=1/set&p=2/set&p=3/set&p=4/set&p=5/set&p=6/p')
    // Pages of 3 entries (MANIFEST_PAGE in a real export): 7 steps → 3 pages.
    expect(MANIFEST_PAGE).toBeGreaterThan(1_000)
    const car = await exportChain(a, r.hashpath, await testSigner(), 3)
    const manifest = decodeCanonical(await rootBlock(car)) as Message
    expect([manifest.steps, (manifest.pages as string[]).length]).toEqual([undefined, 3])
    const storeB = memoryStore()
    expect(await importChain(storeB, car)).toMatchObject({ hashpath: r.hashpath, steps: 7, imported: 7 })
    expect(await verifyHashpath(storeB, r.hashpath)).toMatchObject({ valid: true, steps: 7 })
  })

  it('import checks every block against its hash: a flipped byte or a truncated file is refused', async () => {
    const a = nodeOn(memoryStore(), [])
    const r = await a.resolve('/~message@1.0&payload=abcdefghijklmnopqrstuvwxyz/payload')
    const car = await exportChain(a, r.hashpath, await testSigner())
    const flipped = car.slice()
    const at = Buffer.from(car).indexOf('abcdefghijklmnop')
    flipped[at] = (flipped[at] ?? 0) ^ 1
    await expect(importChain(memoryStore(), flipped)).rejects.toMatchObject({ status: 422, code: 'block-cid-mismatch' })
    await expect(importChain(memoryStore(), car.slice(0, car.length - 10))).rejects.toMatchObject({ status: 400, code: 'invalid-car' })
    await expect(importChain(memoryStore(), new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ status: 400, code: 'invalid-car' })
  })
})

describe('replay of inference', () => {
  let models: ModelDir
  let path = ''
  beforeAll(async () => {
    models = await modelDir()
    path = await models.make('tiny', { size: 'tiny', seed: 5 })
  })
  afterAll(() => models.cleanup())

  const inferDevice = (threads: number, withModel = true) => gpuInferDevice({
    engine: createEngine({ gpu: false, threads, batchSize: 256, contextSize: 512, flashAttention: false, maxQueue: 2, log: memoryLogger() }),
    models: withModel ? { tiny: path } : {},
  })

  it('replays bit-exactly on the same profile; another profile is a profile-mismatch, a missing model missing-input', async () => {
    const store = memoryStore()
    const same = inferDevice(1)
    const other = inferDevice(2)
    const none = inferDevice(1, false)
    try {
      const r = await nodeOn(store, [same]).resolve('/~gpu-infer@1.0/run&model=tiny&prompt=replay&max-tokens+integer=8&temperature+float=0.5')
      expect(await replayHashpath(nodeOn(store, [same]), r.hashpath)).toMatchObject({ verified: 1, divergent: 0 })
      expect((await replayHashpath(nodeOn(store, [other]), r.hashpath))['first-divergence']).toMatchObject({ reason: 'profile-mismatch' })
      expect((await replayHashpath(nodeOn(store, [none]), r.hashpath))['first-divergence']).toMatchObject({ reason: 'missing-input' })
    } finally {
      for (const d of [same, other, none]) await d.stop?.()
    }
  })
})

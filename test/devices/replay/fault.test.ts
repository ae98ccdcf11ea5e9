// Fault proofs: node A runs a test-only "lying" variant of gpu-infer that alters its output
// after computing (the real code path is untouched), records and signs that result. Node B
// imports A's export, replays on the identical profile, and produces a fault proof that a third
// party checks without trusting either node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf } from '../../../core/id.js'
import { openRegistry } from '../../../core/registry.js'
import { createResolver, type Resolver } from '../../../core/resolve.js'
import type { Store } from '../../../core/store.js'
import type { Device, Message } from '../../../core/types.js'
import { createAttestor, receiptFieldsFrom, type Attestor } from '../../../devices/attest/index.js'
import { createEngine } from '../../../devices/gpu-infer/engine.js'
import { gpuInferDevice } from '../../../devices/gpu-infer/index.js'
import { messageDevice } from '../../../devices/message/index.js'
import { exportChain } from '../../../devices/replay/car.js'
import { importChain } from '../../../devices/replay/import.js'
import { testSigner } from '../../helpers/export-signer.js'
import { createFaultProof, verifyFaultProof } from '../../../devices/replay/fault.js'
import { replayDevice } from '../../../devices/replay/index.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { createWallet } from '../../../identity/keys.js'
import { fixedHardware, fixedMeasurement } from '../attest/helpers/attest.js'
import { memoryLogger } from '../../helpers/log.js'
import { tempDir } from '../../helpers/node.js'
import { runCli } from '../../helpers/process.js'
import { toJson } from '../../../core/json.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { modelDir, type ModelDir } from '../gpu-infer/fixtures.js'

let models: ModelDir
let path = ''
const devices: Device[] = []
beforeAll(async () => {
  models = await modelDir()
  path = await models.make('tiny', { size: 'tiny', seed: 13 })
})
afterAll(async () => {
  for (const d of devices) await d.stop?.()
  await models.cleanup()
})

function infer(): Device {
  const device = gpuInferDevice({
    engine: createEngine({ gpu: false, threads: 1, batchSize: 256, contextSize: 512, flashAttention: false, maxQueue: 2, log: memoryLogger() }),
    models: { tiny: path },
  })
  devices.push(device)
  return device
}

/** Test-only: the real device, then a changed output. Its profile stays the honest one. */
function lying(honest: Device): Device {
  const run = honest.keys.run
  if (run === undefined) throw new Error('gpu-infer has no run key')
  return { ...honest, keys: { ...honest.keys, run: async (base, req, ctx) => ({ ...(await run(base, req, ctx)) as Message, output: 'I was altered after computing' }) } }
}

async function party(store: Store, device: Device): Promise<{ resolver: Resolver; attestor: Attestor }> {
  const attestor = createAttestor({ wallet: await createWallet('ed25519'), measurement: fixedMeasurement(), hardware: fixedHardware, providers: [] })
  const registry = openRegistry()
  const resolver = createResolver({ registry, store, log: memoryLogger() })
  registry.register([messageDevice(), replayDevice({ store, resolver, attestor }), device])
  return { resolver, attestor }
}

async function signedReceipt(p: { resolver: Resolver; attestor: Attestor }, path: string) {
  const r = await p.resolver.resolve(path)
  const record = (await p.resolver.store.get(`step/${r.hashpath}`)) !== undefined
  expect(record).toBe(true)
  const req = { path: 'run', model: 'tiny', prompt: 'fault', 'max-tokens': 6 }
  const receipt = await p.attestor.receipt(receiptFieldsFrom({ requestId: idOf(req), resultId: r.id, hashpath: r.hashpath, result: r.value as Message }))
  return { r, receipt }
}

const PATH = '/~gpu-infer@1.0/run&model=tiny&prompt=fault&max-tokens+integer=6'

/** Node A (lying or honest) answers and signs; node B imports A's export and is ready to replay. */
async function scenario(accused: Device) {
  const a = await party(memoryStore(), accused)
  const { r, receipt } = await signedReceipt(a, PATH)
  const storeB = memoryStore()
  await importChain(storeB, await exportChain(a.resolver, r.hashpath, await testSigner()))
  return { receipt, b: await party(storeB, infer()) }
}

describe('fault proofs', () => {
  it('a lying node is caught: the proof verifies offline, and re-execution names the liar', async () => {
    const { receipt, b } = await scenario(lying(infer()))
    const proof = await createFaultProof(b.resolver, b.attestor, receipt)
    const verdict = await verifyFaultProof(JSON.parse(JSON.stringify(proof)) as Message)
    expect(verdict.checks.filter((c) => !c.ok)).toEqual([])
    expect(verdict.valid).toBe(true)
    const third = await party(memoryStore(), infer())
    expect((await verifyFaultProof(proof, third.resolver)).reproduced).toBe('verifier')
    const overHttp = (await b.resolver.resolve(`/~replay@1.0/verify-fault`, { global: { document: proof }, scoped: new Map() })).value as Message
    expect(overHttp.valid).toBe(true)

    // The CLI, as a third party runs it: exit 0 for the proof, 1 for a forged one.
    const dir = tempDir()
    try {
      const file = join(dir.dir, 'proof.json')
      await writeFile(file, JSON.stringify(toJson(proof)))
      expect((await runCli(['verify-fault', file])).code).toBe(0)
      await writeFile(file, JSON.stringify(toJson({ ...proof, recomputed: { ...(proof.recomputed as Message), output: 'forged' } })))
      expect((await runCli(['verify-fault', file])).code).toBe(1)
    } finally {
      dir.cleanup()
    }
  })

  it('an honest node yields no fault proof (422 no-fault)', async () => {
    const { receipt, b } = await scenario(infer())
    await expect(createFaultProof(b.resolver, b.attestor, receipt)).rejects.toMatchObject({ status: 422, code: 'no-fault' })
  })

  it('tampering with any part of a proof makes it fail', async () => {
    const { receipt, b } = await scenario(lying(infer()))
    const proof = await createFaultProof(b.resolver, b.attestor, receipt)
    const tampered: Message[] = [
      { ...proof, recomputed: { ...(proof.recomputed as Message), output: 'forged' } },
      { ...proof, inputs: { ...(proof.inputs as Message), request: { path: 'run', prompt: 'other' } } },
      { ...proof, receipt: { ...(proof.receipt as Message), result: (proof['verifier-receipt'] as Message).result as string } },
      { ...proof, 'verifier-receipt': proof.receipt as Message },
    ]
    for (const forged of tampered) expect((await verifyFaultProof(forged)).valid).toBe(false)
  })
})

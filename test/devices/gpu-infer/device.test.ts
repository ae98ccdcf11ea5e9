// gpu-infer@1.0 as a device: the compliance suite, and the result contract (only deterministic
// fields; the same request gives the same ID and hashpath on two nodes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRegistry } from '../../../core/registry.js'
import { createResolver } from '../../../core/resolve.js'
import { idOf } from '../../../core/id.js'
import type { Message } from '../../../core/types.js'
import { gpuInferDevice } from '../../../devices/gpu-infer/index.js'
import { effectiveSeed } from '../../../devices/gpu-infer/device-request.js'
import { messageDevice } from '../../../devices/message/index.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { memoryLogger } from '../../helpers/log.js'
import { deviceCompliance } from '../../helpers/device-suite.js'
import { modelDir, testEngine, type ModelDir } from './fixtures.js'

let models: ModelDir
let path = ''
beforeAll(async () => {
  models = await modelDir()
  path = await models.make('tiny', { size: 'tiny', seed: 7, chatTemplate: true })
})
afterAll(() => models.cleanup())

const make = () => gpuInferDevice({ engine: testEngine(), models: { tiny: path } })

describe('gpu-infer@1.0', () => {
  deviceCompliance({ make, samplePath: '/~gpu-infer@1.0/run&model=tiny&prompt=hello&max-tokens+integer=8' })

  function setup() {
    const device = make()
    return { device, resolver: createResolver({ registry: createRegistry([messageDevice(), device]), store: memoryStore(), log: memoryLogger() }) }
  }

  it('a result holds output, finish reason, usage, model identity, profile and profile-id — no timings', async () => {
    const { device, resolver } = setup()
    try {
      const r = await resolver.resolve('/~gpu-infer/run&model=tiny&prompt=hello&max-tokens+integer=8')
      const m = r.value as Message
      expect(Object.keys(m).sort()).toEqual(['finish-reason', 'model', 'output', 'profile', 'profile-id', 'usage'])
      expect(m.model).toMatchObject({ name: 'tiny', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) })
      expect(m['profile-id']).toBe(idOf(m.profile as Message))
      expect(m.profile).toMatchObject({ backend: 'cpu', threads: 1, 'batch-size': 256, 'context-size': 512, seed: null })
      expect(m.usage).toMatchObject({ 'completion-tokens': expect.any(Number) })
      const keys = (v: unknown): string[] => (typeof v === 'object' && v !== null ? Object.entries(v).flatMap(([k, x]) => [k, ...keys(x)]) : [])
      expect(keys(m).filter((k) => /ms$|timing|second|time/i.test(k))).toEqual([])
      expect(r.meta.get('timing-total-ms')).toMatch(/^\d/)
    } finally {
      await device.stop?.()
    }
  })

  it('the version-less name resolves to the newest version', async () => {
    const { device, resolver } = setup()
    try {
      const a = await resolver.resolve('/~gpu-infer/run&model=tiny&prompt=hi&max-tokens+integer=4')
      const b = await resolver.resolve('/~gpu-infer@1.0/run&model=tiny&prompt=hi&max-tokens+integer=4')
      expect(b.hashpath).toBe(a.hashpath)
    } finally {
      await device.stop?.()
    }
  })

  it('with temperature > 0 and no seed, the seed comes from the request ID', () => {
    const req = { path: 'run', prompt: 'x', temperature: 0.8 }
    const seed = effectiveSeed(req, 0.8, undefined)
    expect(seed).toBe(effectiveSeed({ ...req }, 0.8, undefined))
    expect(seed).not.toBe(effectiveSeed({ ...req, prompt: 'y' }, 0.8, undefined))
    expect(effectiveSeed(req, 0, undefined)).toBeUndefined()
    expect(effectiveSeed(req, 0.8, 42)).toBe(42)
  })

  it('sampled requests without a seed repeat exactly (seed derived, recorded in the profile)', async () => {
    const one = setup()
    const two = setup()
    try {
      const path = '/~gpu-infer/run&model=tiny&prompt=once&temperature+float=0.9&max-tokens+integer=12'
      const a = await one.resolver.resolve(path)
      const b = await two.resolver.resolve(path)
      expect(b.id).toBe(a.id)
      expect(((a.value as Message).profile as Message).seed).toEqual(expect.any(Number))
    } finally {
      await one.device.stop?.()
      await two.device.stop?.()
    }
  })

  it('models lists name, sha256, bytes and loaded, and is never cached', async () => {
    const { device, resolver } = setup()
    try {
      const list = (await resolver.resolve('/~gpu-infer/models')).value as Message[]
      expect(list).toEqual([{ name: 'tiny', sha256: expect.any(String), bytes: expect.any(Number), loaded: false }])
      await resolver.resolve('/~gpu-infer/run&model=tiny&prompt=a&max-tokens+integer=2')
      const again = await resolver.resolve('/~gpu-infer/models')
      expect(again.cached).toBe(false)
      expect((again.value as Message[])[0]?.loaded).toBe(true)
    } finally {
      await device.stop?.()
    }
  })
})

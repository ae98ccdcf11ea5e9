/**
 * The compliance suite every device runs (built-in, example or custom): it answers `info`;
 * unknown keys fall back to message@1.0 or give a 404; the same base and request give the same
 * result ID and hashpath on two separate nodes; start and stop are idempotent.
 */
import { describe, expect, it } from 'vitest'
import { isAoError } from '../../core/errors.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import type { Device } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from './log.js'

export interface ComplianceSubject {
  /** Builds a fresh device (called once per node). */
  make(): Device | Promise<Device>
  /** A path whose answer the device computes, e.g. `/~calc@1.0/add&a+integer=1&b+integer=2`. */
  samplePath: string
}

async function nodeWith(device: Device) {
  const devices = device.name === 'message@1.0' ? [device] : [messageDevice(), device]
  const resolver = createResolver({ registry: createRegistry(devices), store: memoryStore(), log: memoryLogger() })
  return { resolver, device }
}

export function deviceCompliance(subject: ComplianceSubject): void {
  describe('device compliance', () => {
    it('answers info (description, version and keys, unless the device defines info itself)', async () => {
      const { resolver, device } = await nodeWith(await subject.make())
      const info = (await resolver.resolve(`/~${device.name}/info`)).value as Record<string, unknown>
      expect(typeof info).toBe('object')
      // meta@1.0 answers info with the node's own description, as HyperBEAM's does.
      if ('info' in device.keys) return
      expect(info.description).toEqual(expect.any(String))
      expect(info.version).toBe(device.name.split('@')[1])
      if ('keys' in info) expect(Array.isArray(info.keys)).toBe(true)
    })

    it('an unknown key falls back to message@1.0 or is a 404', async () => {
      const { resolver, device } = await nodeWith(await subject.make())
      try {
        const r = await resolver.resolve(`/~${device.name}&zz-probe=seen/zz-probe`)
        expect(r.value).toBe('seen')
      } catch (err) {
        expect(isAoError(err) && err.status).toBe(404)
      }
      await expect(resolver.resolve(`/~${device.name}/zz-absent`)).rejects.toMatchObject({ status: 404 })
    })

    it('the same base and request give the same result ID and hashpath on two nodes', async () => {
      const one = await nodeWith(await subject.make())
      const two = await nodeWith(await subject.make())
      await one.device.start?.()
      await two.device.start?.()
      try {
        const a = await one.resolver.resolve(subject.samplePath)
        const b = await two.resolver.resolve(subject.samplePath)
        expect({ id: b.id, hashpath: b.hashpath }).toEqual({ id: a.id, hashpath: a.hashpath })
      } finally {
        await one.device.stop?.()
        await two.device.stop?.()
      }
    })

    it('start and stop are idempotent', async () => {
      const device = await subject.make()
      await device.start?.()
      await device.start?.()
      await device.stop?.()
      await device.stop?.()
      expect(device.name).toMatch(/^[a-z0-9][a-z0-9._-]*@[a-z0-9._-]+$/)
    })
  })
}

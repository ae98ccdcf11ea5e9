/**
 * @module
 * The device table: `name@version` → device. Registration is data (HyperBEAM's
 * `preloaded_devices`); lookup of a bare `name` picks the highest registered version, compared
 * numerically part by part (`1.10` > `1.9`).
 */
import { ConfigError, InvalidRequestError, NotFoundError } from './errors.js'
import type { Device } from './types.js'

export interface Registry {
  /** The device registered under an exact or version-less name; 404 when there is none. */
  get(name: string): Device
  /** Canonical `name@version` for an exact or version-less name; 404 when unknown. */
  canonical(name: string): string
  has(name: string): boolean
  list(): readonly Device[]
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.')
  const pb = b.split('.')
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0'
    const y = pb[i] ?? '0'
    const nx = Number(x)
    const ny = Number(y)
    const diff = Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x.localeCompare(y)
    if (diff !== 0) return diff
  }
  return 0
}

/**
 * A registry the node's devices are added to after it exists: the node builds the resolver over
 * it first, so a device may be handed the resolver when it is built, then registers them all
 * before it serves. Until then every lookup is an unknown device.
 */
export interface OpenRegistry extends Registry {
  /** Adds devices; a name registered twice (in one call or across calls) is a configuration error. */
  register(devices: readonly Device[]): void
}

/** Builds a registry; duplicate names are a configuration error. */
export function createRegistry(devices: readonly Device[]): Registry {
  const registry = openRegistry()
  registry.register(devices)
  return registry
}

export function openRegistry(): OpenRegistry {
  const byName = new Map<string, Device>()
  const newest = new Map<string, Device>()
  const find = (name: string): Device | undefined => {
    const key = name.toLowerCase()
    return key.includes('@') ? byName.get(key) : newest.get(key)
  }
  const unknown = (name: string) => new NotFoundError(`resolve: no device "${name}" on this node`, { code: 'unknown-device', detail: { device: name } })
  return {
    register(devices) {
      for (const device of devices) {
        const name = device.name.toLowerCase()
        const at = name.lastIndexOf('@')
        if (at <= 0 || at === name.length - 1) throw new InvalidRequestError(`registry: "${device.name}" is not name@version`, { code: 'invalid-device-name' })
        if (byName.has(name)) throw new ConfigError(`registry: device "${name}" registered twice`, { code: 'duplicate-device' })
        byName.set(name, device)
        const bare = name.slice(0, at)
        const current = newest.get(bare)
        if (current === undefined || compareVersions(name.slice(at + 1), current.name.slice(current.name.lastIndexOf('@') + 1)) > 0) {
          newest.set(bare, device)
        }
      }
    },
    get(name) {
      const device = find(name)
      if (device === undefined) throw unknown(name)
      return device
    },
    canonical: (name) => {
      const device = find(name)
      if (device === undefined) throw unknown(name)
      return device.name.toLowerCase()
    },
    has: (name) => find(name) !== undefined,
    list: () => [...byName.values()],
  }
}

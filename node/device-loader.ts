/**
 * @module
 * Custom devices from ES modules (`--device ./my-device.js`). A module's default export (or a
 * named `device` export) is a device builder, `(components) => Device`: usually the device's
 * factory called with its options, `export default myDevice({...})` (core/types.ts). The device is checked before
 * the node accepts it, so a typo fails at start with the file name, not at the first request.
 */
import { readFileSync } from 'node:fs'
import { register } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../core/errors.js'
import { sha256Hex } from '../core/sha256.js'
import type { Device, DeviceBuilder, DeviceComponents } from '../core/types.js'
import { packageRoot } from './package-root.js'

const DEVICE_NAME = /^[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9._-]*$/

/** Checks the shape of a device built by a factory. */
export function checkDevice(device: unknown, source: string): Device {
  const d = device as Device
  if (typeof d !== 'object' || d === null) throw new ConfigError(`device: ${source} built no object`, { code: 'invalid-device' })
  if (typeof d.name !== 'string' || !DEVICE_NAME.test(d.name)) {
    throw new ConfigError(`device: ${source} has name "${String(d.name)}"; expected name@version in lower case`, { code: 'invalid-device' })
  }
  if (typeof d.keys !== 'object' || d.keys === null) throw new ConfigError(`device: ${source} has no "keys" object`, { code: 'invalid-device' })
  for (const [key, handler] of Object.entries(d.keys)) {
    if (typeof handler !== 'function') throw new ConfigError(`device: ${source} key "${key}" is not a function`, { code: 'invalid-device' })
  }
  return d
}

let hooked = false

/** Lets a device in any folder import `hashbeam/…` from this installation (bin/resolve-hashbeam.js). */
function resolveHashbeamEverywhere(): void {
  if (hooked) return
  hooked = true
  register(pathToFileURL(join(packageRoot(), 'bin', 'resolve-hashbeam.js')).href)
}

/** The import failure, with what to do about it. */
function importHint(cause: unknown): string {
  const message = (cause as Error).message
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1]
  if (missing === undefined) return message
  if (missing === 'hashbeam' || missing.startsWith('hashbeam/')) {
    return `${message} (a device imports hashbeam/core through the node that loads it: run it with \`hashbeam serve --device\`, or \`npm install hashbeam\` in the device's folder for its own tests)`
  }
  return `${message} (install it in the device's folder: npm install ${missing.split('/').slice(0, missing.startsWith('@') ? 2 : 1).join('/')})`
}

/** Imports each module and builds its device. */
export async function loadDeviceModules(paths: readonly string[], components: DeviceComponents): Promise<Device[]> {
  const devices: Device[] = []
  for (const path of paths) {
    const url = pathToFileURL(resolve(path)).href
    let mod: Record<string, unknown>
    try {
      resolveHashbeamEverywhere()
      mod = (await import(url)) as Record<string, unknown>
    } catch (cause) {
      throw new ConfigError(`device: cannot import ${path}: ${importHint(cause)}`, { code: 'invalid-device', cause })
    }
    const build = (mod.default ?? mod.device) as DeviceBuilder | undefined
    if (typeof build !== 'function') {
      throw new ConfigError(`device: ${path} exports no device builder: \`export default myDevice()\`, a (components) => Device`, { code: 'invalid-device' })
    }
    // The module's own bytes name its implementation: an edited device computes afresh.
    const implementation = `sha256:${sha256Hex(readFileSync(resolve(path)))}`
    devices.push({ ...checkDevice(await build(components), path), implementation })
  }
  return devices
}

/**
 * @module
 * Key → handler lookup for one step (DESIGN §4, after HyperBEAM's `hb_ao:message_to_fun`):
 *
 *     device.handler  →  device.keys[key]  →  device.default  →  message@1.0
 *
 * `exports`/`excludes` hide keys, which then fall through to `message@1.0`. `info` is always
 * served: by the device's own `info` key if it has one, else from its static description.
 */
import type { Registry } from './registry.js'
import type { Device, KeyHandler, Message, Value } from './types.js'

/** The device that answers when nothing else does: plain reads of the base. */
export const MESSAGE_DEVICE = 'message@1.0'

/** What the resolver will run for a step. */
export interface Dispatch {
  /** The device chosen for the step (recorded in the step record). */
  readonly device: Device
  /** The device whose code actually runs (the chosen one, or message@1.0 on fall-through). */
  readonly runner: Device
  readonly handler: KeyHandler
}

function isExported(device: Device, key: string): boolean {
  if (key === 'info') return true
  if (device.excludes?.includes(key)) return false
  return device.exports === undefined || device.exports.includes(key)
}

/** The `{description, version, keys}` answer every device gives to `info`. */
export function describeDevice(device: Device): Message {
  const at = device.name.lastIndexOf('@')
  const keys = Object.keys(device.keys).filter((k) => isExported(device, k)).sort()
  const info: Message = { description: `${device.name} device`, ...device.info }
  return { ...info, name: device.name.slice(0, at), version: device.name.slice(at + 1), keys }
}

function lookupOn(device: Device, key: string): KeyHandler | undefined {
  if (!isExported(device, key)) return undefined
  const handler = device.handler
  if (handler !== undefined) return (base, req, ctx) => handler(key, base, req, ctx)
  const own = Object.prototype.hasOwnProperty.call(device.keys, key) ? device.keys[key] : undefined
  if (own !== undefined) return own
  if (key === 'info') return (): Value => describeDevice(device)
  const fallback = device.default
  if (fallback !== undefined) return (base, req, ctx) => fallback(key, base, req, ctx)
  return undefined
}

/** Chooses the device (request's `as-device` > base's `device` > message@1.0) and the handler. */
export function dispatch(registry: Registry, base: Message, req: Message, key: string): Dispatch {
  const asDevice = req['as-device']
  const named = typeof asDevice === 'string' ? asDevice : typeof base.device === 'string' ? base.device : MESSAGE_DEVICE
  const device = registry.get(named)
  const own = lookupOn(device, key)
  if (own !== undefined) return { device, runner: device, handler: own }
  const messageDevice = registry.get(MESSAGE_DEVICE)
  const fallback = lookupOn(messageDevice, key)
  if (fallback === undefined) throw new Error(`dispatch: ${MESSAGE_DEVICE} has no default handler`)
  return { device, runner: messageDevice, handler: fallback }
}

/** Whether a device declares a step deterministic (the handler may still opt out at run time). */
export function isDeterministic(device: Device, key: string, req: Message): boolean {
  const flag = device.deterministic
  if (flag === undefined) return true
  return typeof flag === 'function' ? flag(key, req) : flag
}

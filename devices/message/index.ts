/**
 * @packageDocumentation
 * `message@1.0`: the identity device. A message is its own state; keys read it, `set` and
 * `remove` derive new messages from it. It is also the fallback for every key that another
 * device does not handle (DESIGN §4), so `/~meta@1.0/info/address` reads `address` from the
 * info message through this device.
 *
 * @example
 * ```sh
 * curl 'localhost:8734/~message@1.0&hello=world/hello'            # → world
 * curl 'localhost:8734/~message@1.0&a+integer=41/set&b=x/keys'     # → ["a","b","device"]
 * ```
 */
import type { Device } from '../../core/types.js'
import { getKey, idOfBase, keysOf, removeKeys, setKeys, unsignedIdOfBase } from './message.js'

export const MESSAGE_DEVICE_NAME = 'message@1.0'

/** Builds the message device. It needs nothing from the node. */
export function messageDevice(): Device {
  return {
    name: MESSAGE_DEVICE_NAME,
    info: {
      description: 'Messages as state: read keys, derive new messages with set/remove, compute IDs.',
    },
    keys: {
      get: getKey,
      set: setKeys,
      remove: removeKeys,
      keys: keysOf,
      id: idOfBase,
      'unsigned-id': unsignedIdOfBase,
    },
    default: (key, base) => getKey(base, { path: 'get', key }),
  }
}

export default messageDevice

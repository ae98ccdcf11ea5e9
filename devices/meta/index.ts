/**
 * @packageDocumentation
 * `meta@1.0`: the node describing itself. `info` returns the public node configuration and the
 * node's `address`; `info/address` reads that one key as plain text (aoconnect's `spawn` needs
 * it); `build` names the software (name, version, git commit).
 *
 * @example
 * ```sh
 * curl localhost:8734/~meta@1.0/info
 * curl localhost:8734/~meta@1.0/info/address     # 43 characters
 * ```
 */
import type { Device, Message } from '../../core/types.js'

export const META_DEVICE_NAME = 'meta@1.0'

export interface MetaInit {
  /** The public part of the node configuration, read at call time (it may change). */
  publicInfo(): Message
  /** Software identity. */
  build: Message
}

export function metaDevice(init: MetaInit): Device {
  return {
    name: META_DEVICE_NAME,
    info: { description: 'The node itself: public configuration, address and build.' },
    exports: ['info', 'build'],
    // The configuration can change between two identical requests: never answer from cache.
    deterministic: false,
    keys: {
      info: () => init.publicInfo(),
      build: () => ({ ...init.build }),
    },
  }
}

export default metaDevice

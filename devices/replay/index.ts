/**
 * @packageDocumentation
 * `replay@1.0`: check what the node computed. `verify&hashpath=…` walks the step records of a
 * hashpath back to its root and recomputes every link without executing anything
 * (core/verify.ts). Re-execution (`replay`), `export` and `import` come in their own issue.
 *
 * @example
 * ```sh
 * curl -s 'localhost:8734/~message@1.0&hello=world/hello' -D - | grep hashpath
 * curl "localhost:8734/~replay@1.0/verify&hashpath=$(node -p 'encodeURIComponent(process.argv[1])' "$HP")"
 * ```
 */
import { UnprocessableError } from '../../core/errors.js'
import { verifyHashpath } from '../../core/verify.js'
import type { Device, DeviceComponents, Message } from '../../core/types.js'

export const REPLAY_DEVICE_NAME = 'replay@1.0'

export function replayDevice(components: Pick<DeviceComponents, 'store'>): Device {
  const { store } = components
  return {
    name: REPLAY_DEVICE_NAME,
    info: { description: 'Verify hashpaths against the step ledger: every link recomputed, every message re-hashed.' },
    // A report describes the store as it is now; the same question may get another answer later.
    deterministic: false,
    keys: {
      async verify(_base, req) {
        const hashpath = req.hashpath
        if (typeof hashpath !== 'string' || hashpath === '') {
          throw new UnprocessableError('replay: verify needs "hashpath"', { code: 'missing-hashpath' })
        }
        const report = await verifyHashpath(store, hashpath)
        return JSON.parse(JSON.stringify(report)) as Message
      },
    },
  }
}

export default replayDevice

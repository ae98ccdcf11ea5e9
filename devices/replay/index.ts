/**
 * @packageDocumentation
 * `replay@1.0`: check what a node computed, and move computations between nodes.
 *
 * - `verify&hashpath=…`  walk the step records and recompute every link; nothing executed (fast).
 * - `replay&hashpath=…`  re-execute every step with this node's devices and compare result IDs.
 * - `export&hashpath=…`  the chain as a CAR file (every block it needs, each checkable by hash).
 * - `import` (POST a CAR) check every block against its hash, store the chain, verify it.
 *
 * @example
 * ```sh
 * HP=$(curl -si 'localhost:8734/~message@1.0&a=1/set&b=2/b' | awk -F': ' '/^hashpath/{print $2}' | tr -d '\r')
 * Q=$(node -p 'encodeURIComponent(process.argv[1])' "$HP")
 * curl "localhost:8734/~replay@1.0/verify&hashpath=$Q"
 * curl "localhost:8734/~replay@1.0/replay&hashpath=$Q"
 * curl -o chain.car "localhost:8734/~replay@1.0/export&hashpath=$Q"
 * curl -X POST --data-binary @chain.car -H 'content-type: application/vnd.ipld.car' localhost:9000/~replay@1.0/import
 * ```
 */
import { UnprocessableError } from '../../core/errors.js'
import { replayHashpath } from '../../core/replay.js'
import type { Resolver } from '../../core/resolve.js'
import type { Device, DeviceComponents, Message } from '../../core/types.js'
import { verifyHashpath } from '../../core/verify.js'
import { CAR_CONTENT_TYPE, exportChain, importChain } from './car.js'

export const REPLAY_DEVICE_NAME = 'replay@1.0'

export interface ReplayInit extends Pick<DeviceComponents, 'store'> {
  /** The node's resolver, for re-execution (a getter: the resolver is built after the devices). */
  readonly resolver?: () => Resolver
}

const asMessage = (report: unknown): Message => JSON.parse(JSON.stringify(report)) as Message

function hashpathOf(req: Message): string {
  const hashpath = req.hashpath
  if (typeof hashpath !== 'string' || hashpath === '') throw new UnprocessableError('replay: needs "hashpath"', { code: 'missing-hashpath' })
  return hashpath
}

export function replayDevice(init: ReplayInit): Device {
  const { store } = init
  const resolver = (): Resolver => {
    const r = init.resolver?.()
    if (r === undefined) throw new UnprocessableError('replay: this node was built without a resolver for re-execution', { code: 'replay-unavailable' })
    return r
  }
  return {
    name: REPLAY_DEVICE_NAME,
    info: { description: 'Verify, replay, export and import hashpath chains.' },
    // Reports describe the store as it is now; the same question may get another answer later.
    deterministic: false,
    keys: {
      verify: async (_base, req) => asMessage(await verifyHashpath(store, hashpathOf(req))),
      replay: async (_base, req) => asMessage(await replayHashpath(resolver(), hashpathOf(req))),
      async export(_base, req) {
        return { 'content-type': CAR_CONTENT_TYPE, body: await exportChain(resolver(), hashpathOf(req)) }
      },
      async import(_base, req) {
        const body = req.body
        if (!(body instanceof Uint8Array)) {
          throw new UnprocessableError(`replay: import needs a CAR body (content-type: ${CAR_CONTENT_TYPE})`, { code: 'missing-car' })
        }
        const imported = await importChain(store, body)
        return asMessage({ ...imported, verify: await verifyHashpath(store, imported.hashpath) })
      },
    },
  }
}

export default replayDevice

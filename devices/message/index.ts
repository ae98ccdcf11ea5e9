/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `message@1.0`: the identity device. A message is its own state; keys read it, `set` and
 * `remove` derive new messages from it. It is also the fallback for every key that another
 * device does not handle (DESIGN §4), so `/~meta@1.0/info/address` reads `address` from the
 * info message through this device.
 *
 * Signatures: `commit` adds a native commitment by the node's wallet (commit.ts); `verify`
 * checks every commitment of the base, whatever produced it (an httpsig request, an ANS-104
 * item, a native commit), and `committed` lists the keys they vouch for (verify.ts).
 *
 * @example
 * ```sh
 * curl 'localhost:8734/~message@1.0&hello=world/hello'            # → world
 * curl 'localhost:8734/~message@1.0&a+integer=41/set&b=x/keys'     # → ["a","b","device"]
 * curl -H 'accept: application/json' 'localhost:8734/~message@1.0&a=1/commit/verify'   # → {"valid":true,…}
 * ```
 */
import { UnavailableError } from '../../core/errors.js'
import type { Device } from '../../core/types.js'
import type { Wallet } from '../../identity/keys.js'
import { commitMessage } from './commit.js'
import { getKey, idOfBase, keysOf, removeKeys, setKeys, unsignedIdOfBase } from './message.js'
import { committedKeys, verifyReport } from './verify.js'

export { commitMessage, NATIVE_COMMITMENT_DEVICE, verifyNativeCommitment, type CommitmentTag } from './commit.js'

export const MESSAGE_DEVICE_NAME = 'message@1.0'

export interface MessageDeviceInit {
  /** The node's wallet, for `commit`; without one, `commit` answers 503. */
  readonly wallet?: Wallet
}

/** Builds the message device. Only `commit` needs anything from the node (its wallet). */
export function messageDevice(init: MessageDeviceInit = {}): Device {
  return {
    name: MESSAGE_DEVICE_NAME,
    info: {
      description: 'Messages as state: read keys, derive new messages with set/remove, compute IDs, commit and verify signatures.',
    },
    // A commitment is made with this node's key (and RSA-PSS salts are random): another node,
    // or the same one later, commits differently. Everything else is a pure function.
    deterministic: (key) => key !== 'commit',
    keys: {
      get: getKey,
      set: setKeys,
      remove: removeKeys,
      keys: keysOf,
      id: idOfBase,
      'unsigned-id': unsignedIdOfBase,
      commit: (base) => {
        if (init.wallet === undefined) throw new UnavailableError('message: this node has no wallet to commit with', { code: 'no-wallet' })
        return commitMessage(base, init.wallet)
      },
      verify: (base) => verifyReport(base),
      committed: (base) => committedKeys(base),
    },
    default: (key, base) => getKey(base, { path: 'get', key }),
  }
}

export default messageDevice

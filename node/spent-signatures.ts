/**
 * @module
 * Request signatures spent on privileged actions (DESIGN §11): each one is accepted once.
 *
 * A spent signature is remembered in the node's store under `spent-sig/<sha256 hex of the raw
 * signature>`, written before the action runs, so a captured operator request sent again —
 * tomorrow, after a restart — is refused with 403 `signature-replayed`. Privileged actions are
 * rare, so one small record each costs nothing that matters; nothing on an ordinary request
 * touches this module.
 *
 * Claims are serialised within the process, so two copies of one request racing each other
 * cannot both pass the check. Nodes sharing a Redis store each serialise their own claims
 * only: the store contract has no compare-and-set, and two nodes answering the same captured
 * request in the same instant could both accept it (docs/security.md).
 *
 * @example
 * ```ts
 * const spent = spentSignatures(store)
 * await spent.spend(signature, { by: address, action: 'POST /~meta@1.0/info' })   // once
 * await spent.spend(signature, …)                                                  // 403 signature-replayed
 * ```
 */
import { ForbiddenError } from '../core/errors.js'
import { sha256Hex } from '../core/sha256.js'
import type { Store } from '../core/store.js'

/** The store key space of spent signatures. */
export const SPENT_SIGNATURE_PREFIX = 'spent-sig/'

/** Store key of a spent signature. */
export const spentSignatureKey = (signature: Uint8Array): string => `${SPENT_SIGNATURE_PREFIX}${sha256Hex(signature)}`

/** What is recorded beside a spent signature, for people reading the store. */
export interface SpendNote {
  readonly by: string
  /** `METHOD /target` of the request that spent it. */
  readonly request: string
}

export interface SpentSignatures {
  /** Records `signature` as spent; 403 `signature-replayed` when it already was. */
  spend(signature: Uint8Array, note: SpendNote): Promise<void>
}

export function spentSignatures(store: Store): SpentSignatures {
  let queue: Promise<unknown> = Promise.resolve()
  return {
    spend(signature, note) {
      const key = spentSignatureKey(signature)
      const run = queue.then(async () => {
        if (await store.has(key)) {
          throw new ForbiddenError('request: this signature was already used for a privileged action; sign a new request', {
            code: 'signature-replayed',
          })
        }
        await store.put(key, new TextEncoder().encode(JSON.stringify({ at: new Date().toISOString(), ...note })))
      })
      queue = run.catch(() => undefined)
      return run
    },
  }
}

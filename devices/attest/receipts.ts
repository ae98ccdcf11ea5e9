/**
 * @module
 * Inference receipts, issued by the node around a resolution (issue: attest@1.0 §4).
 *
 * With `attest=true` on the request (a transport flag: it is not hashed, so an attested answer
 * has the same hashpath and result ID as a plain one) or `--receipts always`, an answer whose
 * result is an inference result (it names a `profile-id` and a model sha256) gets a receipt
 * committed with the node key: request ID, result ID, hashpath, model sha256, profile-id,
 * usage, and a report whose nonce is the hash of those fields — so the attestation binds one
 * exact computation. Cache hits get one too: the receipt states what the ledger proves.
 *
 * The receipt is stored as a message (`GET /<receipt ID>` returns it) and named in the
 * `ao-receipt` header, or in the final stream event.
 */
import { isMessage } from '../../core/message.js'
import { idOf } from '../../core/id.js'
import { loadStep, messageWrites } from '../../core/ledger.js'
import type { Store } from '../../core/store.js'
import type { Message, ResolveResult } from '../../core/types.js'
import type { Attestor } from './attestor.js'
import { receiptFieldsFrom } from './receipt.js'

export interface Receipts {
  /** The ID of a stored receipt for this answer, or undefined when none applies. */
  issue(result: ResolveResult, asked: boolean): Promise<string | undefined>
}

export function createReceipts(opts: { attestor: Attestor; store: Store; always: boolean }): Receipts {
  return {
    async issue(result, asked) {
      if (!asked && !opts.always) return undefined
      const value = result.value
      if (!isMessage(value) || typeof value['profile-id'] !== 'string' || !isMessage((value as Message).model as Message)) return undefined
      const record = await loadStep(opts.store, result.hashpath)
      if (record === undefined) return undefined // no-store answers have no ledger entry to attest
      const receipt = await opts.attestor.receipt(receiptFieldsFrom({ requestId: record.request, resultId: result.id, hashpath: result.hashpath, result: value }))
      await opts.store.batch(messageWrites([receipt]))
      return idOf(receipt)
    },
  }
}

/** True when a request's transport keys ask for a receipt. */
export const wantsReceipt = (keys: Record<string, unknown>): boolean => keys.attest === true || keys.attest === 'true' || keys.attest === '1'

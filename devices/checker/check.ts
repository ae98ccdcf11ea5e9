/**
 * @module
 * One spot check: re-execute the step a receipt names, on this node's engine, and compare.
 *
 * - same result ID: `agree`.
 * - a different result on the *same* profile (model sha256 and profile-id): `fault`, with a fault
 *   proof in the existing format (devices/replay fault.ts), checkable offline by anyone.
 * - a different result on a different profile: `gap`, a determinism-gap record naming the profile
 *   fields that differ. Nobody is blamed: two machines that differ may round differently.
 *
 * Which results are checked is `selected(secret, resultId, rate)`: an HMAC under the checker's
 * secret, so a worker cannot predict it, and the check itself never reaches the worker (the
 * inputs come from the shared ledger), so it cannot tell a checked request from any other.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { UnprocessableError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import { loadMessage } from '../../core/ledger.js'
import { isMessage } from '../../core/message.js'
import type { Resolver } from '../../core/resolve.js'
import type { Message, Value } from '../../core/types.js'
import type { Attestor } from '../attest/index.js'
import { faultProofFrom, replayReceipt } from '../replay/index.js'

export const GAP_TYPE = 'hashbeam-determinism-gap'

export type Verdict =
  | { readonly outcome: 'agree' }
  | { readonly outcome: 'fault'; readonly proof: Message }
  | { readonly outcome: 'gap'; readonly gap: Message; readonly fields: readonly string[] }

const UTF8 = new TextEncoder()

/** Whether this checker checks a result: the first 32 bits of HMAC-SHA256(secret, result ID) below rate × 2³². */
export function selected(secret: Uint8Array, resultId: string, rate: number): boolean {
  const mac = hmac(sha256, secret, UTF8.encode(resultId))
  const draw = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0
  return draw < rate * 2 ** 32
}

/** Leaf paths (`sampler.top-k`) of two profile messages whose values differ. */
export function differingFields(a: Value | undefined, b: Value | undefined, prefix = ''): string[] {
  if (isMessage(a) && isMessage(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    return keys.flatMap((k) => differingFields(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`))
  }
  return idOf({ v: a ?? null }) === idOf({ v: b ?? null }) ? [] : [prefix === '' ? '(profile)' : prefix]
}

/** Re-executes the receipt's step here and judges the node's result. */
export async function checkReceipt(resolver: Resolver, attestor: Attestor, receipt: Message, checker: string): Promise<Verdict> {
  const replayed = await replayReceipt(resolver, receipt)
  if (replayed.again.id === receipt.result) return { outcome: 'agree' }
  const ours = replayed.again.value
  if (!isMessage(ours)) throw new UnprocessableError('checker: the step did not give an inference result here', { code: 'not-an-inference-result' })
  if (ours['profile-id'] === receipt['profile-id'] && (ours.model as Message | undefined)?.sha256 === receipt['model-sha256']) {
    return { outcome: 'fault', proof: await faultProofFrom(attestor, receipt, replayed) }
  }
  // The node's own result message is in the shared ledger (stored by ID with its step).
  const theirs = await loadMessage(resolver.store, String(receipt.result)).catch(() => undefined)
  const fields = theirs === undefined ? ['profile-id'] : differingFields(theirs.profile, ours.profile)
  if ((theirs?.model as Message | undefined)?.sha256 !== (ours.model as Message | undefined)?.sha256) fields.push('model.sha256')
  const gap: Message = {
    type: GAP_TYPE, checker, hashpath: String(receipt.hashpath), request: String(receipt.request),
    'node-result': String(receipt.result), 'checker-result': replayed.again.id,
    'node-profile-id': String(receipt['profile-id']), 'checker-profile-id': String(ours['profile-id']),
    fields, 'outputs-agree': theirs !== undefined && idOf({ v: theirs.output ?? null }) === idOf({ v: ours.output ?? null }),
    receipt,
  }
  return { outcome: 'gap', gap, fields }
}

/**
 * @module
 * Fault proofs: evidence that a node signed a result its own inputs do not produce.
 *
 * A verifier holding a node's chain (imported from its CAR export) and its signed receipt
 * replays the step. When the result differs on an *identical* profile (same model sha256, same
 * profile-id), it writes a fault-proof document:
 *
 *     { type: 'hashbeam-fault-proof', receipt: <the accused node's signed receipt>,
 *       inputs: { base-hashpath, base: <root base message, when the step is the first>, request },
 *       recomputed: <the verifier's result message>, verifier-receipt: <its own signed receipt> }
 *
 * A third party checks it without trusting either node (`verifyFaultProof`): both receipts'
 * signatures; that both name the same request, hashpath, model and profile; that the included
 * request hashes to that request ID and, with the base hashpath, to that hashpath; that the
 * recomputed result hashes to the verifier's result and names the same profile; and that the two
 * results differ. Then two keys signed conflicting results for one computation on one profile:
 * at least one of them is faulty, and anyone with the model can re-execute the included inputs
 * to see which. A node with the devices does exactly that when asked (`reexecute`).
 */
import { InvalidRequestError, UnprocessableError } from '../../core/errors.js'
import { hashpathOf } from '../../core/hashpath.js'
import { idOf } from '../../core/id.js'
import { loadMessage, loadStep } from '../../core/ledger.js'
import { isMessage } from '../../core/message.js'
import type { Resolver } from '../../core/resolve.js'
import type { Message } from '../../core/types.js'
import { receiptFieldsFrom, verifyDocument, type Attestor } from '../attest/index.js'

export const FAULT_PROOF_TYPE = 'hashbeam-fault-proof'

export interface FaultCheck { readonly name: string; readonly ok: boolean; readonly detail: string }
export interface FaultVerdict {
  readonly valid: boolean
  readonly checks: readonly FaultCheck[]
  /** With re-execution: whose result this node reproduced ('accused', 'verifier' or 'neither'). */
  readonly reproduced?: 'accused' | 'verifier' | 'neither'
}

const str = (m: Message, key: string): string => (typeof m[key] === 'string' ? (m[key] as string) : '')

/** A receipt's step, re-executed here: the inputs from the ledger and this node's result. */
export interface ReplayedReceipt {
  readonly record: { readonly base: string; readonly request: string }
  readonly request: Message
  /** The root base message, when the step is the first of its chain. */
  readonly rootBase: Message | undefined
  readonly again: { readonly id: string; readonly value: unknown }
}

/** Checks a receipt's signature, reads its step's inputs from the ledger and re-executes the step. */
export async function replayReceipt(resolver: Resolver, receipt: Message): Promise<ReplayedReceipt> {
  const signed = await verifyDocument(receipt)
  if (!signed.valid || signed.kind !== 'receipt') throw new UnprocessableError('replay: that is not a validly signed receipt', { code: 'invalid-receipt' })
  const hashpath = str(receipt, 'hashpath')
  const record = await loadStep(resolver.store, hashpath)
  if (record === undefined) throw new UnprocessableError(`replay: no step record for ${hashpath}: import the accused node's export first`, { code: 'missing-record' })
  if (record.request !== str(receipt, 'request')) throw new UnprocessableError('replay: the ledger and the receipt name different requests', { code: 'receipt-mismatch' })
  const request = await loadMessage(resolver.store, record.request)
  const rootBase = record.base.includes('/') ? undefined : await loadMessage(resolver.store, record.base)
  const base = rootBase ?? (await loadMessage(resolver.store, (await loadStep(resolver.store, record.base))?.result ?? ''))
  const again = await resolver.step(base, record.base, request, { cache: { noCache: true, noStore: true } })
  return { record, request, rootBase, again }
}

/** The fault-proof document for a replayed receipt whose result differs on the same profile. */
export async function faultProofFrom(attestor: Attestor, receipt: Message, replayed: ReplayedReceipt): Promise<Message> {
  const { record, request, rootBase, again } = replayed
  const recomputed = again.value as Message
  const verifierReceipt = await attestor.receipt(receiptFieldsFrom({ requestId: record.request, resultId: again.id, hashpath: str(receipt, 'hashpath'), result: recomputed }))
  return {
    type: FAULT_PROOF_TYPE,
    receipt,
    inputs: { 'base-hashpath': record.base, ...(rootBase === undefined ? {} : { base: rootBase }), request },
    recomputed,
    'verifier-receipt': verifierReceipt,
  }
}

/** Replays the step a receipt names; returns a fault proof, or refuses (422) when there is no fault. */
export async function createFaultProof(resolver: Resolver, attestor: Attestor, receipt: Message): Promise<Message> {
  const replayed = await replayReceipt(resolver, receipt)
  if (replayed.again.id === str(receipt, 'result')) throw new UnprocessableError('replay: the step reproduces the signed result: no fault', { code: 'no-fault' })
  const recomputed = replayed.again.value
  if (!isMessage(recomputed) || recomputed['profile-id'] !== receipt['profile-id']) {
    throw new UnprocessableError('replay: the result differs, but on another profile: a difference of machines, not a fault', { code: 'profile-mismatch' })
  }
  return faultProofFrom(attestor, receipt, replayed)
}

/** Checks a fault proof offline; with `reexecute`, also recomputes the step on this node. */
export async function verifyFaultProof(proof: Message, reexecute?: Resolver): Promise<FaultVerdict> {
  const checks: FaultCheck[] = []
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })
  if (proof.type !== FAULT_PROOF_TYPE) throw new InvalidRequestError(`replay: not a ${FAULT_PROOF_TYPE} document`, { code: 'invalid-fault-proof' })
  const accused = isMessage(proof.receipt) ? proof.receipt : {}
  const verifier = isMessage(proof['verifier-receipt']) ? proof['verifier-receipt'] : {}
  const inputs = isMessage(proof.inputs) ? proof.inputs : {}
  const request = isMessage(inputs.request) ? inputs.request : {}
  const recomputed = isMessage(proof.recomputed) ? proof.recomputed : {}
  const a = await verifyDocument(accused)
  const b = await verifyDocument(verifier)
  add('accused-receipt-signature', a.valid && a.kind === 'receipt', `signed by ${a.address ?? 'nobody'}`)
  add('verifier-receipt-signature', b.valid && b.kind === 'receipt', `signed by ${b.address ?? 'nobody'}`)
  for (const key of ['request', 'hashpath', 'model-sha256', 'profile-id']) {
    add(`same-${key}`, str(accused, key) !== '' && str(accused, key) === str(verifier, key), `${str(accused, key)} vs ${str(verifier, key)}`)
  }
  add('request-hashes-to-its-id', idOf(request) === str(accused, 'request'), 'the included request is the one both receipts name')
  const baseHashpath = str(inputs, 'base-hashpath')
  const root = isMessage(inputs.base) ? inputs.base : undefined
  add('base-hashes-to-its-id', baseHashpath.includes('/') || (root !== undefined && idOf(root) === baseHashpath), 'the root base is included and hashes to the base hashpath')
  let recomputedHashpath = ''
  try {
    recomputedHashpath = hashpathOf(baseHashpath, request, root === undefined ? undefined : root['hashpath-alg'] === 'accumulate-256' ? 'accumulate-256' : undefined)
  } catch {
    // A malformed base hashpath simply fails the check below.
  }
  add('inputs-give-the-hashpath', recomputedHashpath === str(accused, 'hashpath'), recomputedHashpath)
  add('recomputed-hashes-to-verifier-result', idOf(recomputed) === str(verifier, 'result'), 'the recomputed result is the one the verifier signed')
  add('recomputed-on-the-same-profile', recomputed['profile-id'] === str(accused, 'profile-id'), str(recomputed, 'profile-id'))
  add('results-differ', str(accused, 'result') !== '' && str(accused, 'result') !== str(verifier, 'result'), `${str(accused, 'result')} vs ${str(verifier, 'result')}`)
  const valid = checks.every((c) => c.ok)
  if (!valid || reexecute === undefined) return { valid, checks }
  const base = root ?? (await loadMessage(reexecute.store, (await loadStep(reexecute.store, baseHashpath))?.result ?? ''))
  const ours = await reexecute.step(base, baseHashpath, request, { cache: { noCache: true, noStore: true } })
  const reproduced = ours.id === str(accused, 'result') ? 'accused' : ours.id === str(verifier, 'result') ? 'verifier' : 'neither'
  add('reexecuted-here', true, `this node computed ${ours.id}`)
  return { valid, checks, reproduced }
}

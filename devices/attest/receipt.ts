/**
 * @module
 * Inference receipts: a signed statement that binds one exact computation.
 *
 *   { type: inference-receipt, format: hashbeam-attest/1,
 *     request: <request ID>, result: <result ID>, hashpath,
 *     model-sha256, profile-id, usage {prompt-tokens, completion-tokens, total-tokens},
 *     nonce: hex(sha256(DAG-CBOR {request, result, hashpath, model-sha256, profile-id, usage})),
 *     report: <an attestation report whose nonce is that same value>,
 *     commitments { <id>: native commitment by the node wallet } }
 *
 * Because the report's nonce is derived from the computation, and the report's TEE binding is
 * derived from the report, one chain of hashes runs from the hardware evidence (when there is
 * any) to these six fields: the attestation cannot be reused for another request, result,
 * model or determinism profile. What a receipt proves is only as strong as its report's trust
 * label: self-signed, it proves that the holder of this key claimed this computation; it does
 * not prove the claim true — replaying the hashpath on the same profile does that.
 *
 * Receipts are issued out of band (after an inference step, stored by ID and referenced from a
 * response header by the HTTP layer), never inside the deterministic result.
 */
import { sha256Hex } from '../../core/sha256.js'
import { encodeMessage } from '../../core/codec.js'
import { InvalidRequestError } from '../../core/errors.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import type { Wallet } from '../../identity/keys.js'
import { commitMessage } from '../message/index.js'
import { ATTEST_FORMAT, RECEIPT_TYPE } from './constants.js'
import { createReport, type ReportOptions } from './report.js'

/** What a receipt binds. IDs are AO-form (43-character) IDs; usage is the result's usage map. */
export interface ReceiptFields {
  request: string
  result: string
  hashpath: string
  modelSha256: string
  profileId: string
  usage: Message
}

/** The fields as the message whose canonical encoding is hashed (keys as they appear in the receipt). */
export function receiptFieldsMessage(f: ReceiptFields): Message {
  return { request: f.request, result: f.result, hashpath: f.hashpath, 'model-sha256': f.modelSha256, 'profile-id': f.profileId, usage: f.usage }
}

/** hex(sha256(DAG-CBOR of the six fields, message rules applied)): the nonce of the receipt and of its report. */
export function receiptNonce(f: ReceiptFields): string {
  return sha256Hex(encodeMessage(receiptFieldsMessage(f)))
}

/**
 * The fields of a gpu-infer result (`resultMessage`: `model.sha256`, `profile-id`, `usage`)
 * for the step that produced it. Throws 400 `not-an-inference-result` for anything else.
 */
export function receiptFieldsFrom(step: { requestId: string; resultId: string; hashpath: string; result: Message }): ReceiptFields {
  const { result } = step
  const model = result.model
  const sha = isMessage(model) ? model.sha256 : undefined
  if (typeof sha !== 'string' || typeof result['profile-id'] !== 'string' || !isMessage(result.usage)) {
    throw new InvalidRequestError('attest: a receipt needs an inference result with model.sha256, profile-id and usage', { code: 'not-an-inference-result' })
  }
  return { request: step.requestId, result: step.resultId, hashpath: step.hashpath, modelSha256: sha, profileId: result['profile-id'], usage: result.usage }
}

/**
 * Issues a receipt: a report whose nonce is the receipt nonce (TEE evidence, when the node has
 * any, is collected for it), wrapped with the fields and committed with the node key.
 */
export async function issueReceipt(fields: ReceiptFields, wallet: Wallet, reportOptions: Omit<ReportOptions, 'wallet'>): Promise<Message> {
  const nonce = receiptNonce(fields)
  const report = await createReport(nonce, { ...reportOptions, wallet })
  return commitMessage({ type: RECEIPT_TYPE, format: ATTEST_FORMAT, ...receiptFieldsMessage(fields), nonce, report }, wallet, 'receipt')
}

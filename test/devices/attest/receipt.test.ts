// Inference receipts: the nonce is the hash of exactly one computation, the attached report
// carries it, and changing any of the six fields, the report, or the signer is caught.
import { sha256 } from '@noble/hashes/sha2.js'
import * as dagCbor from '@ipld/dag-cbor'
import { beforeAll, describe, expect, it } from 'vitest'
import { idOf } from '../../../core/id.js'
import type { Message } from '../../../core/types.js'
import { issueReceipt, receiptFieldsFrom, receiptNonce, type ReceiptFields } from '../../../devices/attest/receipt.js'
import { createReport } from '../../../devices/attest/report.js'
import { verifyDocument, type VerifyResult } from '../../../devices/attest/verify.js'
import { commitMessage } from '../../../devices/message/commit.js'
import { createWallet, type Wallet } from '../../../identity/keys.js'
import { fixedHardware, fixedMeasurement, gpuHardware, gpuVerifier } from './helpers/attest.js'
import { nvidiaPki, type NvidiaPki } from './helpers/spdm.js'

let wallet: Wallet
let other: Wallet
let nvidia: NvidiaPki
const reportOptions = () => ({ measurement: fixedMeasurement(), hardware: fixedHardware, providers: [] })

const profile = { backend: 'cuda', 'llama-cpp-build': 'ggml-org/llama.cpp@b4567', seed: 42 }
const inference: Message = {
  output: 'hello', 'finish-reason': 'stop',
  usage: { 'prompt-tokens': 5, 'completion-tokens': 2, 'total-tokens': 7 },
  model: { name: 'tiny', sha256: 'c0'.repeat(32), bytes: 1234 },
  profile, 'profile-id': idOf(profile),
}
const fields: ReceiptFields = receiptFieldsFrom({ requestId: 'R'.repeat(43), resultId: idOf(inference), hashpath: `${'B'.repeat(43)}/${'S'.repeat(43)}`, result: inference })

beforeAll(async () => {
  ;[wallet, other, nvidia] = await Promise.all([createWallet('ed25519'), createWallet('ed25519'), nvidiaPki()])
})

const failing = (r: VerifyResult) => r.checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name)
const resign = (doc: Message, changes: Message, signer = wallet): Message => {
  const { commitments: _c, ...rest } = doc
  return commitMessage({ ...rest, ...changes }, signer, 'receipt')
}

describe('receipts', () => {
  it('takes its fields from a gpu-infer result, and refuses anything else', () => {
    expect(fields).toEqual({
      request: 'R'.repeat(43), result: idOf(inference), hashpath: `${'B'.repeat(43)}/${'S'.repeat(43)}`,
      modelSha256: 'c0'.repeat(32), profileId: idOf(profile), usage: inference.usage,
    })
    for (const result of [{ output: 'x' }, { ...inference, model: 'tiny' }, { ...inference, usage: 7 }] as Message[]) {
      expect(() => receiptFieldsFrom({ requestId: 'r', resultId: 'x', hashpath: 'h', result })).toThrow(expect.objectContaining({ status: 400, code: 'not-an-inference-result' }))
    }
  })

  it('nonce = sha256 of the DAG-CBOR of {request, result, hashpath, model-sha256, profile-id, usage}', () => {
    const expected = sha256(dagCbor.encode({
      request: fields.request, result: fields.result, hashpath: fields.hashpath,
      'model-sha256': fields.modelSha256, 'profile-id': fields.profileId, usage: fields.usage,
    }))
    expect(receiptNonce(fields)).toBe(Buffer.from(expected).toString('hex'))
    expect(receiptNonce({ ...fields, usage: { ...fields.usage, 'total-tokens': 8 } })).not.toBe(receiptNonce(fields))
  })

  it('a receipt binds the fields, carries a report with the same nonce, and verifies offline', async () => {
    const receipt = await issueReceipt(fields, wallet, reportOptions())
    const nonce = receiptNonce(fields)
    expect(receipt).toMatchObject({
      type: 'inference-receipt', format: 'hashbeam-attest/1', request: fields.request, result: fields.result, hashpath: fields.hashpath,
      'model-sha256': fields.modelSha256, 'profile-id': fields.profileId, usage: fields.usage, nonce,
      report: { type: 'attestation-report', nonce, trust: 'self-signed' },
    })
    const r = await verifyDocument(JSON.parse(JSON.stringify(receipt)), { expectedNonce: nonce })
    expect(r).toMatchObject({ valid: true, kind: 'receipt', trust: 'self-signed' })
    expect(r.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['signature', 'nonce-binding', 'expected-nonce', 'report:signature', 'report:nonce-binding']))
    // Inside a receipt the report's nonce is compared with the recomputed one: a required check.
    const inner = r.checks.find((c) => c.name === 'report:nonce-binding')!
    expect([inner.ok, inner.required !== false]).toEqual([true, true])
  })

  it.each([
    ['the request', { request: 'Q'.repeat(43) }], ['the result', { result: 'Z'.repeat(43) }], ['the hashpath', { hashpath: 'x/y' }],
    ['the model', { 'model-sha256': 'ff'.repeat(32) }], ['the profile', { 'profile-id': 'P'.repeat(43) }],
    ['the usage', { usage: { 'prompt-tokens': 5, 'completion-tokens': 200, 'total-tokens': 205 } }],
  ])('changing %s breaks the binding — even when the node itself re-signs the receipt', async (_what, change) => {
    const receipt = await issueReceipt(fields, wallet, reportOptions())
    const edited = await verifyDocument({ ...receipt, ...change })
    expect(failing(edited)).toEqual(['signature', 'nonce-binding', 'report:nonce-binding'])
    const resigned = await verifyDocument(resign(receipt, change))
    expect(failing(resigned)).toEqual(['nonce-binding', 'report:nonce-binding'])
  })

  it('a report for another computation, or by another key, cannot be attached', async () => {
    const receipt = await issueReceipt(fields, wallet, reportOptions())
    const stranger = await createReport('00'.repeat(32), { wallet, ...reportOptions() })
    expect(failing(await verifyDocument(resign(receipt, { report: stranger })))).toEqual(['nonce-binding', 'report:nonce-binding'])
    const otherKey = await createReport(receiptNonce(fields), { wallet: other, ...reportOptions() })
    expect(failing(await verifyDocument(resign(receipt, { report: otherKey })))).toEqual(['signature'])
    expect(failing(await verifyDocument(resign(receipt, {}, other)))).toEqual(['signature'])
  })

  it('an expected nonce that is not this computation fails; malformed receipts fail their format', async () => {
    const receipt = await issueReceipt(fields, wallet, reportOptions())
    expect(failing(await verifyDocument(receipt, { expectedNonce: 'aa'.repeat(32) }))).toEqual(['expected-nonce'])
    for (const [change, detail] of [[{ usage: 'x' }, 'usage'], [{ report: 'x' }, 'under "report"'], [{ result: 1 }, '"result" must be a string']] as const) {
      const r = await verifyDocument({ ...receipt, ...change })
      expect(r).toMatchObject({ valid: false, kind: 'receipt', trust: 'none', checks: [expect.objectContaining({ name: 'format', detail: expect.stringContaining(detail) })] })
    }
  })

  it('on a CC GPU the receipt is tee-attested: the GPU signed a nonce derived from this computation', async () => {
    const receipt = await issueReceipt(fields, wallet, { ...reportOptions(), providers: [gpuHardware(nvidia)] })
    expect((receipt.report as Message).trust).toBe('tee-attested')
    const r = await verifyDocument(receipt, { providers: [gpuVerifier(nvidia)] })
    expect(r).toMatchObject({ valid: true, trust: 'tee-attested' })
    expect(r.checks.find((c) => c.name === 'report:nvidia-cc:nonce')!.ok).toBe(true)
  })
})

/**
 * @module
 * `verify`: one entry point for both documents this device signs, working offline from the
 * document alone. `{valid, kind, trust, address, checks: [{name, ok, detail, required?}]}`.
 *
 * `valid` is true when every *required* check passed. A check is advisory (`required: false`)
 * only when the verifier configured nothing for it — no pinned address, no expected nonce, an
 * empty trusted list: it then reports `ok: false` with the reason and leaves `valid` alone, so
 * "authentic but unappraised" and "appraised and trusted" stay distinguishable without making
 * every unconfigured verifier answer "invalid". A relying party that needs the measurement
 * trusted configures the list; a miss is then required and fails.
 *
 * Receipts: the receipt's nonce is recomputed from its six fields; the embedded report must
 * carry that same nonce and be signed by the same key as the receipt; the report is then
 * verified as above (its checks prefixed `report:`), and the receipt's trust is the report's.
 */
import { isMessage } from '../../core/message.js'
import { isPrivateKey } from '../../core/keys.js'
import type { Message } from '../../core/types.js'
import { RECEIPT_FIELDS, RECEIPT_TYPE, REPORT_TYPE, TRANSPORT_KEYS } from './constants.js'
import { receiptNonce } from './receipt.js'
import { signatureCheck, verifyReport, type VerifyOptions, type VerifyResult } from './verify-report.js'
import { check, requiredPass, type Check } from './tee/provider.js'

export type { VerifyOptions, VerifyResult } from './verify-report.js'

/** Verifies a report or a receipt. Never throws for a bad document: it reports. */
export async function verifyDocument(doc: Message, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const kind = doc.type === REPORT_TYPE ? 'report' : doc.type === RECEIPT_TYPE ? 'receipt' : 'unknown'
  try {
    if (kind === 'report') return await verifyReport(doc, opts)
    if (kind === 'receipt') return await verifyReceipt(doc, opts)
  } catch (err) {
    // Values outside the message data model cannot be hashed, so nothing about them verifies.
    return { valid: false, kind, trust: 'none', checks: [check('format', false, `cannot be hashed as a message: ${(err as Error).message}`)] }
  }
  return { valid: false, kind, trust: 'none', checks: [check('format', false, `not a ${REPORT_TYPE} or ${RECEIPT_TYPE} (type ${String(doc.type)})`)] }
}

async function verifyReceipt(receipt: Message, opts: VerifyOptions): Promise<VerifyResult> {
  const problem = receiptShape(receipt)
  if (problem !== undefined) return { valid: false, kind: 'receipt', trust: 'none', checks: [check('format', false, problem)] }
  const report = receipt.report as Message
  const nonce = receiptNonce({
    request: receipt.request as string, result: receipt.result as string, hashpath: receipt.hashpath as string,
    modelSha256: receipt['model-sha256'] as string, profileId: receipt['profile-id'] as string, usage: receipt.usage as Message,
  })
  const checks: Check[] = [check('format', true, `${RECEIPT_TYPE} for result ${String(receipt.result)}`)]
  const address = typeof report.address === 'string' ? report.address : ''
  const publicKey = typeof report['public-key'] === 'string' ? report['public-key'] : ''
  const keyType = typeof report['key-type'] === 'string' ? report['key-type'] : undefined
  const signature = signatureCheck(receipt, address, publicKey, keyType, 'receipt')
  checks.push(signature)
  const bound = receipt.nonce === nonce && report.nonce === nonce
  checks.push(check('nonce-binding', bound, bound
    ? `nonce ${nonce} = sha256 of {${RECEIPT_FIELDS.join(', ')}}, and the report carries it`
    : receipt.nonce !== nonce ? `the fields hash to ${nonce}, the receipt says ${String(receipt.nonce)}` : `the report's nonce ${String(report.nonce)} is not the receipt's`))
  if (opts.expectedNonce !== undefined) {
    checks.push(check('expected-nonce', opts.expectedNonce.toLowerCase() === nonce, `expected ${opts.expectedNonce.toLowerCase()}, computed ${nonce}`))
  }
  // The report is checked against the nonce the fields produce, not the one it claims.
  const inner = await verifyReport(report, { ...opts, expectedNonce: nonce }, 'report:')
  checks.push(...inner.checks)
  const valid = requiredPass(checks)
  return { valid, kind: 'receipt', trust: signature.ok ? inner.trust : 'none', ...(address !== '' && { address }), checks }
}

function receiptShape(r: Message): string | undefined {
  for (const key of ['request', 'result', 'hashpath', 'model-sha256', 'profile-id', 'nonce'] as const) {
    if (typeof r[key] !== 'string') return `receipt field "${key}" must be a string`
  }
  if (!isMessage(r.usage)) return 'receipt field "usage" must be a map'
  if (!isMessage(r.report)) return 'a receipt carries its attestation report under "report"'
  return undefined
}

/**
 * The document in a verify request: the `document` key when it is a map, else the request's
 * own keys (the HTTP layer spreads a JSON body into the request) minus transport keys. When a
 * commitment lists the keys it covers, exactly those are taken: any key the transport added
 * falls away, and a key removed or added by anyone else breaks the signature, as it should.
 * The list only picks keys, it vouches for nothing: reports and receipts carry native
 * commitments, which sign the unsigned ID of the whole document, so a list that names a key the
 * signer never signed, or leaves one out, picks a document whose signature check then fails.
 */
export function documentFromRequest(req: Message): Message {
  if (isMessage(req.document)) return req.document
  const doc: Message = {}
  for (const [key, value] of Object.entries(req)) {
    if (!TRANSPORT_KEYS.includes(key) && !isPrivateKey(key)) doc[key] = value
  }
  const commitments = isMessage(doc.commitments) ? Object.values(doc.commitments) : []
  const covered = commitments.find((c) => isMessage(c) && Array.isArray(c.committed))
  if (!isMessage(covered) || !Array.isArray(covered.committed)) return doc
  const keys = covered.committed.filter((k): k is string => typeof k === 'string')
  const picked: Message = { commitments: doc.commitments! }
  for (const key of keys) {
    const value = key in doc ? doc[key] : req[key]
    if (value !== undefined) picked[key] = value
  }
  return picked
}

/** The verify options a request carries (`expected-nonce`, `expected-address`). */
export function requestVerifyOptions(req: Message): Pick<VerifyOptions, 'expectedNonce' | 'expectedAddress'> {
  const nonce = req['expected-nonce']
  const address = req['expected-address']
  return {
    ...(typeof nonce === 'string' && nonce !== '' && { expectedNonce: nonce }),
    ...(typeof address === 'string' && address !== '' && { expectedAddress: address }),
  }
}

/** A verify result as a message (the `verify` key's answer). */
export function verifyResultMessage(r: VerifyResult): Message {
  return {
    valid: r.valid, kind: r.kind, trust: r.trust, ...(r.address !== undefined && { address: r.address }),
    checks: r.checks.map((c): Message => ({ name: c.name, ok: c.ok, required: c.required !== false, detail: c.detail })),
  }
}

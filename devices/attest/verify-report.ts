/**
 * @module
 * Verifying an attestation report offline, from the document alone (it carries the node's
 * public key; the verifier may pin the address it expects). Checks, in order:
 *
 * - `format`: the report's shape and types;
 * - `signature`: a native commitment by the report's own address verifies over the unsigned
 *   ID, with the very key the report names (`public-key`, `key-type`);
 * - `address`: equals the pinned address (advisory when none is pinned: then anyone can make a
 *   valid self-signed report with a key of their own — it proves possession, not identity);
 * - `nonce-binding`: equals the nonce the verifier sent (advisory when none is given: the
 *   report is authentic but its freshness is unknown);
 * - `measurement`: in the verifier's trusted list (advisory when the list is empty);
 * - `measurement-parts`: the listed parts combine to the measurement;
 * - TEE checks from the verifier's providers over the recomputed binding — required when the
 *   report claims `tee-attested`, informational otherwise;
 * - `trust-label`: the claimed label is supported (never raised: a self-signed report whose
 *   evidence happens to verify stays self-signed).
 */
import { sha256 } from '../../core/sha256.js'
import { fromBase64Url, toBase64Url } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import { addressOf } from '../../identity/keys.js'
import { verifyNativeCommitment, type CommitmentTag } from '../message/index.js'
import { ATTEST_FORMAT, REPORT_TYPE, TRUST_LABELS, type TrustLabel } from './constants.js'
import { combineParts, type MeasurementPart } from './measurement.js'
import { parseNonce, teeBinding } from './report.js'
import { check, requiredPass, trustedListCheck, type Check, type TeeProvider } from './tee/provider.js'

export interface VerifyOptions {
  /** Trusted software measurements (hex). */
  trustedMeasurements?: readonly string[]
  /** Verifiers by TEE type (their roots and trusted lists). */
  providers?: readonly TeeProvider[]
  /** The address the verifier expects (pins the identity). */
  expectedAddress?: string
  /** The nonce the verifier sent. */
  expectedNonce?: string
  /** The time certificates are checked at. */
  now?: Date
}

export interface VerifyResult {
  valid: boolean
  kind: 'report' | 'receipt' | 'unknown'
  /** What the verifier vouches for: never more than the document claims. */
  trust: TrustLabel | 'none'
  address?: string
  checks: Check[]
}

const TYPE_OF_KIND = { rsa: 'rsa-pss-sha512', ed25519: 'ed25519' } as const

/** The report's commitment by its own address, checked. */
export function signatureCheck(
  doc: Message, address: string, publicKey: string, keyType: string | undefined, tag: CommitmentTag, name = 'signature',
): Check {
  const commitments = isMessage(doc.commitments) ? doc.commitments : {}
  const own = Object.entries(commitments).find(([, c]) => isMessage(c) && c.committer === address)
  if (own === undefined) return check(name, false, `no commitment by ${address}`)
  const [id, c] = own as [string, Message]
  const keyid = typeof c.keyid === 'string' ? c.keyid.replace(/^publickey:/, '') : ''
  if (keyid !== publicKey) return check(name, false, 'the commitment was made with another key than the document names')
  if (keyType !== undefined && c.type !== TYPE_OF_KIND[keyType as keyof typeof TYPE_OF_KIND]) {
    return check(name, false, `a ${keyType} key cannot make a "${String(c.type)}" commitment`)
  }
  // The ID is a label derived from the signature, outside what is signed; a transport that
  // lower-cased map keys (JSON bodies) must not make a good signature fail, so the label is
  // compared case-insensitively and the signature is checked under the ID it derives from.
  let derived = ''
  try {
    derived = typeof c.signature === 'string' ? toBase64Url(sha256(fromBase64Url(c.signature))) : ''
  } catch {
    return check(name, false, 'the signature is not base64url')
  }
  if (derived.toLowerCase() !== id.toLowerCase()) return check(name, false, 'the commitment ID is not the hash of its signature')
  const result = verifyNativeCommitment(doc, derived, c, tag)
  if (!result.valid) return check(name, false, result.reason ?? 'the signature does not verify')
  return check(name, true, `${String(c.type)} signature by ${address} over the unsigned ID`)
}

/** Verifies a report; `prefix` names its checks when nested in a receipt. */
export async function verifyReport(report: Message, opts: VerifyOptions, prefix = ''): Promise<VerifyResult> {
  const n = (name: string): string => `${prefix}${name}`
  const shape = reportShape(report)
  if (typeof shape === 'string') return { valid: false, kind: 'report', trust: 'none', checks: [check(n('format'), false, shape)] }
  const { address, publicKey, keyType, nonce, measurement, parts, claimed, tee } = shape
  const checks: Check[] = [check(n('format'), true, `${REPORT_TYPE} ${ATTEST_FORMAT}, issued ${String(report['issued-at'])}`)]
  let keyMatches = false
  try {
    keyMatches = addressOf(fromBase64Url(publicKey)) === address
  } catch {
    keyMatches = false
  }
  const signature = keyMatches ? signatureCheck(report, address, publicKey, keyType, 'report', n('signature')) : check(n('signature'), false, 'the address is not the hash of the public key')
  checks.push(signature)
  checks.push(opts.expectedAddress === undefined
    ? check(n('address'), false, `no expected address pinned; signer ${address} is self-certifying`, false)
    : check(n('address'), opts.expectedAddress === address, opts.expectedAddress === address ? `signer is the pinned ${address}` : `signer ${address} is not the pinned ${opts.expectedAddress}`))
  checks.push(nonceCheck(n('nonce-binding'), nonce, opts.expectedNonce))
  checks.push(trustedListCheck(n('measurement'), measurement, opts.trustedMeasurements, 'software measurement'))
  const combined = combineParts(parts)
  checks.push(check(n('measurement-parts'), combined === measurement, combined === measurement ? parts.map((p) => p.name).join(', ') : `the parts combine to ${combined}`))
  const teeChecks = await verifyTee(report, tee, opts, claimed === 'tee-attested')
  checks.push(...teeChecks.checks.map((c) => ({ ...c, name: n(c.name) })))
  const supported = claimed === 'self-signed' || (teeChecks.present && teeChecks.ok)
  checks.push(check(n('trust-label'), supported, claimed === 'tee-attested'
    ? (supported ? 'tee-attested: the TEE evidence verifies and binds this report' : 'claims tee-attested, but the TEE evidence does not verify')
    : (teeChecks.present && teeChecks.ok ? 'self-signed (the TEE evidence verifies, but the label is not raised)' : 'self-signed: only the key vouches for this report')))
  const valid = requiredPass(checks)
  const trust: VerifyResult['trust'] = !signature.ok ? 'none' : claimed === 'tee-attested' && supported ? 'tee-attested' : 'self-signed'
  return { valid, kind: 'report', trust, address, checks }
}

function nonceCheck(name: string, nonce: string, expected: string | undefined): Check {
  if (expected === undefined) return check(name, false, `nonce ${nonce} is signed; no expected nonce given, so freshness is unknown`, false)
  const ok = expected.toLowerCase() === nonce
  return check(name, ok, ok ? 'the signed nonce is the expected one' : `signed nonce ${nonce} is not the expected ${expected.toLowerCase()}`)
}

async function verifyTee(report: Message, tee: Message, opts: VerifyOptions, required: boolean): Promise<{ present: boolean; ok: boolean; checks: Check[] }> {
  if (tee.type === 'none') return { present: false, ok: false, checks: [] }
  const pieces = tee.type === 'composite' ? (Array.isArray(tee.evidence) ? tee.evidence : []) : [tee]
  const binding = teeBinding(report)
  const checks: Check[] = []
  let ok = pieces.length > 0
  for (const piece of pieces) {
    const type = isMessage(piece) ? String(piece.type) : '?'
    const provider = opts.providers?.find((p) => p.type === type)
    const got = provider === undefined || !isMessage(piece) || piece.evidence === undefined
      ? [check(`tee:${type}`, false, provider === undefined ? `no verifier configured for TEE type "${type}"` : 'no evidence')]
      : await provider.verify(piece.evidence, binding, opts.now === undefined ? {} : { now: opts.now })
        .catch((err: unknown) => [check(`tee:${type}`, false, `the verifier failed: ${(err as Error).message}`)])
    ok = ok && requiredPass(got)
    checks.push(...got)
  }
  // A self-signed report's evidence is reported but never decides validity.
  return { present: true, ok, checks: required ? checks : checks.map((c) => ({ ...c, required: false })) }
}

interface Shape {
  address: string
  publicKey: string
  keyType: string | undefined
  nonce: string
  measurement: string
  parts: MeasurementPart[]
  claimed: TrustLabel
  tee: Message
}

function reportShape(r: Message): Shape | string {
  if (r.type !== REPORT_TYPE) return `not an ${REPORT_TYPE} (type ${String(r.type)})`
  if (r.format !== ATTEST_FORMAT) return `unknown format ${String(r.format)}`
  const { address, measurement, nonce, trust, tee } = r
  const publicKey = r['public-key']
  const keyType = r['key-type']
  if (typeof address !== 'string' || typeof publicKey !== 'string') return 'address and public-key must be strings'
  if (keyType !== 'rsa' && keyType !== 'ed25519') return 'key-type must be rsa or ed25519'
  if (typeof measurement !== 'string' || !/^[0-9a-f]{64}$/.test(measurement)) return 'measurement must be 64 hex characters'
  if (!TRUST_LABELS.includes(trust as TrustLabel)) return `trust must be one of ${TRUST_LABELS.join(', ')}`
  if (!isMessage(tee) || typeof tee.type !== 'string') return 'tee must be {type, evidence}'
  const partsValue = r['measurement-parts']
  if (!Array.isArray(partsValue) || !partsValue.every((p) => isMessage(p) && typeof p.name === 'string' && typeof p.sha256 === 'string')) {
    return 'measurement-parts must be a list of {name, sha256, detail}'
  }
  let parsedNonce: string
  try {
    parsedNonce = parseNonce(nonce)
  } catch (err) {
    return (err as Error).message
  }
  if (parsedNonce !== nonce) return 'the nonce must be lower-case hex'
  const parts = partsValue.map((p) => ({ name: String((p as Message).name), sha256: String((p as Message).sha256), detail: String((p as Message).detail ?? '') }))
  return { address, publicKey, keyType, nonce: parsedNonce, measurement, parts, claimed: trust as TrustLabel, tee }
}

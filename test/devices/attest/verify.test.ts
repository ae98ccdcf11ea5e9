// Verifying reports offline: what each check proves, every way a report can be forged or
// altered, trust labels that never rise, and reading the document out of a request.
import { beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../../core/types.js'
import { measurementMessage } from '../../../devices/attest/measurement.js'
import { createReport } from '../../../devices/attest/report.js'
import type { TeeProvider } from '../../../devices/attest/tee/provider.js'
import { documentFromRequest, requestVerifyOptions, verifyDocument, verifyResultMessage, type VerifyResult } from '../../../devices/attest/verify.js'
import { commitMessage } from '../../../devices/message/commit.js'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { fixedHardware, fixedMeasurement, snpHardware, snpVerifier } from './helpers/attest.js'
import { amdPki, type AmdPki } from './helpers/snp.js'

let wallet: Wallet
let attacker: Wallet
let amd: AmdPki
let plain: Message
let attested: Message
const NONCE = '5a'.repeat(32)
const v2Parts = measurementMessage(fixedMeasurement('v2')).parts!

const make = (providers: TeeProvider[] = [], w = wallet, nonce = NONCE) =>
  createReport(nonce, { wallet: w, measurement: fixedMeasurement(), hardware: fixedHardware, providers })

beforeAll(async () => {
  ;[wallet, attacker, amd] = await Promise.all([createWallet('ed25519'), createWallet('ed25519'), amdPki()])
  plain = await make()
  attested = await make([snpHardware(amd)])
})

const check = (r: VerifyResult, name: string) => r.checks.find((c) => c.name === name)
const failing = (r: VerifyResult) => r.checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name)
/** A document the attacker controls entirely: re-signed after edits by `signer`. */
const resign = (doc: Message, changes: Message, signer = wallet): Message => {
  const { commitments: _c, ...rest } = doc
  return commitMessage({ ...rest, ...changes }, signer, 'report')
}

describe('verify a report', () => {
  it('a self-signed report is valid; unconfigured policies are advisory, not silent', async () => {
    const r = await verifyDocument(plain)
    expect(r).toMatchObject({ valid: true, kind: 'report', trust: 'self-signed', address: walletAddress(wallet) })
    expect(r.checks.map((c) => [c.name, c.ok, c.required !== false])).toEqual([
      ['format', true, true], ['signature', true, true], ['address', false, false], ['nonce-binding', false, false],
      ['measurement', false, false], ['measurement-parts', true, true], ['trust-label', true, true],
    ])
    expect(check(r, 'measurement')!.detail).toContain('no trusted list configured')
  })

  it('pinned address, expected nonce and trusted measurement pass when right and fail when wrong', async () => {
    const good = await verifyDocument(plain, { expectedAddress: walletAddress(wallet), expectedNonce: NONCE.toUpperCase(), trustedMeasurements: [fixedMeasurement().measurement] })
    expect(good.checks.every((c) => c.ok)).toBe(true)
    expect((await verifyDocument(plain, { expectedAddress: walletAddress(attacker) }))).toMatchObject({ valid: false })
    expect(failing(await verifyDocument(plain, { expectedNonce: '00'.repeat(32) }))).toEqual(['nonce-binding'])
    expect(failing(await verifyDocument(plain, { trustedMeasurements: [fixedMeasurement('v2').measurement] }))).toEqual(['measurement'])
  })

  it('survives a JSON round trip, even one that lower-cases map keys (commitment IDs)', async () => {
    expect((await verifyDocument(JSON.parse(JSON.stringify(plain)))).valid).toBe(true)
    const lowered = { ...plain, commitments: Object.fromEntries(Object.entries(plain.commitments as Message).map(([k, v]) => [k.toLowerCase(), v])) }
    expect((await verifyDocument(lowered)).valid).toBe(true)
  })

  it.each<[string, Message]>([
    ['the nonce', { nonce: 'ff'.repeat(32) }],
    ['the measurement', { measurement: fixedMeasurement('v2').measurement, 'measurement-parts': v2Parts }],
    ['the hardware', { hardware: { cpu: { model: 'fake', cores: 1 }, gpus: [] } }],
    ['the time', { 'issued-at': '2099-01-01T00:00:00.000Z' }],
    ['the label', { trust: 'tee-attested' }],
  ])('any edit of %s after signing breaks the signature', async (_what, change) => {
    const r = await verifyDocument({ ...plain, ...change })
    expect(r.valid).toBe(false)
    expect(check(r, 'signature')!.ok).toBe(false)
  })

  it('another key cannot sign for this address, nor claim it by swapping the key in', async () => {
    expect(check(await verifyDocument(resign(plain, {}, attacker)), 'signature')!.detail).toContain('no commitment by')
    const swapped = resign(plain, { 'public-key': (await make([], attacker))['public-key'] as string }, attacker)
    expect(check(await verifyDocument(swapped), 'signature')!.detail).toContain('not the hash of the public key')
    const commitment = Object.values(plain.commitments as Message)[0] as Message
    const forgedId = { ...plain, commitments: { ['A'.repeat(43)]: commitment } }
    expect(check(await verifyDocument(forgedId), 'signature')!.detail).toContain('not the hash of its signature')
    const garbled = { ...plain, commitments: { [Object.keys(plain.commitments as Message)[0]!]: { ...commitment, signature: '*not base64*' } } }
    expect(check(await verifyDocument(garbled), 'signature')!.detail).toBe('the signature is not base64url')
    const keyType = resign(plain, { 'key-type': 'rsa' })
    expect(check(await verifyDocument(keyType), 'signature')!.detail).toContain('cannot make')
  })

  it('parts that do not combine to the measurement fail, even when signed', async () => {
    const doc = resign(plain, { 'measurement-parts': v2Parts })
    expect(failing(await verifyDocument(doc))).toEqual(['measurement-parts'])
  })

  it('rejects malformed reports with a format check', async () => {
    for (const [change, detail] of [
      [{ type: 'something' }, 'not a attestation-report or inference-receipt'],
      [{ format: 'hashbeam-attest/9' }, 'unknown format'],
      [{ 'key-type': 'ecdsa' }, 'key-type'],
      [{ measurement: 'abc' }, 'measurement must be'],
      [{ trust: 'trusted' }, 'trust must be one of'],
      [{ tee: 'none' }, 'tee must be'],
      [{ 'measurement-parts': 'x' }, 'measurement-parts must be'],
      [{ nonce: 'AB'.repeat(32) }, 'lower-case hex'],
      [{ nonce: 'ab' }, 'hex of 16 to 64 bytes'],
    ] as Array<[Message, string]>) {
      const r = await verifyDocument({ ...plain, ...change })
      expect(r).toMatchObject({ valid: false, trust: 'none' })
      expect(r.checks).toEqual([expect.objectContaining({ name: 'format', ok: false, detail: expect.stringContaining(detail) })])
    }
  })

  it('values outside the message data model never verify and never throw', async () => {
    const nan = { hardware: { cpu: { model: 'x', cores: Number.NaN }, gpus: [] } }
    expect(check(await verifyDocument({ ...plain, ...nan }), 'signature')!.detail).toContain('non-finite')
    expect(check(await verifyDocument({ ...plain, Hardware: {} }), 'signature')!.detail).toContain('not lower-case')
    // With TEE evidence the binding must be hashed too: the whole document is then unreadable.
    expect(await verifyDocument({ ...attested, ...nan }, { providers: [snpVerifier(amd)] })).toMatchObject({
      valid: false, trust: 'none', checks: [{ name: 'format', ok: false, detail: expect.stringContaining('cannot be hashed') }],
    })
  })
})

describe('trust labels', () => {
  it('a tee-attested report verifies for a relying party holding the right roots', async () => {
    const r = await verifyDocument(attested, { providers: [snpVerifier(amd)], expectedNonce: NONCE })
    expect(r).toMatchObject({ valid: true, trust: 'tee-attested' })
    expect(r.checks.filter((c) => c.name.startsWith('sev-snp:')).every((c) => c.ok || c.required === false)).toBe(true)
    expect(check(r, 'trust-label')!.detail).toContain('tee-attested')
  })

  it('is not upheld without a verifier, or against other roots (AMD\'s real ones here): invalid, trust self-signed', async () => {
    const none = await verifyDocument(attested)
    expect(none).toMatchObject({ valid: false, trust: 'self-signed' })
    expect(failing(none)).toEqual(['tee:sev-snp', 'trust-label'])
    const { sevSnpProvider } = await import('../../../devices/attest/tee/sev-snp.js')
    const real = await verifyDocument(attested, { providers: [sevSnpProvider({ collect: false })] })
    expect(failing(real)).toEqual(['sev-snp:cert-chain', 'trust-label'])
  })

  it('a verifier that throws is a failed TEE check, not a crash', async () => {
    const throwing: TeeProvider = { type: 'sev-snp', collect: async () => undefined, verify: async () => { throw new Error('bug') } }
    const r = await verifyDocument(attested, { providers: [throwing] })
    expect(failing(r)).toEqual(['tee:sev-snp', 'trust-label'])
    expect(r.checks.find((c) => c.name === 'tee:sev-snp')!.detail).toContain('the verifier failed: bug')
  })

  it('a claimed tee-attested label with no evidence is refused', async () => {
    const r = await verifyDocument(resign(plain, { trust: 'tee-attested' }))
    expect(failing(r)).toEqual(['trust-label'])
    expect(r.trust).toBe('self-signed')
  })

  it('never raises a label: a self-signed report whose evidence verifies stays self-signed', async () => {
    const lowered = resign(attested, { trust: 'self-signed' })
    const r = await verifyDocument(lowered, { providers: [snpVerifier(amd)] })
    expect(r).toMatchObject({ valid: true, trust: 'self-signed' })
    expect(check(r, 'trust-label')!.detail).toContain('not raised')
    expect(r.checks.filter((c) => c.name.startsWith('sev-snp:')).every((c) => c.required === false)).toBe(true)
  })

  it('evidence lifted from another node\'s report does not bind: the relay attack fails', async () => {
    // The attacker asks a genuine TEE node for a report over the victim's nonce, then pastes its
    // evidence into a report signed with the attacker's own key.
    const forged = resign(await make([], attacker), { tee: attested.tee!, trust: 'tee-attested' }, attacker)
    const r = await verifyDocument(forged, { providers: [snpVerifier(amd)], expectedNonce: NONCE })
    expect(failing(r)).toEqual(['sev-snp:report-data', 'trust-label'])
    // Changing any bound field of a genuine tee-attested report (re-signed by its own key) fails the same way.
    const edited = resign(attested, { hardware: { cpu: { model: 'claimed H100 host', cores: 1 }, gpus: [] } })
    expect(failing(await verifyDocument(edited, { providers: [snpVerifier(amd)] }))).toEqual(['sev-snp:report-data', 'trust-label'])
  })
})

describe('documents in requests', () => {
  it('takes `document`, or the request keys the commitment covers, dropping transport keys', () => {
    expect(documentFromRequest({ path: 'verify', document: plain })).toBe(plain)
    const spread = documentFromRequest({ ...plain, path: 'verify', accept: 'application/json', 'x-forwarded-for': '1.2.3.4', 'expected-nonce': NONCE })
    expect(spread).toEqual(plain)
    const { commitments: _c, ...bare } = plain
    expect(documentFromRequest({ ...bare, path: 'verify', 'content-type': 'application/json' })).toEqual(bare)
  })

  it('reads expected-nonce and expected-address, ignoring empty values', () => {
    expect(requestVerifyOptions({ 'expected-nonce': NONCE, 'expected-address': 'addr' })).toEqual({ expectedNonce: NONCE, expectedAddress: 'addr' })
    expect(requestVerifyOptions({ 'expected-nonce': '', 'expected-address': 3 })).toEqual({})
  })

  it('the result as a message: every check with name, ok, required and detail', async () => {
    const m = verifyResultMessage(await verifyDocument(plain))
    expect(m).toMatchObject({ valid: true, kind: 'report', trust: 'self-signed', address: walletAddress(wallet) })
    expect((m.checks as Message[])[2]).toEqual({ name: 'address', ok: false, required: false, detail: expect.any(String) })
    expect(verifyResultMessage(await verifyDocument({ type: 'other' }))).toMatchObject({ valid: false, kind: 'unknown', trust: 'none' })
  })
})

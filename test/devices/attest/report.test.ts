// Reports: nonce validation, the signed shape, the TEE binding, and how the trust label is
// decided (tee-attested only when every piece of collected evidence verifies locally).
import { sha256 } from '@noble/hashes/sha2.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../../core/codec.js'
import { unsignedIdOf } from '../../../core/id.js'
import type { Message } from '../../../core/types.js'
import { createReport, parseNonce, teeBinding } from '../../../devices/attest/report.js'
import type { TeeProvider } from '../../../devices/attest/tee/provider.js'
import { checkCommitments } from '../../../devices/message/verify.js'
import { createWallet, publicKeyBytes, walletAddress, type Wallet } from '../../../identity/keys.js'
import { memoryLogger } from '../../helpers/log.js'
import { fixedHardware, fixedMeasurement, gpuHardware, snpHardware, snpVerifier } from './helpers/attest.js'
import { amdPki, type AmdPki } from './helpers/snp.js'
import { nvidiaPki, type NvidiaPki } from './helpers/spdm.js'

let wallet: Wallet
let amd: AmdPki
let otherAmd: AmdPki
let nvidia: NvidiaPki
const NONCE = 'ab'.repeat(32)
const now = () => new Date('2025-05-01T12:00:00.000Z')

beforeAll(async () => {
  wallet = await createWallet('ed25519')
  ;[amd, otherAmd, nvidia] = await Promise.all([amdPki(), amdPki(), nvidiaPki()])
})

const opts = (providers: TeeProvider[] = []) => ({ wallet, measurement: fixedMeasurement(), hardware: fixedHardware, providers, now })

describe('nonce', () => {
  it('accepts hex of 16 to 64 bytes, lower-casing it', () => {
    expect(parseNonce('00'.repeat(16))).toBe('00'.repeat(16))
    expect(parseNonce('AB'.repeat(64))).toBe('ab'.repeat(64))
  })

  it.each([undefined, '', true])('is required (%s → 400 nonce-required)', (value) => {
    expect(() => parseNonce(value)).toThrow(expect.objectContaining({ status: 400, code: 'nonce-required' }))
  })

  it.each([
    ['15 bytes', '00'.repeat(15)], ['65 bytes', '00'.repeat(65)], ['odd length', '0'.repeat(33)],
    ['not hex', 'zz'.repeat(16)], ['base64', 'q83vEjRWeJCrze8SNFZ4kA=='], ['a number', 12345678],
  ])('rejects %s with 400 invalid-nonce', (_what, value) => {
    expect(() => parseNonce(value)).toThrow(expect.objectContaining({ status: 400, code: 'invalid-nonce' }))
  })
})

describe('createReport', () => {
  it('signs a self-signed report with the node key over its unsigned ID', async () => {
    const report = await createReport(NONCE, opts())
    const { commitments, ...body } = report
    expect(body).toEqual({
      type: 'attestation-report', format: 'hashbeam-attest/1',
      address: walletAddress(wallet), 'public-key': Buffer.from(publicKeyBytes(wallet)).toString('base64url'), 'key-type': 'ed25519',
      measurement: fixedMeasurement().measurement,
      'measurement-parts': fixedMeasurement().parts,
      hardware: { cpu: { model: 'AMD EPYC 9654 96-Core Processor', cores: 8 }, gpus: [{ name: 'NVIDIA H200', driver: '570.86.15', 'memory-mib': 143771 }] },
      nonce: NONCE, 'issued-at': '2025-05-01T12:00:00.000Z', tee: { type: 'none' }, trust: 'self-signed',
    })
    const [id, commitment] = Object.entries(commitments as Message)[0]!
    expect(commitment).toMatchObject({ committer: walletAddress(wallet), type: 'ed25519', keyid: `publickey:${body['public-key']}` })
    // The same commitment message@1.0 verifies: one format for every native signature.
    expect(checkCommitments(report)).toEqual([expect.objectContaining({ id, valid: true, committer: walletAddress(wallet) })])
    expect(unsignedIdOf(report)).toBe(unsignedIdOf(body))
  })

  it('the TEE binding is sha256 of {context, body} without tee, trust and commitments, and moves with every bound key', async () => {
    const report = await createReport(NONCE, opts())
    const { tee: _t, trust: _tr, commitments: _c, ...body } = report
    expect(Buffer.from(teeBinding(report)).toString('hex')).toBe(Buffer.from(sha256(encodeCanonical({ context: 'hashbeam/attest/tee-binding/1', body }))).toString('hex'))
    expect(teeBinding({ ...report, trust: 'tee-attested', tee: { type: 'x' } })).toEqual(teeBinding(report))
    for (const change of [{ nonce: 'cd'.repeat(32) }, { measurement: '0'.repeat(64) }, { address: 'x' }, { 'issued-at': '2030-01-01T00:00:00.000Z' }, { hardware: {} }] as Message[]) {
      expect(teeBinding({ ...report, ...change })).not.toEqual(teeBinding(report))
    }
  })

  it('labels tee-attested when the hardware evidence verifies and binds this report', async () => {
    const report = await createReport(NONCE, opts([snpHardware(amd)]))
    expect(report.trust).toBe('tee-attested')
    const tee = report.tee as Message
    expect(tee.type).toBe('sev-snp')
    const reportBytes = Buffer.from((tee.evidence as Message).report as string, 'base64')
    expect(reportBytes.subarray(0x50, 0x70)).toEqual(Buffer.from(teeBinding(report)))
    expect(reportBytes.subarray(0x70, 0x90).every((b) => b === 0)).toBe(true)
  })

  it('stays self-signed, evidence attached, when the evidence does not verify locally (and says why in the log)', async () => {
    const log = memoryLogger()
    const report = await createReport(NONCE, { ...opts([snpHardware(amd, snpVerifier(otherAmd))]), log })
    expect(report.trust).toBe('self-signed')
    expect((report.tee as Message).type).toBe('sev-snp')
    expect(log.entries).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ tee: 'sev-snp', failed: ['sev-snp:cert-chain'] }) })])
  })

  it('a provider that finds nothing or throws leaves a self-signed report without TEE', async () => {
    const log = memoryLogger()
    const nothing: TeeProvider = { type: 'sev-snp', collect: async () => undefined, verify: async () => [] }
    const broken: TeeProvider = { type: 'nvidia-cc', collect: async () => { throw new Error('NVML: GPU is lost') }, verify: async () => [] }
    const report = await createReport(NONCE, { ...opts([nothing, broken]), log })
    expect(report).toMatchObject({ trust: 'self-signed', tee: { type: 'none' } })
    expect(log.entries).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ tee: 'nvidia-cc', err: 'NVML: GPU is lost' }) })])
  })

  it('a provider whose verify throws has verified nothing: the report stays self-signed', async () => {
    const throwing: TeeProvider = { type: 'sev-snp', collect: async () => ({ report: 'x' }), verify: async () => { throw new Error('bug') } }
    expect((await createReport(NONCE, opts([throwing]))).trust).toBe('self-signed')
  })

  it('CPU and GPU evidence together are composite: tee-attested only if both verify', async () => {
    const both = await createReport(NONCE, opts([snpHardware(amd), gpuHardware(nvidia)]))
    expect(both.trust).toBe('tee-attested')
    expect(both.tee).toMatchObject({ type: 'composite', evidence: [{ type: 'sev-snp' }, { type: 'nvidia-cc' }] })
    const half = await createReport(NONCE, opts([snpHardware(amd), snpHardware(otherAmd, snpVerifier(amd))]))
    expect(half.trust).toBe('self-signed')
  })
})

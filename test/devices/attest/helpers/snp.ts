/**
 * Synthetic SEV-SNP evidence in the real format: a 1184-byte report laid out per the SNP ABI,
 * signed with ECDSA P-384/SHA-384 by a test VCEK (r and s written as 72-byte little-endian
 * fields at 0x2A0 and 0x2E8), chained VCEK → ASK → ARK by the test AMD PKI.
 */
import { CA_USAGE, issue, KeyUsageFlags, signP384, vcekExtensions, type Issued } from './ca.js'

export interface TestTcb { bootloader: number; tee: number; snp: number; microcode: number }

export const TEST_TCB: TestTcb = { bootloader: 3, tee: 0, snp: 14, microcode: 209 }
export const TEST_CHIP_ID = new Uint8Array(64).map((_, i) => (i * 7 + 3) & 0xff)
export const TEST_MEASUREMENT = new Uint8Array(48).map((_, i) => (i * 13 + 1) & 0xff)

export interface AmdPki {
  ark: Issued
  ask: Issued
  vcek: Issued
}

export interface VcekSpec {
  tcb?: TestTcb
  chipId?: Uint8Array
  notBefore?: Date
  notAfter?: Date
  usage?: number
  ca?: boolean
}

/** ARK (self-signed, RSA-PSS) → ASK (RSA-PSS) → VCEK (P-384), as AMD issues them. */
export async function amdPki(vcek: VcekSpec = {}): Promise<AmdPki> {
  const ark = await issue({ subject: 'CN=ARK-Test, O=Advanced Micro Devices', keyAlg: 'rsa-pss', ca: true, usage: CA_USAGE })
  const ask = await issue({ subject: 'CN=SEV-Test, O=Advanced Micro Devices', keyAlg: 'rsa-pss', issuer: ark, ca: true, usage: KeyUsageFlags.keyCertSign })
  return { ark, ask, vcek: await issueVcek(ask, vcek) }
}

export function issueVcek(ask: Issued, spec: VcekSpec = {}): Promise<Issued> {
  return issue({
    subject: 'CN=SEV-VCEK, O=Advanced Micro Devices', keyAlg: 'p384', issuer: ask,
    extensions: vcekExtensions(spec.tcb ?? TEST_TCB, spec.chipId ?? TEST_CHIP_ID),
    ...(spec.ca !== undefined && { ca: spec.ca }),
    ...(spec.usage !== undefined && { usage: spec.usage }),
    ...(spec.notBefore !== undefined && { notBefore: spec.notBefore }),
    ...(spec.notAfter !== undefined && { notAfter: spec.notAfter }),
  })
}

export interface ReportSpec {
  reportData: Uint8Array
  version?: number
  policy?: bigint
  measurement?: Uint8Array
  tcb?: TestTcb
  chipId?: Uint8Array
  signingKey?: number
  maskChipKey?: boolean
  signatureAlgo?: number
}

const tcbBytes = (t: TestTcb): Uint8Array => new Uint8Array([t.bootloader, t.tee, 0, 0, 0, 0, t.snp, t.microcode])

/** The unsigned report bytes. Policy default: SMT allowed, reserved bit 17 set, DEBUG off. */
export function buildSnpReport(spec: ReportSpec): Uint8Array {
  const r = new Uint8Array(0x4a0)
  const view = new DataView(r.buffer)
  const tcb = tcbBytes(spec.tcb ?? TEST_TCB)
  view.setUint32(0x00, spec.version ?? 2, true)
  view.setBigUint64(0x08, spec.policy ?? 0x30000n, true)
  view.setUint32(0x30, 1, true) // vmpl 1, as HyperBEAM requests it
  view.setUint32(0x34, spec.signatureAlgo ?? 1, true)
  r.set(tcb, 0x38)
  view.setUint32(0x48, ((spec.signingKey ?? 0) << 2) | (spec.maskChipKey === true ? 2 : 0), true)
  r.set(spec.reportData, 0x50)
  r.set(spec.measurement ?? TEST_MEASUREMENT, 0x90)
  r.set(tcb, 0x180)
  r.set(spec.chipId ?? TEST_CHIP_ID, 0x1a0)
  r.set(tcb, 0x1e0)
  r.set([7, 55, 1], 0x1e8)
  r.set([7, 55, 1], 0x1ec)
  r.set(tcb, 0x1f0)
  return r
}

/** Signs bytes 0x000–0x29F in place, writing r and s little-endian into the signature field. */
export async function signSnpReport(report: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  const sig = await signP384(key, report.subarray(0, 0x2a0))
  const out = new Uint8Array(report)
  out.fill(0, 0x2a0)
  out.set(sig.slice(0, 48).reverse(), 0x2a0)
  out.set(sig.slice(48).reverse(), 0x2e8)
  return out
}

/** Evidence as the provider reads it. */
export function snpEvidence(report: Uint8Array, pems: readonly string[]): { report: string; certificates: string[] } {
  return { report: Buffer.from(report).toString('base64'), certificates: [...pems] }
}

/** A signed report over `binding` with everything else valid. */
export async function validSnpEvidence(pki: AmdPki, binding: Uint8Array, spec: Partial<ReportSpec> = {}) {
  const reportData = new Uint8Array(64)
  reportData.set(binding)
  const report = await signSnpReport(buildSnpReport({ reportData, ...spec }), pki.vcek.keys.privateKey)
  return snpEvidence(report, [pki.vcek.pem, pki.ask.pem, pki.ark.pem])
}

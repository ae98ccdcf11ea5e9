// The sev-snp provider against synthetic evidence in the real format (1184-byte reports signed
// by a test VCEK chained to a test ARK), and every way such evidence can be wrong.
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { requiredPass, type Check } from '../../../devices/attest/tee/provider.js'
import { parseSnpReport } from '../../../devices/attest/tee/sev-snp-report.js'
import { sevSnpProvider, type SevSnpOptions } from '../../../devices/attest/tee/sev-snp.js'
import { CA_USAGE, issue, KeyUsageFlags } from './helpers/ca.js'
import {
  amdPki, buildSnpReport, issueVcek, signSnpReport, snpEvidence, TEST_CHIP_ID, TEST_MEASUREMENT, TEST_TCB, validSnpEvidence, type AmdPki,
} from './helpers/snp.js'

let pki: AmdPki
let other: AmdPki
const binding = new Uint8Array(randomBytes(32))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

beforeAll(async () => {
  pki = await amdPki()
  other = await amdPki()
})

const provider = (opts: SevSnpOptions = {}) => sevSnpProvider({ roots: [pki.ark.pem], intermediates: [], collect: false, ...opts })
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]))
const failing = (checks: Check[]) => checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name)

async function signedWith(spec: Parameters<typeof buildSnpReport>[0], pems = [pki.vcek.pem, pki.ask.pem, pki.ark.pem], key = pki.vcek.keys.privateKey) {
  return snpEvidence(await signSnpReport(buildSnpReport(spec), key), pems)
}
const reportData = (b: Uint8Array = binding): Uint8Array => {
  const out = new Uint8Array(64)
  out.set(b)
  return out
}

describe('sev-snp provider', () => {
  it('valid evidence passes every check, and the report parses field by field', async () => {
    const evidence = await validSnpEvidence(pki, binding)
    const checks = await provider().verify(evidence, binding)
    expect(checks.map((c) => c.name)).toEqual([
      'sev-snp:parse', 'sev-snp:report-data', 'sev-snp:debug-policy', 'sev-snp:measurement',
      'sev-snp:cert-chain', 'sev-snp:cert-validity', 'sev-snp:cert-purpose', 'sev-snp:vcek-binding', 'sev-snp:signature',
    ])
    expect(failing(checks)).toEqual([])
    expect(byName(checks)['sev-snp:measurement']).toMatchObject({ ok: false, required: false, detail: expect.stringContaining('no trusted list configured') })
    expect(requiredPass(checks)).toBe(true)
    const r = parseSnpReport(Buffer.from(evidence.report, 'base64'))
    expect(r).toMatchObject({ version: 2, vmpl: 1, signatureAlgo: 1, policy: 0x30000n, signingKey: 0, maskChipKey: false, reportedTcb: TEST_TCB, currentVersion: '1.55.7' })
    expect(hex(r.measurement)).toBe(hex(TEST_MEASUREMENT))
    expect(hex(r.chipId)).toBe(hex(TEST_CHIP_ID))
    expect(hex(r.reportData)).toBe(hex(reportData()))
  })

  it('collects nothing when told not to, or when the machine has no SNP route', async () => {
    expect(await provider().collect(binding)).toBeUndefined()
    const absent = sevSnpProvider({ collect: { tsmRoot: '/nonexistent/tsm', snpguest: '/nonexistent/snpguest' } })
    expect(await absent.collect(binding)).toBeUndefined()
  })

  it('wrong nonce: report_data that is not this binding fails', async () => {
    const evidence = await validSnpEvidence(pki, new Uint8Array(randomBytes(32)))
    expect(failing(await provider().verify(evidence, binding))).toEqual(['sev-snp:report-data'])
  })

  it('debug policy: a debuggable guest fails unless explicitly allowed', async () => {
    const evidence = await signedWith({ reportData: reportData(), policy: 0x30000n | (1n << 19n) })
    const checks = await provider().verify(evidence, binding)
    expect(failing(checks)).toEqual(['sev-snp:debug-policy'])
    expect(byName(await provider({ allowDebug: true }).verify(evidence, binding))['sev-snp:debug-policy']).toMatchObject({ ok: true, detail: expect.stringContaining('accepted by configuration') })
  })

  it('launch measurement: trusted passes, untrusted is a required failure', async () => {
    const evidence = await validSnpEvidence(pki, binding)
    expect(byName(await provider({ trustedMeasurements: [hex(TEST_MEASUREMENT).toUpperCase()] }).verify(evidence, binding))['sev-snp:measurement']).toMatchObject({ ok: true })
    expect(failing(await provider({ trustedMeasurements: ['00'.repeat(48)] }).verify(evidence, binding))).toEqual(['sev-snp:measurement'])
  })

  it.each([
    ['policy', 0x08], ['report_data', 0x50], ['measurement', 0x90], ['host_data', 0xc0], ['reported_tcb', 0x180],
    ['chip_id', 0x1a0], ['last signed byte', 0x29f], ['signature r', 0x2a0], ['signature s', 0x2e8],
  ])('a tampered %s byte (0x%s) breaks the signature', async (_what, offset) => {
    const evidence = await validSnpEvidence(pki, binding)
    const bytes = Buffer.from(evidence.report, 'base64')
    bytes[offset] ^= 0x01
    const checks = await provider().verify({ ...evidence, report: bytes.toString('base64') }, binding)
    expect(byName(checks)['sev-snp:signature']!.ok).toBe(false)
    expect(requiredPass(checks)).toBe(false)
  })

  it('broken chain: a VCEK from another ASK, a missing ASK, an unpinned root', async () => {
    const foreign = await issueVcek(other.ask)
    const e1 = await signedWith({ reportData: reportData() }, [foreign.pem, pki.ask.pem, pki.ark.pem], foreign.keys.privateKey)
    expect(failing(await provider().verify(e1, binding))).toEqual(['sev-snp:cert-chain'])
    const e2 = await signedWith({ reportData: reportData() }, [pki.vcek.pem])
    expect(byName(await provider().verify(e2, binding))['sev-snp:cert-chain']!.detail).toContain('no certificate in the evidence or the pinned set issued')
    // The same chain, but this verifier pins another ARK: the chain ends at an unpinned root.
    const e3 = await validSnpEvidence(pki, binding)
    expect(byName(await provider({ roots: [other.ark.pem] }).verify(e3, binding))['sev-snp:cert-chain']!.detail).toContain('not a pinned root')
    // An ASK the node ships (intermediates) lets a VCEK-only chain through.
    expect(failing(await provider({ intermediates: [pki.ask.pem] }).verify(e2, binding))).toEqual([])
  })

  it('expired and not-yet-valid certificates fail cert-validity', async () => {
    const day = 86_400_000
    const expired = await issueVcek(pki.ask, { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) })
    const e1 = await signedWith({ reportData: reportData() }, [expired.pem, pki.ask.pem], expired.keys.privateKey)
    expect(failing(await provider().verify(e1, binding))).toEqual(['sev-snp:cert-validity'])
    const e2 = await validSnpEvidence(pki, binding)
    expect(byName(await provider().verify(e2, binding, { now: new Date(Date.now() + 2 * 365 * day) }))['sev-snp:cert-validity']!.detail).toContain('expired')
    expect(byName(await provider().verify(e2, binding, { now: new Date(Date.now() - 2 * day) }))['sev-snp:cert-validity']!.detail).toContain('not valid before')
  })

  it('wrong purpose: a CA certificate or a keyCertSign-only key as VCEK, an ASK that is not a CA', async () => {
    for (const spec of [{ ca: true }, { usage: KeyUsageFlags.keyCertSign }]) {
      const vcek = await issueVcek(pki.ask, spec)
      const e = await signedWith({ reportData: reportData() }, [vcek.pem, pki.ask.pem], vcek.keys.privateKey)
      expect(failing(await provider().verify(e, binding))).toEqual(['sev-snp:cert-purpose'])
    }
    const ark = await issue({ subject: 'CN=ARK-Purpose', keyAlg: 'rsa-pss', ca: true, usage: CA_USAGE })
    const ask = await issue({ subject: 'CN=SEV-Purpose', keyAlg: 'rsa-pss', issuer: ark, ca: false, usage: KeyUsageFlags.digitalSignature })
    const vcek = await issueVcek(ask)
    const e = await signedWith({ reportData: reportData() }, [vcek.pem, ask.pem, ark.pem], vcek.keys.privateKey)
    const checks = await provider({ roots: [ark.pem] }).verify(e, binding)
    expect(byName(checks)['sev-snp:cert-purpose']).toMatchObject({ ok: false, detail: expect.stringContaining('is not a CA') })
  })

  it('vcek-binding: a VCEK of another chip or TCB, a masked chip ID, an unsigned report; VLEK skips the chip', async () => {
    const cases: Array<[Parameters<typeof issueVcek>[1], Partial<Parameters<typeof buildSnpReport>[0]>, string]> = [
      [{ chipId: new Uint8Array(64).fill(9) }, {}, 'another chip'],
      [{ tcb: { ...TEST_TCB, microcode: 200 } }, {}, 'not the reported TCB'],
      [{}, { maskChipKey: true }, 'masks its chip_id'],
      [{}, { signingKey: 7 }, 'not signed'],
    ]
    for (const [vcekSpec, reportSpec, detail] of cases) {
      const vcek = await issueVcek(pki.ask, vcekSpec)
      const e = await signedWith({ reportData: reportData(), ...reportSpec }, [vcek.pem, pki.ask.pem], vcek.keys.privateKey)
      const checks = await provider().verify(e, binding)
      expect(failing(checks)).toEqual(['sev-snp:vcek-binding'])
      expect(byName(checks)['sev-snp:vcek-binding']!.detail).toContain(detail)
    }
    const vlek = await signedWith({ reportData: reportData(), signingKey: 1, chipId: new Uint8Array(64) })
    expect(byName(await provider().verify(vlek, binding))['sev-snp:vcek-binding']).toMatchObject({ ok: true, detail: expect.stringContaining('VLEK') })
  })

  it('malformed evidence is a failed parse, never a throw', async () => {
    const good = await validSnpEvidence(pki, binding)
    const bytes = Buffer.from(good.report, 'base64')
    const wide = Buffer.from(bytes)
    wide[0x2a0 + 60] = 1
    const cases: Array<[unknown, string]> = [
      ['not a map', 'must be {report, certificates}'],
      [{ certificates: [] }, 'no base64 "report"'],
      [{ report: good.report, certificates: 'pem' }, 'list of PEM strings'],
      [{ report: '%%%', certificates: [] }, 'not base64'],
      [{ report: bytes.subarray(0, 1000).toString('base64'), certificates: [] }, 'is 1184 bytes'],
      [{ report: wide.toString('base64'), certificates: [] }, 'wider than 384 bits'],
      [{ report: good.report, certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] }, 'not an X.509 certificate'],
    ]
    for (const [evidence, detail] of cases) {
      const checks = await provider().verify(evidence as never, binding)
      expect(checks).toEqual([expect.objectContaining({ name: 'sev-snp:parse', ok: false, detail: expect.stringContaining(detail) })])
    }
    const v1 = await signedWith({ reportData: reportData(), version: 1 })
    expect(byName(await provider().verify(v1, binding))['sev-snp:parse']).toMatchObject({ ok: false, detail: expect.stringContaining('older than 2') })
    const algo = await signedWith({ reportData: reportData(), signatureAlgo: 2 })
    expect(byName(await provider().verify(algo, binding))['sev-snp:parse']).toMatchObject({ ok: false, detail: expect.stringContaining('not ECDSA P-384') })
  })
})

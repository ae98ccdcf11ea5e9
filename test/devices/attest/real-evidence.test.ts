// Real vendor material: the pinned AMD and NVIDIA roots, and evidence produced by real hardware
// (public samples, see fixtures/README.md) verified by our providers with their default,
// pinned roots — no test roots, no network.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { requiredPass, type Check } from '../../../devices/attest/tee/provider.js'
import { nvidiaCcProvider } from '../../../devices/attest/tee/nvidia-cc.js'
import { NVIDIA_DEVICE_ROOT_PEM, NVIDIA_DEVICE_ROOT_SHA256 } from '../../../devices/attest/tee/nvidia-cc-roots.js'
import { parseSnpReport } from '../../../devices/attest/tee/sev-snp-report.js'
import {
  AMD_ARK_GENOA_PEM, AMD_ARK_GENOA_SHA256, AMD_ARK_MILAN_PEM, AMD_ARK_MILAN_SHA256, AMD_ASK_GENOA_PEM, AMD_ASK_MILAN_PEM,
} from '../../../devices/attest/tee/sev-snp-roots.js'
import { sevSnpProvider } from '../../../devices/attest/tee/sev-snp.js'
import { OPAQUE_FIELDS, opaqueText, parseSpdmReport } from '../../../devices/attest/tee/spdm.js'
import { fingerprintOf, parseCertificate } from '../../../devices/attest/tee/x509.js'

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
const hexBytes = (name: string): Uint8Array => new Uint8Array(Buffer.from(fixture(name).trim(), 'hex'))
const failing = (checks: Check[]) => checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name)
// The samples' certificates are valid now; pin the clock anyway so the test never ages out.
const now = new Date('2025-06-01T00:00:00Z')

describe('pinned vendor roots', () => {
  it.each([
    ['Milan', AMD_ARK_MILAN_PEM, AMD_ASK_MILAN_PEM, AMD_ARK_MILAN_SHA256],
    ['Genoa', AMD_ARK_GENOA_PEM, AMD_ASK_GENOA_PEM, AMD_ARK_GENOA_SHA256],
  ])('AMD %s: the ARK is self-signed (RSA-PSS/SHA-384), signs the ASK, and has the pinned fingerprint', async (product, arkPem, askPem, sha) => {
    const ark = parseCertificate(arkPem)
    const ask = parseCertificate(askPem)
    expect(fingerprintOf(ark)).toBe(sha)
    expect(ark.subject).toContain(`CN=ARK-${product}`)
    expect(await ark.verify({ publicKey: ark, signatureOnly: true })).toBe(true)
    expect(await ask.verify({ publicKey: ark, signatureOnly: true })).toBe(true)
    expect(await ask.verify({ publicKey: parseCertificate(product === 'Milan' ? AMD_ARK_GENOA_PEM : AMD_ARK_MILAN_PEM), signatureOnly: true })).toBe(false)
  })

  it('NVIDIA Device Identity CA: self-signed P-384 with the pinned fingerprint', async () => {
    const root = parseCertificate(NVIDIA_DEVICE_ROOT_PEM)
    expect(fingerprintOf(root)).toBe(NVIDIA_DEVICE_ROOT_SHA256)
    expect(await root.verify({ publicKey: root, signatureOnly: true })).toBe(true)
  })
})

describe('real AMD SEV-SNP evidence (EPYC Milan, virtee/sev sample)', () => {
  const report = hexBytes('amd-milan-report.hex')
  const evidence = { report: Buffer.from(report).toString('base64'), certificates: [fixture('amd-milan-vcek.pem')] }
  // The guest chose its own report_data; pass it as the binding so every other check is real.
  const binding = parseSnpReport(report).reportData.slice(0, 32)

  it('verifies: VCEK → ASK-Milan → pinned ARK-Milan, chip and TCB match, ECDSA P-384 signature', async () => {
    const parsed = parseSnpReport(report)
    expect(parsed).toMatchObject({ version: 2, policy: 0x30000n, vmpl: 0, reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } })
    expect(parsed.reportData.subarray(32).some((b) => b !== 0)).toBe(true) // a full 64-byte guest value
    const checks = await sevSnpProvider({ collect: false }).verify(evidence, parsed.reportData, { now })
    expect(failing(checks)).toEqual([])
    expect(checks.find((c) => c.name === 'sev-snp:cert-chain')!.detail).toContain('SEV-VCEK → SEV-Milan → ARK-Milan')
  })

  it('our binding rule (32 bytes + 32 zero bytes) does not match a foreign report_data', async () => {
    const checks = await sevSnpProvider({ collect: false }).verify(evidence, binding, { now })
    expect(failing(checks)).toEqual(['sev-snp:report-data'])
  })

  it('one flipped measurement bit breaks the real signature', async () => {
    const tampered = Buffer.from(report)
    tampered[0x90] ^= 0x80
    const checks = await sevSnpProvider({ collect: false }).verify({ ...evidence, report: tampered.toString('base64') }, parseSnpReport(report).reportData, { now })
    expect(failing(checks)).toEqual(['sev-snp:signature'])
  })
})

describe('real NVIDIA H100 evidence (nvtrust sample)', () => {
  const report = hexBytes('nvidia-hopper-report.hex')
  const nonce = new Uint8Array(Buffer.from('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb', 'hex'))
  const entry = { arch: 'HOPPER', evidence: Buffer.from(report).toString('base64'), certificate: Buffer.from(fixture('nvidia-hopper-chain.pem')).toString('base64'), driver_version: '550.90.07' }

  it('parses the SPDM request/response: 64 blocks, driver version and FWID in the opaque data', () => {
    const r = parseSpdmReport(report)
    expect(r.version).toBe(0x11)
    expect(Buffer.from(r.nonce).toString('hex')).toBe(Buffer.from(nonce).toString('hex'))
    expect(r.blocks).toHaveLength(64)
    expect(r.blocks.every((b) => b.value.length === 48)).toBe(true)
    expect(opaqueText(r.opaque.get(OPAQUE_FIELDS.driverVersion))).toBe('550.90.07')
    expect(r.opaque.get(OPAQUE_FIELDS.fwid)).toHaveLength(48)
  })

  it('verifies: nonce, chain of five to the pinned NVIDIA root, P-384 signature, FWID match', async () => {
    const checks = await nvidiaCcProvider({ collect: false }).verify([entry], nonce, { now })
    expect(failing(checks)).toEqual([])
    expect(requiredPass(checks)).toBe(true)
    expect(checks.find((c) => c.name === 'nvidia-cc:cert-chain')!.detail).toBe(
      'GH100 A01 GSP FMC LF → GH100 A01 GSP BROM → NVIDIA GH100 Provisioner ICA 1 → NVIDIA GH100 Identity → NVIDIA Device Identity CA (pinned root 102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48)')
  })

  it('another nonce, a flipped measurement byte, or a claimed driver the report does not sign all fail', async () => {
    const provider = nvidiaCcProvider({ collect: false })
    expect(failing(await provider.verify([entry], new Uint8Array(32), { now }))).toEqual(['nvidia-cc:nonce'])
    const tampered = Buffer.from(report)
    tampered[100] ^= 1
    expect(failing(await provider.verify([{ ...entry, evidence: tampered.toString('base64') }], nonce, { now }))).toEqual(['nvidia-cc:signature'])
    expect(failing(await provider.verify([{ ...entry, driver_version: '535.0.0' }], nonce, { now }))).toEqual(['nvidia-cc:driver-version'])
  })
})

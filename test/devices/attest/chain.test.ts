// Chain policy beyond the providers' own tests (tee/x509.ts): pathLenConstraint, the cap on
// evidence certificates, and the checks staying separate — a chain that fails one check still
// reports the others on the path it found.
import 'reflect-metadata' // tsyringe (under @peculiar/x509) needs the Reflect metadata API
import * as x509 from '@peculiar/x509'
import { describe, expect, it } from 'vitest'
import { nvidiaCcProvider } from '../../../devices/attest/tee/nvidia-cc.js'
import { sevSnpProvider } from '../../../devices/attest/tee/sev-snp.js'
import { parseCertificate, verifyChain, type Certificate } from '../../../devices/attest/tee/x509.js'
import { CA_USAGE, issue, SIGN_USAGE, type Issued } from './helpers/ca.js'

const cert = (issued: Issued): Certificate => parseCertificate(issued.pem)
const now = new Date()
const byName = (checks: Array<{ name: string; ok: boolean; detail: string }>) => Object.fromEntries(checks.map((c) => [c.name.split(':')[1]!, c]))

/** A CA whose basicConstraints carries a pathLenConstraint (the helper's `ca` flag has none). */
const caWithPathLength = (subject: string, pathLength: number, issuer?: Issued): Promise<Issued> => issue({
  subject, keyAlg: 'p384', usage: CA_USAGE, ...(issuer !== undefined && { issuer }),
  extensions: [new x509.BasicConstraintsExtension(true, pathLength, true)],
})

describe('certificate chains', () => {
  it('pathLenConstraint: a root allowing no CA below it refuses an intermediate; allowing one accepts it', async () => {
    for (const [pathLength, ok] of [[0, false], [1, true]] as const) {
      const root = await caWithPathLength('CN=Root', pathLength)
      const ica = await issue({ subject: 'CN=Intermediate', keyAlg: 'p384', issuer: root, ca: true, usage: CA_USAGE })
      const leaf = await issue({ subject: 'CN=Leaf', keyAlg: 'p384', issuer: ica, usage: SIGN_USAGE })
      const checks = byName((await verifyChain('t', [cert(leaf), cert(ica)], { roots: [cert(root)], now })).checks)
      expect(checks['cert-chain']!.ok).toBe(true)
      expect(checks['cert-purpose']).toMatchObject({ ok, detail: ok ? expect.any(String) : '"Root" allows 0 CA certificates below it, the chain has 1' })
    }
  })

  it('reads at most 8 evidence certificates: a longer list is refused before any path search', async () => {
    const root = await issue({ subject: 'CN=Root', keyAlg: 'p384', ca: true, usage: CA_USAGE })
    const leaf = await issue({ subject: 'CN=Leaf', keyAlg: 'p384', issuer: root, usage: SIGN_USAGE })
    const padded = [cert(leaf), ...Array.from({ length: 8 }, () => cert(root))]
    const checks = byName((await verifyChain('t', padded, { roots: [cert(root)], now })).checks)
    expect(checks['cert-chain']).toMatchObject({ ok: false, detail: 'the evidence carries 9 certificates; at most 8 are read' })
    expect(byName((await verifyChain('t', padded.slice(0, 8), { roots: [cert(root)], now })).checks)['cert-chain']!.ok).toBe(true)
  })

  it('judges validity and purpose on the path it found even when the chain is broken', async () => {
    const root = await issue({ subject: 'CN=Root', keyAlg: 'p384', ca: true, usage: CA_USAGE })
    const stranger = await issue({ subject: 'CN=Root', keyAlg: 'p384', ca: true, usage: CA_USAGE })
    const leaf = await issue({ subject: 'CN=Leaf', keyAlg: 'p384', issuer: stranger, ca: true })
    const { checks, path } = await verifyChain('t', [cert(leaf)], { roots: [cert(root)], now })
    expect(path.map((c) => c.subject)).toEqual(['CN=Leaf'])
    expect(checks.map((c) => [c.name, c.ok])).toEqual([['t:cert-chain', false], ['t:cert-validity', true], ['t:cert-purpose', false]])
    expect(checks[0]!.detail).toContain('no certificate in the evidence or the pinned set issued "Leaf"')
  })

  it('a configured root that does not parse fails every verification\'s parse check, naming it (certificates load on first use)', async () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'
    const snp = sevSnpProvider({ roots: [bad], collect: false })
    const gpu = nvidiaCcProvider({ roots: [bad], collect: false })
    for (let i = 0; i < 2; i++) {
      expect(await snp.verify({ report: 'AAAA', certificates: [] }, new Uint8Array(32))).toEqual([
        expect.objectContaining({ name: 'sev-snp:parse', ok: false, detail: expect.stringContaining('SEV-SNP root 0 is not an X.509 certificate') }),
      ])
      expect(await gpu.verify([{ evidence: 'AAAA', certificate: bad }], new Uint8Array(32))).toEqual([
        expect.objectContaining({ name: 'nvidia-cc:parse', ok: false, detail: expect.stringContaining('NVIDIA root 0 is not an X.509 certificate') }),
      ])
    }
  })
})

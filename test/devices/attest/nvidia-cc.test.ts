// The nvidia-cc provider against synthetic GPU evidence in NVIDIA's format (SPDM 1.1
// GET_MEASUREMENTS signed by a test FMC leaf chained to a test device root), and every way it
// can be wrong.
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { nvidiaCcProvider, type NvidiaCcOptions } from '../../../devices/attest/tee/nvidia-cc.js'
import { requiredPass, type Check } from '../../../devices/attest/tee/provider.js'
import { parseSpdmReport } from '../../../devices/attest/tee/spdm.js'
import { KeyUsageFlags } from './helpers/ca.js'
import { buildSpdm, gpuEntry, nvidiaPki, signSpdm, TEST_FWID, validGpuEvidence, type NvidiaPki } from './helpers/spdm.js'

let pki: NvidiaPki
let other: NvidiaPki
const binding = new Uint8Array(randomBytes(32))
const day = 86_400_000

beforeAll(async () => {
  pki = await nvidiaPki()
  other = await nvidiaPki()
})

const root = (p: NvidiaPki) => p.chain[p.chain.length - 1]!.pem
const provider = (opts: NvidiaCcOptions = {}) => nvidiaCcProvider({ roots: [root(pki)], collect: false, ...opts })
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]))
const failing = (checks: Check[]) => checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name)

async function evidenceFrom(p: NvidiaPki, spec: Partial<Parameters<typeof buildSpdm>[0]> = {}) {
  return validGpuEvidence(p, binding, spec)
}

describe('nvidia-cc provider', () => {
  it('valid evidence passes every check', async () => {
    const checks = await provider().verify(await evidenceFrom(pki), binding)
    expect(checks.map((c) => c.name)).toEqual([
      'nvidia-cc:parse', 'nvidia-cc:nonce', 'nvidia-cc:cert-chain', 'nvidia-cc:cert-validity', 'nvidia-cc:cert-purpose',
      'nvidia-cc:signature', 'nvidia-cc:fwid', 'nvidia-cc:driver-version', 'nvidia-cc:measurements',
    ])
    expect(failing(checks)).toEqual([])
    expect(byName(checks)['nvidia-cc:measurements']).toMatchObject({ ok: false, required: false })
    expect(requiredPass(checks)).toBe(true)
  })

  it('accepts the entry alone, a list, or {gpus|evidences|evidence_list}; several GPUs are checked one by one', async () => {
    const [entry] = await evidenceFrom(pki)
    for (const shape of [entry, [entry], { gpus: [entry] }, { evidences: [entry] }, { evidence_list: [entry] }]) {
      expect(failing(await provider().verify(shape as never, binding))).toEqual([])
    }
    const [bad] = await validGpuEvidence(pki, new Uint8Array(32))
    const two = await provider().verify([entry!, bad!], binding)
    expect(failing(two)).toEqual(['nvidia-cc[1]:nonce'])
    expect(two.filter((c) => c.name.startsWith('nvidia-cc[0]:')).length).toBe(9)
  })

  it('wrong nonce fails', async () => {
    const evidence = await validGpuEvidence(pki, new Uint8Array(randomBytes(32)))
    expect(failing(await provider().verify(evidence, binding))).toEqual(['nvidia-cc:nonce'])
  })

  it.each([['request nonce', 10], ['measurement record', 60], ['opaque data', -120], ['signature', -1]])(
    'a tampered byte in the %s breaks the signature', async (_what, offset) => {
      const [entry] = await evidenceFrom(pki)
      const bytes = Buffer.from(entry!.evidence, 'base64')
      bytes[offset < 0 ? bytes.length + offset : offset] ^= 0x01
      const checks = await provider().verify([{ ...entry!, evidence: bytes.toString('base64') }], binding)
      expect(byName(checks)['nvidia-cc:signature']!.ok).toBe(false)
      expect(requiredPass(checks)).toBe(false)
    })

  it('broken chain: a missing intermediate, a leaf from another chain, an unpinned root', async () => {
    const [entry] = await evidenceFrom(pki)
    const gapped = [pki.chain[0]!, pki.chain[1]!, pki.chain[3]!, pki.chain[4]!]
    const unsigned = buildSpdm({ nonce: binding })
    const report = Buffer.from(entry!.evidence, 'base64')
    expect(failing(await provider().verify([gpuEntry(report, gapped)], binding))).toEqual(['nvidia-cc:cert-chain'])
    const foreign = await signSpdm(unsigned, other.chain[0]!.keys.privateKey)
    expect(failing(await provider().verify([gpuEntry(foreign, [other.chain[0]!, ...pki.chain.slice(1)])], binding))).toEqual(['nvidia-cc:cert-chain'])
    expect(byName(await provider({ roots: [root(other)] }).verify([entry!], binding))['nvidia-cc:cert-chain']!.detail).toContain('not a pinned root')
  })

  it('expired or not-yet-valid leaf fails cert-validity', async () => {
    const expired = await nvidiaPki({ notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) })
    const checks = await nvidiaCcProvider({ roots: [root(expired)], collect: false }).verify(await evidenceFrom(expired), binding)
    expect(failing(checks)).toEqual(['nvidia-cc:cert-validity'])
    const future = await nvidiaPki({ notBefore: new Date(Date.now() + day) })
    expect(byName(await nvidiaCcProvider({ roots: [root(future)], collect: false }).verify(await evidenceFrom(future), binding))['nvidia-cc:cert-validity']!.detail).toContain('not valid before')
  })

  it('wrong purpose: a leaf that is a CA, a leaf without digitalSignature, an intermediate that is not a CA', async () => {
    for (const [pkiSpec, opts, detail] of [
      [{ ca: true }, {}, 'is a CA certificate'],
      [{ usage: KeyUsageFlags.keyEncipherment }, {}, 'may not sign'],
      [{}, { brokenIntermediateCa: true }, 'is not a CA'],
    ] as const) {
      const p = await nvidiaPki(pkiSpec, opts)
      const checks = await nvidiaCcProvider({ roots: [root(p)], collect: false }).verify(await evidenceFrom(p), binding)
      expect(failing(checks)).toEqual(['nvidia-cc:cert-purpose'])
      expect(byName(checks)['nvidia-cc:cert-purpose']!.detail).toContain(detail)
    }
  })

  it('fwid: a report FWID the certificate does not carry, or none at all, fails', async () => {
    const mismatched = await provider().verify(await evidenceFrom(pki, { fwid: new Uint8Array(48).fill(1) }), binding)
    expect(failing(mismatched)).toEqual(['nvidia-cc:fwid'])
    const absent = await provider().verify(await evidenceFrom(pki, { fwid: null }), binding)
    expect(byName(absent)['nvidia-cc:fwid']).toMatchObject({ ok: false, detail: 'the report carries no FWID' })
  })

  it('driver version: the entry must not claim another driver than the report signs', async () => {
    const [entry] = await evidenceFrom(pki, { driver: '535.104.05' })
    expect(failing(await provider().verify([entry!], binding))).toEqual(['nvidia-cc:driver-version'])
    const { driver_version: _d, ...unclaimed } = entry!
    expect(byName(await provider().verify([unclaimed], binding))['nvidia-cc:driver-version']).toMatchObject({ ok: true, detail: 'driver 535.104.05' })
  })

  it('measurements: the record digest in the trusted list passes; another is a required failure', async () => {
    const evidence = await evidenceFrom(pki)
    const digest = (await provider().verify(evidence, binding)).find((c) => c.name === 'nvidia-cc:measurements')!.detail.match(/[0-9a-f]{96}/)![0]
    expect(failing(await provider({ trustedMeasurements: [digest] }).verify(evidence, binding))).toEqual([])
    expect(failing(await provider({ trustedMeasurements: ['ab'.repeat(48)] }).verify(evidence, binding))).toEqual(['nvidia-cc:measurements'])
  })

  it('malformed reports are failed parses: wrong codes, lengths that do not add up, non-DMTF blocks', async () => {
    const good = buildSpdm({ nonce: binding })
    const mutate = (at: number, value: number) => {
      const b = new Uint8Array(good)
      b[at] = value
      return b
    }
    const cases: Array<[Uint8Array, string]> = [
      [good.subarray(0, 60), 'too short'],
      [mutate(1, 0x81), 'not GET_MEASUREMENTS'],
      [mutate(0, 0x10), 'SPDM version 1.0'],
      [mutate(2, 0x00), 'did not ask for a signature'],
      [mutate(38, 0x61), 'not MEASUREMENTS'],
      [mutate(37 + 8 + 1, 2), 'does not follow the DMTF specification'],
      [new Uint8Array([...good, 0, 0]), 'lengths do not add up'],
    ]
    for (const [unsigned, detail] of cases) {
      const signed = await signSpdm(unsigned, pki.chain[0]!.keys.privateKey)
      const checks = await provider().verify([gpuEntry(signed, pki.chain)], binding)
      expect(checks).toEqual([expect.objectContaining({ name: 'nvidia-cc:parse', ok: false, detail: expect.stringContaining(detail) })])
    }
    expect(() => parseSpdmReport(good)).toThrow(/lengths do not add up/) // unsigned: no room for a signature
    for (const evidence of ['text', [], [{ certificate: 'x' }], [{ evidence: Buffer.from(good).toString('base64') }]]) {
      expect(requiredPass(await provider().verify(evidence as never, binding))).toBe(false)
    }
  })

  it('collects through nvattest with the hex binding, and yields nothing when the tool is missing or talks nonsense', async () => {
    const [entry] = await evidenceFrom(pki)
    const calls: string[][] = []
    const p = nvidiaCcProvider({ roots: [root(pki)], collect: { run: async (file, args) => { calls.push([file, ...args]); return JSON.stringify({ evidences: [entry] }) } } })
    const collected = await p.collect(binding)
    expect(calls).toEqual([['nvattest', 'collect-evidence', '--nonce', Buffer.from(binding).toString('hex'), '--format', 'json']])
    expect(collected).toEqual({ gpus: [entry] })
    expect(failing(await p.verify(collected!, binding))).toEqual([])
    expect(await nvidiaCcProvider({ collect: { nvattest: '/nonexistent/nvattest' } }).collect(binding)).toBeUndefined()
    expect(await nvidiaCcProvider({ collect: { run: async () => 'not json' } }).collect(binding)).toBeUndefined()
    expect(await nvidiaCcProvider({ collect: { run: async () => '[]' } }).collect(binding)).toBeUndefined()
    expect(TEST_FWID).toHaveLength(48)
  })
})

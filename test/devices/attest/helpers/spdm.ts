/**
 * Synthetic NVIDIA GPU evidence in the real format: an SPDM 1.1 GET_MEASUREMENTS request and
 * MEASUREMENTS response (DMTF measurement blocks, NVIDIA opaque TLVs for the driver version and
 * FWID), signed with ECDSA P-384/SHA-384 over request ‖ response-without-signature by the leaf
 * of a five-certificate test chain shaped like NVIDIA's (root → identity → provisioner ICA →
 * GSP BROM → FMC leaf with a DICE FWID).
 */
import { CA_USAGE, concat, diceFwidExtension, issue, KeyUsageFlags, signP384, SIGN_USAGE, type Issued } from './ca.js'

export const TEST_FWID = new Uint8Array(48).map((_, i) => (i * 5 + 9) & 0xff)
export const TEST_DRIVER = '550.90.07'

export interface NvidiaPki {
  chain: Issued[] // leaf first
}

export interface LeafSpec {
  fwid?: Uint8Array
  notBefore?: Date
  notAfter?: Date
  usage?: number
  ca?: boolean
}

export async function nvidiaPki(leaf: LeafSpec = {}, opts: { brokenIntermediateCa?: boolean } = {}): Promise<NvidiaPki> {
  const root = await issue({ subject: 'CN=Test Device Identity CA, O=NVIDIA', keyAlg: 'p384', ca: true, usage: CA_USAGE })
  const identity = await issue({ subject: 'CN=Test GH100 Identity, O=NVIDIA Corporation', keyAlg: 'p384', issuer: root, ca: true, usage: CA_USAGE })
  const ica = await issue({ subject: 'CN=Test GH100 Provisioner ICA 1, O=NVIDIA Corporation', keyAlg: 'p384', issuer: identity, ca: true, usage: CA_USAGE })
  const brom = await issue({
    subject: 'CN=GH100 A01 GSP BROM, O=NVIDIA Corporation', keyAlg: 'p384', issuer: ica,
    ...(opts.brokenIntermediateCa === true ? { usage: SIGN_USAGE } : { ca: true, usage: KeyUsageFlags.keyCertSign }),
  })
  const fmc = await issue({
    subject: 'CN=GH100 A01 GSP FMC LF, O=NVIDIA Corporation', keyAlg: 'p384', issuer: brom,
    extensions: [diceFwidExtension(leaf.fwid ?? TEST_FWID)],
    usage: leaf.usage ?? SIGN_USAGE,
    ...(leaf.ca !== undefined && { ca: leaf.ca }),
    ...(leaf.notBefore !== undefined && { notBefore: leaf.notBefore }),
    ...(leaf.notAfter !== undefined && { notAfter: leaf.notAfter }),
  })
  return { chain: [fmc, brom, ica, identity, root] }
}

const u16 = (n: number): number[] => [n & 0xff, n >> 8]

export interface SpdmSpec {
  nonce: Uint8Array
  blocks?: Array<{ index: number; value: Uint8Array }>
  driver?: string
  fwid?: Uint8Array | null
}

/** request ‖ response, unsigned (the signature field is appended by signSpdm). */
export function buildSpdm(spec: SpdmSpec): Uint8Array {
  const request = new Uint8Array([0x11, 0xe0, 0x01, 0xff, ...spec.nonce, 0x00])
  const blocks = spec.blocks ?? [1, 2, 3].map((index) => ({ index, value: new Uint8Array(48).fill(index) }))
  const record = concat(blocks.map((b) => new Uint8Array([b.index, 1, ...u16(3 + b.value.length), 0x01, ...u16(b.value.length), ...b.value])))
  const driver = new TextEncoder().encode(`${spec.driver ?? TEST_DRIVER}\0`)
  const fwid = spec.fwid === undefined ? TEST_FWID : spec.fwid
  const opaque = concat([
    new Uint8Array([...u16(3), ...u16(driver.length), ...driver]),
    ...(fwid === null ? [] : [new Uint8Array([...u16(20), ...u16(fwid.length), ...fwid])]),
  ])
  const responderNonce = new Uint8Array(32).fill(0xab)
  const response = concat([
    new Uint8Array([0x11, 0x60, 0x00, 0x00, blocks.length, record.length & 0xff, (record.length >> 8) & 0xff, record.length >> 16]),
    record, responderNonce, new Uint8Array(u16(opaque.length)), opaque,
  ])
  return concat([request, response])
}

export async function signSpdm(unsigned: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  return concat([unsigned, await signP384(key, unsigned)])
}

/** One GPU entry in nvattest's JSON shape. */
export function gpuEntry(report: Uint8Array, chain: readonly Issued[], extra: Record<string, string> = {}) {
  return {
    arch: 'HOPPER', nonce: Buffer.from(report.subarray(4, 36)).toString('hex'),
    evidence: Buffer.from(report).toString('base64'),
    certificate: Buffer.from(chain.map((c) => c.pem).join('\n')).toString('base64'),
    driver_version: TEST_DRIVER, vbios_version: '96.00.9F.00.01', ...extra,
  }
}

export async function validGpuEvidence(pki: NvidiaPki, binding: Uint8Array, spec: Partial<SpdmSpec> = {}) {
  const report = await signSpdm(buildSpdm({ nonce: binding, ...spec }), pki.chain[0]!.keys.privateKey)
  return [gpuEntry(report, pki.chain)]
}

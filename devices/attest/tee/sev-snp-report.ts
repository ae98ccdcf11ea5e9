/**
 * @module
 * The AMD SEV-SNP attestation report: the 1184-byte (0x4A0) structure of the SNP firmware ABI
 * specification (ATTESTATION_REPORT, versions 2 and 3), little-endian throughout.
 *
 *   0x000 version u32        0x004 guest_svn u32      0x008 policy u64 (bit 19 = DEBUG)
 *   0x010 family_id[16]      0x020 image_id[16]       0x030 vmpl u32
 *   0x034 signature_algo u32 (1 = ECDSA P-384 with SHA-384)
 *   0x038 current_tcb u64    0x040 platform_info u64  0x048 flags u32 (author_key_en bit 0,
 *         mask_chip_key bit 1, signing_key bits 2–4: 0 VCEK, 1 VLEK, 7 none)
 *   0x050 report_data[64]    0x090 measurement[48]    0x0C0 host_data[32]
 *   0x0E0 id_key_digest[48]  0x110 author_key_digest[48]
 *   0x140 report_id[32]      0x160 report_id_ma[32]   0x180 reported_tcb u64
 *   0x1A0 chip_id[64]        0x1E0 committed_tcb u64
 *   0x1E8 current build/minor/major u8   0x1EC committed build/minor/major u8
 *   0x1F0 launch_tcb u64     0x2A0 signature: r[72] ‖ s[72], little-endian, zero-padded
 *
 * The signature covers bytes 0x000–0x29F. A TCB_VERSION (Milan/Genoa layout) is: byte 0
 * boot loader SPL, byte 1 TEE SPL, bytes 2–5 reserved, byte 6 SNP SPL, byte 7 microcode SPL.
 */

export const SNP_REPORT_SIZE = 0x4a0
export const SNP_SIGNED_SIZE = 0x2a0
export const SNP_POLICY_DEBUG_BIT = 19n
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1
export const SNP_SIGNING_KEY = { vcek: 0, vlek: 1, none: 7 } as const

export interface Tcb {
  bootloader: number
  tee: number
  snp: number
  microcode: number
}

export interface SnpReport {
  version: number
  guestSvn: number
  policy: bigint
  familyId: Uint8Array
  imageId: Uint8Array
  vmpl: number
  signatureAlgo: number
  currentTcb: Tcb
  platformInfo: bigint
  authorKeyEn: boolean
  maskChipKey: boolean
  signingKey: number
  reportData: Uint8Array
  measurement: Uint8Array
  hostData: Uint8Array
  idKeyDigest: Uint8Array
  authorKeyDigest: Uint8Array
  reportId: Uint8Array
  reportIdMa: Uint8Array
  reportedTcb: Tcb
  chipId: Uint8Array
  committedTcb: Tcb
  currentVersion: string
  committedVersion: string
  launchTcb: Tcb
  /** Bytes 0x000–0x29F: what the signature covers. */
  signed: Uint8Array
  /** r ‖ s, 48 bytes each, big-endian (IEEE P1363), ready for ECDSA verification. */
  signature: Uint8Array
}

export const tcbOf = (bytes: Uint8Array): Tcb => ({ bootloader: bytes[0]!, tee: bytes[1]!, snp: bytes[6]!, microcode: bytes[7]! })
export const tcbText = (t: Tcb): string => `bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}`

/** Parses a report; throws on a wrong size or a signature component wider than P-384. */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length !== SNP_REPORT_SIZE) throw new Error(`an SEV-SNP report is ${SNP_REPORT_SIZE} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u32 = (at: number): number => view.getUint32(at, true)
  const u64 = (at: number): bigint => view.getBigUint64(at, true)
  const slice = (at: number, len: number): Uint8Array => bytes.slice(at, at + len)
  const flags = u32(0x48)
  const version = (at: number): string => `${bytes[at + 2]}.${bytes[at + 1]}.${bytes[at]}`
  return {
    version: u32(0x00), guestSvn: u32(0x04), policy: u64(0x08),
    familyId: slice(0x10, 16), imageId: slice(0x20, 16), vmpl: u32(0x30), signatureAlgo: u32(0x34),
    currentTcb: tcbOf(slice(0x38, 8)), platformInfo: u64(0x40),
    authorKeyEn: (flags & 1) !== 0, maskChipKey: (flags & 2) !== 0, signingKey: (flags >> 2) & 7,
    reportData: slice(0x50, 64), measurement: slice(0x90, 48), hostData: slice(0xc0, 32),
    idKeyDigest: slice(0xe0, 48), authorKeyDigest: slice(0x110, 48),
    reportId: slice(0x140, 32), reportIdMa: slice(0x160, 32), reportedTcb: tcbOf(slice(0x180, 8)),
    chipId: slice(0x1a0, 64), committedTcb: tcbOf(slice(0x1e0, 8)),
    currentVersion: version(0x1e8), committedVersion: version(0x1ec), launchTcb: tcbOf(slice(0x1f0, 8)),
    signed: slice(0, SNP_SIGNED_SIZE),
    signature: new Uint8Array([...leToP384(slice(0x2a0, 72), 'r'), ...leToP384(slice(0x2e8, 72), 's')]),
  }
}

/**
 * A 72-byte little-endian component → 48 bytes big-endian; the top 24 bytes must be zero. By
 * hand because AMD's layout is no ASN.1 or JOSE form a library reads: r ‖ s in P1363 is what
 * node:crypto verifies directly.
 */
function leToP384(le: Uint8Array, name: string): Uint8Array {
  if (le.subarray(48).some((b) => b !== 0)) throw new Error(`signature component ${name} is wider than 384 bits`)
  return le.slice(0, 48).reverse()
}

/** The 64-byte report_data for a binding: zero-padded (our 32-byte bindings) or cut to 64. */
export function snpReportData(binding: Uint8Array): Uint8Array {
  const out = new Uint8Array(64)
  out.set(binding.subarray(0, 64))
  return out
}

/** True when the guest policy allows debugging (the hypervisor can read guest memory). */
export const debugAllowed = (policy: bigint): boolean => ((policy >> SNP_POLICY_DEBUG_BIT) & 1n) === 1n

/**
 * @module
 * Just enough DER to read certificate extensions that node:crypto's X509Certificate does not
 * expose: key usage bits, and the vendor extensions attestation needs (AMD's VCEK TCB levels
 * and chip ID, the FWID digests of NVIDIA's DICE certificates).
 *
 * A strict reader: definite lengths only, every length checked against its container, so a
 * malformed certificate throws rather than being half-read.
 */

export interface Tlv {
  tag: number
  /** Offset of the contents within the buffer. */
  start: number
  /** Offset just past the contents. */
  end: number
}

/** Reads one TLV at `offset` (bounded by `limit`). */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new Error('der: truncated header')
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f) throw new Error('der: multi-byte tags are not supported')
  let length = buf[offset + 1]!
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > limit) throw new Error('der: bad length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + buf[start + i]!
    start += count
  }
  const end = start + length
  if (end > limit) throw new Error('der: contents overrun their container')
  return { tag, start, end }
}

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let at = parent.start; at < parent.end;) {
    const tlv = readTlv(buf, at, parent.end)
    out.push(tlv)
    at = tlv.end
  }
  return out
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function oidString(bytes: Uint8Array): string {
  const parts: number[] = []
  let value = 0
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80)
      else parts.push(value)
      value = 0
    }
  }
  return parts.join('.')
}

export interface Extension {
  critical: boolean
  /** The extnValue OCTET STRING's contents (the DER of the extension's own value). */
  value: Uint8Array
}

/** The extensions of a DER certificate, by OID. */
export function certExtensions(der: Uint8Array): Map<string, Extension> {
  const cert = readTlv(der, 0)
  const tbs = children(der, cert)[0]
  if (tbs === undefined) throw new Error('der: empty certificate')
  const out = new Map<string, Extension>()
  const explicit3 = children(der, tbs).find((t) => t.tag === 0xa3)
  if (explicit3 === undefined) return out
  const list = children(der, explicit3)[0]
  if (list === undefined) return out
  for (const ext of children(der, list)) {
    const parts = children(der, ext)
    const oid = parts[0]
    const last = parts[parts.length - 1]
    if (oid?.tag !== 0x06 || last?.tag !== 0x04) throw new Error('der: malformed extension')
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.start] !== 0
    out.set(oidString(der.subarray(oid.start, oid.end)), { critical, value: der.subarray(last.start, last.end) })
  }
  return out
}

export const KEY_USAGE_OID = '2.5.29.15'
export const BASIC_CONSTRAINTS_OID = '2.5.29.19'

/** The cA flag of a basicConstraints value (`SEQUENCE { cA BOOLEAN DEFAULT FALSE, … }`). */
export function basicConstraintsCa(value: Uint8Array): boolean {
  const seq = readTlv(value, 0)
  if (seq.tag !== 0x30) throw new Error('der: basicConstraints is not a SEQUENCE')
  const first = children(value, seq)[0]
  return first?.tag === 0x01 && value[first.start] !== 0
}
const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly']

/** The key usage names set in a keyUsage extension value (a BIT STRING). */
export function keyUsageNames(value: Uint8Array): Set<string> {
  const bits = readTlv(value, 0)
  if (bits.tag !== 0x03) throw new Error('der: keyUsage is not a BIT STRING')
  const names = new Set<string>()
  const bytes = value.subarray(bits.start + 1, bits.end)
  KEY_USAGE_NAMES.forEach((name, i) => {
    const byte = bytes[i >> 3]
    if (byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0) names.add(name)
  })
  return names
}

/** A DER INTEGER value as a number (small, non-negative integers: TCB levels). */
export function derSmallInteger(value: Uint8Array): number {
  const tlv = readTlv(value, 0)
  if (tlv.tag !== 0x02 || tlv.end - tlv.start > 6) throw new Error('der: not a small INTEGER')
  let n = 0
  for (let i = tlv.start; i < tlv.end; i++) n = n * 256 + value[i]!
  return n
}

/** An extension value that is a DER OCTET STRING, or (older AMD certificates) raw bytes. */
export function octetsOrRaw(value: Uint8Array, expectedLength: number): Uint8Array {
  if (value[0] === 0x04) {
    const tlv = readTlv(value, 0)
    if (tlv.end === value.length && tlv.end - tlv.start === expectedLength) return value.subarray(tlv.start, tlv.end)
  }
  return value
}

const HASH_OIDS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512',
}

/**
 * Every FWID — `SEQUENCE { hashAlg OID, digest OCTET STRING }` — anywhere inside a DICE
 * extension value. TCG's DiceTcbInfo ([6] fwids) and the older CompositeDeviceID NVIDIA uses
 * both nest FWIDs this way, so a structural walk reads either.
 */
export function findFwids(value: Uint8Array): Array<{ hash: string; digest: Uint8Array }> {
  const out: Array<{ hash: string; digest: Uint8Array }> = []
  const walk = (tlv: Tlv): void => {
    if ((tlv.tag & 0x20) === 0) return
    const kids = children(value, tlv)
    const [a, b] = kids
    if (kids.length === 2 && a!.tag === 0x06 && b!.tag === 0x04) {
      const hash = HASH_OIDS[oidString(value.subarray(a!.start, a!.end))]
      if (hash !== undefined) out.push({ hash, digest: value.subarray(b!.start, b!.end) })
      return
    }
    kids.forEach(walk)
  }
  walk(readTlv(value, 0))
  return out
}

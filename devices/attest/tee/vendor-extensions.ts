/**
 * @module
 * The values of the vendor certificate extensions attestation reads, decoded with asn1js (the
 * ASN.1 library under @peculiar/x509): AMD's VCEK TCB levels (INTEGERs) and chip ID, and the
 * FWID digests of NVIDIA's DICE certificates. Extensions come from x509.ts's `extensionValue`,
 * of a certificate whose chain and signature are checked separately.
 */
import * as asn1js from 'asn1js'

/** One ASN.1 value that must fill `bytes` exactly; throws on anything else. */
function decodeWhole(bytes: Uint8Array, what: string): asn1js.AsnType {
  const { offset, result } = asn1js.fromBER(bytes)
  if (offset !== bytes.length || result.error !== '') throw new Error(`${what} is not one DER value${result.error === '' ? '' : `: ${result.error}`}`)
  return result
}

/** A small non-negative INTEGER (TCB levels), as a number. */
export function smallInteger(value: Uint8Array): number {
  const node = decodeWhole(value, 'an INTEGER extension')
  if (!(node instanceof asn1js.Integer)) throw new Error('the extension is not an INTEGER')
  const n = node.toBigInt()
  if (n < 0n || n > 0xffff_ffffn) throw new Error(`INTEGER ${n} is out of range`)
  return Number(n)
}

/** An extension value that is a DER OCTET STRING of `expectedLength`, or (older AMD certificates) the raw bytes. */
export function octetsOrRaw(value: Uint8Array, expectedLength: number): Uint8Array {
  if (value[0] === 0x04 && value.length !== expectedLength) {
    const { offset, result } = asn1js.fromBER(value)
    if (offset === value.length && result instanceof asn1js.OctetString && result.valueBlock.valueHexView.length === expectedLength) {
      return new Uint8Array(result.valueBlock.valueHexView)
    }
  }
  return value
}

const HASH_OIDS: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512',
}

/**
 * Every FWID — `SEQUENCE { hashAlg OID, digest OCTET STRING }` — anywhere inside a DICE
 * extension value. TCG's DiceTcbInfo ([6] fwids) and the older CompositeDeviceID NVIDIA uses
 * both nest FWIDs this way, so a structural walk reads either.
 */
export function findFwids(value: Uint8Array): Array<{ hash: string; digest: Uint8Array }> {
  const out: Array<{ hash: string; digest: Uint8Array }> = []
  const walk = (node: asn1js.AsnType): void => {
    const kids: unknown = (node.valueBlock as { value?: unknown }).value
    if (!node.idBlock.isConstructed || !Array.isArray(kids)) return
    const [a, b] = kids as asn1js.AsnType[]
    if (kids.length === 2 && a instanceof asn1js.ObjectIdentifier && b instanceof asn1js.OctetString && !b.idBlock.isConstructed) {
      const hash = HASH_OIDS[a.getValue()]
      if (hash !== undefined) out.push({ hash, digest: new Uint8Array(b.valueBlock.valueHexView) })
      return
    }
    for (const kid of kids as asn1js.AsnType[]) walk(kid)
  }
  walk(decodeWhole(value, 'a DICE extension'))
  return out
}

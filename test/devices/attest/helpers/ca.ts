/**
 * Test certificate authorities, made in the test with @peculiar/x509 over WebCrypto: real X.509
 * in the vendors' shapes (AMD: RSA-PSS/SHA-384 ARK → ASK → an EC P-384 VCEK carrying AMD's TCB
 * and hwID extensions; NVIDIA: an all-P-384 five-certificate chain whose leaf carries a DICE
 * FWID). Every knob a negative test needs (validity, CA flag, key usage, TCB, chip) is a
 * parameter, so each failure is produced by a genuinely different certificate.
 */
import { webcrypto } from 'node:crypto'
import 'reflect-metadata' // tsyringe (under @peculiar/x509) needs the Reflect metadata API
import * as x509 from '@peculiar/x509'
import { concatBytes } from '../../../../core/bytes.js'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const DAY = 86_400_000
export const RSA_PSS = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const
export const ECDSA_384 = { name: 'ECDSA', hash: 'SHA-384' } as const

type Bytes = Uint8Array<ArrayBuffer>

/** Minimal DER writer for extension values. */
export const der = {
  tlv(tag: number, body: Uint8Array): Bytes {
    const len = body.length
    const head = len < 128 ? [len] : len < 256 ? [0x81, len] : [0x82, len >> 8, len & 0xff]
    return new Uint8Array([tag, ...head, ...body])
  },
  seq: (...parts: Uint8Array[]): Bytes => der.tlv(0x30, concat(parts)),
  int: (n: number): Bytes => der.tlv(0x02, n < 128 ? new Uint8Array([n]) : new Uint8Array([0, n])),
  octets: (b: Uint8Array): Bytes => der.tlv(0x04, b),
  oid(text: string): Bytes {
    const [a, b, ...rest] = text.split('.').map(Number)
    const out = [a! * 40 + b!]
    for (const n of rest) {
      const bytes = [n & 0x7f]
      for (let v = n >> 7; v > 0; v >>= 7) bytes.unshift((v & 0x7f) | 0x80)
      out.push(...bytes)
    }
    return der.tlv(0x06, new Uint8Array(out))
  },
}

/** The parts, one after another (the project's helper, typed for WebCrypto). */
export const concat = (parts: readonly Uint8Array[]): Bytes => concatBytes(parts) as Bytes

export interface Issued {
  cert: x509.X509Certificate
  pem: string
  keys: CryptoKeyPair
}

export interface CertSpec {
  subject: string
  keyAlg: 'rsa-pss' | 'p384'
  /** Absent: self-signed. */
  issuer?: Issued
  ca?: boolean
  /** KeyUsageFlags bits; undefined leaves the extension out. */
  usage?: number
  extensions?: x509.Extension[]
  notBefore?: Date
  notAfter?: Date
}

export async function keyPair(alg: 'rsa-pss' | 'p384'): Promise<CryptoKeyPair> {
  return alg === 'rsa-pss'
    ? webcrypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>
    : webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>
}

export async function issue(spec: CertSpec): Promise<Issued> {
  const keys = await keyPair(spec.keyAlg)
  const signer = spec.issuer?.keys ?? keys
  const signerAlg = signer.privateKey.algorithm.name === 'RSA-PSS' ? RSA_PSS : ECDSA_384
  const extensions: x509.Extension[] = [...(spec.extensions ?? [])]
  if (spec.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(spec.ca, undefined, true))
  if (spec.usage !== undefined) extensions.push(new x509.KeyUsagesExtension(spec.usage, true))
  const cert = await x509.X509CertificateGenerator.create({
    subject: spec.subject,
    issuer: spec.issuer?.cert.subject ?? spec.subject,
    notBefore: spec.notBefore ?? new Date(Date.now() - DAY),
    notAfter: spec.notAfter ?? new Date(Date.now() + 365 * DAY),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signerAlg,
    extensions,
  })
  return { cert, pem: cert.toString('pem'), keys }
}

export const CA_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
export const SIGN_USAGE = x509.KeyUsageFlags.digitalSignature
export const { KeyUsageFlags } = x509

/** AMD's VCEK extensions for a TCB and chip. */
export function vcekExtensions(tcb: { bootloader: number; tee: number; snp: number; microcode: number }, chipId: Uint8Array): x509.Extension[] {
  const arc = '1.3.6.1.4.1.3704.1'
  const spl = (n: number, value: number) => new x509.Extension(`${arc}.3.${n}`, false, der.int(value))
  return [
    new x509.Extension(`${arc}.1`, false, der.int(1)),
    new x509.Extension(`${arc}.2`, false, der.tlv(0x16, new TextEncoder().encode('Milan-B0'))),
    spl(1, tcb.bootloader), spl(2, tcb.tee), spl(3, tcb.snp), spl(8, tcb.microcode),
    new x509.Extension(`${arc}.4`, false, der.octets(chipId)),
  ]
}

/** A DICE FWID extension (TCG arc 2.23.133.5.4.1) carrying one SHA-384 firmware digest. */
export function diceFwidExtension(fwid: Uint8Array): x509.Extension {
  return new x509.Extension('2.23.133.5.4.1', false, der.seq(der.int(1), der.seq(der.oid('2.16.840.1.101.3.4.2.2'), der.octets(fwid))))
}

/** The raw P-384 signature (r ‖ s, 96 bytes) of `data` with SHA-384. */
export async function signP384(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.sign(ECDSA_384, key, new Uint8Array(data)))
}

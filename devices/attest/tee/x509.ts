/**
 * @module
 * Certificate chains for TEE evidence, offline (no network, no system trust store): the leaf
 * must lead, signature by signature, to a root whose SHA-256 DER fingerprint is pinned.
 *
 * Parsing, issuer matching (names, authority/subject key IDs) and signatures (RSA-PSS/SHA-384
 * on AMD certificates, ECDSA P-384 on NVIDIA ones, over WebCrypto) are @peculiar/x509's; the
 * policy is ours, in three checks named after the provider:
 *
 * - `cert-chain`: the path @peculiar/x509's chain builder finds (pinned roots offered first, so
 *   a look-alike self-signed "ARK-Milan" in the evidence never wins over the real one) reaches
 *   a pinned root.
 * - `cert-validity`: every certificate of the path is inside its validity period at `now`.
 * - `cert-purpose`: issuers are CAs (basicConstraints) allowed to sign certificates (keyUsage
 *   keyCertSign when present) within their pathLenConstraint; the leaf is not a CA and, when it
 *   has a keyUsage, may sign (digitalSignature). A CA key signing reports, or a TLS-only key,
 *   is refused.
 *
 * Why not pkijs's CertificateChainValidationEngine: it answers one result code and stops at the
 * first failure (dates before CA flags) and never judges the leaf, while a verifier must say
 * which of the three failed (an expired VCEK is not a broken chain) and refuse a CA as leaf.
 *
 * Revocation (CRL/OCSP) is not checked offline; see FetchSeam in provider.ts.
 */
import 'reflect-metadata' // tsyringe, which @peculiar/x509 loads, needs the Reflect metadata API
import { createPublicKey, verify as cryptoVerify, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { sha256Hex } from '../../../core/sha256.js'
import { check, type Check } from './provider.js'

export type Certificate = x509.X509Certificate

export interface ChainPolicy {
  /** Trust anchors; only these fingerprints can end a chain. */
  readonly roots: readonly Certificate[]
  /** Intermediates a chain may leave out (AMD's ASKs ship with the node). */
  readonly intermediates?: readonly Certificate[]
  readonly now: Date
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
/** At most this many certificates of the evidence are chained: path building tries every pair. */
const MAX_EVIDENCE_CERTIFICATES = 8
const crypto = webcrypto as unknown as Crypto

/** The PEM certificates in a text, in order. */
export const splitPem = (text: string): string[] => text.match(PEM_BLOCK) ?? []

/** Parses one certificate from PEM text or DER bytes; throws with a clear message. */
export function parseCertificate(input: string | Uint8Array, what = 'certificate'): Certificate {
  try {
    return new x509.X509Certificate(typeof input === 'string' ? input : new Uint8Array(input))
  } catch (cause) {
    throw new Error(`${what} is not an X.509 certificate: ${(cause as Error).message}`)
  }
}

/** The SHA-256 fingerprint of a certificate's DER, lower-case hex without colons. */
export const fingerprintOf = (cert: Certificate): string => sha256Hex(new Uint8Array(cert.rawData))

/** The common name of a certificate's subject, for readable details. */
export const commonName = (cert: Certificate): string => cert.subjectName.getField('CN')[0] ?? cert.subject

/** The contents of an extension's extnValue (the DER of its own value), by OID. */
export function extensionValue(cert: Certificate, oid: string): Uint8Array | undefined {
  const ext = cert.getExtension(oid)
  return ext === null ? undefined : new Uint8Array(ext.value)
}

/** Every extension whose OID starts with `arc`, as extnValue contents. */
export const extensionValuesUnder = (cert: Certificate, arc: string): Uint8Array[] =>
  cert.extensions.filter((ext) => ext.type.startsWith(arc)).map((ext) => new Uint8Array(ext.value))

/**
 * Verifies an ECDSA P-384/SHA-384 signature given as r ‖ s (IEEE P1363, what SEV-SNP and SPDM
 * reports carry) with the certificate's key.
 */
export function verifiesWith(cert: Certificate, data: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' })
  return cryptoVerify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
}

/** Builds the path from `chain[0]` to a root and returns the three checks (and the path). */
export async function verifyChain(prefix: string, chain: readonly Certificate[], policy: ChainPolicy): Promise<{ checks: Check[]; path: Certificate[] }> {
  const leaf = chain[0]
  if (leaf === undefined) {
    const none = `no certificates`
    return { path: [], checks: [check(`${prefix}:cert-chain`, false, none), check(`${prefix}:cert-validity`, false, none), check(`${prefix}:cert-purpose`, false, none)] }
  }
  const { path, failure } = await buildPath(chain, policy)
  const names = path.map(commonName).join(' → ')
  return {
    path,
    checks: [
      check(`${prefix}:cert-chain`, failure === undefined, failure ?? `${names} (pinned root ${fingerprintOf(path[path.length - 1]!)})`),
      validity(prefix, path, policy.now),
      purpose(prefix, path),
    ],
  }
}

/** The path from the leaf to the first pinned certificate, or as far as it goes and why not. */
async function buildPath(chain: readonly Certificate[], policy: ChainPolicy): Promise<{ path: Certificate[]; failure?: string }> {
  const leaf = chain[0]!
  if (chain.length > MAX_EVIDENCE_CERTIFICATES) {
    return { path: [leaf], failure: `the evidence carries ${chain.length} certificates; at most ${MAX_EVIDENCE_CERTIFICATES} are read` }
  }
  const pinned = new Set(policy.roots.map(fingerprintOf))
  const builder = new x509.X509ChainBuilder({ certificates: [...policy.roots, ...(policy.intermediates ?? []), ...chain.slice(1)] })
  let built: Certificate[]
  try {
    built = [...await builder.build(leaf, crypto)]
  } catch (err) {
    return { path: [leaf], failure: `the certificates do not form a chain: ${(err as Error).message}` }
  }
  const root = built.findIndex((cert) => pinned.has(fingerprintOf(cert)))
  if (root >= 0) return { path: built.slice(0, root + 1) }
  const last = built[built.length - 1]!
  return {
    path: built,
    failure: await last.isSelfSigned(crypto)
      ? `the chain ends at "${commonName(last)}" (${fingerprintOf(last)}), which is not a pinned root`
      : `no certificate in the evidence or the pinned set issued "${commonName(last)}" (or its signature does not verify)`,
  }
}

function validity(prefix: string, path: readonly Certificate[], now: Date): Check {
  for (const cert of path) {
    if (!(cert.notBefore.getTime() <= now.getTime())) return check(`${prefix}:cert-validity`, false, `"${commonName(cert)}" is not valid before ${cert.notBefore.toISOString()}`)
    if (!(now.getTime() <= cert.notAfter.getTime())) return check(`${prefix}:cert-validity`, false, `"${commonName(cert)}" expired ${cert.notAfter.toISOString()}`)
  }
  return check(`${prefix}:cert-validity`, true, `${path.length} certificates valid at ${now.toISOString()}`)
}

const USAGE_NAMES = Object.entries(x509.KeyUsageFlags).filter((e): e is [string, number] => typeof e[1] === 'number')
const usageText = (usages: number): string => USAGE_NAMES.filter(([, bit]) => (usages & bit) !== 0).map(([name]) => name).join(', ') || 'none'

function purpose(prefix: string, path: readonly Certificate[]): Check {
  const name = `${prefix}:cert-purpose`
  for (const [i, cert] of path.entries()) {
    const constraints = cert.getExtension(x509.BasicConstraintsExtension)
    const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages
    const isCa = constraints?.ca === true
    if (i === 0) {
      if (isCa) return check(name, false, `the signing certificate "${commonName(cert)}" is a CA certificate`)
      if (usages !== undefined && (usages & x509.KeyUsageFlags.digitalSignature) === 0) {
        return check(name, false, `the signing certificate "${commonName(cert)}" may not sign (keyUsage: ${usageText(usages)})`)
      }
      continue
    }
    if (!isCa) return check(name, false, `"${commonName(cert)}" issues certificates but is not a CA (basicConstraints)`)
    if (usages !== undefined && (usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      return check(name, false, `"${commonName(cert)}" may not sign certificates (keyUsage: ${usageText(usages)})`)
    }
    // pathLenConstraint counts the CA certificates below this one, the leaf not included.
    const below = i - 1
    if (constraints!.pathLength !== undefined && below > constraints!.pathLength) {
      return check(name, false, `"${commonName(cert)}" allows ${constraints!.pathLength} CA certificates below it, the chain has ${below}`)
    }
  }
  return check(name, true, 'issuers are CAs allowed to sign certificates; the leaf is a signing key')
}

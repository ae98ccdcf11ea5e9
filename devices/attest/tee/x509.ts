/**
 * @module
 * Certificate chains for TEE evidence, verified with node:crypto alone (no network, no system
 * trust store): the leaf must lead, signature by signature, to a root whose SHA-256 DER
 * fingerprint is pinned. Three checks come out, each named after the provider:
 *
 * - `cert-chain`: every link's signature verifies with its issuer's key (RSA-PSS/SHA-384 on AMD
 *   certificates, ECDSA P-384 on NVIDIA ones: OpenSSL reads the algorithm from the certificate)
 *   and the path ends at a pinned root. Pinned roots are tried first when building the path,
 *   so a look-alike self-signed "ARK-Milan" in the evidence never wins over the real one.
 * - `cert-validity`: every certificate is inside its validity period at the given time.
 * - `cert-purpose`: issuers are CAs (basicConstraints) allowed to sign certificates (keyUsage
 *   keyCertSign when present); the leaf is not a CA and, when it has a keyUsage, may sign
 *   (digitalSignature). A CA key signing reports, or a TLS-only key, is refused.
 *
 * Revocation (CRL/OCSP) is not checked offline; see FetchSeam in provider.ts.
 */
import { X509Certificate } from 'node:crypto'
import { BASIC_CONSTRAINTS_OID, basicConstraintsCa, certExtensions, KEY_USAGE_OID, keyUsageNames } from './der.js'
import { check, type Check } from './provider.js'

export interface ChainPolicy {
  /** Trust anchors; only these fingerprints can end a chain. */
  readonly roots: readonly X509Certificate[]
  /** Intermediates a chain may leave out (AMD's ASKs ship with the node). */
  readonly intermediates?: readonly X509Certificate[]
  readonly now: Date
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
const MAX_DEPTH = 8

/** The PEM certificates in a text, in order. */
export const splitPem = (text: string): string[] => text.match(PEM_BLOCK) ?? []

/** Parses one certificate from PEM text or DER bytes; throws with a clear message. */
export function parseCertificate(input: string | Uint8Array, what = 'certificate'): X509Certificate {
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input))
  } catch (cause) {
    throw new Error(`${what} is not an X.509 certificate: ${(cause as Error).message}`)
  }
}

/** The SHA-256 fingerprint of a certificate's DER, lower-case hex without colons. */
export const fingerprintOf = (cert: X509Certificate): string => cert.fingerprint256.replace(/:/g, '').toLowerCase()

/** The common name of a certificate's subject, for readable details. */
export function commonName(cert: X509Certificate): string {
  const cn = cert.subject.split('\n').find((line) => line.startsWith('CN='))
  return cn?.slice(3) ?? cert.subject.replace(/\n/g, ', ')
}

/**
 * Name chaining and the signature, nothing else: OpenSSL's checkIssued also refuses issuers
 * without keyCertSign, which would hide a wrong-purpose CA as a "broken chain". Purpose is
 * judged on its own, with its own reason, below.
 */
const signedBy = (cert: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return cert.issuer === issuer.subject && cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}

/** Builds the path from `chain[0]` to a root and returns the three checks (and the path). */
export function verifyChain(prefix: string, chain: readonly X509Certificate[], policy: ChainPolicy): { checks: Check[]; path: X509Certificate[] } {
  const leaf = chain[0]
  if (leaf === undefined) {
    const none = `no certificates`
    return { path: [], checks: [check(`${prefix}:cert-chain`, false, none), check(`${prefix}:cert-validity`, false, none), check(`${prefix}:cert-purpose`, false, none)] }
  }
  const pinned = new Set(policy.roots.map(fingerprintOf))
  const pool = [...policy.roots, ...(policy.intermediates ?? []), ...chain.slice(1)]
  const path = [leaf]
  let failure: string | undefined
  for (;;) {
    const current = path[path.length - 1]!
    if (pinned.has(fingerprintOf(current))) break
    if (signedBy(current, current)) {
      failure = `the chain ends at "${commonName(current)}" (${fingerprintOf(current)}), which is not a pinned root`
      break
    }
    if (path.length >= MAX_DEPTH) {
      failure = `no pinned root within ${MAX_DEPTH} certificates`
      break
    }
    const issuer = pool.find((c) => !path.includes(c) && signedBy(current, c))
    if (issuer === undefined) {
      failure = `no certificate in the evidence or the pinned set issued "${commonName(current)}" (or its signature does not verify)`
      break
    }
    path.push(issuer)
  }
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

function validity(prefix: string, path: readonly X509Certificate[], now: Date): Check {
  for (const cert of path) {
    const from = Date.parse(cert.validFrom)
    const to = Date.parse(cert.validTo)
    if (!(from <= now.getTime())) return check(`${prefix}:cert-validity`, false, `"${commonName(cert)}" is not valid before ${cert.validFrom}`)
    if (!(now.getTime() <= to)) return check(`${prefix}:cert-validity`, false, `"${commonName(cert)}" expired ${cert.validTo}`)
  }
  return check(`${prefix}:cert-validity`, true, `${path.length} certificates valid at ${now.toISOString()}`)
}

function purpose(prefix: string, path: readonly X509Certificate[]): Check {
  const name = `${prefix}:cert-purpose`
  try {
    for (const [i, cert] of path.entries()) {
      // Read from the DER: node's `ca` is OpenSSL's X509_check_ca, which folds key usage in.
      const ext = certExtensions(new Uint8Array(cert.raw))
      const usage = ext.get(KEY_USAGE_OID)
      const names = usage === undefined ? undefined : keyUsageNames(usage.value)
      const constraints = ext.get(BASIC_CONSTRAINTS_OID)
      const isCa = constraints !== undefined && basicConstraintsCa(constraints.value)
      if (i === 0) {
        if (isCa) return check(name, false, `the signing certificate "${commonName(cert)}" is a CA certificate`)
        if (names !== undefined && !names.has('digitalSignature')) {
          return check(name, false, `the signing certificate "${commonName(cert)}" may not sign (keyUsage: ${[...names].join(', ') || 'none'})`)
        }
      } else {
        if (!isCa) return check(name, false, `"${commonName(cert)}" issues certificates but is not a CA (basicConstraints)`)
        if (names !== undefined && !names.has('keyCertSign')) {
          return check(name, false, `"${commonName(cert)}" may not sign certificates (keyUsage: ${[...names].join(', ') || 'none'})`)
        }
      }
    }
  } catch (err) {
    return check(name, false, `cannot read certificate extensions: ${(err as Error).message}`)
  }
  return check(name, true, 'issuers are CAs allowed to sign certificates; the leaf is a signing key')
}

/**
 * @module
 * RFC 9530 `Content-Digest`: how a signature that covers only headers still binds the body.
 *
 * Parsing is forgiving about the encoding (aoconnect sends unpadded base64url inside `:…:`, which
 * is not an RFC 8941 byte sequence) but strict about meaning: every digest we can compute must
 * match, and a field with no digest we can compute is rejected, since an unverifiable digest
 * would leave a signed request's body unbound.
 */
import { createHash } from 'node:crypto'
import { InvalidSignatureError } from '../../core/errors.js'
import { CODE } from './constants.js'
import { equalBytes, parseBinaryDictionary, toBase64 } from './encoding.js'

/** Digest algorithms we compute (RFC 9530 §5 "active"), by their field names. */
const ALGORITHMS: Readonly<Record<string, string>> = { 'sha-256': 'sha256', 'sha-512': 'sha512' }

export type DigestAlgorithm = 'sha-256' | 'sha-512'

/** The digest of `body` under `alg`. */
export function digestBody(body: Uint8Array, alg: DigestAlgorithm = 'sha-256'): Uint8Array {
  return new Uint8Array(createHash(ALGORITHMS[alg]!).update(body).digest())
}

/** A `Content-Digest` value for `body` in the RFC form: `sha-256=:<padded base64>:`. */
export function contentDigestField(body: Uint8Array, alg: DigestAlgorithm = 'sha-256'): string {
  return `${alg}=:${toBase64(digestBody(body, alg))}:`
}

/**
 * Checks a `Content-Digest` field against the body; returns the algorithms that matched.
 * Throws InvalidSignatureError: `malformed-content-digest`, `unsupported-digest-alg` or
 * `content-digest-mismatch`.
 */
export function checkContentDigest(field: string, body: Uint8Array): string[] {
  const digests = parseBinaryDictionary(field)
  if (digests === undefined || digests.size === 0) {
    throw new InvalidSignatureError('httpsig: Content-Digest is not a list of `alg=:digest:` members', { code: CODE.digestMalformed })
  }
  const checked: string[] = []
  for (const [alg, expected] of digests) {
    if (!(alg in ALGORITHMS)) continue
    if (!equalBytes(digestBody(body, alg as DigestAlgorithm), expected)) {
      throw new InvalidSignatureError(`httpsig: the body does not match its Content-Digest (${alg})`, {
        code: CODE.digestMismatch, detail: { algorithm: alg, bodyBytes: body.length },
      })
    }
    checked.push(alg)
  }
  if (checked.length === 0) {
    throw new InvalidSignatureError(`httpsig: Content-Digest uses no supported algorithm (have ${[...digests.keys()].join(', ')})`, {
      code: CODE.digestUnsupported,
    })
  }
  return checked
}

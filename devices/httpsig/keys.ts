/**
 * @module
 * From `keyid` to key material, AO's way: the keyid *is* the public key, base64url (aoconnect)
 * or standard base64 (HyperBEAM), optionally prefixed `publickey:` (HyperBEAM's keyid scheme).
 * RSA keyids are the modulus (e = 65537), Ed25519 the 32-byte point, ECDSA and Ethereum an SEC1
 * point (65 bytes uncompressed as aoconnect and arbundles send it, or 33 compressed).
 *
 * The committer of a public-key signature is the Arweave-style address of that key,
 * base64url(sha256(key bytes)), the rule HyperBEAM's `keyid_to_committer` applies to every
 * public key (Ethereum keys are hashed in their uncompressed form, so both encodings of one key
 * name one committer). HMAC signatures have no committer: anyone holding the secret can make
 * them; HyperBEAM's public constant keys (`ao`, `constant:ao`) are recognised out of the box.
 */
import { createPublicKey } from 'node:crypto'
import { p256 } from '@noble/curves/nist.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { InvalidSignatureError } from '../../core/errors.js'
import { addressOf } from '../../identity/keys.js'
import type { VerificationKey } from '../../identity/algorithms.js'
import {
  CODE, CONSTANT_HMAC_KEYIDS, PUBLICKEY_SCHEME, isSignatureAlgorithm, type SignatureAlgorithm,
} from './constants.js'
import { decodeBase64Any, toBase64Url, utf8 } from './encoding.js'

/** Key material for one signature, and who the signer is. */
export interface ResolvedKey {
  readonly key: VerificationKey
  /** Address of the signer; absent for shared-secret (HMAC) signatures. */
  readonly committer?: string
}

/**
 * Finds the key for a signature from its `keyid` and `alg` parameters; undefined when unknown.
 * Verifiers accept a custom resolver (RFC test keys, key registries); `resolveAoKey` is the
 * default.
 */
export type KeyResolver = (keyid: string | undefined, alg: string | undefined) => ResolvedKey | undefined

/** Resolves AO keyids (raw public keys), HMAC keyids from `hmacKeys`, and the constant HMAC keys. */
export function resolveAoKey(
  keyid: string | undefined, alg: string | undefined, hmacKeys: Readonly<Record<string, Uint8Array>> = {},
): ResolvedKey | undefined {
  if (alg === undefined) {
    throw new InvalidSignatureError('httpsig: the signature has no alg parameter, and its keyid names no known key', {
      code: CODE.unsupportedAlg,
    })
  }
  if (!isSignatureAlgorithm(alg)) throw new InvalidSignatureError(`httpsig: unsupported algorithm "${alg}"`, { code: CODE.unsupportedAlg })
  if (keyid === undefined) throw badKeyid('the signature has no keyid')
  if (alg === 'hmac-sha256') {
    if (Object.prototype.hasOwnProperty.call(hmacKeys, keyid)) return { key: { alg, secret: hmacKeys[keyid]! } }
    if (CONSTANT_HMAC_KEYIDS.includes(keyid)) return { key: { alg, secret: utf8(keyid) } }
    return undefined
  }
  const raw = keyid.startsWith(PUBLICKEY_SCHEME) ? keyid.slice(PUBLICKEY_SCHEME.length) : keyid
  const bytes = decodeBase64Any(raw)
  if (bytes === undefined || bytes.length === 0) throw badKeyid(`keyid "${keyid.slice(0, 48)}…" is not base64 of a public key`)
  return publicKeyFor(alg, bytes)
}

function publicKeyFor(alg: Exclude<SignatureAlgorithm, 'hmac-sha256'>, bytes: Uint8Array): ResolvedKey {
  try {
    switch (alg) {
      case 'rsa-pss-sha512':
      case 'rsa-v1_5-sha256': {
        if (bytes.length < 128) throw new Error(`an RSA modulus of ${bytes.length * 8} bits is too small`)
        const key = createPublicKey({ key: { kty: 'RSA', n: toBase64Url(bytes), e: 'AQAB' }, format: 'jwk' })
        return { key: { alg, key }, committer: addressOf(bytes) }
      }
      case 'ed25519': {
        if (bytes.length !== 32) throw new Error('an Ed25519 key has 32 bytes')
        const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(bytes) }, format: 'jwk' })
        return { key: { alg, key }, committer: addressOf(bytes) }
      }
      case 'ecdsa-p256-sha256': {
        const point = p256.Point.fromBytes(bytes).toBytes(false)
        const key = createPublicKey({
          key: { kty: 'EC', crv: 'P-256', x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) },
          format: 'jwk',
        })
        return { key: { alg, key }, committer: addressOf(point) }
      }
      case 'ethereum': {
        const point = secp256k1.Point.fromBytes(bytes).toBytes(false)
        return { key: { alg, publicKey: point }, committer: addressOf(point) }
      }
    }
  } catch (cause) {
    throw new InvalidSignatureError(`httpsig: keyid is not a valid ${alg} public key: ${(cause as Error).message}`, {
      code: CODE.badKeyid, cause,
    })
  }
}

const badKeyid = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.badKeyid })

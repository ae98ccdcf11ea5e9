/**
 * @module
 * The signature algorithms of RFC 9421 §3.3 plus AO's `ethereum`, as two pure functions over
 * bytes: `signBytes` and `verifyBytes`. The signed bytes are always the signature base.
 *
 * - `rsa-pss-sha512`: verified with the salt length auto-detected. RFC 9421 says 64, but AO's
 *   JS client signs with Node's default, the *maximum* salt (446 bytes for RSA-4096), and
 *   HyperBEAM with a digest-length salt; auto-detection accepts all of them. We sign with 64
 *   bytes, RFC 9421's and HyperBEAM's choice: some verifiers (hbsig's `verify`) fix the salt
 *   length at the digest's, and none refuses it.
 * - `ecdsa-p256-sha256`: the signature is raw r‖s (64 bytes), never DER (§3.3.4).
 * - `ethereum`: EIP-191 `personal_sign` over the base (keccak-256 of
 *   "\x19Ethereum Signed Message:\n" + length + base), 65 bytes r‖s‖v as ethers writes it. We
 *   recover the public key from (r, s, v) and compare it with the keyid's; a 64-byte signature
 *   without v is checked directly against the key.
 */
import {
  constants, createHmac, sign as cryptoSign, verify as cryptoVerify, type KeyObject,
} from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Constant-time equality of two byte strings (HMAC comparisons). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Algorithms whose keys are node:crypto key objects. */
export type KeyObjectAlgorithm = 'rsa-pss-sha512' | 'rsa-v1_5-sha256' | 'ed25519' | 'ecdsa-p256-sha256'

/** A public key (or shared secret) able to check one algorithm. */
export type VerificationKey =
  | { readonly alg: KeyObjectAlgorithm, readonly key: KeyObject }
  | { readonly alg: 'hmac-sha256', readonly secret: Uint8Array }
  | { readonly alg: 'ethereum', readonly publicKey: Uint8Array }

/** A private key (or shared secret) able to sign with one algorithm. */
export type SigningKey =
  | { readonly alg: KeyObjectAlgorithm, readonly key: KeyObject }
  | { readonly alg: 'hmac-sha256', readonly secret: Uint8Array }
  | { readonly alg: 'ethereum', readonly privateKey: Uint8Array }

/** Signs `data`. RSA-PSS uses a 64-byte salt (RFC 9421 §3.3.1, as HyperBEAM). */
export function signBytes(signer: SigningKey, data: Uint8Array): Uint8Array {
  switch (signer.alg) {
    case 'hmac-sha256': return new Uint8Array(createHmac('sha256', signer.secret).update(data).digest())
    case 'ethereum': {
      const recovered = secp256k1.sign(eip191Hash(data), signer.privateKey, { prehash: false, format: 'recovered' })
      // noble puts the recovery byte first; Ethereum puts it last, offset by 27.
      return Uint8Array.from([...recovered.subarray(1), 27 + recovered[0]!])
    }
    default: return new Uint8Array(cryptoSign(digestOf(signer.alg), data, nodeKeyOptions(signer.alg, signer.key, 'sign')))
  }
}

/** Checks `signature` over `data`; false for a wrong signature or a malformed one, never throws. */
export function verifyBytes(verifier: VerificationKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (verifier.alg) {
      case 'hmac-sha256': return equalBytes(signBytes(verifier, data), signature)
      case 'ethereum': return verifyEthereum(verifier.publicKey, data, signature)
      default: return cryptoVerify(digestOf(verifier.alg), data, nodeKeyOptions(verifier.alg, verifier.key, 'verify'), signature)
    }
  } catch {
    return false
  }
}

/** keccak-256 of the EIP-191 "personal message" wrapping of `data`. */
export function eip191Hash(data: Uint8Array): Uint8Array {
  const prefix = utf8(`\x19Ethereum Signed Message:\n${data.length}`)
  const wrapped = new Uint8Array(prefix.length + data.length)
  wrapped.set(prefix)
  wrapped.set(data, prefix.length)
  return keccak_256(wrapped)
}

function verifyEthereum(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const hash = eip191Hash(data)
  const expected = secp256k1.Point.fromBytes(publicKey)
  if (signature.length === 64) return secp256k1.verify(signature, hash, publicKey, { prehash: false, lowS: false })
  if (signature.length !== 65) return false
  const v = signature[64]!
  const recovery = v >= 27 ? v - 27 : v
  if (recovery > 1) return false
  const recovered = secp256k1.Signature.fromBytes(signature.subarray(0, 64)).addRecoveryBit(recovery).recoverPublicKey(hash)
  return recovered.equals(expected)
}

function digestOf(alg: KeyObjectAlgorithm): string | null {
  if (alg === 'rsa-pss-sha512') return 'sha512'
  if (alg === 'ed25519') return null
  return 'sha256'
}

/**
 * The one RSA-PSS in the node. Signing takes a salt length: `digest` (RFC 9421, HyperBEAM's
 * httpsig) or `max` (Node's default, as AO's JS client and arbundles sign ANS-104 and wallet
 * signatures); verifying auto-detects the salt, so either verifies.
 */
export function rsaPssOptions(key: KeyObject, use: 'sign' | 'verify', salt: 'digest' | 'max' = 'digest') {
  const saltLength = use === 'verify' ? constants.RSA_PSS_SALTLEN_AUTO
    : salt === 'digest' ? constants.RSA_PSS_SALTLEN_DIGEST : constants.RSA_PSS_SALTLEN_MAX_SIGN
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }
}

function nodeKeyOptions(alg: KeyObjectAlgorithm, key: KeyObject, use: 'sign' | 'verify') {
  if (alg === 'rsa-pss-sha512') return rsaPssOptions(key, use)
  if (alg === 'rsa-v1_5-sha256') return { key, padding: constants.RSA_PKCS1_PADDING }
  if (alg === 'ecdsa-p256-sha256') return { key, dsaEncoding: 'ieee-p1363' as const }
  return { key }
}

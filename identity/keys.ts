/**
 * @module
 * The node's identity: a wallet is a private JWK (the Arweave keyfile format) of one of two kinds.
 *
 * - `rsa`: RSA-4096, e = 65537 (AQAB). The public key is the modulus `n`; the address is
 *   base64url(sha256(n)), 43 characters (Arweave's `ar_wallet:to_address`). Signatures are
 *   RSA-PSS with the *maximum* salt length, as Node's `createSign` makes them in AO's JS client
 *   (ao-core-libs) and arbundles; verifiers here auto-detect the salt, so HyperBEAM's
 *   digest-length salt verifies too. SHA-512 is the httpsig hash, SHA-256 the ANS-104 one.
 * - `ed25519`: the JWK is `{kty: OKP, crv: Ed25519, x, d}`; the public key is the 32 bytes of
 *   `x`; the address is base64url(sha256(x)), the rule of HyperBEAM's
 *   `ar_wallet:to_address(_, {eddsa, ed25519})` (Arweave's own "hash the public key" rule, not
 *   Solana's base58 of the key).
 *
 * Derived key objects are cached per wallet object, so a wallet stays a plain, serialisable JWK
 * holder while signing stays cheap. Wallet files live in node/wallet-file.ts.
 */
import {
  createPrivateKey, createPublicKey, generateKeyPair, sign as cryptoSign,
  verify as cryptoVerify, type JsonWebKey, type KeyObject,
} from 'node:crypto'
import { promisify } from 'node:util'
import { sha256 } from '../core/sha256.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { InternalError } from '../core/errors.js'
import { base64UrlBytes, toBase64Url } from '../core/bytes.js'
import { rsaPssOptions } from './algorithms.js'

export type WalletKind = 'rsa' | 'ed25519'

/** A private key in JWK form. RSA wallets are Arweave keyfiles. */
export interface Wallet {
  readonly kind: WalletKind
  readonly jwk: Readonly<JsonWebKey>
}

/** Hash used under RSA-PSS; Ed25519 ignores it (it hashes internally with SHA-512). */
export type SignHash = 'sha512' | 'sha256'

const RSA_BITS = 4096
const RSA_MIN_BYTES = 256 // 2048 bits: the smallest key AO's JS client accepts
const RSA_MAX_BYTES = 1024 // 8192 bits
const RSA_FIELDS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const
const generate = promisify(generateKeyPair)
const privateKeys = new WeakMap<Wallet, KeyObject>()

/** Generates a fresh wallet (RSA-4096 by default, the Arweave/HyperBEAM node key). */
export async function createWallet(kind: WalletKind = 'rsa'): Promise<Wallet> {
  const { privateKey } = kind === 'rsa'
    ? await generate('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 })
    : await generate('ed25519')
  const wallet: Wallet = { kind, jwk: privateKey.export({ format: 'jwk' }) }
  privateKeys.set(wallet, privateKey)
  return wallet
}

/** Validates a private JWK and wraps it as a wallet; throws InternalError `invalid-wallet`. */
export function walletFromJwk(jwk: unknown): Wallet {
  if (typeof jwk !== 'object' || jwk === null) throw invalid('the key is not a JSON object')
  const key = jwk as JsonWebKey
  if (key.kty === 'RSA') return checkRsa(key)
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return checkEd25519(key)
  throw invalid(`unsupported key type "${String(key.kty)}${key.crv === undefined ? '' : '/' + key.crv}"`)
}

/** The raw public key: the RSA modulus bytes, or the 32-byte Ed25519 point. */
export function publicKeyBytes(wallet: Wallet): Uint8Array {
  return decodeField(wallet.kind === 'rsa' ? wallet.jwk.n : wallet.jwk.x, wallet.kind === 'rsa' ? 'n' : 'x')
}

/** The wallet's address: base64url(sha256(public key)), 43 characters. */
export function walletAddress(wallet: Wallet): string {
  return addressOf(publicKeyBytes(wallet))
}

/** The address rule shared by RSA (modulus) and Ed25519 (point) keys. */
export const addressOf = (publicKey: Uint8Array): string => toBase64Url(sha256(publicKey))

/** Signs bytes: RSA-PSS (max salt) over `hash` (default SHA-512), or Ed25519. */
export function sign(wallet: Wallet, data: Uint8Array, opts: { hash?: SignHash } = {}): Uint8Array {
  const key = privateKeyObject(wallet)
  if (wallet.kind === 'ed25519') return new Uint8Array(cryptoSign(null, data, key))
  return new Uint8Array(cryptoSign(opts.hash ?? 'sha512', data, rsaPssOptions(key, 'sign', 'max')))
}

/**
 * Verifies a signature made by `sign` (or any RSA-PSS signer, whatever its salt length) against
 * a raw public key. Never throws on a bad key or signature: answers false.
 */
export function verifyWithPublicKey(
  kind: WalletKind, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array,
  opts: { hash?: SignHash } = {},
): boolean {
  try {
    if (kind === 'ed25519') return publicKey.length === 32 && ed25519.verify(signature, data, publicKey)
    const key = createPublicKey({ key: { kty: 'RSA', n: toBase64Url(publicKey), e: 'AQAB' }, format: 'jwk' })
    return cryptoVerify(opts.hash ?? 'sha512', data, rsaPssOptions(key, 'verify'), signature)
  } catch {
    return false
  }
}

/** The node:crypto private key of a wallet, created once per wallet object. */
export function privateKeyObject(wallet: Wallet): KeyObject {
  let key = privateKeys.get(wallet)
  if (key === undefined) {
    key = createPrivateKey({ key: wallet.jwk as JsonWebKey, format: 'jwk' })
    privateKeys.set(wallet, key)
  }
  return key
}

function checkRsa(jwk: JsonWebKey): Wallet {
  for (const field of RSA_FIELDS) decodeField(jwk[field], field)
  if (jwk.e !== 'AQAB') throw invalid('the RSA public exponent must be 65537 (AQAB)')
  const n = decodeField(jwk.n, 'n')
  if (n.length < RSA_MIN_BYTES || n.length > RSA_MAX_BYTES || n[0] === 0) {
    throw invalid(`the RSA modulus has ${n.length * 8} bits; expected 2048 to 8192 (4096 for Arweave)`)
  }
  return proveKeyPair({ kind: 'rsa', jwk })
}

function checkEd25519(jwk: JsonWebKey): Wallet {
  const x = decodeField(jwk.x, 'x')
  const d = decodeField(jwk.d, 'd')
  if (x.length !== 32 || d.length !== 32) throw invalid('Ed25519 keys have 32-byte x and d')
  if (toBase64Url(ed25519.getPublicKey(d)) !== toBase64Url(x)) throw invalid('x is not the public key of d')
  return proveKeyPair({ kind: 'ed25519', jwk })
}

/** A sign/verify round trip catches private fields that do not belong to the public key. */
function proveKeyPair(wallet: Wallet): Wallet {
  const probe = new TextEncoder().encode('hashbeam wallet self-check')
  let ok: boolean
  try {
    ok = verifyWithPublicKey(wallet.kind, publicKeyBytes(wallet), probe, sign(wallet, probe))
  } catch (cause) {
    throw invalid(`the key cannot sign: ${(cause as Error).message}`)
  }
  if (!ok) throw invalid('the private key does not match the public key')
  return wallet
}

/** Decodes a JWK field, insisting on canonical unpadded base64url. */
function decodeField(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid(`field "${field}" is missing or not base64url`)
  const bytes = base64UrlBytes(value)
  if (toBase64Url(bytes) !== value) throw invalid(`field "${field}" is not canonical base64url`)
  return bytes
}

function invalid(reason: string): InternalError {
  return new InternalError(`wallet: ${reason}`, { code: 'invalid-wallet' })
}

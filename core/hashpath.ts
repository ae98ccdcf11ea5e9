/**
 * @module
 * Hashpaths: HyperBEAM's `sha-256-chain` rule over our IDs (DESIGN §5).
 *
 *     hashpath(base)        = base's recorded hashpath, else ID(base)
 *     part(req)             = req.path when req carries nothing else, else ID(req)
 *     next("A", part)       = "A/part"
 *     next("P1/P2", part)   = b64u(alg(bytes(P1), P2 is an ID ? bytes(P2) : utf8(P2))) + "/" + part
 *
 * So a hashpath is always "rolling digest / last step": the fold happens one step late, which
 * keeps the latest request readable. `sha-256-chain` is sha256(a ‖ b); `accumulate-256` is
 * (a + b) mod 2^256 with both read as big-endian 256-bit numbers (b zero-extended on the left
 * when it is a key name shorter than 32 bytes, as HyperBEAM's binary-to-integer does).
 */
import { concatBytes } from './bytes.js'
import { InvalidRequestError } from './errors.js'
import { fromBase64Url, idOf, isAoId, toBase64Url } from './id.js'
import { isBareKeyRequest } from './message.js'
import { sha256Base64Url } from './sha256.js'
import type { Message } from './types.js'

/** The hashpath algorithms a base may choose with its `hashpath-alg` key. */
export type HashpathAlg = 'sha-256-chain' | 'accumulate-256'
export const DEFAULT_HASHPATH_ALG: HashpathAlg = 'sha-256-chain'
const TEXT = new TextEncoder()

/** Reads and checks a base's `hashpath-alg`. */
export function hashpathAlgOf(base: Message): HashpathAlg {
  const alg = base['hashpath-alg']
  if (alg === undefined) return DEFAULT_HASHPATH_ALG
  if (alg === 'sha-256-chain' || alg === 'accumulate-256') return alg
  throw new InvalidRequestError(`hashpath: unknown hashpath-alg "${String(alg)}"`, { code: 'unknown-hashpath-alg' })
}

/** The part a request contributes: its key name when bare, else its ID. */
export function requestPart(req: Message): string {
  return bareKeyPart(req) ?? idOf(req)
}

/** A bare key request's part (its key name), or undefined when the part is the request's ID. */
export function bareKeyPart(req: Message): string | undefined {
  return isBareKeyRequest(req) && typeof req.path === 'string' && req.path !== '' ? req.path : undefined
}

const MOD_256 = 1n << 256n
function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n
  for (const byte of bytes) n = (n << 8n) | BigInt(byte)
  return n
}
function accumulate(a: Uint8Array, b: Uint8Array): Uint8Array {
  let sum = (toBigInt(a) + toBigInt(b)) % MOD_256
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(sum & 0xffn)
    sum >>= 8n
  }
  return out
}

/** Splits a hashpath into its one or two parts; throws on anything else. */
export function splitHashpath(hashpath: string): [string] | [string, string] {
  const slash = hashpath.indexOf('/')
  if (slash === -1) {
    if (!isAoId(hashpath)) throw new InvalidRequestError(`hashpath: "${hashpath.slice(0, 100)}" is not an ID`, { code: 'invalid-hashpath' })
    return [hashpath]
  }
  const head = hashpath.slice(0, slash)
  const tail = hashpath.slice(slash + 1)
  if (!isAoId(head) || tail === '' || tail.includes('/')) {
    throw new InvalidRequestError(`hashpath: "${hashpath.slice(0, 100)}" is not "<id>/<part>"`, { code: 'invalid-hashpath' })
  }
  return [head, tail]
}

/**
 * The rolling digest of "head/tail", spelled as an ID. The sha-256-chain case hashes straight
 * to text: verify folds one hashpath per step, and a digest as bytes would only be re-spelled.
 */
function fold(head: string, tail: string, alg: HashpathAlg): string {
  const first = fromBase64Url(head)
  const second = isAoId(tail) ? fromBase64Url(tail) : TEXT.encode(tail)
  return alg === 'sha-256-chain' ? sha256Base64Url(concatBytes([first, second])) : toBase64Url(accumulate(first, second))
}

/** Folds a (one- or two-part) hashpath into its 32-byte rolling digest. */
export function rollingDigest(hashpath: string, alg: HashpathAlg = DEFAULT_HASHPATH_ALG): Uint8Array {
  const parts = splitHashpath(hashpath)
  return fromBase64Url(parts.length === 1 ? parts[0] : fold(parts[0], parts[1], alg))
}

/** The hashpath after applying a request part to a base hashpath. */
export function nextHashpath(baseHashpath: string, part: string, alg: HashpathAlg = DEFAULT_HASHPATH_ALG): string {
  if (part === '' || part.includes('/')) throw new InvalidRequestError(`hashpath: invalid request part "${part.slice(0, 100)}"`, { code: 'invalid-hashpath' })
  const parts = splitHashpath(baseHashpath)
  if (parts.length === 1) return `${parts[0]}/${part}`
  return `${fold(parts[0], parts[1], alg)}/${part}`
}

/** Convenience: hashpath of applying `req` to a base whose hashpath is `baseHashpath`. */
export const hashpathOf = (baseHashpath: string, req: Message, alg: HashpathAlg = DEFAULT_HASHPATH_ALG): string =>
  nextHashpath(baseHashpath, requestPart(req), alg)

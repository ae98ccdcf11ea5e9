/**
 * @module
 * SHA-256, the one hash behind every ID, hashpath and record seal.
 *
 * On Node (≥ 20.12) it is the runtime's one-shot `crypto.hash`, which uses the CPU's SHA
 * instructions: measured here, ~7× @noble/hashes on 200-byte messages and ~9× on 1 MiB blobs,
 * and verify hashes three or four small messages per step. Elsewhere (browsers, older Node) it
 * is @noble/hashes. Both give the same digests; test/core/sha256.test.ts checks them against
 * each other and against known vectors.
 *
 * The runtime is reached through `process.getBuiltinModule`, not an import, so core/ still
 * loads where there is no `node:crypto`.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { base64UrlBytes, toBase64Url, toHex } from './bytes.js'

type OneShotHash = (algorithm: 'sha256', data: Uint8Array | string, encoding: 'base64url' | 'hex') => string

function nativeHash(): OneShotHash | undefined {
  const crypto = globalThis.process?.getBuiltinModule?.('node:crypto') as { hash?: OneShotHash } | undefined
  return typeof crypto?.hash === 'function' ? crypto.hash : undefined
}

const native = nativeHash()


const UTF8 = new TextEncoder()

/**
 * The digest, spelled as unpadded base64url (43 characters): the AO ID form. A string is
 * hashed as its UTF-8 bytes (the runtime does that without a JS-side copy).
 */
export const sha256Base64Url: (data: Uint8Array | string) => string = native === undefined
  ? (data) => toBase64Url(nobleSha256(typeof data === 'string' ? UTF8.encode(data) : data))
  : (data) => native('sha256', data, 'base64url')

/** The digest as lower-case hex (blob addresses, model identities). */
export const sha256Hex: (bytes: Uint8Array) => string = native === undefined
  ? (bytes) => toHex(nobleSha256(bytes))
  : (bytes) => native('sha256', bytes, 'hex')

/**
 * The 32-byte digest, as a plain Uint8Array of its own. Node's `'buffer'` output allocates
 * through a slow path (1.5 µs for a 200-byte input against 0.5 µs for text), so the native
 * digest is taken as base64url and decoded: still ~4× noble. The copy keeps a long-lived digest
 * from pinning Node's shared 8 KiB pool slab, and costs nothing measurable.
 */
export const sha256: (bytes: Uint8Array) => Uint8Array = native === undefined
  ? nobleSha256
  : (bytes) => base64UrlBytes(native('sha256', bytes, 'base64url'))

/** Which implementation is in use, for `meta@1.0/build` and benchmarks. */
export const sha256Backend: 'node:crypto' | '@noble/hashes' = native === undefined ? '@noble/hashes' : 'node:crypto'

/**
 * @module
 * The envelope every node-to-router message shares (offers, checkers' polls and reports): JSON
 * text stamped with the sender's address, key kind, public key and time, signed under a device
 * tag (identity/signer.ts: the signature can never pass for another tag). One reader and one
 * signature check, so every message kind refuses the same malformed or forged input the same way.
 */
import { base64UrlBytes, toBase64Url } from '../../core/bytes.js'
import type { InvalidRequestError } from '../../core/errors.js'
import type { Signer } from '../../core/types.js'
import { addressOf } from '../../identity/keys.js'

export interface Envelope {
  readonly address: string
  readonly 'key-kind': 'rsa' | 'ed25519'
  readonly 'public-key': string
  /** Milliseconds since the epoch; strictly increasing per address. */
  readonly time: number
}

const UTF8 = new TextEncoder()

/** The sender's part of the envelope. */
export const envelopeOf = (signer: Signer, time: number): Envelope =>
  ({ address: signer.address, 'key-kind': signer.kind, 'public-key': toBase64Url(signer.publicKey), time })

/** `value` (envelope included) as JSON text and its signature under `tag`. */
export async function signJson(signer: Signer, tag: string, value: Envelope): Promise<{ text: string; signature: string }> {
  const text = JSON.stringify(value)
  return { text, signature: toBase64Url(await signer.sign(tag, UTF8.encode(text))) }
}

/** Parses at most `maxBytes` of text into an object whose envelope fields are well-typed. */
export function readSignedJson(text: string, maxBytes: number, what: string, bad: (message: string) => InvalidRequestError): Record<string, unknown> {
  if (UTF8.encode(text).byteLength > maxBytes) throw bad(`${what} has at most ${maxBytes} bytes`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw bad(`${what} is not JSON (${(err as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad(`${what} is a JSON object`)
  const o = parsed as Record<string, unknown>
  if (o['key-kind'] !== 'rsa' && o['key-kind'] !== 'ed25519') throw bad('key-kind is rsa or ed25519')
  if (typeof o.address !== 'string' || typeof o['public-key'] !== 'string') throw bad('address and public-key are text')
  if (typeof o.time !== 'number' || !Number.isSafeInteger(o.time) || o.time <= 0) throw bad('time is milliseconds since the epoch')
  return o
}

/**
 * Checks that the named public key is the address's and signed exactly `text` under `tag`;
 * `refuse` says which failed (`key` or `signature`) as the caller's 403.
 */
export function checkSignedJson(o: Record<string, unknown>, text: string, signature: string, signer: Signer, tag: string,
  bad: (message: string) => InvalidRequestError, refuse: (why: 'key' | 'signature') => Error): void {
  let publicKey: Uint8Array
  let sig: Uint8Array
  try {
    publicKey = base64UrlBytes(o['public-key'] as string)
    sig = base64UrlBytes(signature)
  } catch {
    throw bad('public-key and signature are base64url')
  }
  if (addressOf(publicKey) !== o.address) throw refuse('key')
  if (!signer.verify(tag, UTF8.encode(text), sig, { kind: o['key-kind'] as 'rsa' | 'ed25519', publicKey })) throw refuse('signature')
}

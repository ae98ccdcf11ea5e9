/**
 * @module
 * Message IDs. The ID of a message is sha2-256 over its canonical DAG-CBOR encoding, private keys
 * removed. One digest, two spellings, both accepted wherever an ID is:
 * - the AO form: base64url without padding, 43 characters (what AO clients use and we print);
 * - the CID form: CIDv1, codec dag-cbor (0x71), multihash sha2-256 (`bafyrei…`).
 * The unsigned ID is the ID of the message without its `commitments` key.
 */
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { DAG_CBOR_CODE, encodeMessage } from './codec.js'
import { InvalidRequestError } from './errors.js'
import { sha256, sha256Base64Url } from './sha256.js'
import type { Message } from './types.js'
import { base64UrlBytes, toBase64Url } from './bytes.js'

export { sha256Hex } from './sha256.js'

const SHA2_256 = 0x12
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** base64url without padding. */
export { toBase64Url }

const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Inverse of toBase64Url; throws InvalidRequestError on bad input. Strict: Node's decoder
 * ignores stray trailing bits, so the text must also be the canonical spelling of its bytes
 * (otherwise two spellings would name one digest).
 */
export function fromBase64Url(text: string): Uint8Array {
  if (!BASE64URL.test(text) || !hasCanonicalTail(text)) {
    throw new InvalidRequestError(`id: "${text.slice(0, 64)}" is not canonical base64url`)
  }
  return base64UrlBytes(text)
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether the last character carries no stray bits: with 2 or 3 characters in the last group
 * it holds 4 or 2 bits past the final byte, which must be zero; 1 character is never valid.
 * Checking this beats re-encoding the decoded bytes (verify decodes several IDs per step).
 */
function hasCanonicalTail(text: string): boolean {
  const rest = text.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const bits = ALPHABET.indexOf(text.charAt(text.length - 1))
  return (bits & (rest === 2 ? 0b1111 : 0b11)) === 0
}

/** True when `text` has the shape of a 43-char AO ID. */
export const isAoId = (text: string): boolean => ID_PATTERN.test(text)

/** True when `text` is a CIDv1 dag-cbor/sha2-256 string. */
export function isCidId(text: string): boolean {
  if (!text.startsWith('bafy')) return false
  try {
    const cid = CID.parse(text)
    return cid.code === DAG_CBOR_CODE && cid.multihash.code === SHA2_256
  } catch {
    return false
  }
}

/** True when `text` is an ID in either form. */
export const isId = (text: string): boolean => isAoId(text) || isCidId(text)

/** Normalises an ID in either form to the AO form; throws InvalidRequestError otherwise. */
export function toAoId(text: string): string {
  if (isAoId(text)) return text
  if (isCidId(text)) return toBase64Url(CID.parse(text).multihash.digest)
  throw new InvalidRequestError(`id: "${text.slice(0, 64)}" is neither a 43-char ID nor a dag-cbor CID`)
}

/** CID form of an AO ID. */
export function toCid(aoId: string): CID {
  return CID.createV1(DAG_CBOR_CODE, Digest.create(SHA2_256, fromBase64Url(toAoId(aoId))))
}

/** The 32-byte digest of a message. */
export const digestOf = (message: Message): Uint8Array => sha256(encodeMessage(message))

/** The ID of a message in the AO form. */
export const idOf = (message: Message): string => sha256Base64Url(encodeMessage(message))

/** The ID of a message ignoring its commitments (the same request signed or not). */
export function unsignedIdOf(message: Message): string {
  if (!('commitments' in message)) return idOf(message)
  const { commitments: _ignored, ...rest } = message
  return idOf(rest)
}

/** ID of already-encoded canonical bytes. */
export const idOfBytes = (bytes: Uint8Array): string => sha256Base64Url(bytes)

/**
 * A message encoded once for its ID and its store write: a large body is in the base and the
 * request of a step, and encoding each twice (ID, then write) was half of a large upload's cost.
 * The bytes are those of the message as it was when encoded, which is what its ID names.
 */
export class EncodedMessage {
  readonly id: string
  readonly bytes: Uint8Array
  constructor(id: string, bytes: Uint8Array) {
    this.id = id
    this.bytes = bytes
  }

  /** `strict`: a key holding undefined is refused instead of left out (a device's output). */
  static of(message: Message, strict = false): EncodedMessage {
    const bytes = encodeMessage(message, strict)
    return new EncodedMessage(idOfBytes(bytes), bytes)
  }
}

/**
 * @module
 * The ANS-104 binary data item, read and written:
 *
 *   sig type u16 LE | signature | owner | target flag (+32 bytes) | anchor flag (+32 bytes)
 *   | tag count u64 LE | tag bytes u64 LE | tags (Avro) | data
 *
 * The ID is sha256(signature); the signed digest is deepHash(["dataitem", "1", type, owner,
 * target, anchor, tags, data]) with absent target/anchor as empty strings. Parsing is strict:
 * presence flags other than 0/1, counts that disagree with the tag block, or a block over
 * arbundles' 4096-byte limit are 400s, because a lenient reader here would let two parties
 * see different messages behind one signature.
 */
import { sha256 } from '../../core/sha256.js'
import { InvalidRequestError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import { addressOf } from '../../identity/keys.js'
import { decodeTags, encodeTags, type Tag } from './avro-tags.js'
import { CODE, FIELD_LENGTH, MAX_TAG_BYTES, SIGNATURE_TYPES, type SignatureType } from './constants.js'
import { deepHash } from './deep-hash.js'
import { concatBytes } from '../../core/bytes.js'

/** A parsed data item. Binary fields are raw bytes; `id` and `committer` are base64url. */
export interface DataItem {
  readonly id: string
  readonly signatureType: SignatureType
  readonly signature: Uint8Array
  readonly owner: Uint8Array
  readonly target?: Uint8Array
  readonly anchor?: Uint8Array
  readonly tags: readonly Tag[]
  /** The Avro tag block exactly as signed. */
  readonly rawTags: Uint8Array
  readonly data: Uint8Array
  /** base64url(sha256(owner)): the signer's address (Arweave rule, all signature types). */
  readonly committer: string
}

/** The fields a data item is built from (everything but the signature). */
export interface UnsignedDataItem {
  readonly signatureType: SignatureType
  readonly owner: Uint8Array
  readonly target?: Uint8Array
  readonly anchor?: Uint8Array
  readonly tags: readonly Tag[]
  readonly data: Uint8Array
}

/** Parses a binary data item; throws InvalidRequestError (400) when it is malformed. */
export function parseDataItem(bytes: Uint8Array): DataItem {
  let pos = 0
  const take = (length: number, what: string): Uint8Array => {
    if (pos + length > bytes.length) throw malformed(`truncated ${what} (needs ${length} bytes at offset ${pos})`)
    const slice = bytes.subarray(pos, pos + length)
    pos += length
    return slice
  }
  const view = (slice: Uint8Array) => new DataView(slice.buffer, slice.byteOffset, slice.byteLength)
  const signatureType = view(take(2, 'signature type')).getUint16(0, true)
  const spec = SIGNATURE_TYPES[signatureType]
  if (spec === undefined) {
    throw new InvalidRequestError(`ans104: unsupported signature type ${signatureType} (1 RSA, 2 Ed25519, 3 Ethereum)`, {
      code: CODE.unsupportedType,
    })
  }
  const signature = take(spec.signatureLength, 'signature')
  const owner = take(spec.ownerLength, 'owner')
  const optionalField = (what: string): Uint8Array | undefined => {
    const flag = take(1, `${what} flag`)[0]
    if (flag !== 0 && flag !== 1) throw malformed(`${what} presence flag is ${flag}, not 0 or 1`)
    return flag === 1 ? take(FIELD_LENGTH, what) : undefined
  }
  const target = optionalField('target')
  const anchor = optionalField('anchor')
  const tagCount = readU64(view(take(8, 'tag count')), 'tag count')
  const tagBytes = readU64(view(take(8, 'tag byte length')), 'tag byte length')
  if (tagBytes > MAX_TAG_BYTES) throw malformed(`the tag block has ${tagBytes} bytes; the limit is ${MAX_TAG_BYTES}`)
  const rawTags = take(tagBytes, 'tags')
  const tags = decodeTags(rawTags)
  if (tags.length !== tagCount) throw malformed(`the header announces ${tagCount} tags but the block holds ${tags.length}`)
  return {
    id: toBase64Url(sha256(signature)),
    signatureType: signatureType as SignatureType,
    signature, owner, tags, rawTags,
    ...(target !== undefined && { target }),
    ...(anchor !== undefined && { anchor }),
    data: bytes.subarray(pos),
    committer: addressOf(owner),
  }
}

/** The 48-byte digest the item's signature covers. */
export function signatureData(item: UnsignedDataItem & { rawTags?: Uint8Array }): Uint8Array {
  const ascii = (text: string) => new TextEncoder().encode(text)
  return deepHash([
    ascii('dataitem'), ascii('1'), ascii(String(item.signatureType)), item.owner,
    item.target ?? new Uint8Array(), item.anchor ?? new Uint8Array(),
    item.rawTags ?? encodeTags(item.tags), item.data,
  ])
}

/** Serialises an item with the given signature (its length must match the type). */
export function serializeDataItem(item: UnsignedDataItem, signature: Uint8Array): Uint8Array {
  const spec = SIGNATURE_TYPES[item.signatureType]!
  if (signature.length !== spec.signatureLength) throw malformed(`a type ${item.signatureType} signature has ${spec.signatureLength} bytes`)
  if (item.owner.length !== spec.ownerLength) throw malformed(`a type ${item.signatureType} owner has ${spec.ownerLength} bytes`)
  for (const [what, field] of [['target', item.target], ['anchor', item.anchor]] as const) {
    if (field !== undefined && field.length !== FIELD_LENGTH) throw malformed(`${what} must be ${FIELD_LENGTH} bytes`)
  }
  const rawTags = encodeTags(item.tags)
  if (rawTags.length > MAX_TAG_BYTES) throw malformed(`the tags take ${rawTags.length} bytes; the limit is ${MAX_TAG_BYTES}`)
  const header = new Uint8Array(2)
  new DataView(header.buffer).setUint16(0, item.signatureType, true)
  const u64 = (n: number) => {
    const out = new Uint8Array(8)
    new DataView(out.buffer).setBigUint64(0, BigInt(n), true)
    return out
  }
  const optional = (field?: Uint8Array) => (field === undefined ? Uint8Array.of(0) : concatBytes([Uint8Array.of(1), field]))
  return concatBytes([
    header, signature, item.owner, optional(item.target), optional(item.anchor),
    u64(item.tags.length), u64(rawTags.length), rawTags, item.data,
  ])
}

function readU64(view: DataView, what: string): number {
  const value = view.getBigUint64(0, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${value} is absurdly large`)
  return Number(value)
}


const malformed = (message: string) => new InvalidRequestError(`ans104: ${message}`, { code: CODE.malformed })

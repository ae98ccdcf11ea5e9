/**
 * @module
 * The metadata record of a blob, kept under `blob-meta/<sha256>` next to `blob/<sha256>`:
 * its content type, its length, and the sha256 of every PIECE_BYTES piece.
 *
 * Why piece hashes: a blob is named by the sha256 of all its bytes, which can only be checked
 * once the last byte has been read — too late for an HTTP answer that is already streaming, and
 * far too costly for a 100-byte range of an 8 GiB model. With one hash per piece a reader checks
 * each piece before sending it, and a range read checks only the pieces it touches. The whole
 * hash is still checked on every full read.
 *
 * The record is canonical DAG-CBOR with a `check` field (sha256 of the other fields), so a
 * damaged record is noticed rather than trusted; a reader then falls back to whole-blob hashing.
 * `pieceHasher` computes everything a record holds in one pass over an upload.
 */
import { createHash, type Hash } from 'node:crypto'
import { decodeCanonical, encodeCanonical } from '../../core/codec.js'
import { CorruptionError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import { blobKey } from '../../core/store.js'
import { BLOB_META_PREFIX, PIECE_BYTES } from './constants.js'

export { blobKey }

/** Store key of a blob's metadata record. */
export const blobMetaKey = (sha256hex: string): string => `${BLOB_META_PREFIX}${sha256hex}`

/** What a blob's metadata record says. */
export interface BlobMeta {
  readonly sha256: string
  readonly bytes: number
  readonly contentType: string
  /** Piece size the hashes were computed with. */
  readonly piece: number
  /** 32 bytes per piece, in order; empty for an empty blob. */
  readonly pieces: Uint8Array
}

/** What a put answers: the blob's address in both spellings, its length and content type. */
export interface BlobInfo {
  readonly sha256: string
  /** The same digest as a 43-char base64url ID. */
  readonly id: string
  readonly bytes: number
  readonly contentType: string
}

export const infoOf = (meta: Pick<BlobMeta, 'sha256' | 'bytes' | 'contentType'>): BlobInfo => ({
  sha256: meta.sha256, id: toBase64Url(Buffer.from(meta.sha256, 'hex')), bytes: meta.bytes, contentType: meta.contentType,
})

const DIGEST_BYTES = 32

const fieldsOf = (meta: BlobMeta) => ({
  v: 1, sha256: meta.sha256, bytes: meta.bytes, 'content-type': meta.contentType, piece: meta.piece, pieces: meta.pieces,
})

const sealOf = (fields: ReturnType<typeof fieldsOf>): string =>
  createHash('sha256').update(encodeCanonical(fields)).digest('hex')

export function encodeBlobMeta(meta: BlobMeta): Uint8Array {
  const fields = fieldsOf(meta)
  return encodeCanonical({ ...fields, check: sealOf(fields) })
}

/** Parses a record and checks its seal and its shape; throws CorruptionError when damaged. */
export function decodeBlobMeta(bytes: Uint8Array, sha256hex: string): BlobMeta {
  const damaged = (why: string, cause?: unknown) =>
    new CorruptionError(`store: the metadata record of blob ${sha256hex} ${why}`, { code: 'corrupt-blob-meta', cause })
  let value: Record<string, unknown>
  try {
    value = decodeCanonical(bytes) as Record<string, unknown>
  } catch (cause) {
    throw damaged('does not decode', cause)
  }
  if (value === null || typeof value !== 'object') throw damaged('is not a map')
  const { sha256, bytes: size, piece, pieces } = value
  const contentType = value['content-type']
  if (value.v !== 1 || sha256 !== sha256hex || typeof contentType !== 'string' || !(pieces instanceof Uint8Array) ||
    !Number.isSafeInteger(size) || (size as number) < 0 || !Number.isSafeInteger(piece) || (piece as number) < 1) {
    throw damaged('has the wrong shape')
  }
  const meta: BlobMeta = { sha256, bytes: size as number, contentType, piece: piece as number, pieces }
  if (pieces.length !== DIGEST_BYTES * Math.ceil(meta.bytes / meta.piece)) throw damaged('has the wrong number of piece hashes')
  if (value.check !== sealOf(fieldsOf(meta))) throw damaged('fails its integrity check')
  return meta
}

/** The expected hash of piece `index`. */
export const pieceHash = (meta: BlobMeta, index: number): Uint8Array =>
  meta.pieces.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES)

/** Hashes a byte stream whole and piece by piece, in one pass. */
export interface PieceHasher {
  update(chunk: Uint8Array): void
  /** Total bytes seen so far. */
  readonly bytes: number
  /** Ends hashing: the whole sha256 (hex) and the piece hashes. */
  finish(): { sha256: string; pieces: Uint8Array; bytes: number }
}

export function pieceHasher(piece = PIECE_BYTES): PieceHasher {
  const whole = createHash('sha256')
  const digests: Buffer[] = []
  let current: Hash | undefined
  let filled = 0
  let total = 0
  return {
    get bytes() { return total },
    update(chunk) {
      whole.update(chunk)
      total += chunk.length
      let offset = 0
      while (offset < chunk.length) {
        current ??= createHash('sha256')
        const n = Math.min(piece - filled, chunk.length - offset)
        current.update(chunk.subarray(offset, offset + n))
        filled += n
        offset += n
        if (filled === piece) {
          digests.push(current.digest())
          current = undefined
          filled = 0
        }
      }
    },
    finish() {
      if (current !== undefined) digests.push(current.digest())
      current = undefined
      return { sha256: whole.digest('hex'), pieces: new Uint8Array(Buffer.concat(digests)), bytes: total }
    },
  }
}

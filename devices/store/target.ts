/**
 * @module
 * What a store@1.0 request points at. Blobs and messages are both named by a sha256 digest —
 * of the raw bytes for a blob, of the canonical encoding for a message — so one digest can be
 * spelled two ways and both are accepted for both kinds:
 *
 *     sha256=<64 hex>          looks for a blob first, then a message
 *     id=<43-char ID | CID>    looks for a message first, then a blob
 *     kind=blob|message        looks only there
 *
 * Bad spellings are 400s with their own codes (`invalid-sha256`, `invalid-id`, …).
 */
import { InvalidRequestError } from '../../core/errors.js'
import { fromBase64Url, toAoId, toBase64Url } from '../../core/id.js'
import { messageKey, type Store } from '../../core/store.js'
import type { Message } from '../../core/types.js'
import { blobKey } from './blob-meta.js'
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './constants.js'

export type Kind = 'blob' | 'message'

export interface Target {
  readonly sha256: string
  readonly id: string
  /** Where to look, in order. */
  readonly order: readonly Kind[]
}

export const SHA256_HEX = /^[0-9a-f]{64}$/

const bad = (code: string, message: string) => new InvalidRequestError(`store: ${message}`, { code })

/** A `sha256` value, lower-cased; 400 `invalid-sha256` otherwise. */
export function parseSha256(value: unknown): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : ''
  if (!SHA256_HEX.test(text)) throw bad('invalid-sha256', `sha256 must be 64 hexadecimal characters, got "${String(value).slice(0, 80)}"`)
  return text
}

/** An `id` (either spelling) as its digest in hex and as a 43-char ID; 400 `invalid-id` otherwise. */
function parseId(value: unknown): { id: string; sha256: string } {
  try {
    if (typeof value !== 'string') throw new TypeError('not text')
    const id = toAoId(value.trim())
    return { id, sha256: Buffer.from(fromBase64Url(id)).toString('hex') }
  } catch {
    throw bad('invalid-id', `id must be a 43-character ID or a dag-cbor CID, got "${String(value).slice(0, 80)}"`)
  }
}

/** `kind`, when given. */
export function parseKind(value: unknown): Kind | undefined {
  if (value === undefined) return undefined
  if (value === 'blob' || value === 'message') return value
  throw bad('invalid-kind', `kind is "blob" or "message", got "${String(value).slice(0, 40)}"`)
}

export function parseTarget(req: Message): Target {
  const kind = parseKind(req.kind)
  const bySha = req.sha256 === undefined ? undefined : parseSha256(req.sha256)
  const byId = req.id === undefined ? undefined : parseId(req.id)
  if (bySha === undefined && byId === undefined) throw bad('missing-target', 'name what to read: sha256=<hex> or id=<ID>')
  if (bySha !== undefined && byId !== undefined && bySha !== byId.sha256) {
    throw bad('conflicting-target', 'sha256 and id name different digests')
  }
  const sha256 = bySha ?? byId!.sha256
  const order: Kind[] = kind !== undefined ? [kind] : bySha !== undefined ? ['blob', 'message'] : ['message', 'blob']
  return { sha256, id: toBase64Url(Buffer.from(sha256, 'hex')), order }
}

/** The kind of thing the store holds under a target, or undefined. */
export async function locate(store: Store, target: Target): Promise<Kind | undefined> {
  for (const kind of target.order) {
    if (await store.has(kind === 'blob' ? blobKey(target.sha256) : messageKey(target.id))) return kind
  }
  return undefined
}

export interface ListArgs {
  readonly kind: Kind
  readonly prefix: string
  readonly after?: string
  readonly limit: number
}

const ID_CHARS = /^[A-Za-z0-9_-]*$/

/** `list`'s arguments: kind (default blob), a name prefix, `after` (a full name) and `limit`. */
export function parseListArgs(req: Message): ListArgs {
  const kind = parseKind(req.kind) ?? 'blob'
  const check = (key: string, value: unknown, max: number): string => {
    const text = typeof value === 'string' ? (kind === 'blob' ? value.toLowerCase() : value) : ''
    const ok = kind === 'blob' ? /^[0-9a-f]*$/.test(text) : ID_CHARS.test(text)
    if (typeof value !== 'string' || !ok || text.length > max) {
      throw bad('invalid-list-argument', `${key} must be ${kind === 'blob' ? 'hexadecimal' : 'base64url'} text of at most ${max} characters`)
    }
    return text
  }
  const prefix = req.prefix === undefined ? '' : check('prefix', req.prefix, kind === 'blob' ? 64 : 43)
  const after = req.after === undefined ? undefined : check('after', req.after, kind === 'blob' ? 64 : 43)
  const limit = req.limit === undefined ? LIST_DEFAULT_LIMIT : Number(req.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT || (typeof req.limit === 'string' && !/^[0-9]+$/.test(req.limit))) {
    throw bad('invalid-list-argument', `limit must be an integer from 1 to ${LIST_MAX_LIMIT}`)
  }
  return { kind, prefix, ...(after === undefined ? {} : { after }), limit }
}

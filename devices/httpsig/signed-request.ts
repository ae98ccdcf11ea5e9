/**
 * @module
 * The keys a signed HTTP request commits (HyperBEAM's `with_only_committed`): each covered
 * header, typed by `ao-types` only if that is covered too, and the body, only if
 * `content-digest` is covered. The body is, by its signed framing:
 * - `multipart/form-data` (a covered `content-type` with a boundary): its parts are keys at every
 *   depth, in our dialect or HyperBEAM's and hbsig's (message-codec.ts `addBodyParts`);
 * - otherwise one key, `inline-body-key` or `body`: typed by `ao-types` when it names it
 *   (hbsig sends `body="float"` with the number as the body), else text for `text/*`, else bytes.
 * Derived components, the digest, the signature fields and body framing (`content-length`, a
 * multipart `content-type`) are not keys.
 */
import type { Message } from '../../core/types.js'
import { decodeTypedFields, decodeTypedValue, parseAoTypes } from './ao-types.js'
import { DEFAULT_BODY_KEY, HEADER, isBodyFraming } from './constants.js'
import { addBodyParts } from './message-codec.js'
import { boundaryOf } from './multipart.js'

/** What a signed request commits. */
export interface SignedKeys {
  readonly keys: Message
  /** The key a signed body was attributed to by the digest (`inline-body-key`, else `body`). */
  readonly bodyKey: string
  /** The keys the signed body became (empty when the body is not signed or empty). */
  readonly bodyKeys: readonly string[]
}

/**
 * The committed keys of a request whose signatures cover `covered` (component names),
 * given its header fields (lower-case names) and body.
 */
export function signedRequestKeys(covered: ReadonlySet<string>, fields: Readonly<Record<string, string>>, body: Uint8Array): SignedKeys {
  const signedFields: Record<string, string> = {}
  for (const name of covered) {
    if (name.startsWith('@') || name === HEADER.contentDigest || name === HEADER.signature || name === HEADER.signatureInput) continue
    const value = fields[name] ?? ''
    if (!isBodyFraming(name, value)) signedFields[name] = value
  }
  const keys = decodeTypedFields(signedFields)
  const bodyKey = signedFields[HEADER.inlineBodyKey]?.trim().toLowerCase() || DEFAULT_BODY_KEY
  if (!covered.has(HEADER.contentDigest) || body.length === 0) return { keys, bodyKey, bodyKeys: [] }
  const typesField = signedFields[HEADER.aoTypes]
  const types = typesField === undefined ? new Map<string, string>() : parseAoTypes(typesField)
  const contentType = fields['content-type'] ?? ''
  const boundary = covered.has('content-type') ? boundaryOf(contentType) : undefined
  if (boundary !== undefined) return { keys, bodyKey, bodyKeys: addBodyParts(keys, types, body, boundary, bodyKey) }
  const type = types.get(bodyKey)
  if (type !== undefined && type !== 'binary') keys[bodyKey] = decodeTypedValue(type, Buffer.from(body).toString('utf8'), bodyKey)
  else keys[bodyKey] = /^\s*text\//i.test(contentType) ? Buffer.from(body).toString('utf8') : body
  return { keys, bodyKey, bodyKeys: [bodyKey] }
}

/**
 * @module
 * Who is asking: an incoming request's signatures, verified before anything is resolved, and
 * what the request then contributes to the messages of its chain.
 *
 * - **Unsigned** requests: query keys, non-transport headers (typed by an `ao-types` header
 *   when there is one) and body keys, as before.
 * - **httpsig** (RFC 9421 `Signature`/`Signature-Input`, in the RFC's base shape or HyperBEAM's,
 *   devices/httpsig/signature-base.ts): every signature must verify (else a 400 with the
 *   signature's own code). Only what is signed stays (HyperBEAM's `with_only_committed`): the
 *   covered headers, typed by `ao-types` only if that is covered too, and the body only if
 *   `content-digest` is covered — under its key (`inline-body-key`, else `body`), or, when its
 *   signed `content-type` is multipart, as the keys its parts hold (hbsig sends nested messages
 *   so; devices/httpsig/signed-request.ts). Unsigned headers and an unsigned body are dropped.
 * - **ANS-104** (`content-type: application/ans104`, or `codec-device: ans104@1.0`): the body
 *   is a data item; it must verify; its tags, target, anchor and data are the keys (routing
 *   hints such as `accept-codec` are tags); HTTP headers add nothing.
 *
 * The path and the query string are never signed by AO clients; they still route the request
 * and add keys, as in HyperBEAM, but they may not contradict a signed key (400
 * `committed-key-conflict`). A data item may carry a `path` tag: it must then be this request's
 * target (path and query, as sent), which binds the item to it (node/request-caller.ts), and it
 * routes nothing itself. The signatures become `commitments` on every message of the chain
 * (the base and each step request), next to the keys they cover: a signed request therefore
 * has other message IDs and another hashpath than the same request unsigned (DESIGN §2), and
 * every stored step request can be re-verified on its own (`message@1.0/verify`).
 */
import { InvalidRequestError, InvalidSignatureError } from '../core/errors.js'
import { PATH_ONLY_KEYS } from '../core/keys.js'
import { sameValue } from '../core/codec.js'
import { normalizeKey } from '../core/message.js'
import { addExtraKey, committedKeyConflict, parseQuery, type ExtraKeys, type KeySet } from '../core/request.js'
import type { Message, Value } from '../core/types.js'
import { ANS104_CONTENT_TYPE, ANS104_DEVICE, dataItemToMessage, parseDataItem, type DataItem } from '../devices/ans104/index.js'
import {
  checkContentDigest, commitmentsFromSignatures, decodeTypedValue, parseAoTypes, signedRequestKeys, verifyRequestSignatures,
  type VerifiedSignature,
} from '../devices/httpsig/index.js'
import { HEADER } from '../devices/httpsig/index.js'
import type { HeaderView } from './http-headers.js'
import { bodyKeys, isTransportHeader } from './http-request.js'

/** What an HTTP request contributes to its chain. */
export interface IncomingKeys {
  readonly extra: ExtraKeys
  /** The verified commitments (absent for an unsigned request). */
  readonly commitments?: Message
  /** Signed keys and their values (empty for an unsigned request). */
  readonly committed: Readonly<Record<string, Value>>
  /** How the request was signed. */
  readonly signing: 'none' | 'httpsig' | 'ans104'
  /** What verified, for deciding who the caller is (absent for an unsigned request). */
  readonly proof?: RequestProof
}

/** The verified signatures of a request, as they arrived. */
export type RequestProof =
  | { readonly via: 'httpsig'; readonly signatures: readonly VerifiedSignature[] }
  /** `pathBound`: the item's `path` tag is this request's target. */
  | { readonly via: 'ans104'; readonly item: DataItem; readonly pathBound: boolean }

/** "/path?query" of an absolute URL, as it was written (no normalisation). */
export function targetOf(url: string): string {
  const authority = url.indexOf('//')
  const slash = authority === -1 ? -1 : url.indexOf('/', authority + 2)
  return slash === -1 ? '/' : url.slice(slash)
}

type MutableExtra = { global: KeySet; scoped: Map<number, KeySet> }

/** Verifies the request and collects its keys. Throws 400 on a bad signature or data item. */
export function incomingKeys(request: { method: string; url: string; headers: HeaderView }, body: Uint8Array): IncomingKeys {
  const { headers } = request
  const queryAt = request.url.indexOf('?')
  const extra = parseQuery(queryAt === -1 ? '' : request.url.slice(queryAt + 1).replace(/#.*$/, '')) as MutableExtra
  const contentType = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const signed = headers.has(HEADER.signature) || headers.has(HEADER.signatureInput)
  if (contentType === ANS104_CONTENT_TYPE || headers.get('codec-device')?.trim().toLowerCase() === ANS104_DEVICE) {
    if (signed) {
      throw new InvalidSignatureError('request: a data item request cannot also carry httpsig signatures', { code: 'mixed-signing-formats' })
    }
    const item = parseDataItem(body)
    const { commitments, ...keys } = dataItemToMessage(item)
    const pathBound = takeSignedPath(keys, targetOf(request.url))
    addSigned(extra, keys)
    return { extra, commitments: commitments as Message, committed: keys, signing: 'ans104', proof: { via: 'ans104', item, pathBound } }
  }
  if (!signed) {
    // No signature to check, but a body that contradicts its own digest is still corrupt.
    const digest = headers.get(HEADER.contentDigest)
    if (digest !== null) checkContentDigest(digest, body)
    addUnsignedHeaders(extra, headers)
    for (const [key, value] of Object.entries(bodyKeys(headers.get('content-type') ?? '', body))) addExtraKey(extra, key, value as Value)
    return { extra, committed: {}, signing: 'none' }
  }
  const fields: Record<string, string> = {}
  headers.forEach((value, name) => { fields[name] = value })
  const verified = verifyRequestSignatures({ method: request.method, url: request.url, headers: fields, body })
  const covered = new Set(verified.signatures.flatMap((s) => s.covered))
  const signedKeys = signedRequestKeys(covered, fields, body)
  const committed = signedKeys.keys
  addSigned(extra, committed)
  return {
    extra, commitments: commitmentsFromSignatures(verified, signedKeys), committed, signing: 'httpsig',
    proof: { via: 'httpsig', signatures: verified.signatures },
  }
}

/**
 * A data item's `path` tag names the target it was made for: taken out of its keys when it is
 * this request's target (true), a conflict when it names another.
 */
function takeSignedPath(keys: Message, target: string): boolean {
  if (keys.path === undefined) return false
  if (keys.path !== target) {
    throw new InvalidRequestError(`request: the data item's path tag names another target than ${target.slice(0, 200)}`, {
      code: 'committed-key-conflict', detail: { key: 'path' },
    })
  }
  delete keys.path
  return true
}

/**
 * Signed keys keep their names as signed: no `N.` scoping, no `+type` suffixes and no path
 * character rules (they never pass through a path).
 */
function addSigned(extra: MutableExtra, keys: Message): void {
  for (const [name, value] of Object.entries(keys)) {
    const key = normalizeKey(name)
    if (PATH_ONLY_KEYS.has(key)) {
      throw new InvalidRequestError(`request: "${key}" can only be set by the path`, { code: 'reserved-key' })
    }
    // A query key may repeat a signed one (even as the text of a typed value), never contradict it.
    const unsigned = extra.global[key]
    if (unsigned !== undefined && !sameValue(unsigned as Value, value) && !(typeof unsigned === 'string' && textOf(value) === unsigned)) {
      throw committedKeyConflict(key)
    }
    extra.global[key] = value
  }
}

function addUnsignedHeaders(extra: MutableExtra, headers: HeaderView): void {
  const typesField = headers.get(HEADER.aoTypes)
  const types = typesField === null ? new Map<string, string>() : parseAoTypes(typesField)
  headers.forEach((value, name) => {
    if (isTransportHeader(name)) return
    const type = types.get(name)
    addExtraKey(extra, name, type === undefined ? value : decodeTypedValue(type, value, name))
  })
  for (const [key, type] of types) {
    if (type.startsWith('empty-') && !headers.has(key) && !isTransportHeader(key)) addExtraKey(extra, key, decodeTypedValue(type, '', key))
  }
}

const textOf = (value: Value): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined


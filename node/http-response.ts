/**
 * @module
 * From a resolution to an HTTP response (DESIGN §4 HTTP mapping). By result:
 * - a string or bytes is the raw body (`text/plain` / `application/octet-stream`), whatever
 *   codec was asked for;
 * - a number, boolean, null or list is JSON (CBOR when `cbor@1.0` was negotiated);
 * - a message is encoded by the negotiated codec (node/negotiate.ts): `httpsig@1.0` by default,
 *   as HyperBEAM replies — keys as header fields plus a deterministic multipart body when needed
 *   (devices/httpsig/message-codec.ts) — or JSON, or CBOR.
 * An httpsig reply may be signed by the node (RFC 9421, `rsa-pss-sha512` or `ed25519`, keyid =
 * the node's public key, `tag` = `hashbeam-reply`): the signature covers every field the message
 * became, the body through `content-digest`, and the `hashpath` field, so a client holding the
 * node's address can check that this node answered exactly this for exactly this hashpath. The
 * tag keeps such a signature from ever counting as an authorisation (DESIGN §11): the content is
 * the caller's choice.
 * Every answer carries `hashpath` and `ao-id` so the client can check it later. Errors are JSON
 * `{status, code, message}` with the error's own status.
 */
import { sha256 } from '../core/sha256.js'
import { encodeCanonical, publicValue } from '../core/codec.js'
import { isAoError, UnavailableError } from '../core/errors.js'
import { toBase64Url } from '../core/id.js'
import { isMessage } from '../core/message.js'
import type { Message, ResolveResult, Value } from '../core/types.js'
import {
  createSignature, hyperbeamComponent, serializeSignatureFields, SIGNATURE_TAG, type SigningKey,
} from '../devices/httpsig/index.js'
import { encodeHttpsigMessage as encodeMessage } from '../devices/httpsig/index.js'
import { toJson } from '../core/json.js'
import type { ReplyCodec } from './negotiate.js'
import { privateKeyObject, publicKeyBytes, type Wallet } from '../identity/keys.js'

const JSON_TYPE = 'application/json; charset=utf-8'

/** The ao-type of a literal, as HyperBEAM's `ao-types` would name it. */
export function aoTypeOf(value: Value): string {
  if (value === null) return 'null'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float'
  if (typeof value === 'boolean') return 'atom'
  if (typeof value === 'string') return 'binary'
  if (value instanceof Uint8Array) return 'binary'
  return Array.isArray(value) ? 'list' : 'message'
}

/** Headers every successful answer carries. */
export function resultHeaders(result: ResolveResult, requestId: string): Record<string, string> {
  const headers: Record<string, string> = {
    hashpath: result.hashpath,
    'ao-id': result.id,
    'ao-cache': result.cached ? 'hit' : 'miss',
    'ao-type': aoTypeOf(result.value),
    'x-request-id': requestId,
  }
  for (const [key, value] of result.meta) headers[`hashbeam-${key}`] = value
  return headers
}

/** How to answer: the negotiated codec, and the wallet to sign an httpsig reply with. */
export interface ReplyOptions {
  readonly codec: ReplyCodec
  readonly signer?: Wallet | undefined
}

/** Encodes a non-httpsig value as a response body with its content type. */
export function encodeBody(value: Value, codec: ReplyCodec): { body: Uint8Array | string; type: string } {
  if (typeof value === 'string') return { body: value, type: 'text/plain; charset=utf-8' }
  if (value instanceof Uint8Array) return { body: value, type: 'application/octet-stream' }
  if (codec === 'cbor@1.0') return { body: encodeCanonical(publicValue(value)), type: 'application/cbor' }
  return { body: JSON.stringify(toJson(publicValue(value))), type: JSON_TYPE }
}

export function resultResponse(result: ResolveResult, reply: ReplyOptions, requestId: string): Response {
  const headers = resultHeaders(result, requestId)
  if (reply.codec === 'httpsig@1.0' && isMessage(result.value)) {
    const { fields, body } = encodeMessage(publicValue(result.value) as Message)
    const signature = reply.signer === undefined ? {} : signReply(reply.signer, fields, result.hashpath)
    return new Response(body.length === 0 ? null : (body as BodyInit), {
      status: 200, headers: { ...headers, 'codec-device': 'httpsig@1.0', ...Object.fromEntries(fields), ...signature },
    })
  }
  const { body, type } = encodeBody(result.value, reply.codec)
  if (isMessage(result.value)) headers['codec-device'] = reply.codec
  headers['content-type'] = type
  return new Response(body as BodyInit, { status: 200, headers })
}

/**
 * `signature` and `signature-input` for a reply's fields and its `hashpath` header (never a
 * field a message can set: the httpsig codec reserves it), tagged `hashbeam-reply`, labelled as
 * HyperBEAM labels them: `sig-` + the commitment ID (base64url(sha256(signature))), lower-cased.
 * In the shape HyperBEAM verifies (devices/httpsig/signature-base.ts): a `path` (`method`, …)
 * field is listed as `"@path"` and its line reads `"path": <value>`; a reply without such keys
 * has the same base in both shapes. RSA-PSS with a 64-byte salt, keyid base64url: what
 * HyperBEAM and hbsig's `verify` accept.
 */
export function signReply(wallet: Wallet, fields: ReadonlyArray<readonly [string, string]>, hashpath: string): Record<string, string> {
  const alg = wallet.kind === 'rsa' ? 'rsa-pss-sha512' : 'ed25519'
  const key: SigningKey = { alg, key: privateKeyObject(wallet) }
  const signed = [...fields, ['hashpath', hashpath] as const]
  const created = createSignature({ status: 200, fields: signed }, key, {
    label: 'sig',
    shape: 'hyperbeam',
    components: signed.map(([name]) => hyperbeamComponent(name)),
    params: [['alg', alg], ['keyid', toBase64Url(publicKeyBytes(wallet))], ['tag', SIGNATURE_TAG.reply]],
  })
  const label = `sig-${toBase64Url(sha256(created.signature)).toLowerCase()}`
  return serializeSignatureFields([{ ...created, label }])
}

/** The JSON error body and status; unexpected errors become a 500 that names the request id. */
export function errorResponse(err: unknown, requestId: string): Response {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'x-request-id': requestId }
  if (isAoError(err)) {
    if (err instanceof UnavailableError && err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds)
    const body = err.status >= 500 && err.code === 'internal'
      ? { status: err.status, code: err.code, message: `${err.message} (request ${requestId}; details in the node log)` }
      : err.toJSON()
    return new Response(JSON.stringify({ ...body, 'request-id': requestId }), { status: err.status, headers })
  }
  const body = { status: 500, code: 'internal', message: `internal error (request ${requestId}; details in the node log)`, 'request-id': requestId }
  return new Response(JSON.stringify(body), { status: 500, headers })
}

/**
 * @module
 * From a resolution to an HTTP response (DESIGN §4 HTTP mapping): a literal is the raw body,
 * a message or list is JSON (CBOR on `accept: application/cbor`), and every answer carries
 * `hashpath` and `ao-id` so the client can check it later. Errors are JSON
 * `{status, code, message}` with the error's own status.
 */
import { encodeCanonical, publicValue } from '../core/codec.js'
import { isAoError, UnavailableError } from '../core/errors.js'
import type { ResolveResult, Value } from '../core/types.js'
import { toJson } from './json.js'

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

/** Encodes a value as a response body with its content type. */
export function encodeBody(value: Value, accept: string): { body: Uint8Array | string; type: string } {
  if (typeof value === 'string') return { body: value, type: 'text/plain; charset=utf-8' }
  if (value instanceof Uint8Array) return { body: value, type: 'application/octet-stream' }
  if (accept.includes('application/cbor')) return { body: encodeCanonical(publicValue(value)), type: 'application/cbor' }
  return { body: JSON.stringify(toJson(publicValue(value))), type: JSON_TYPE }
}

export function resultResponse(result: ResolveResult, accept: string, requestId: string): Response {
  const { body, type } = encodeBody(result.value, accept)
  return new Response(body as BodyInit, { status: 200, headers: { ...resultHeaders(result, requestId), 'content-type': type } })
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

/**
 * @module
 * From an HTTP request to what the resolver needs: the path, the keys that arrived outside it
 * (query, body, key-carrying headers), and the cache policy.
 *
 * Transport headers never enter a message: the hashpath depends only on the request's meaning,
 * so the same request from curl, a browser or a proxy gives the same answer. Signed requests
 * are assembled in http-identity.ts, which uses these pieces.
 */
import { InvalidRequestError, isAoError, PayloadTooLargeError, RequestAbortedError } from '../core/errors.js'
import { decodeCanonical, MAX_NESTING_DEPTH } from '../core/codec.js'
import { isMessage } from '../core/message.js'
import type { KeySet } from '../core/request.js'
import type { CacheControl } from '../core/resolve.js'
import { fromJson } from '../core/json.js'

export { isTransportHeader } from '../core/keys.js'

const NO_DIRECTIVES: CacheControl = Object.freeze({ noCache: false, noStore: false, onlyIfCached: false })

/** Parses `cache-control` into the resolver's cache policy. */
export function parseCacheControl(header: string | undefined): CacheControl {
  if (header === undefined || header === '') return NO_DIRECTIVES
  const directives = new Set(header.toLowerCase().split(',').map((d) => d.trim()))
  return {
    noCache: directives.has('no-cache'),
    noStore: directives.has('no-store'),
    onlyIfCached: directives.has('only-if-cached'),
  }
}

/**
 * Reads a body up to `limit` bytes; 413 beyond, checked before and while reading. A client that
 * goes away mid-body (or is cut off by the server's upload timeout, node/server.ts) is a 408
 * `client-gone`, not a server fault, and the bytes read so far are dropped with this call.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > limit) throw tooLarge(declared, limit)
  if (request.body === null) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read().catch((err: unknown) => { throw isAoError(err) ? err : clientGone(err) })
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(total, limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/** The error for a body whose sender went away before its end. */
export const clientGone = (cause: unknown): RequestAbortedError =>
  new RequestAbortedError('request: the client went away before the body ended', { code: 'client-gone', cause })

const tooLarge = (size: number, limit: number) =>
  new PayloadTooLargeError(`request: body of ${size} bytes exceeds the ${limit}-byte limit`, { code: 'body-too-large', detail: { limit } })

/** Body keys by content type: JSON and CBOR maps add keys; anything else becomes `body`. */
export function bodyKeys(contentType: string, body: Uint8Array): KeySet {
  if (body.byteLength === 0) return {}
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/json') {
    let data: unknown
    try {
      data = JSON.parse(Buffer.from(body).toString('utf8'))
    } catch (cause) {
      throw new InvalidRequestError(`request: body is not valid JSON (${(cause as Error).message})`, { code: 'invalid-json', cause })
    }
    const value = fromJson(data)
    if (!isMessage(value)) throw new InvalidRequestError('request: a JSON body must be an object', { code: 'invalid-json' })
    return value
  }
  if (type === 'application/cbor') {
    const value = decodeCanonical(body, { maxDepth: MAX_NESTING_DEPTH })
    if (!isMessage(value as never)) throw new InvalidRequestError('request: a CBOR body must be a map', { code: 'invalid-cbor' })
    return fromJson(value) as KeySet
  }
  if (type.startsWith('text/')) return { body: Buffer.from(body).toString('utf8') }
  return { body }
}

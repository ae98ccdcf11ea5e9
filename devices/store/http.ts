/**
 * @module
 * The streaming face of `store@1.0`. The generic HyperPATH app reads a body whole (10 MiB
 * limit) and answers from a value in memory; blobs can be gigabytes, so these routes, mounted
 * before the catch-all, move blob bytes as streams:
 *
 *     PUT|POST /~store@1.0/put[&sha256=<hex>]      raw body → blob/<sha256>, streamed and hashed
 *     GET|HEAD /~store@1.0/get&sha256=<hex>        a blob, streamed; Range, If-Range, If-None-Match
 *     GET|HEAD /~store@1.0/get&id=<ID>             the same, when the ID names a blob
 *     GET|HEAD /~store@1.0/blob/<sha256>           the same
 *
 * Everything else falls through to the generic app (`next()`), which resolves it like any
 * path: message puts (a JSON or CBOR body unless `kind=blob`, or no body at all), gets of
 * messages, has, stat, list, delete, multi-step paths, and every *signed* request (its
 * signature must be checked over the whole body, so a signed upload is limited to the body
 * limit).
 *
 * Answers: an upload, once its bytes are durable, is acknowledged through the resolver as
 * `put&sha256=<hex>` on base `{device: store@1.0}`, so it carries `hashpath` and `ao-id` like any
 * answer (JSON unless another codec is asked for). A download does not go through the resolver
 * (that would write a step record per download): it carries `etag` ("<sha256>"), `repr-digest`
 * (RFC 9530) and `content-type`, but no `hashpath`. It is also made harmless on the node's
 * origin: `x-content-type-options: nosniff`, `content-security-policy: sandbox`, and active
 * types (HTML, SVG, XML, JavaScript, anything not known to be passive) as attachments.
 *
 * Corruption (blob-read.ts): the first piece (1 MiB) is read and checked before the status line
 * is sent, so a damaged small blob is a clean 500 `store-corruption`. If a later piece of a big
 * blob fails its check, the bytes before it were right, and the response is aborted (the
 * connection is reset mid-body) rather than finished: a client never sees a complete, wrong body.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono, Next } from 'hono'
import { isAoError, NotFoundError, PayloadTooLargeError, RequestAbortedError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import { parsePath, isSubPath } from '../../core/path.js'
import { parseQuery, planRequest, type KeySet } from '../../core/request.js'
import type { Resolver } from '../../core/resolve.js'
import type { Store } from '../../core/store.js'
import type { HttpKit, Logger, Message } from '../../core/types.js'
import { DEFAULT_CONTENT_TYPE, openBlob, readBlob, type BlobEntry } from './blob-read.js'
import { writeBlob } from './blob-write.js'
import { STORE_DEVICE_NAME } from './constants.js'
import { contentRange, planRange } from './http-range.js'
import { locate, parseSha256, parseTarget, SHA256_HEX } from './target.js'

export interface StoreHttpInit {
  /** The node's HTTP helpers (its resolver among them). */
  readonly http: HttpKit
  readonly store: Store
  readonly log: Logger
  readonly maxBlobBytes: number
}

/** The one step a streaming route serves, or undefined (the generic app takes the request). */
function streamableStep(url: URL, resolver: Resolver): { key: string; keys: KeySet; arg?: string } | undefined {
  const plan = planRequest(parsePath(url.pathname, resolver.limits), parseQuery(url.search.slice(1)))
  const { base, steps } = plan
  if (base.id !== undefined || base.sub !== undefined || base.device === undefined) return undefined
  if (resolver.registry.canonical(base.device) !== STORE_DEVICE_NAME) return undefined
  const [first, second, ...rest] = steps
  if (first?.key === undefined || first.device !== undefined || rest.length > 0) return undefined
  if (Object.values(first.keys).some(isSubPath)) return undefined
  if (second === undefined) return { key: first.key, keys: first.keys }
  if (first.key !== 'blob' || second.key === undefined || second.device !== undefined || !SHA256_HEX.test(second.key)) return undefined
  return { key: 'blob', keys: first.keys, arg: second.key }
}

const isSigned = (headers: Headers) => headers.has('signature') || headers.has('signature-input')
const MESSAGE_TYPES = new Set(['application/json', 'application/cbor'])

export function mountStore(app: Hono, init: StoreHttpInit): void {
  const { http, store, log } = init
  const { resolver } = http

  async function route(c: Context, next: Next): Promise<Response | void> {
    const raw = c.req.raw
    if (isSigned(raw.headers)) return next()
    const requestId = randomUUID()
    let step: ReturnType<typeof streamableStep>
    try {
      step = streamableStep(new URL(raw.url), resolver)
    } catch {
      return next() // a malformed path: the generic app reports it
    }
    if (step === undefined) return next()
    const reading = raw.method === 'GET' || raw.method === 'HEAD'
    try {
      if (!reading && step.key === 'put') return await upload(c, step.keys, requestId, next)
      if (reading && step.key === 'get') return await download(c, step.keys as Message, requestId, next)
      if (reading && step.key === 'blob') return await download(c, { sha256: step.arg!, kind: 'blob' }, requestId, next)
      return next()
    } catch (err) {
      if (!isAoError(err) || err.code === 'internal') log.error({ err, requestId }, 'store: request failed')
      return http.error(err, requestId)
    }
  }

  async function upload(c: Context, keys: KeySet, requestId: string, next: Next): Promise<Response | void> {
    const raw = c.req.raw
    const type = (raw.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (keys.message !== undefined || keys.body !== undefined) return next()
    // No body: a put of the request's keys (or of `sha256=`), which the resolver does.
    if (raw.body === null || raw.headers.get('content-length') === '0') return next()
    if (keys.kind !== 'blob' && MESSAGE_TYPES.has(type)) return next()
    const declared = Number(raw.headers.get('content-length') ?? '0')
    if (declared > init.maxBlobBytes) {
      throw new PayloadTooLargeError(`store: the blob exceeds the ${init.maxBlobBytes}-byte limit`, {
        code: 'blob-too-large', detail: { limit: init.maxBlobBytes },
      })
    }
    const expected = keys.sha256 === undefined ? undefined : parseSha256(keys.sha256)
    const contentType = raw.headers.get('content-type') ?? DEFAULT_CONTENT_TYPE
    // Web streams are async iterable in Node; the DOM typings do not say so.
    const body = raw.body as unknown as AsyncIterable<Uint8Array>
    const written = await writeBlob(store, body, { contentType, expected, maxBytes: init.maxBlobBytes }).catch((err: unknown) => {
      // A client that goes away mid-upload is not a server fault: nothing was committed.
      if (raw.signal.aborted && !isAoError(err)) throw new RequestAbortedError('store: the client went away during the upload', { cause: err })
      throw err
    })
    log.info({ requestId, sha256: written.sha256, bytes: written.bytes, existed: written.existed }, 'store: blob written')
    const base: Message = { device: STORE_DEVICE_NAME }
    const req: Message = { path: 'put', sha256: written.sha256 }
    const result = await resolver.step(base, idOf(base), req, {
      cache: http.cachePolicy(raw.headers.get('cache-control') ?? undefined), log: log.child({ requestId }), method: raw.method,
    })
    // The acknowledging step only finds the blob; whether this upload wrote it is known here.
    const meta = new Map(result.meta).set('store-write', written.existed ? 'existing' : 'new')
    // JSON unless the client asked for a codec: a curl upload gets a readable answer.
    return http.reply({ ...result, meta }, raw, requestId, { defaultCodec: 'json@1.0', keys })
  }

  async function download(c: Context, keys: Message, requestId: string, next: Next): Promise<Response | void> {
    const target = parseTarget(keys)
    if ((await locate(store, target)) !== 'blob') {
      if (keys.kind === 'blob') throw new NotFoundError(`store: no blob ${target.sha256}`, { detail: { sha256: target.sha256 } })
      return next() // a message, or nothing: the resolver answers (404 included)
    }
    const entry = await openBlob(store, target.sha256, log)
    if (entry === undefined) throw new NotFoundError(`store: no blob ${target.sha256}`, { detail: { sha256: target.sha256 } })
    return blobResponse(c, entry, requestId)
  }

  async function blobResponse(c: Context, entry: BlobEntry, requestId: string): Promise<Response> {
    const raw = c.req.raw
    /** Destroys the node response (@hono/node-server hands it over as `env.outgoing`). */
    const abortSocket = (): boolean => {
      const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing
      outgoing?.destroy()
      return outgoing !== undefined
    }
    const etag = `"${entry.sha256}"`
    const headers: Record<string, string> = {
      'content-type': entry.contentType, 'accept-ranges': 'bytes', etag, 'x-request-id': requestId,
      'cache-control': 'public, max-age=31536000, immutable',
      'repr-digest': `sha-256=:${Buffer.from(entry.sha256, 'hex').toString('base64')}:`,
      ...contentSafetyHeaders(entry.contentType),
    }
    if (raw.headers.get('if-none-match')?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      return new Response(null, { status: 304, headers })
    }
    let plan: ReturnType<typeof planRange>
    try {
      plan = planRange(raw.headers.get('range'), raw.headers.get('if-range'), entry.bytes, etag)
    } catch (err) {
      const res = http.error(err, requestId)
      res.headers.set('content-range', contentRange(entry.bytes))
      return res
    }
    const range = plan.kind === 'partial' ? plan.range : undefined
    const status = range === undefined ? 200 : 206
    headers['content-length'] = String(range === undefined ? entry.bytes : range.end - range.start)
    if (range !== undefined) headers['content-range'] = contentRange(entry.bytes, range)
    if (raw.method === 'HEAD') return new Response(null, { status, headers })
    const pieces = readBlob(store, entry, range)
    const first = await pieces.next() // corruption here is still a clean 500
    if (first.done === true) return new Response(null, { status, headers })
    let pending: Uint8Array | undefined = first.value
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(pending)
          pending = undefined
          return
        }
        try {
          const next = await pieces.next()
          if (next.done === true) controller.close()
          else controller.enqueue(next.value)
        } catch (err) {
          log.error({ err, requestId, sha256: entry.sha256 }, 'store: blob failed its check mid-stream; response aborted')
          // On a socket, reset the connection ourselves, at once, so that nothing else (such as
          // an error text) is written after the good bytes; in process, fail the body stream.
          const socket = abortSocket()
          if (socket) controller.close()
          else controller.error(err)
        }
      },
      async cancel() {
        await pieces.return(undefined)
      },
    })
    return new Response(body, { status, headers })
  }

  // `~store` (newest version) or `~store@1.0`.
  app.on(['GET', 'HEAD', 'PUT', 'POST'], '/:device{~store(?:@[0-9.]+)?}/:rest{.+}', route)
}

/**
 * Types a browser only displays (never runs, never navigates from): served inline. Anything
 * else — HTML, SVG, XML, JavaScript, PDF, or a type the node does not know — is active or may
 * be, and is served as an attachment.
 */
const PASSIVE_TYPES = new Set([
  'text/plain', 'text/csv', 'application/json', 'application/cbor', 'application/octet-stream', 'application/x-gguf',
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp',
])
const PASSIVE_PREFIXES = ['audio/', 'video/', 'font/']

/**
 * Blobs are served on the node's own origin with the uploader's content type, so a stored HTML
 * or SVG page would run with the node's origin. Every blob answer forbids type sniffing and
 * sandboxes whatever renders (no scripts, an opaque origin); active types are also attachments.
 */
export function contentSafetyHeaders(contentType: string): Record<string, string> {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  const passive = PASSIVE_TYPES.has(type) || PASSIVE_PREFIXES.some((p) => type.startsWith(p) && type.length > p.length)
  return {
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
    ...(passive ? {} : { 'content-disposition': 'attachment' }),
  }
}

/**
 * @module
 * The keys of `store@1.0`, as the resolver runs them. Every handler works on `ctx.store`, the
 * node's store, so the device is the same over memory, fs, LMDB or a shared Redis.
 *
 * `put` takes, in this order of precedence:
 * 1. `message` (a map)  → that message, stored by ID under `msg/<id>`;
 * 2. `body`             → a blob of those bytes (text as UTF-8) under `blob/<sha256>`, typed by
 *                         `content-type` (default octet-stream, or text/plain for text), checked
 *                         against `sha256` when given;
 * 3. `sha256` alone     → acknowledges a blob already stored (how a streamed upload is answered:
 *                         devices/store/http.ts writes the bytes, then resolves `put&sha256=…`);
 * 4. anything else      → a message of the request's own keys (without `path`).
 * A duplicate writes nothing; the `hashbeam-store-write` header says `new` or `existing`.
 *
 * Every key describes or changes the store as it is now, so the device is non-deterministic:
 * steps are recorded (and verifiable) but never answered from the ledger.
 */
import { requireOperator } from '../../core/authority.js'
import { CorruptionError, MethodNotAllowedError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../../core/errors.js'
import { PATH_ONLY_KEYS } from '../../core/keys.js'
import { encodeMessage } from '../../core/codec.js'
import { idOfBytes } from '../../core/id.js'
import { loadMessage } from '../../core/ledger.js'
import { isMessage } from '../../core/message.js'
import { messageKey, type Store } from '../../core/store.js'
import type { KeyHandler, Message, ResolveContext } from '../../core/types.js'
import { blobKey, blobMetaKey } from './blob-meta.js'
import { DEFAULT_CONTENT_TYPE, openBlob, readBlob } from './blob-read.js'
import { writeBlobBytes, type WriteOutcome } from './blob-write.js'
import { RESOLVER_BLOB_MAX_BYTES } from './constants.js'
import { locate, parseListArgs, parseSha256, parseTarget, type Kind } from './target.js'

export interface StoreKeysInit {
  /** An open node lets anyone delete; else delete is the operator's (core/authority.ts). */
  readonly open: boolean
  readonly maxBlobBytes: number
}

const blobResult = (b: { sha256: string; id: string; bytes: number; contentType: string }): Message =>
  ({ kind: 'blob', sha256: b.sha256, id: b.id, bytes: b.bytes, 'content-type': b.contentType })

const messageResult = (id: string, bytes: number): Message =>
  ({ kind: 'message', id, sha256: Buffer.from(id, 'base64url').toString('hex'), bytes })

const notFound = (what: string, detail: Record<string, unknown>) =>
  new NotFoundError(`store: no ${what}`, { detail })

function reportWrite(ctx: ResolveContext, existed: boolean): void {
  ctx.meta.set('store-write', existed ? 'existing' : 'new')
}

async function putMessage(store: Store, message: Message, ctx: ResolveContext): Promise<Message> {
  const bytes = encodeMessage(message)
  const id = idOfBytes(bytes)
  const existed = await store.has(messageKey(id))
  if (!existed) await store.put(messageKey(id), bytes)
  reportWrite(ctx, existed)
  return messageResult(id, bytes.length)
}

async function putBlob(req: Message, ctx: ResolveContext, init: StoreKeysInit): Promise<Message> {
  const { body } = req
  let bytes: Uint8Array
  if (typeof body === 'string') bytes = Buffer.from(body, 'utf8')
  else if (body instanceof Uint8Array) bytes = body
  else throw new InvalidRequestError('store: "body" must be bytes or text', { code: 'invalid-body' })
  const contentType = typeof req['content-type'] === 'string' ? req['content-type']
    : typeof body === 'string' ? 'text/plain; charset=utf-8' : DEFAULT_CONTENT_TYPE
  const expected = req.sha256 === undefined ? undefined : parseSha256(req.sha256)
  const written: WriteOutcome = await writeBlobBytes(ctx.store, bytes, { contentType, expected, maxBytes: init.maxBlobBytes })
  reportWrite(ctx, written.existed)
  return blobResult(written)
}

/** The request keys that steer a put; the rest is the message to store. */
const PUT_CONTROL_KEYS: ReadonlySet<string> = new Set([...PATH_ONLY_KEYS, 'kind'])

function put(init: StoreKeysInit): KeyHandler {
  return async (_base, req, ctx) => {
    if (req.message !== undefined) {
      if (!isMessage(req.message)) throw new InvalidRequestError('store: "message" must be a map', { code: 'invalid-message' })
      return putMessage(ctx.store, req.message, ctx)
    }
    if (req.body !== undefined) return putBlob(req, ctx, init)
    if (req.sha256 !== undefined) {
      const sha256 = parseSha256(req.sha256)
      const blob = await openBlob(ctx.store, sha256, ctx.log)
      if (blob === undefined) throw notFound(`blob ${sha256}`, { sha256 })
      reportWrite(ctx, true)
      return blobResult(blob)
    }
    const own = Object.fromEntries(Object.entries(req).filter(([key]) => !PUT_CONTROL_KEYS.has(key)))
    return putMessage(ctx.store, own, ctx)
  }
}

async function found(req: Message, ctx: ResolveContext): Promise<{ kind: Kind; sha256: string; id: string }> {
  const target = parseTarget(req)
  const kind = await locate(ctx.store, target)
  if (kind === undefined) throw notFound(`blob or message ${target.sha256}`, { sha256: target.sha256, id: target.id })
  return { kind, sha256: target.sha256, id: target.id }
}

const get: KeyHandler = async (_base, req, ctx) => {
  const { kind, sha256, id } = await found(req, ctx)
  if (kind === 'message') return loadMessage(ctx.store, id)
  const blob = await openBlob(ctx.store, sha256, ctx.log)
  if (blob === undefined) throw notFound(`blob ${sha256}`, { sha256 })
  if (blob.bytes > RESOLVER_BLOB_MAX_BYTES) {
    throw new PayloadTooLargeError(`store: blob ${sha256} is ${blob.bytes} bytes; download it with GET /~store@1.0/blob/${sha256}`, {
      code: 'blob-too-large-to-inline', detail: { sha256, bytes: blob.bytes, limit: RESOLVER_BLOB_MAX_BYTES },
    })
  }
  const parts: Uint8Array[] = []
  for await (const part of readBlob(ctx.store, blob)) parts.push(part)
  return new Uint8Array(Buffer.concat(parts))
}

const stat: KeyHandler = async (_base, req, ctx) => {
  const { kind, sha256, id } = await found(req, ctx)
  if (kind === 'message') {
    const bytes = await ctx.store.get(messageKey(id))
    if (bytes === undefined) throw notFound(`message ${id}`, { id })
    if (idOfBytes(bytes) !== id) throw new CorruptionError(`store: message ${id} does not hash to its ID`, { detail: { id } })
    return messageResult(id, bytes.length)
  }
  const blob = await openBlob(ctx.store, sha256, ctx.log)
  if (blob === undefined) throw notFound(`blob ${sha256}`, { sha256 })
  return { ...blobResult(blob), indexed: blob.meta !== undefined }
}

const has: KeyHandler = async (_base, req, ctx) => (await locate(ctx.store, parseTarget(req))) !== undefined

const list: KeyHandler = async (_base, req, ctx) => {
  const args = parseListArgs(req)
  const space = args.kind === 'blob' ? blobKey('') : messageKey('')
  const items: string[] = []
  const after = args.after === undefined ? {} : { after: space + args.after }
  for await (const key of ctx.store.list(space + args.prefix, { ...after, limit: args.limit + 1 })) items.push(key.slice(space.length))
  const more = items.length > args.limit
  if (more) items.length = args.limit
  return { kind: args.kind, items, ...(more ? { next: items[items.length - 1]! } : {}) }
}

/**
 * Delete is a privileged action: the operator's signature over this very request (which then
 * covers the keys naming the target), spent once. `--store-open` lets anyone delete.
 */
async function authorize(ctx: ResolveContext, init: StoreKeysInit): Promise<void> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') {
    throw new MethodNotAllowedError('store: delete changes the store: send it as POST or DELETE')
  }
  if (!init.open) await requireOperator(ctx, 'store: delete (unless the node runs with --store-open)')
}

function del(init: StoreKeysInit): KeyHandler {
  return async (_base, req, ctx) => {
    await authorize(ctx, init)
    const { kind, sha256, id } = await found(req, ctx)
    if (kind === 'blob') await ctx.store.batch([{ type: 'delete', key: blobKey(sha256) }, { type: 'delete', key: blobMetaKey(sha256) }])
    else await ctx.store.delete(messageKey(id))
    ctx.log.info({ kind, sha256 }, 'store: deleted')
    return { deleted: true, kind, sha256, id }
  }
}

export function storeKeys(init: StoreKeysInit): Record<string, KeyHandler> {
  return { put: put(init), get, has, stat, list, delete: del(init) }
}

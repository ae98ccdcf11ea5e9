/**
 * store@1.0 through the resolver (no HTTP): the device compliance suite, every key, the ways
 * `put` reads a request, lookups by either spelling of a digest, pagination, delete's guard,
 * and a 400 with its own code for every malformed argument.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isAoError } from '../../../core/errors.js'
import { idOf } from '../../../core/id.js'
import { createRegistry } from '../../../core/registry.js'
import { createResolver } from '../../../core/resolve.js'
import { messageKey } from '../../../core/store.js'
import type { Caller, Message } from '../../../core/types.js'
import { messageDevice } from '../../../devices/message/index.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { writeBlobBytes } from '../../../devices/store/blob-write.js'
import { RESOLVER_BLOB_MAX_BYTES } from '../../../devices/store/constants.js'
import { storeDevice, type StoreDeviceInit } from '../../../devices/store/index.js'
import { spentSignatures } from '../../../node/spent-signatures.js'
import { memoryLogger } from '../../helpers/log.js'
import { deviceCompliance } from '../../helpers/device-suite.js'

deviceCompliance({ make: () => storeDevice({ store: memoryStore() }), samplePath: '/~store@1.0/put&body=hello' })

function setup(init: StoreDeviceInit = {}) {
  const store = memoryStore()
  const resolver = createResolver({ registry: createRegistry([messageDevice(), storeDevice({ store, ...init })]), store, log: memoryLogger() })
  const base: Message = { device: 'store@1.0' }
  const step = (req: Message, method?: string, caller?: Caller) =>
    resolver.step(base, idOf(base), req, { ...(method === undefined ? {} : { method }), ...(caller === undefined ? {} : { caller }) })
  return { store, resolver, step }
}

async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p
  } catch (err) {
    if (isAoError(err)) return [err.status, err.code]
    throw err
  }
  throw new Error('expected a refusal')
}

const sha = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex')

describe('store@1.0 put', () => {
  it('stores a body as a blob: text as UTF-8 typed text/plain, bytes typed by content-type', async () => {
    const { resolver, step } = setup()
    const text = await resolver.resolve('/~store@1.0/put&body=hello')
    expect(text.value).toEqual({ kind: 'blob', sha256: sha('hello'), id: Buffer.from(sha('hello'), 'hex').toString('base64url'), bytes: 5, 'content-type': 'text/plain; charset=utf-8' })
    expect(text.meta.get('store-write')).toBe('new')
    const again = await resolver.resolve('/~store@1.0/put&body=hello')
    expect(again.meta.get('store-write')).toBe('existing')
    expect(again.cached).toBe(false) // a put is never answered from the ledger
    const bytes = new Uint8Array([1, 2, 3])
    const typed = await step({ path: 'put', body: bytes, 'content-type': 'image/x-test', sha256: sha(bytes) })
    expect(typed.value).toMatchObject({ sha256: sha(bytes), 'content-type': 'image/x-test', bytes: 3 })
    expect(await refusal(step({ path: 'put', body: bytes, sha256: sha('other') }))).toEqual([400, 'sha256-mismatch'])
    expect(await refusal(step({ path: 'put', body: 5 }))).toEqual([400, 'invalid-body'])
  })

  it('stores a `message` by ID, or else the request\'s own keys; acknowledges a stored blob by sha256', async () => {
    const { store, resolver, step } = setup()
    const message: Message = { hello: 'world', n: 1, nested: { ok: true } }
    const put = await step({ path: 'put', message })
    expect(put.value).toEqual({ kind: 'message', id: idOf(message), sha256: Buffer.from(idOf(message), 'base64url').toString('hex'), bytes: expect.any(Number) })
    expect(await store.has(messageKey(idOf(message)))).toBe(true)
    const own = await resolver.resolve('/~store@1.0/put&a=1&b+integer=2')
    expect((own.value as Message).id).toBe(idOf({ a: '1', b: 2 }))
    expect(await refusal(step({ path: 'put', message: 'x' }))).toEqual([400, 'invalid-message'])
    expect(await refusal(step({ path: 'put', sha256: sha('never stored') }))).toEqual([404, 'not-found'])
    const ack = await step({ path: 'put', sha256: sha('hello'), body: 'hello' }).then(() => step({ path: 'put', sha256: sha('hello') }))
    expect(ack.value).toMatchObject({ kind: 'blob', sha256: sha('hello'), bytes: 5 })
  })
})

describe('store@1.0 get, has, stat', () => {
  it('finds blobs and messages by either spelling of their digest', async () => {
    const { resolver, step } = setup()
    const blob = (await resolver.resolve('/~store@1.0/put&body=payload')).value as Message
    const msg = (await step({ path: 'put', message: { x: 'y' } })).value as Message
    expect(Buffer.from((await step({ path: 'get', sha256: blob.sha256! })).value as Uint8Array).toString()).toBe('payload')
    expect(Buffer.from((await step({ path: 'get', id: blob.id! })).value as Uint8Array).toString()).toBe('payload')
    expect((await step({ path: 'get', id: msg.id! })).value).toEqual({ x: 'y' })
    expect((await step({ path: 'get', sha256: String(msg.sha256).toUpperCase() })).value).toEqual({ x: 'y' })
    expect((await resolver.resolve(`/~store@1.0/get&id=${String(msg.id)}/x`)).value).toBe('y') // chains like any message
    expect((await step({ path: 'has', sha256: blob.sha256! })).value).toBe(true)
    expect((await step({ path: 'has', sha256: sha('nope') })).value).toBe(false)
    expect((await step({ path: 'has', sha256: blob.sha256!, kind: 'message' })).value).toBe(false)
    expect((await step({ path: 'stat', sha256: blob.sha256! })).value).toMatchObject({ kind: 'blob', bytes: 7, 'content-type': 'text/plain; charset=utf-8', indexed: true })
    expect((await step({ path: 'stat', id: msg.id! })).value).toMatchObject({ kind: 'message', id: msg.id })
    expect(await refusal(step({ path: 'get', sha256: sha('nope') }))).toEqual([404, 'not-found'])
    expect(await refusal(step({ path: 'stat', id: idOf({ absent: true }) }))).toEqual([404, 'not-found'])
  })

  it('refuses to inline a blob bigger than the resolver limit (the HTTP route streams it)', async () => {
    const { store, step } = setup()
    const bytes = new Uint8Array(RESOLVER_BLOB_MAX_BYTES + 1)
    const { sha256 } = await writeBlobBytes(store, bytes, { contentType: 'application/octet-stream', maxBytes: 2 * bytes.length })
    expect(await refusal(step({ path: 'get', sha256 }))).toEqual([413, 'blob-too-large-to-inline'])
    expect((await step({ path: 'stat', sha256 })).value).toMatchObject({ bytes: bytes.length })
  })

  it('gives every malformed target its own 400', async () => {
    const { step } = setup()
    const cases: Array<[Message, string]> = [
      [{ path: 'get' }, 'missing-target'],
      [{ path: 'get', sha256: 'abc' }, 'invalid-sha256'],
      [{ path: 'get', sha256: 'g'.repeat(64) }, 'invalid-sha256'],
      [{ path: 'get', id: 'not-an-id' }, 'invalid-id'],
      [{ path: 'has', id: 5 }, 'invalid-id'],
      [{ path: 'get', sha256: sha('a'), id: idOf({ b: 1 }) }, 'conflicting-target'],
      [{ path: 'stat', sha256: sha('a'), kind: 'file' }, 'invalid-kind'],
    ]
    for (const [req, code] of cases) expect(await refusal(step(req)), JSON.stringify(req)).toEqual([400, code])
  })
})

describe('store@1.0 list', () => {
  it('pages through blobs and messages with prefix, after and limit', async () => {
    const { step } = setup()
    const shas: string[] = []
    for (let i = 0; i < 7; i++) shas.push(String(((await step({ path: 'put', body: `blob ${i}` })).value as Message).sha256))
    shas.sort()
    const seen: string[] = []
    let after: string | undefined
    for (;;) {
      const page = (await step({ path: 'list', limit: 3, ...(after === undefined ? {} : { after }) })).value as { items: string[]; next?: string }
      seen.push(...page.items)
      if (page.next === undefined) break
      after = page.next
    }
    expect(seen).toEqual(shas)
    const first = shas[0]!
    expect(((await step({ path: 'list', prefix: first.slice(0, 6) })).value as Message).items).toEqual([first])
    await step({ path: 'put', message: { m: 1 } })
    // Messages include what the ledger keeps of every step (requests, results).
    const messages = (await step({ path: 'list', kind: 'message', limit: '1000' })).value as { kind: string; items: string[] }
    expect(messages.kind).toBe('message')
    expect(messages.items).toContain(idOf({ m: 1 }))
  })

  it('rejects bad list arguments', async () => {
    const { step } = setup()
    const bad: Message[] = [{ limit: 0 }, { limit: 1001 }, { limit: '1.5' }, { prefix: 'xyz' }, { after: 'a'.repeat(65) }, { kind: 'message', prefix: 'a/b' }]
    for (const req of bad) {
      expect(await refusal(step({ path: 'list', ...req })), JSON.stringify(req)).toEqual([400, 'invalid-list-argument'])
    }
  })
})

describe('store@1.0 delete', () => {
  it('is refused unsigned (403 signature-required) and over GET (405); an open node deletes blobs and messages', async () => {
    const closed = setup()
    const put = (await closed.resolver.resolve('/~store@1.0/put&body=keep')).value as Message
    expect(await refusal(closed.step({ path: 'delete', sha256: put.sha256! }, 'POST'))).toEqual([403, 'signature-required'])
    expect((await closed.step({ path: 'has', sha256: put.sha256! })).value).toBe(true)

    const open = setup({ open: true })
    const blob = (await open.resolver.resolve('/~store@1.0/put&body=gone')).value as Message
    const msg = (await open.step({ path: 'put', message: { gone: true } })).value as Message
    expect(await refusal(open.step({ path: 'delete', sha256: blob.sha256! }, 'GET'))).toEqual([405, 'method-not-allowed'])
    expect((await open.step({ path: 'delete', sha256: blob.sha256! }, 'DELETE')).value).toEqual({ deleted: true, kind: 'blob', sha256: blob.sha256, id: blob.id })
    expect((await open.step({ path: 'delete', id: msg.id! }, 'POST')).value).toMatchObject({ deleted: true, kind: 'message' })
    expect((await open.step({ path: 'has', sha256: blob.sha256! })).value).toBe(false)
    expect((await open.step({ path: 'has', id: msg.id! })).value).toBe(false)
    expect(await refusal(open.step({ path: 'delete', id: msg.id! }, 'POST'))).toEqual([404, 'not-found'])
  })

  it('on a closed node, only the operator caller deletes, and each signature once (core/authority.ts)', async () => {
    const { resolver, step, store } = setup()
    const spent = spentSignatures(store)
    const caller = (operator: boolean, signature: number, unfit?: Caller['unfit']): Caller => ({
      address: 'o'.repeat(43), via: 'httpsig', operator, ...(unfit === undefined ? {} : { unfit }),
      claim: () => spent.spend(new Uint8Array([signature]), { by: 'o'.repeat(43), request: 'POST /~store@1.0/delete' }),
    })
    const put = (await resolver.resolve('/~store@1.0/put&body=target')).value as Message
    const target = { path: 'delete', sha256: put.sha256! }
    expect(await refusal(step(target, 'POST', caller(false, 1)))).toEqual([403, 'not-operator'])
    expect(await refusal(step(target, 'POST', caller(false, 1, { code: 'signature-unbound', reason: 'no @path' })))).toEqual([403, 'signature-unbound'])
    expect((await step({ path: 'has', sha256: put.sha256! })).value).toBe(true)
    expect((await step(target, 'POST', caller(true, 2))).value).toMatchObject({ deleted: true, kind: 'blob' })
    await resolver.resolve('/~store@1.0/put&body=target')
    expect(await refusal(step(target, 'POST', caller(true, 2)))).toEqual([403, 'signature-replayed'])
    expect((await step({ path: 'has', sha256: put.sha256! })).value).toBe(true)
  })
})

/**
 * store@1.0 over HTTP (node.app, in process): the streaming routes (put, get, blob/<sha256>,
 * ranges, conditional requests) and what falls through to the resolver (message puts, has,
 * stat, list, delete), with every refusal: bad sha256 → 400, unknown → 404, range past the end
 * → 416, over the size limit → 413, delete not signed by the operator over its target → 403, a corrupted blob → 500
 * `store-corruption` with the node still serving. The TCP behaviour of a corrupted big blob
 * (an aborted response) is in store-http-tcp.test.ts.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf } from '../../core/id.js'
import { blobKey } from '../../core/store.js'
import { SIGNATURE_TAG } from '../../devices/httpsig/index.js'
import { configFrom } from '../../node/cli-options.js'
import type { HashbeamNode } from '../../node/index.js'
import { createWallet, type Wallet } from '../../identity/keys.js'
import { loadWallet } from '../../node/wallet-file.js'
import { sharedWalletPath, testNode } from '../helpers/node.js'
import { signPrivileged } from '../helpers/operator.js'

const URL_BASE = 'http://hashbeam.test'
const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')
const JSON_ACCEPT = { accept: 'application/json' }

let node: HashbeamNode
let operator: Wallet
beforeAll(async () => {
  node = await testNode({ config: { maxBlobBytes: 4 * 1024 * 1024 } })
  operator = (await loadWallet(sharedWalletPath()))!
})
afterAll(() => node.stop())

const request = (path: string, init?: RequestInit) => node.app.request(`${URL_BASE}${path}`, init)
const put = (body: Uint8Array | string, headers: Record<string, string> = {}, path = '/~store@1.0/put') =>
  request(path, { method: 'PUT', body: body as BodyInit, headers })

async function refusal(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as { code: string }
  return [res.status, body.code]
}

const bytes = new Uint8Array(3000).map((_, i) => (i * 7) & 255)
const bytesSha = sha(bytes)

describe('streaming put and get', () => {
  it('PUT stores a raw body and answers JSON through the resolver (hashpath, ao-id); a duplicate writes nothing', async () => {
    const res = await put(bytes, { 'content-type': 'image/x-test' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.headers.get('hashpath')).toMatch(/^[A-Za-z0-9_-]{43}\/[A-Za-z0-9_-]{43}$/)
    expect(res.headers.get('ao-id')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(res.headers.get('hashbeam-store-write')).toBe('new')
    expect(await res.json()).toEqual({ kind: 'blob', sha256: bytesSha, id: Buffer.from(bytesSha, 'hex').toString('base64url'), bytes: 3000, 'content-type': 'image/x-test' })
    const again = await put(bytes, { 'content-type': 'image/x-test' }, '/~store/put')
    expect(again.headers.get('hashbeam-store-write')).toBe('existing')
    expect(again.headers.get('hashpath')).toBe(res.headers.get('hashpath'))
    const verify = await request(`/~replay@1.0/verify&hashpath=${encodeURIComponent(res.headers.get('hashpath')!)}`, { headers: JSON_ACCEPT })
    expect(await verify.json()).toMatchObject({ valid: true, steps: 1 })
  })

  it('GET returns the bytes with their content type, by blob/<sha256>, get&sha256= and get&id=', async () => {
    const id = Buffer.from(bytesSha, 'hex').toString('base64url')
    for (const path of [`/~store@1.0/blob/${bytesSha}`, `/~store@1.0/get&sha256=${bytesSha}`, `/~store@1.0/get?id=${id}`]) {
      const res = await request(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toBe('image/x-test')
      expect(res.headers.get('content-length')).toBe('3000')
      expect(res.headers.get('etag')).toBe(`"${bytesSha}"`)
      expect(res.headers.get('accept-ranges')).toBe('bytes')
      expect(res.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(bytesSha, 'hex').toString('base64')}:`)
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
    }
    const head = await request(`/~store@1.0/blob/${bytesSha}`, { method: 'HEAD' })
    expect([head.status, head.headers.get('content-length'), (await head.arrayBuffer()).byteLength]).toEqual([200, '3000', 0])
  })

  it('serves ranges: 206 with content-range; 416 past the end; several ranges, a stale If-Range → 200; If-None-Match → 304', async () => {
    const get = (headers: Record<string, string>) => request(`/~store@1.0/blob/${bytesSha}`, { headers })
    const cases: Array<[string, number, number, string]> = [
      ['bytes=0-3', 0, 4, 'bytes 0-3/3000'], ['bytes=2990-', 2990, 3000, 'bytes 2990-2999/3000'],
      ['bytes=-5', 2995, 3000, 'bytes 2995-2999/3000'], ['bytes=100-99999', 100, 3000, 'bytes 100-2999/3000'],
    ]
    for (const [range, start, end, contentRange] of cases) {
      const res = await get({ range })
      expect([res.status, res.headers.get('content-range')], range).toEqual([206, contentRange])
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes.subarray(start, end))), range).toBe(true)
    }
    for (const range of ['bytes=3000-', 'bytes=5000-6000', 'bytes=-0']) {
      const res = await get({ range })
      expect(res.headers.get('content-range'), range).toBe('bytes */3000')
      expect(await refusal(res)).toEqual([416, 'range-not-satisfiable'])
    }
    const ignored: Array<Record<string, string>> = [{ range: 'bytes=0-1,5-6' }, { range: 'items=0-1' }, { range: 'bytes=0-1', 'if-range': '"stale"' }]
    for (const headers of ignored) {
      const res = await get(headers)
      expect([res.status, (await res.arrayBuffer()).byteLength]).toEqual([200, 3000])
    }
    expect((await get({ range: 'bytes=0-1', 'if-range': `"${bytesSha}"` })).status).toBe(206)
    expect((await get({ 'if-none-match': `"${bytesSha}"` })).status).toBe(304)
  })

  it('checks a declared sha256, streams a body longer than the buffer, and refuses bodies over the limit (413)', async () => {
    const wrong = await put(bytes, {}, `/~store@1.0/put&sha256=${sha('other')}`)
    expect(await refusal(wrong)).toEqual([400, 'sha256-mismatch'])
    expect(await refusal(await put(bytes, {}, '/~store@1.0/put&sha256=xyz'))).toEqual([400, 'invalid-sha256'])
    const long = new Uint8Array(4 * 1024 * 1024).fill(9)
    const ok = await put(long, {}, `/~store@1.0/put?sha256=${sha(long)}`)
    expect(await ok.json()).toMatchObject({ sha256: sha(long), bytes: long.length, 'content-type': 'application/octet-stream' })
    expect(await refusal(await put(new Uint8Array(4 * 1024 * 1024 + 1)))).toEqual([413, 'blob-too-large'])
    // Without content-length: counted while streaming.
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1024 * 1024).fill(i))
        c.close()
      },
    })
    const res = await request('/~store@1.0/put', { method: 'POST', body: chunked, duplex: 'half' } as RequestInit)
    expect(await refusal(res)).toEqual([413, 'blob-too-large'])
    const info = await request('/~meta@1.0/info', { headers: JSON_ACCEPT })
    expect(await info.json()).toMatchObject({ 'max-blob-bytes': 4 * 1024 * 1024, 'store-open': false })
  })

  it('404s an unknown blob or ID; 400s a bad one', async () => {
    const unknown = sha('never stored')
    expect(await refusal(await request(`/~store@1.0/blob/${unknown}`))).toEqual([404, 'not-found'])
    expect(await refusal(await request(`/~store@1.0/get&sha256=${unknown}`))).toEqual([404, 'not-found'])
    expect(await refusal(await request(`/~store@1.0/get&id=${Buffer.from(unknown, 'hex').toString('base64url')}`))).toEqual([404, 'not-found'])
    expect(await refusal(await request('/~store@1.0/get&sha256=1234'))).toEqual([400, 'invalid-sha256'])
    expect(await refusal(await request('/~store@1.0/get&id=short'))).toEqual([400, 'invalid-id'])
    expect(await refusal(await request('/~store@1.0/get'))).toEqual([400, 'missing-target'])
  })
})

describe('through the resolver', () => {
  it('a JSON body puts a message (its `message` key, or its keys); kind=blob keeps JSON bytes as a blob', async () => {
    const headers = { 'content-type': 'application/json', ...JSON_ACCEPT }
    const res = await request('/~store@1.0/put', { method: 'POST', headers, body: JSON.stringify({ message: { hello: 'world' } }) })
    const put = (await res.json()) as { id: string; kind: string }
    expect(put.kind).toBe('message')
    expect(res.headers.get('hashpath')).toBeTruthy()
    const got = await request(`/~store@1.0/get&id=${put.id}`, { headers: JSON_ACCEPT })
    expect(await got.json()).toEqual({ hello: 'world' })
    const keys = await request('/~store@1.0/put', { method: 'POST', headers, body: JSON.stringify({ a: 1 }) })
    expect(await keys.json()).toMatchObject({ kind: 'message' })
    const bare = await request('/~store@1.0/put&a=1', { method: 'POST', headers: JSON_ACCEPT }) // no body: the keys
    expect(await bare.json()).toMatchObject({ kind: 'message', id: idOf({ a: '1' }) })
    const blob = await request('/~store@1.0/put&kind=blob', { method: 'POST', headers, body: '{"a":1}' })
    expect(await blob.json()).toMatchObject({ kind: 'blob', sha256: sha('{"a":1}'), 'content-type': 'application/json' })
  })

  it('has, stat and list answer with hashpaths', async () => {
    const has = await request(`/~store@1.0/has&sha256=${bytesSha}`, { headers: JSON_ACCEPT })
    expect([await has.json(), Boolean(has.headers.get('hashpath'))]).toEqual([true, true])
    const stat = await request(`/~store@1.0/stat&sha256=${bytesSha}`, { headers: JSON_ACCEPT })
    expect(await stat.json()).toMatchObject({ kind: 'blob', bytes: 3000, 'content-type': 'image/x-test', indexed: true })
    const list = await request(`/~store@1.0/list&prefix=${bytesSha.slice(0, 8)}`, { headers: JSON_ACCEPT })
    expect(await list.json()).toEqual({ kind: 'blob', items: [bytesSha] })
    expect(await refusal(await request('/~store@1.0/list&limit=0'))).toEqual([400, 'invalid-list-argument'])
  })

  it('delete: unsigned → 403; someone else → 403; the operator unbound or untagged → 403; over the target → 200, once', async () => {
    const target = new Uint8Array([4, 5, 6])
    const sha256 = sha(target)
    await put(target)
    expect(await refusal(await request(`/~store@1.0/delete&sha256=${sha256}`, { method: 'POST' }))).toEqual([403, 'signature-required'])
    const url = `${URL_BASE}/~store@1.0/delete&sha256=${sha256}`
    const send = (init: RequestInit & { headers: Record<string, string> }) => node.app.request(url, { ...init, headers: { ...init.headers, ...JSON_ACCEPT } })
    const tag = { tag: SIGNATURE_TAG.operator }
    expect(await refusal(await send(signPrivileged(await createWallet('ed25519'), { url }, { params: tag })))).toEqual([403, 'not-operator'])
    // The node's key without the CLI's tag (what a signed reply or any other node signature has).
    expect(await refusal(await send(signPrivileged(operator, { url })))).toEqual([403, 'wrong-signature-tag'])
    // Tagged, but signed over the headers only: the target could be anything.
    expect(await refusal(await send(signPrivileged(operator, { url }, { params: tag, omit: ['@path'] })))).toEqual([403, 'signature-unbound'])
    expect(await (await request(`/~store@1.0/has&sha256=${sha256}`)).text()).toBe('true')
    const signed = signPrivileged(operator, { url, method: 'DELETE' }, { params: tag })
    const ok = await send(signed)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ deleted: true, kind: 'blob', sha256 })
    expect((await request(`/~store@1.0/blob/${sha256}`)).status).toBe(404)
    await put(target)
    expect(await refusal(await send(signed))).toEqual([403, 'signature-replayed'])
    expect(await (await request(`/~store@1.0/has&sha256=${sha256}`)).text()).toBe('true')
  })
})

describe('corruption', () => {
  it('a damaged small blob is a 500 store-corruption before any byte, and the node keeps serving', async () => {
    const good = new Uint8Array(10_000).fill(3)
    const sha256 = sha(good)
    await put(good)
    const damaged = new Uint8Array(good)
    damaged[9_999] = 4
    await node.store.put(blobKey(sha256), damaged)
    for (const headers of [{}, { range: 'bytes=0-9' }] as Array<Record<string, string>>) {
      const res = await request(`/~store@1.0/blob/${sha256}`, { headers })
      expect(await refusal(res)).toEqual([500, 'store-corruption'])
    }
    expect(await refusal(await request(`/~store@1.0/get&sha256=${sha256}`, { headers: JSON_ACCEPT, method: 'POST' }))).toEqual([500, 'store-corruption'])
    expect((await request(`/~store@1.0/blob/${bytesSha}`)).status).toBe(200)
    expect(await (await request('/~message@1.0&hello=world/hello')).text()).toBe('world')
  })
})

describe('configuration', () => {
  it('--max-blob-bytes and --store-open reach the config; an open node deletes unsigned and says so in meta info', async () => {
    expect(configFrom({ 'max-blob-bytes': '1000', 'store-open': true }, {})).toMatchObject({ maxBlobBytes: 1000, storeOpen: true })
    expect(configFrom({}, {})).toMatchObject({ maxBlobBytes: 8 * 1024 ** 3, storeOpen: false })
    expect(() => configFrom({ 'max-blob-bytes': '-1' }, {})).toThrow()
    const open = await testNode({ config: { storeOpen: true } })
    try {
      const info = await open.app.request('/~meta@1.0/info', { headers: JSON_ACCEPT })
      expect(await info.json()).toMatchObject({ 'store-open': true })
      const { sha256 } = (await (await open.app.request('/~store@1.0/put', { method: 'PUT', body: 'bye' })).json()) as { sha256: string }
      const del = await open.app.request(`/~store@1.0/delete&sha256=${sha256}`, { method: 'DELETE', headers: JSON_ACCEPT })
      expect(await del.json()).toMatchObject({ deleted: true, sha256 })
    } finally {
      await open.stop()
    }
  })
})

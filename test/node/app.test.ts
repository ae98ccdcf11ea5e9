import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCanonical } from '../../core/codec.js'
import { messageKey, stepKey } from '../../core/store.js'
import { loadStep } from '../../core/ledger.js'
import type { HashbeamNode } from '../../node/index.js'
import { testNode } from '../helpers/node.js'

let node: HashbeamNode
const get = (path: string, init?: RequestInit) => node.app.request(path, init)
/** Map results answer httpsig by default (as HyperBEAM); JSON is one header away. */
const JSON_ACCEPT = { headers: { accept: 'application/json' } }
const HASHPATH = /^[A-Za-z0-9_-]{43}\/([a-z0-9-]+|[A-Za-z0-9_-]{43})$/

beforeAll(async () => {
  node = await testNode({ config: { bodyLimit: 1024 } })
})
afterAll(() => node.stop())

describe('HTTP: answers', () => {
  it('GET /~message@1.0&hello=world/hello → world with hashpath and ao-id', async () => {
    const res = await get('/~message@1.0&hello=world/hello')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('world')
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    const hashpath = res.headers.get('hashpath') ?? ''
    expect(hashpath).toMatch(HASHPATH)
    const again = await get('/~message@1.0&hello=world/hello')
    expect([again.headers.get('hashpath'), again.headers.get('ao-id')]).toEqual([hashpath, res.headers.get('ao-id')])
    expect(again.headers.get('ao-cache')).toBe('hit')
  })
  it('typed values survive: an integer comes back as a JSON number', async () => {
    const res = await get('/~message@1.0&a+integer=41/a')
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.headers.get('ao-type')).toBe('integer')
    expect(await res.json()).toBe(41)
  })
  it('meta info (JSON on accept) has the address, the operator and only public config', async () => {
    const info = (await (await get('/~meta@1.0/info', JSON_ACCEPT)).json()) as Record<string, unknown>
    expect(info.address).toBe(node.address)
    expect(info.operator).toBe(node.address)
    expect(JSON.stringify(info)).not.toMatch(/wallet|dataDir|data-dir|\/tmp/)
    const address = await get('/~meta@1.0/info/address')
    expect(address.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await address.text()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
  it('meta build names the software', async () => {
    expect(await (await get('/~meta@1.0/build', JSON_ACCEPT)).json()).toMatchObject({ name: 'hashbeam', version: expect.any(String) })
  })
  it('a JSON body adds keys; transport headers never do', async () => {
    const a = await get('/~message@1.0/set/greeting', { method: 'POST', body: JSON.stringify({ Greeting: 'hi', n: 2 }), headers: { 'content-type': 'application/json', 'user-agent': 'one' } })
    const b = await get('/~message@1.0/set/greeting', { method: 'POST', body: JSON.stringify({ greeting: 'hi', n: 2 }), headers: { 'content-type': 'application/json', 'user-agent': 'two', accept: '*/*' } })
    expect(await a.text()).toBe('hi')
    expect(b.headers.get('hashpath')).toBe(a.headers.get('hashpath'))
  })
  it('a CBOR body adds keys and CBOR comes back on accept', async () => {
    const res = await get('/~message@1.0/set/keys', { method: 'POST', body: encodeCanonical({ x: 1 }) as BodyInit, headers: { 'content-type': 'application/cbor', accept: 'application/cbor' } })
    expect(res.headers.get('content-type')).toBe('application/cbor')
  })
  it('non-transport headers are keys (AO clients send keys as headers)', async () => {
    expect(await (await get('/~message@1.0/data-protocol', { headers: { 'data-protocol': 'ao' } })).text()).toBe('ao')
  })
  it('N.key scopes a query key to one message', async () => {
    const res = await get('/~message@1.0/set/x?2.x=scoped')
    expect(await res.text()).toBe('scoped')
  })
  it('only-if-cached misses with 504; no-cache recomputes', async () => {
    const miss = await get('/~message@1.0&fresh=1/fresh', { headers: { 'cache-control': 'only-if-cached' } })
    expect([miss.status, (await miss.json()).code]).toEqual([504, 'cache-miss'])
    await get('/~message@1.0&fresh=1/fresh')
    const hit = await get('/~message@1.0&fresh=1/fresh', { headers: { 'cache-control': 'only-if-cached' } })
    expect(hit.headers.get('ao-cache')).toBe('hit')
    const again = await get('/~message@1.0&fresh=1/fresh', { headers: { 'cache-control': 'no-cache' } })
    expect(again.headers.get('ao-cache')).toBe('miss')
  })
  it('streams as SSE with a final result event carrying hashpath and ID; stream is not hashed', async () => {
    const plain = await get('/~message@1.0&s=1/s')
    const res = await get('/~message@1.0&s=1/s&stream=true')
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const text = await res.text()
    expect(text).toContain('event: result')
    const data = JSON.parse(text.split('data: ')[1] ?? '{}') as { hashpath: string; id: string; value: string }
    expect(data).toMatchObject({ hashpath: plain.headers.get('hashpath'), id: plain.headers.get('ao-id'), value: '1' })
  })
})

describe('HTTP: verify over the ledger', () => {
  it('a 3-step path verifies by /~replay@1.0/verify; a flipped byte fails and names the step', async () => {
    const res = await get('/~message@1.0&a=1/set&b=2/set&c=3/c')
    const hashpath = res.headers.get('hashpath') ?? ''
    const verify = async () => (await (await get(`/~replay@1.0/verify&hashpath=${encodeURIComponent(hashpath)}`, JSON_ACCEPT)).json()) as Record<string, any>
    expect(await verify()).toMatchObject({ valid: true, steps: 3 })

    const middle = await loadStep(node.store, (await loadStep(node.store, hashpath))?.base ?? '')
    const reqBytes = (await node.store.get(messageKey(middle?.request ?? ''))) as Uint8Array
    const flipped = reqBytes.slice()
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1
    await node.store.put(messageKey(middle?.request ?? ''), flipped)
    const report = await verify()
    expect(report).toMatchObject({ valid: false, failure: { step: 2, reason: 'corrupt-message' } })
    await node.store.put(messageKey(middle?.request ?? ''), reqBytes)

    const recordBytes = (await node.store.get(stepKey(hashpath))) as Uint8Array
    const badRecord = recordBytes.slice()
    badRecord[badRecord.length - 5] = (badRecord[badRecord.length - 5] ?? 0) ^ 1
    await node.store.put(stepKey(hashpath), badRecord)
    expect(await verify()).toMatchObject({ valid: false, failure: { hashpath, reason: 'corrupt-record' } })
    await node.store.put(stepKey(hashpath), recordBytes)
    expect(await verify()).toMatchObject({ valid: true })
  })
})

describe('HTTP: bad input gets a clear 4xx and the node keeps serving', () => {
  const cases: Array<[string, string, RequestInit | undefined, number, string]> = [
    ['malformed percent-encoding', '/~message@1.0&a=%zz/a', undefined, 400, 'invalid-percent-encoding'],
    ['unbalanced parentheses', '/~message@1.0/(a', undefined, 400, 'unbalanced-parentheses'],
    ['an unknown device', '/~nope@9.9/x', undefined, 404, 'unknown-device'],
    ['a missing key', '/~message@1.0/nothing', undefined, 404, 'key-not-found'],
    ['a 513-byte segment', `/${'a'.repeat(513)}`, undefined, 400, 'path-segment-too-long'],
    ['a 10,000-step path', '/a'.repeat(10_000), undefined, 414, 'path-too-long'],
    ['runaway sub-path recursion', `/${'('.repeat(100)}x${')'.repeat(100)}`, undefined, 414, 'path-too-deep'],
    ['an invalid typed value', '/~message@1.0&n+integer=x/n', undefined, 400, 'invalid-typed-value'],
    ['invalid JSON', '/~message@1.0/keys', { method: 'POST', body: '{"a":', headers: { 'content-type': 'application/json' } }, 400, 'invalid-json'],
    ['a JSON array body', '/~message@1.0/keys', { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json' } }, 400, 'invalid-json'],
    ['invalid CBOR', '/~message@1.0/keys', { method: 'POST', body: 'xyz', headers: { 'content-type': 'application/cbor' } }, 400, 'invalid-message'],
    ['a body over the limit', '/~message@1.0/keys', { method: 'POST', body: 'x'.repeat(2048), headers: { 'content-type': 'text/plain' } }, 413, 'body-too-large'],
    ['an unknown ID base', `/${'A'.repeat(43)}/x`, undefined, 404, 'message-not-found'],
    ['a reserved query key', '/~message@1.0/keys?path=x', undefined, 400, 'reserved-key'],
  ]
  it.each(cases)('%s', async (_name, path, init, status, code) => {
    const res = await get(path, init)
    const body = (await res.json()) as Record<string, unknown>
    expect({ status: res.status, code: body.code }).toEqual({ status, code })
    expect(body.message).toEqual(expect.any(String))
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(await (await get('/~message@1.0&alive=yes/alive')).text()).toBe('yes')
  })
  it('a body value shaped like a parsed sub-path is data, never a computation (it was a 500)', async () => {
    for (const spoof of [{ kind: 'subpath', path: {} }, { kind: 'subpath', path: { segments: [{ key: 'keys', keys: {} }] } }]) {
      const res = await get('/~message@1.0/a', { method: 'POST', body: JSON.stringify({ a: spoof }), headers: { 'content-type': 'application/json', accept: 'application/json' } })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual(spoof)
    }
  })
  it('an internal failure is a 500 naming the request id, logged with it; the node keeps serving', async () => {
    const boom = await testNode({ devices: [{ name: 'boom@1.0', keys: { now: () => { throw new TypeError('kaput') } } }] })
    try {
      const res = await boom.app.request('/~boom@1.0/now')
      const body = (await res.json()) as Record<string, string>
      const requestId = res.headers.get('x-request-id')
      expect([res.status, body.code, body['request-id']]).toEqual([500, 'internal', requestId])
      expect(body.message).not.toContain('kaput')
      expect(boom.logs.some((e) => e.level === 'error' && (e.obj as Record<string, unknown>).requestId === requestId)).toBe(true)
      expect(await (await boom.app.request('/~message@1.0&a=1/a')).text()).toBe('1')
    } finally {
      await boom.stop()
    }
  })
})

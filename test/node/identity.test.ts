/**
 * The real AO client against a real node (in-process: aoconnect's fetch goes to `node.app`):
 * `@permaweb/aoconnect` in mainnet mode, unsigned and with `createSigner(jwk)`, over httpsig
 * headers and ANS-104 items. Signatures become commitments on the request messages, a bad
 * signature is a 400, unsigned extras on a signed request are dropped.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, createSigner } from '@permaweb/aoconnect'
import { loadStep } from '../../core/ledger.js'
import { loadMessage } from '../../core/ledger.js'
import { decodeMessage } from '../../devices/httpsig/message-codec.js'
import { verifyReport } from '../../devices/message/verify.js'
import type { HashbeamNode } from '../../node/index.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { headerFields } from '../helpers/http.js'
import { testNode } from '../helpers/node.js'

type AoRequest = (args: Record<string, unknown>) => Promise<Response>
/** aoconnect's typings describe legacy mode only; mainnet mode adds `request`. */
const mainnet = (options: object) => connect(options as never) as unknown as { request: AoRequest }
const URL_BASE = 'http://hashbeam.test'

let node: HashbeamNode
let client: Wallet
let signed: AoRequest
let unsigned: AoRequest
/** Applied to the next request aoconnect sends (a tampering proxy). */
let tamper: ((req: Request) => Request) | undefined

beforeAll(async () => {
  node = await testNode()
  client = await createWallet('rsa')
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
    let req = new Request(input, init)
    if (tamper !== undefined) {
      req = tamper(req)
      tamper = undefined
    }
    return node.app.request(req)
  })
  signed = mainnet({ MODE: 'mainnet', URL: URL_BASE, signer: createSigner(client.jwk as never) }).request
  unsigned = mainnet({ MODE: 'mainnet', URL: URL_BASE }).request
})
afterAll(async () => {
  vi.unstubAllGlobals()
  await node.stop()
})

/** An httpsig reply back into a message. */
async function replyMessage(res: Response): Promise<Record<string, unknown>> {
  return decodeMessage(headerFields(res.headers), new Uint8Array(await res.arrayBuffer()))
}

function withHeaders(req: Request, change: (h: Headers) => void): Request {
  const headers = new Headers(req.headers)
  change(headers)
  return new Request(req, { headers })
}

describe('aoconnect → /~meta@1.0/info', () => {
  it('unsigned and signed GETs of info answer httpsig with the address and operator', async () => {
    for (const request of [unsigned, signed]) {
      const res = await request({ path: '/~meta@1.0/info', method: 'GET' })
      expect(res.status).toBe(200)
      expect(res.headers.get('codec-device')).toBe('httpsig@1.0')
      expect(await replyMessage(res)).toMatchObject({ address: node.address, operator: node.address, 'max-steps': 64 })
    }
  })

  it('info/address is the plain-text address, signed or not; the signed request has its own hashpath', async () => {
    const plain = await unsigned({ path: '/~meta@1.0/info/address', method: 'GET' })
    const sig = await signed({ path: '/~meta@1.0/info/address', method: 'GET' })
    expect([await plain.text(), await sig.text()]).toEqual([node.address, node.address])
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(sig.headers.get('hashpath')).not.toBe(plain.headers.get('hashpath'))
  })
})

describe('aoconnect header-only signed requests to message@1.0', () => {
  it('POST /~message@1.0/verify: the request\'s own commitment verifies, committed by the client', async () => {
    const res = await signed({ path: '/~message@1.0/verify', method: 'POST', 'x-test': 'hello', num: 42 })
    expect(res.status).toBe(200)
    const report = await replyMessage(res)
    expect(report).toMatchObject({ valid: true, commitments: [{ 'commitment-device': 'httpsig@1.0', type: 'rsa-pss-sha512', committer: walletAddress(client), valid: true }] })
  })

  it('signed keys are typed by ao-types and are the committed keys; unsigned extra headers are dropped', async () => {
    tamper = (req) => withHeaders(req, (h) => h.set('x-unsigned', 'sneaky'))
    const keys = await signed({ path: '/~message@1.0/keys', method: 'POST', 'x-test': 'hello', num: 42 })
    expect(await keys.json()).toEqual(['commitments', 'device', 'num', 'signing-format', 'x-test'])
    const committed = await signed({ path: '/~message@1.0/committed', method: 'GET', 'x-test': 'hello', num: 42 })
    expect(await committed.json()).toEqual(['num', 'signing-format', 'x-test'])
    expect(await (await signed({ path: '/~message@1.0/num', method: 'GET', num: 42 })).json()).toBe(42)
  })

  it('a signed request differs from the same one unsigned: other IDs, other hashpath; each step request is stored with its commitment', async () => {
    const a = await signed({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })
    const b = await unsigned({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })
    expect([await a.text(), await b.text()]).toEqual(['hello', 'hello'])
    expect(a.headers.get('hashpath')).not.toBe(b.headers.get('hashpath'))
    const record = await loadStep(node.store, a.headers.get('hashpath')!)
    const request = await loadMessage(node.store, record!.request)
    expect(request).toMatchObject({ path: 'x-test', 'x-test': 'hello', 'signing-format': 'httpsig' })
    expect(verifyReport(request)).toMatchObject({ valid: true, commitments: [{ committer: walletAddress(client) }] })
    expect(verifyReport({ ...request, 'x-test': 'changed' })).toMatchObject({ valid: false })
    const byId = await node.app.request(`/${record!.request}/verify~message@1.0`, { headers: { accept: 'application/json' } })
    expect(await byId.json()).toMatchObject({ valid: true, commitments: [{ committer: walletAddress(client), valid: true }] })
  })

  it('a signature with one byte flipped is a 400 invalid-signature', async () => {
    tamper = (req) => withHeaders(req, (h) => {
      const [label, value] = h.get('signature')!.split('=:')
      const bytes = Buffer.from(value!.slice(0, -1), 'base64')
      bytes[bytes.length - 9]! ^= 0x01
      h.set('signature', `${label}=:${bytes.toString('base64')}:`)
    })
    const res = await signed({ path: '/~message@1.0/x-test', method: 'POST', 'x-test': 'hello' })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'invalid-signature' })
  })

  it('a changed signed header is a 400; a path key may not contradict a signed key', async () => {
    tamper = (req) => withHeaders(req, (h) => h.set('x-test', 'forged'))
    expect((await signed({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })).status).toBe(400)
    const res = await signed({ path: '/~message@1.0&x-test=other/x-test', method: 'GET', 'x-test': 'hello' })
    expect([res.status, (await res.json() as { code: string }).code]).toEqual([400, 'committed-key-conflict'])
  })

  it('a query key may repeat a signed key but not contradict it (it used to lose silently)', async () => {
    // The query is never signed by AO clients: a proxy (or the client) may add one.
    const withQuery = (query: string) => (req: Request) => new Request(`${req.url}?${query}`, req)
    tamper = withQuery('x-test=other')
    const contradicts = await signed({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })
    expect([contradicts.status, (await contradicts.json() as { code: string }).code]).toEqual([400, 'committed-key-conflict'])
    tamper = withQuery('x-test=hello')
    const repeats = await signed({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })
    expect([repeats.status, await repeats.text()]).toEqual([200, 'hello'])
  })

  it('the body of a signed POST is dropped by the client (interop.md §1.4), so its digest fails: 400', async () => {
    const res = await signed({ path: '/~message@1.0/x', method: 'POST', 'x-test': 'hello', data: 'line1\nline2' })
    expect([res.status, (await res.json() as { code: string }).code]).toEqual([400, 'content-digest-mismatch'])
  })
})

describe('unsigned requests', () => {
  it('typed fields from an unsigned client are typed too; a body that contradicts its digest is a 400', async () => {
    expect(await (await unsigned({ path: '/~message@1.0/num', method: 'GET', num: 42 })).json()).toBe(42)
    const res = await node.app.request('/~message@1.0/body', { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain', 'content-digest': 'sha-256=:AAAA:' } })
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([400, 'content-digest-mismatch'])
  })
})

describe('aoconnect ANS-104 requests', () => {
  it('a signed data item is verified, its tags are keys, its routing hints pick the codec', async () => {
    const res = await signed({ path: '/~message@1.0/verify', 'signing-format': 'ans104', Action: 'Ping', 'accept-codec': 'json@1.0' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toMatchObject({ valid: true, commitments: [{ 'commitment-device': 'ans104@1.0', committer: walletAddress(client), valid: true }] })
    const action = await signed({ path: '/~message@1.0/action', 'signing-format': 'ans104', Action: 'Ping' })
    expect(await action.text()).toBe('Ping')
  })

  it('a data item with a flipped byte is a 400 invalid-signature', async () => {
    tamper = (req) => {
      const body = req.arrayBuffer().then((b) => {
        const bytes = new Uint8Array(b)
        bytes[bytes.length - 2]! ^= 0x01
        return bytes
      })
      return new Request(req.url, { method: 'POST', headers: req.headers, body: new ReadableStream({ async start(c) { c.enqueue(await body); c.close() } }), duplex: 'half' } as RequestInit)
    }
    const res = await signed({ path: '/~message@1.0/action', 'signing-format': 'ans104', Action: 'Ping' })
    expect([res.status, (await res.json() as { code: string }).code]).toEqual([400, 'invalid-signature'])
  })
})

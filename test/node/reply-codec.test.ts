/**
 * Replies: httpsig@1.0 by default for map results (headers + multipart, as HyperBEAM), JSON or
 * CBOR one header away, literals raw; negotiation order require-codec > accept-codec > accept;
 * codec keys in the query are transport (same hashpath); signed replies verify with the node's
 * key, cover the hashpath and carry the tag `hashbeam-reply`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeCanonical } from '../../core/codec.js'
import { idOf } from '../../core/id.js'
import type { Message } from '../../core/types.js'
import { verifyMessageSignatures } from '../../devices/httpsig/index.js'
import { decodeMessage } from '../../devices/httpsig/message-codec.js'
import type { HashbeamNode } from '../../node/index.js'
import { fromJson } from '../../core/json.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { defaultConfig } from '../../node/config.js'
import { createNode } from '../../node/index.js'
import { headerFields } from '../helpers/http.js'
import { memoryLogger } from '../helpers/log.js'
import { tempDir, testNode } from '../helpers/node.js'

let node: HashbeamNode
beforeAll(async () => {
  node = await testNode()
})
afterAll(() => node.stop())

// A result with typed scalars, a nested map, a list and a key that must never become a
// response header (set-cookie).
const PATH = '/~message@1.0&n+integer=7&ok+boolean=true&tags+list="a",2&nested+map=x="y"/set&set-cookie=evil&greeting=hello'
const get = (path: string, headers: Record<string, string> = {}) => node.app.request(path, { headers })
const bodyOf = async (res: Response) => new Uint8Array(await res.arrayBuffer())
const fields = (res: Response) => headerFields(res.headers)

describe('httpsig@1.0 replies (the default for messages)', () => {
  it('a message comes back as typed header fields and a multipart body, decoding to the message of the JSON reply', async () => {
    const res = await get(PATH)
    expect(res.status).toBe(200)
    expect(res.headers.get('codec-device')).toBe('httpsig@1.0')
    expect(res.headers.get('n')).toBe('7')
    expect(res.headers.get('ao-types')).toContain('n="integer"')
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/)
    const decoded = decodeMessage(fields(res), await bodyOf(res))
    const json = await get(PATH, { accept: 'application/json' })
    expect(decoded).toEqual(fromJson(await json.json()))
    expect(idOf(decoded as Message)).toBe(res.headers.get('ao-id'))
    expect(decoded).toMatchObject({ n: 7, ok: true, tags: ['a', 2], nested: { x: 'y' }, 'set-cookie': 'evil', greeting: 'hello' })
  })

  it('literal results stay raw bodies whatever codec is asked for', async () => {
    const res = await get('/~message@1.0&a=text/a', { 'accept-codec': 'httpsig@1.0' })
    expect([res.headers.get('content-type'), await res.text()]).toEqual(['text/plain; charset=utf-8', 'text'])
  })

  it('is signed by the node on accept-signature: the signature verifies with its key, covers the hashpath, tag = hashbeam-reply', async () => {
    const res = await get(PATH, { 'accept-signature': 'sig=("@status");alg="rsa-pss-sha512"' })
    const received = fields(res)
    const [verified] = verifyMessageSignatures({ status: 200, fields: received })
    expect(verified).toMatchObject({ alg: 'rsa-pss-sha512', committer: node.address, params: { tag: 'hashbeam-reply' } })
    expect(verified!.label).toMatch(/^sig-[a-z0-9_-]{43}$/)
    expect(verified!.covered).toEqual(expect.arrayContaining(['n', 'ao-types', 'content-digest', 'content-type', 'greeting', 'hashpath']))
    expect(verified!.signatureBase).toContain(`"hashpath": ${res.headers.get('hashpath')}\n`)
    for (const [name, value] of [['greeting', 'goodbye'], ['hashpath', `${res.headers.get('hashpath')!.split('/')[0]}/other`]]) {
      const forged = received.map(([n, v]): [string, string] => [n, n === name ? value! : v])
      expect(() => verifyMessageSignatures({ status: 200, fields: forged })).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
    }
    expect((await get(PATH)).headers.get('signature')).toBeNull()
  })
})

describe('negotiation', () => {
  it('accept: application/json and accept-codec: json@1.0 answer JSON; accept: application/cbor CBOR', async () => {
    const variants: Array<Record<string, string>> = [{ accept: 'application/json' }, { 'accept-codec': 'json@1.0' }, { accept: 'text/html;q=0.8, application/json' }]
    for (const headers of variants) {
      const res = await get(PATH, headers)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(await res.json()).toMatchObject({ n: 7 })
    }
    const cbor = await get(PATH, { accept: 'application/cbor' })
    expect(decodeCanonical(await bodyOf(cbor))).toMatchObject({ n: 7, nested: { x: 'y' } })
  })

  it('require-codec beats accept-codec, which beats accept', async () => {
    const res = await get(PATH, { 'require-codec': 'application/json', 'accept-codec': 'httpsig@1.0', accept: 'application/cbor' })
    expect(res.headers.get('content-type')).toContain('application/json')
    const second = await get(PATH, { 'accept-codec': 'httpsig@1.0', accept: 'application/json' })
    expect(second.headers.get('codec-device')).toBe('httpsig@1.0')
  })

  it('codec keys in the query are transport: JSON, and the same hashpath as without them', async () => {
    const plain = await get(PATH)
    const query = await get(`${PATH}?accept-codec=json@1.0`)
    expect(query.headers.get('content-type')).toContain('application/json')
    expect(query.headers.get('hashpath')).toBe(plain.headers.get('hashpath'))
  })

  it('an unknown codec is a 406 unsupported-codec', async () => {
    const res = await get(PATH, { 'require-codec': 'ans104@1.0' })
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([406, 'unsupported-codec'])
  })
})

describe('an Ed25519 node (--wallet-kind ed25519)', () => {
  it('creates an Ed25519 wallet, signs replies with ed25519 and commits with it', async () => {
    const data = tempDir()
    const ed = await createNode({ ...defaultConfig({}), dataDir: data.dir, store: 'memory', demoModel: false, walletKind: 'ed25519' }, { log: memoryLogger(), store: memoryStore() })
    try {
      expect(ed.wallet.kind).toBe('ed25519')
      const res = await ed.app.request('/~message@1.0&a=1/commit', { headers: { 'accept-signature': 'sig=()' } })
      const [reply] = verifyMessageSignatures({ status: 200, fields: headerFields(res.headers) })
      expect(reply).toMatchObject({ alg: 'ed25519', committer: ed.address })
      const verify = await ed.app.request('/~message@1.0&a=1/commit/verify', { headers: { accept: 'application/json' } })
      expect(await verify.json()).toMatchObject({ valid: true, commitments: [{ type: 'ed25519', committer: ed.address }] })
    } finally {
      await ed.stop()
      data.cleanup()
    }
  })
})

/**
 * Data items as AO-Core messages: tags to keys, target/anchor/body, duplicate tags, ao-types,
 * the ans104@1.0 commitment; and items produced by the real AO client (aoconnect `request` with
 * `signing-format: ans104`, and `message` to a process), captured offline.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, createSigner } from '@permaweb/aoconnect'
import { EthereumSigner, createData } from '@dha-team/arbundles'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { buildDataItem, dataItemToMessage, parseDataItem } from '../../../devices/ans104/index.js'

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

describe('dataItemToMessage', () => {
  let wallet: Wallet
  beforeAll(async () => {
    wallet = await createWallet('ed25519')
  })

  it('lower-cases tag names, keeps the data as body, and commits every key', () => {
    const target = randomBytes(32)
    const anchor = randomBytes(32)
    const { item } = buildDataItem(wallet, {
      tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Action', value: 'Eval' }], data: 'print(1)', target, anchor,
    })
    const message = dataItemToMessage(item)
    expect(message).toEqual({
      'data-protocol': 'ao', action: 'Eval', target: b64url(target), anchor: b64url(anchor),
      body: new TextEncoder().encode('print(1)'),
      commitments: {
        [item.id]: {
          'commitment-device': 'ans104@1.0', type: 'ed25519-sha512', keyid: `publickey:${wallet.jwk.x}`,
          committer: walletAddress(wallet), committed: ['action', 'anchor', 'body', 'data-protocol', 'target'],
          signature: b64url(item.signature),
          'original-tags': { 1: { name: 'Data-Protocol', value: 'ao' }, 2: { name: 'Action', value: 'Eval' } },
        },
      },
    })
    expect(item.id).toBe(createHash('sha256').update(item.signature).digest('base64url'))
  })

  it('turns repeated tags into lists, applies ao-types and ao-data-key, omits empty data', () => {
    const { item } = buildDataItem(wallet, {
      tags: [
        { name: 'x', value: '1' }, { name: 'X', value: '2' }, { name: 'n', value: '7' }, { name: 'ao-types', value: 'n="integer"' },
        { name: 'ao-data-key', value: 'data' },
      ],
      data: 'payload',
    })
    const message = dataItemToMessage(item)
    expect(message.x).toEqual(['1', '2'])
    expect(message.n).toBe(7)
    expect(message.data).toEqual(new TextEncoder().encode('payload'))
    expect(Object.keys(message).sort()).toEqual(['commitments', 'data', 'n', 'x'])
    expect('body' in dataItemToMessage(buildDataItem(wallet, { tags: [{ name: 'a', value: 'b' }] }).item)).toBe(false)
  })

  it('refuses an item whose signature does not verify (400 invalid-signature)', () => {
    const { bytes } = buildDataItem(wallet, { tags: [{ name: 'a', value: 'b' }], data: 'x' })
    const tampered = Uint8Array.from(bytes)
    tampered[tampered.length - 1]! ^= 0x01
    expect(() => dataItemToMessage(parseDataItem(tampered))).toThrow(expect.objectContaining({ code: 'invalid-signature', status: 400 }))
  })

  it('converts an Ethereum item from arbundles, committed by the hash of its uncompressed key', async () => {
    const signer = new EthereumSigner('37929fc21ab44ace162318acbbf4d24a41270b2aee18fd1cfb22e3fc3f4b4024')
    const data = createData('hello', signer, { tags: [{ name: 'Type', value: 'Message' }] })
    await data.sign(signer)
    const message = dataItemToMessage(parseDataItem(new Uint8Array(data.getRaw())))
    const commitment = (message.commitments as Record<string, Record<string, unknown>>)[data.id]!
    expect(commitment.type).toBe('ethereum')
    expect(commitment.committer).toBe(createHash('sha256').update(signer.publicKey).digest('base64url'))
  })
})

describe('ANS-104 from aoconnect (mainnet mode, captured offline)', () => {
  const bodies: Array<{ url: string, headers: Record<string, string>, body: Uint8Array }> = []
  let wallet: Wallet
  let ao: { request: (a: object) => Promise<Response>, message: (a: object) => Promise<unknown> }

  beforeAll(async () => {
    vi.stubGlobal('fetch', async (url: string | URL, init: RequestInit = {}) => {
      const body = new Uint8Array(await new Response(init.body as BodyInit).arrayBuffer())
      const headers: Record<string, string> = {}
      new Headers(init.headers as HeadersInit).forEach((value, name) => { headers[name] = value })
      bodies.push({ url: String(url), headers, body })
      return new Response('{"slot": 1}', { headers: { 'content-type': 'application/json' } })
    })
    wallet = await createWallet('rsa')
    ao = connect({ MODE: 'mainnet', URL: 'http://127.0.0.1:8734', signer: createSigner(wallet.jwk as never) } as never) as never
  })
  afterAll(() => {
    vi.unstubAllGlobals()
  })

  it('posts a signed item whose routing hints are tags, verified and converted by our code', async () => {
    await ao.request({ path: '/~meta@1.0/info', 'signing-format': 'ans104', Action: 'Info', data: '1984' })
    const sent = bodies.at(-1)!
    expect(sent.headers['content-type']).toBe('application/ans104')
    expect(sent.headers['codec-device']).toBe('ans104@1.0')
    const item = parseDataItem(sent.body)
    expect(item.signatureType).toBe(1)
    const message = dataItemToMessage(item)
    expect(message).toMatchObject({ action: 'Info', 'signing-format': 'ans104', 'data-protocol': 'ao', type: 'Message', variant: 'ao.N.1' })
    expect(message.body).toEqual(new TextEncoder().encode('1984'))
    const commitment = (message.commitments as Record<string, Record<string, unknown>>)[item.id]!
    expect(commitment).toMatchObject({ type: 'rsa-pss-sha256', committer: walletAddress(wallet) })
    const tampered = Uint8Array.from(sent.body)
    tampered[20]! ^= 0x01
    expect(() => dataItemToMessage(parseDataItem(tampered))).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('sends `message` to a process with the process ID as the item target', async () => {
    const pid = randomBytes(32).toString('base64url')
    await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Ping' }], data: 'ping' })
    const sent = bodies.at(-1)!
    expect(sent.url).toBe(`http://127.0.0.1:8734/${pid}~process@1.0/push`)
    const message = dataItemToMessage(parseDataItem(sent.body))
    expect(message).toMatchObject({ target: pid, action: 'Ping', 'require-codec': 'application/json', 'accept-bundle': 'true' })
  })
})

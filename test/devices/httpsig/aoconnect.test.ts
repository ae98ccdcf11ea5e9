/**
 * Interop with the real AO JS client: @permaweb/aoconnect 0.0.98 in mainnet mode (its HTTP goes
 * through @permaweb/ao-core-libs). Requests are captured offline by replacing `fetch`, then
 * verified by our code. Includes the deterministic Ethereum vector from interop.md §1.3 (the
 * upstream test key), reproduced byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createHash } from 'node:crypto'
import { connect, createSigner } from '@permaweb/aoconnect'
import { EthereumSigner } from '@dha-team/arbundles'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import {
  commitmentsFromSignatures, decodeTypedFields, signBytes, verifyRequestSignatures, type HttpRequestLike,
} from '../../../devices/httpsig/index.js'

const NODE = 'http://127.0.0.1:8734'
/** The secp256k1 test key published in permaweb/ao connect/src/client/ao-core.test.js. */
const ETH_KEY = '37929fc21ab44ace162318acbbf4d24a41270b2aee18fd1cfb22e3fc3f4b4024'
const ETH_KEYID = 'BB-VnJveFm1NPy2lXbhxBfjK9yVbRMfeNn0ml0pox66iHF0J296YA9rplT09qX3gDBDZYvadwBnT4LTMQE6EfxE'

type AoRequest = (args: Record<string, unknown>) => Promise<Response>
/** aoconnect's typings describe legacy mode only; mainnet mode adds `request`. */
const mainnet = (options: object) => connect(options as never) as unknown as { request: AoRequest }
const captured: HttpRequestLike[] = []

/** Turns what aoconnect passed to fetch into the request the node would receive. */
async function capture(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = {}
  new Headers(init.headers as HeadersInit).forEach((value, name) => { headers[name] = value })
  const body = init.body === undefined || init.body === null ? undefined : new Uint8Array(await new Response(init.body).arrayBuffer())
  captured.push({ method: init.method ?? 'GET', url: String(url), headers, ...(body !== undefined && { body }) })
  return new Response('ok')
}

async function send(request: AoRequest, args: Record<string, unknown>): Promise<HttpRequestLike> {
  const before = captured.length
  await request(args)
  expect(captured).toHaveLength(before + 1)
  return captured[captured.length - 1]!
}

const withHeader = (req: HttpRequestLike, name: string, value: string): HttpRequestLike =>
  ({ ...req, headers: { ...req.headers, [name]: value } })

function flipSignatureByte(req: HttpRequestLike): HttpRequestLike {
  const [label, value] = req.headers.signature!.split('=:')
  const bytes = Buffer.from(value!.slice(0, -1), 'base64')
  bytes[bytes.length - 7]! ^= 0x80
  return withHeader(req, 'signature', `${label}=:${bytes.toString('base64')}:`)
}

beforeAll(() => {
  vi.stubGlobal('fetch', capture)
})
afterAll(() => {
  vi.unstubAllGlobals()
})

describe('aoconnect httpsig requests signed with an RSA wallet (createSigner)', () => {
  let wallet: Wallet
  let request: AoRequest
  beforeAll(async () => {
    wallet = await createWallet('rsa')
    request = mainnet({ MODE: 'mainnet', URL: NODE, signer: createSigner(wallet.jwk as never) }).request
  })

  it('signs only the header fields, sorted, with rsa-pss-sha512 and a base64url modulus keyid', async () => {
    const req = await send(request, { path: '/~meta@1.0/info', method: 'GET', 'x-test': 'hello', num: 42, list: [1, 'a'] })
    expect(req.headers['signature-input']).toMatch(
      /^http-sig-[0-9a-f]{16}=\("ao-types" "list" "num" "signing-format" "x-test"\);alg="rsa-pss-sha512";keyid="[A-Za-z0-9_-]{683}"$/,
    )
    const result = verifyRequestSignatures(req)
    expect(result.committedKeys).toEqual(['list', 'num', 'signing-format', 'x-test'])
    expect(result.signatures[0]).toMatchObject({ alg: 'rsa-pss-sha512', committer: walletAddress(wallet), params: {} })
    expect(result.signatures[0]!.keyid).toBe(wallet.jwk.n)
  })

  it('sends typed keys that decode back to the values given to the client', async () => {
    const req = await send(request, { path: '/x', method: 'GET', num: 42, ratio: 1.5, list: [1, 'a'], empty: [] })
    expect(req.headers['ao-types']).toBe('num=integer,ratio=float,list=list,empty=empty-list')
    const committed = verifyRequestSignatures(req).committedKeys
    expect(committed).toEqual(['empty', 'list', 'num', 'ratio', 'signing-format'])
    const typed = decodeTypedFields(req.headers)
    const message = Object.fromEntries(committed.map((key) => [key, typed[key]]))
    expect(message).toEqual({ num: 42, ratio: 1.5, list: [1, 'a'], empty: [], 'signing-format': 'httpsig' })
  })

  it('is rejected after a one-byte flip of the signature or a change to a signed header', async () => {
    const req = await send(request, { path: '/x', method: 'GET', 'x-amount': '10' })
    expect(() => verifyRequestSignatures(flipSignatureByte(req))).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
    expect(() => verifyRequestSignatures(withHeader(req, 'x-amount', '11'))).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('gives HyperBEAM-shaped commitments keyed by base64url(sha256(signature))', async () => {
    const req = await send(request, { path: '/x', method: 'GET', 'x-test': 'hello' })
    const result = verifyRequestSignatures(req)
    const commitments = commitmentsFromSignatures(result)
    const raw = result.signatures[0]!.signature
    const id = createHash('sha256').update(raw).digest('base64url')
    expect(commitments).toEqual({
      [id]: {
        'commitment-device': 'httpsig@1.0', type: 'rsa-pss-sha512', keyid: wallet.jwk.n, committer: walletAddress(wallet),
        committed: ['signing-format', 'x-test'], signature: Buffer.from(raw).toString('base64url'),
        'signature-base': result.signatures[0]!.signatureBase,
      },
    })
  })

  it('drops the body of a signed POST (client bug, interop.md §1.4): the digest then fails, as it must', async () => {
    const req = await send(request, { path: '/x', method: 'POST', 'x-test': 'hello', data: 'line1\nline2' })
    expect(req.body).toBeUndefined()
    expect(req.headers['inline-body-key']).toBe('data')
    expect(() => verifyRequestSignatures(req)).toThrow(expect.objectContaining({ code: 'content-digest-mismatch' }))
    // With the body the client meant to send, the request verifies and commits that body as `data`.
    const intended = verifyRequestSignatures({ ...req, body: new TextEncoder().encode('line1\nline2') })
    expect(intended.committedKeys).toEqual(['data', 'inline-body-key', 'signing-format', 'x-test'])
  })
})

describe('aoconnect httpsig requests signed with an Ethereum key (arbundles EthereumSigner)', () => {
  const eth = new EthereumSigner(ETH_KEY)
  // The signer shape of ao-core-libs, wrapped around arbundles as aoconnect's own test does.
  const signer = async (create: (input: object) => Promise<Uint8Array>) => {
    const data = await create({ publicKey: eth.publicKey, type: 3, alg: 'ethereum' })
    return { signature: await eth.sign(data), address: Buffer.from(eth.publicKey).toString('base64url') }
  }
  const request = mainnet({ MODE: 'mainnet', URL: NODE, signer }).request

  it('reproduces the published deterministic vector byte for byte and verifies it', async () => {
    const req = await send(request, { path: '~meta@1.0/info/address', method: 'GET' })
    expect(req.headers['signature-input']).toBe(`http-sig-1f959c9bde166d4d=("signing-format");alg="ethereum";keyid="${ETH_KEYID}"`)
    expect(req.headers.signature).toBe(
      'http-sig-1f959c9bde166d4d=:KHeEx9sEn4c5WTmOgprhDqD3Genr+R7xN6davRYNqq4CKWGieK7Qm5/j7DY1oi+LndpHm5jWbu4uY9ILNcLz+Rs=:',
    )
    const [verified] = verifyRequestSignatures(req).signatures
    expect(verified).toMatchObject({ alg: 'ethereum', keyid: ETH_KEYID, covered: ['signing-format'] })
    expect(verified!.committer).toBe(createHash('sha256').update(Buffer.from(ETH_KEYID, 'base64url')).digest('base64url'))
    expect(verified!.signatureBase).toBe(`"signing-format": httpsig\n"@signature-params": ("signing-format");alg="ethereum";keyid="${ETH_KEYID}"`)
    expect(() => verifyRequestSignatures(flipSignatureByte(req))).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('signs EIP-191 exactly as ethers does (RFC 6979 makes both deterministic)', async () => {
    const base = new TextEncoder().encode('"x": 1\n"@signature-params": ("x");alg="ethereum"')
    const ours = signBytes({ alg: 'ethereum', privateKey: Buffer.from(ETH_KEY, 'hex') }, base)
    expect(Buffer.from(ours)).toEqual(Buffer.from(await eth.sign(base)))
  })
})

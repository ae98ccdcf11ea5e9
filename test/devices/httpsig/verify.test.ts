/**
 * verifyRequestSignatures against signatures made by our signer and by hand: every algorithm,
 * header-only and @path/@method coverage, both keyid alphabets, Content-Digest binding, and the
 * failure modes a node must turn into 400s.
 */
import { generateKeyPairSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createWallet, privateKeyObject, walletAddress, type Wallet } from '../../../identity/keys.js'
import {
  createSignature, serializeSignatureFields, signRequest, verifyRequestSignatures,
  type HttpRequestLike, type SigningKey,
} from '../../../devices/httpsig/index.js'

const utf8 = (text: string) => new TextEncoder().encode(text)
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const URL_ = 'http://localhost:8734/~meta@1.0/info'

/** Signs `req` with any key by hand, the way a third-party client would. */
function signWith(key: SigningKey, keyid: string, req: HttpRequestLike, components: string[], label = 'sig1'): HttpRequestLike {
  const view = { method: req.method, target: req.url, fields: Object.entries(req.headers) }
  const created = createSignature(view, key, { label, components, params: [['alg', key.alg], ['keyid', keyid]] })
  return { ...req, headers: { ...req.headers, ...serializeSignatureFields([created]) } }
}

const flipSignatureByte = (req: HttpRequestLike): HttpRequestLike => {
  const headers = { ...req.headers }
  const value = headers.signature!
  const start = value.indexOf('=:') + 2
  const bytes = Buffer.from(value.slice(start, -1), 'base64')
  bytes[5]! ^= 0x01
  headers.signature = `${value.slice(0, start)}${bytes.toString('base64')}:`
  return { ...req, headers }
}

describe('verifyRequestSignatures', () => {
  let rsa: Wallet
  let ed: Wallet
  beforeAll(async () => {
    ;[rsa, ed] = await Promise.all([createWallet('rsa'), createWallet('ed25519')])
  })

  it('returns no signatures and no committed keys for an unsigned request', () => {
    expect(verifyRequestSignatures({ method: 'GET', url: URL_, headers: { accept: '*/*' } }))
      .toEqual({ signatures: [], committedKeys: [] })
  })

  for (const kind of ['rsa', 'ed25519'] as const) {
    it(`verifies a header-only ${kind} signature and names the committer`, () => {
      const wallet = kind === 'rsa' ? rsa : ed
      const signed = signRequest(wallet, { method: 'GET', url: URL_, headers: { 'signing-format': 'httpsig', 'X-Test': 'yes' } })
      const result = verifyRequestSignatures({ method: 'GET', url: URL_, headers: signed.headers })
      expect(result.committedKeys).toEqual(['signing-format', 'x-test'])
      expect(result.signatures).toHaveLength(1)
      expect(result.signatures[0]).toMatchObject({
        alg: kind === 'rsa' ? 'rsa-pss-sha512' : 'ed25519',
        committer: walletAddress(wallet),
        covered: ['signing-format', 'x-test'],
        label: signed.label,
      })
      expect(() => verifyRequestSignatures({ method: 'GET', url: URL_, headers: flipSignatureByte({ method: 'GET', url: URL_, headers: signed.headers }).headers }))
        .toThrow(expect.objectContaining({ code: 'invalid-signature', status: 400 }))
    })
  }

  it('binds @path and @method when covered, and commits them as path and method', () => {
    const req = { method: 'POST', url: URL_, headers: { 'x-a': '1' } }
    const signed = signRequest(ed, req, { components: ['@method', '@path', 'x-a'] })
    const ok = verifyRequestSignatures({ ...req, headers: signed.headers })
    expect(ok.committedKeys).toEqual(['method', 'path', 'x-a'])
    expect(ok.signatures[0]!.signatureBase.split('\n').slice(0, 2)).toEqual(['"@method": POST', '"@path": /~meta@1.0/info'])
    expect(() => verifyRequestSignatures({ ...req, url: 'http://localhost:8734/~meta@1.0/other', headers: signed.headers }))
      .toThrow(expect.objectContaining({ code: 'invalid-signature' }))
    expect(() => verifyRequestSignatures({ ...req, method: 'PUT', headers: signed.headers }))
      .toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('rejects a changed covered header, and leaves uncovered headers out of the committed keys', () => {
    const signed = signRequest(rsa, { method: 'GET', url: URL_, headers: { 'x-amount': '10' } })
    expect(() => verifyRequestSignatures({ method: 'GET', url: URL_, headers: { ...signed.headers, 'x-amount': '1000' } }))
      .toThrow(expect.objectContaining({ code: 'invalid-signature' }))
    const extra = verifyRequestSignatures({ method: 'GET', url: URL_, headers: { ...signed.headers, 'x-extra': 'unsigned' } })
    expect(extra.committedKeys).toEqual(['x-amount'])
  })

  it('accepts the keyid in standard base64 and with HyperBEAM\'s publickey: prefix', () => {
    const req = { method: 'GET', url: URL_, headers: { 'x-a': '1' } }
    const std = signRequest(rsa, req, { keyidEncoding: 'base64' })
    expect(std.headers['signature-input']).toMatch(/keyid="[^"]*[+/][^"]*"/)
    expect(verifyRequestSignatures({ ...req, headers: std.headers }).signatures[0]!.committer).toBe(walletAddress(rsa))
    const prefixed = signWith({ alg: 'ed25519', key: privateKeyObject(ed) }, `publickey:${ed.jwk.x}`, req, ['x-a'])
    expect(verifyRequestSignatures(prefixed).signatures[0]!.committer).toBe(walletAddress(ed))
  })

  it('binds the body through Content-Digest, accepting unpadded base64url digests', () => {
    const body = utf8('{"hello": "world"}')
    const signed = signRequest(ed, { method: 'POST', url: URL_, headers: { 'inline-body-key': 'data' }, body })
    expect(signed.headers['content-digest']).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')
    const ok = verifyRequestSignatures({ method: 'POST', url: URL_, headers: signed.headers, body })
    expect(ok.committedKeys).toEqual(['data', 'inline-body-key'])
    expect(() => verifyRequestSignatures({ method: 'POST', url: URL_, headers: signed.headers, body: utf8('{"hello": "mars!"}') }))
      .toThrow(expect.objectContaining({ code: 'content-digest-mismatch' }))
    const aoStyle = { 'content-digest': 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:' }
    expect(verifyRequestSignatures({ method: 'POST', url: URL_, headers: aoStyle, body }).signatures).toEqual([])
    expect(() => verifyRequestSignatures({ method: 'POST', url: URL_, headers: { 'content-digest': 'sha-256=oops' }, body }))
      .toThrow(expect.objectContaining({ code: 'malformed-content-digest' }))
  })

  it('verifies ecdsa-p256-sha256 with a raw-point keyid', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' })
    const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
    const req = signWith({ alg: 'ecdsa-p256-sha256', key: privateKey }, b64url(point), { method: 'GET', url: URL_, headers: { 'x-a': '1' } }, ['x-a'])
    expect(verifyRequestSignatures(req).signatures[0]!.alg).toBe('ecdsa-p256-sha256')
    expect(() => verifyRequestSignatures(flipSignatureByte(req))).toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('verifies hmac-sha256 with a configured secret and HyperBEAM\'s constant "ao" key, with no committer', () => {
    const req = { method: 'GET', url: URL_, headers: { 'x-a': '1' } }
    const secret = utf8('a shared secret of some length')
    const configured = signWith({ alg: 'hmac-sha256', secret }, 'partner-1', req, ['x-a'])
    const result = verifyRequestSignatures(configured, { hmacKeys: { 'partner-1': secret } })
    expect(result.signatures[0]).toMatchObject({ alg: 'hmac-sha256', keyid: 'partner-1' })
    expect(result.signatures[0]!.committer).toBeUndefined()
    expect(() => verifyRequestSignatures(configured)).toThrow(expect.objectContaining({ code: 'unknown-signature-key' }))
    const constant = signWith({ alg: 'hmac-sha256', secret: utf8('ao') }, 'ao', req, ['x-a'])
    expect(verifyRequestSignatures(constant).committedKeys).toEqual(['x-a'])
  })

  it('requires every signature to verify when several are present', () => {
    const req = { method: 'GET', url: URL_, headers: { 'x-a': '1' } }
    const first = signRequest(rsa, req, { label: 'one' })
    const both = signRequest(ed, { ...req, headers: first.headers }, { label: 'two', components: ['x-a'] })
    const result = verifyRequestSignatures({ ...req, headers: both.headers })
    expect(result.signatures.map((s) => s.committer)).toEqual([walletAddress(rsa), walletAddress(ed)])
    const tampered = both.headers.signature!.replace(/two=:(.)/, (_m, c: string) => `two=:${c === 'A' ? 'B' : 'A'}`)
    expect(() => verifyRequestSignatures({ ...req, headers: { ...both.headers, signature: tampered } }))
      .toThrow(expect.objectContaining({ code: 'invalid-signature' }))
  })

  it('turns malformed or incomplete signature fields into 400s with stable codes', () => {
    const signed = signRequest(ed, { method: 'GET', url: URL_, headers: { 'x-a': '1' } })
    const without = (name: string) => Object.fromEntries(Object.entries(signed.headers).filter(([n]) => n !== name))
    const codeOf = (headers: Record<string, string>) => {
      try {
        verifyRequestSignatures({ method: 'GET', url: URL_, headers })
        return 'verified'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    expect(codeOf(without('signature'))).toBe('missing-signature')
    expect(codeOf({ ...signed.headers, 'signature-input': 'not a dictionary (' })).toBe('malformed-signature-input')
    expect(codeOf({ ...signed.headers, 'signature-input': signed.headers['signature-input']!.replace('ed25519', 'rsa-pss-sha512') }))
      .toBe('invalid-keyid')
    expect(codeOf({ ...signed.headers, 'signature-input': signed.headers['signature-input']!.replace('ed25519', 'dsa-sha1') }))
      .toBe('unsupported-signature-alg')
    expect(codeOf({ ...signed.headers, 'signature-input': signed.headers['signature-input']!.replace('"x-a"', '"x-missing"') }))
      .toBe('missing-signature-component')
    expect(codeOf(without('x-a'))).toBe('missing-signature-component')
  })
})

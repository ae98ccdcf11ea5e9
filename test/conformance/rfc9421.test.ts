/**
 * RFC 9421 Appendix B (and the signed examples of §2.4, §3.2, §4.3) and RFC 9530 digests, from
 * ../shared/fixtures/rfc9421/vectors.json: every signature base is rebuilt byte for byte from the
 * message, every signature is verified (or must fail where the RFC says so), and the
 * deterministic algorithms (HMAC, Ed25519, RSA v1.5) are re-signed to the published bytes.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import type { BareItem } from 'structured-headers'
import {
  buildSignatureBase, checkContentDigest, createSignature, parseSignatureFields, serializeSignatureParams,
  verifyMessageSignatures, type HttpMessageView, type KeyResolver, type SigningKey, type SignatureAlgorithm,
} from '../../devices/httpsig/index.js'
import { describeWithFixtures } from '../helpers/fixtures.js'

interface FixtureKey { algorithms: string[], public_key_pem?: string, private_key_pem?: string, secret_base64?: string }
interface FixtureMessage {
  method?: string, target_uri?: string, status?: number, headers: [string, string][]
}
interface FixtureCase {
  id: string, message: string, related_request: string | null, label: string, key: string, alg: SignatureAlgorithm
  covered_components: { name: string, params: [string, BareItem][], identifier: string }[]
  signature_params: [string, BareItem][], signature_params_value: string, signature_base: string
  signature_input: string, signature: string, signature_value_base64: string
  expect_valid: boolean, deterministic: boolean, check: string
}
interface DigestVector { id: string, body?: string, body_hex?: string, algorithm: string, field_value: string, expect_match: boolean }
interface Vectors { keys: Record<string, FixtureKey>, messages: Record<string, FixtureMessage>, cases: FixtureCase[], content_digest: DigestVector[] }

describeWithFixtures('RFC 9421 / RFC 9530 vectors', 'rfc9421', (dir) => {
  const vectors = JSON.parse(readFileSync(path.join(dir, 'vectors.json'), 'utf8')) as Vectors

  const viewOf = (id: string, extra: [string, string][] = [], related?: string | null): HttpMessageView => {
    const m = vectors.messages[id]!
    return {
      ...(m.method !== undefined && { method: m.method }),
      ...(m.target_uri !== undefined && { target: m.target_uri }),
      ...(m.status !== undefined && { status: m.status }),
      fields: [...m.headers, ...extra],
      ...(related != null && { request: viewOf(related) }),
    }
  }
  const componentsOf = (c: FixtureCase) => c.covered_components.map((x) => ({ name: x.name, params: new Map(x.params) }))
  // The RFC examples name their keys; the verifier learns the algorithm from the key.
  const resolveFixtureKey: KeyResolver = (keyid) => {
    const key = keyid === undefined ? undefined : vectors.keys[keyid]
    if (key === undefined) return undefined
    const alg = key.algorithms[0] as SignatureAlgorithm
    if (alg === 'hmac-sha256') return { key: { alg, secret: Buffer.from(key.secret_base64!, 'base64') } }
    if (alg === 'ethereum') return undefined
    return { key: { alg, key: createPublicKey(key.public_key_pem!) } }
  }
  const signingKeyOf = (c: FixtureCase): SigningKey => {
    const key = vectors.keys[c.key]!
    if (c.alg === 'hmac-sha256') return { alg: c.alg, secret: Buffer.from(key.secret_base64!, 'base64') }
    if (c.alg === 'ethereum') throw new Error('no ethereum key in RFC 9421')
    return { alg: c.alg, key: createPrivateKey(key.private_key_pem!) }
  }
  const createdOf = (c: FixtureCase) => Number(c.signature_params.find(([n]) => n === 'created')?.[1])

  it('holds the cases the README announces', () => {
    expect(vectors.cases).toHaveLength(20)
    expect(vectors.content_digest).toHaveLength(22)
  })

  for (const c of vectors.cases) {
    it(`${c.id}: Signature-Input parses to the published components and @signature-params`, () => {
      const [entry] = parseSignatureFields(c.signature_input, c.signature).filter((e) => e.label === c.label)
      expect(entry!.paramsValue).toBe(c.signature_params_value)
      expect(entry!.components.map((x) => x.name)).toEqual(c.covered_components.map((x) => x.name))
      expect(Buffer.from(entry!.signature).toString('base64')).toBe(c.signature_value_base64)
    })

    it(`${c.id}: the signature base is rebuilt byte for byte`, () => {
      const paramsValue = serializeSignatureParams(componentsOf(c), new Map(c.signature_params))
      expect(paramsValue).toBe(c.signature_params_value)
      const base = buildSignatureBase(viewOf(c.message, [], c.related_request), componentsOf(c), paramsValue)
      expect(base).toBe(c.signature_base)
    })

    it(`${c.id}: the published signature ${c.expect_valid ? 'verifies' : 'is rejected'}`, () => {
      const view = viewOf(c.message, [['Signature-Input', c.signature_input], ['Signature', c.signature]], c.related_request)
      const verify = () => verifyMessageSignatures(view, { resolveKey: resolveFixtureKey, labels: [c.label], now: createdOf(c) })
      if (c.expect_valid) {
        const [verified] = verify()
        expect(verified!.alg).toBe(c.alg)
        expect(verified!.signatureBase).toBe(c.signature_base)
      } else {
        expect(verify).toThrow(expect.objectContaining({ code: 'invalid-signature', status: 400 }))
      }
    })

    // Must-fail cases are the signed message altered afterwards: re-signing them differs by design.
    if (c.check === 'sign-exact-and-verify') {
      it(`${c.id}: re-signing with ${c.alg} reproduces the published signature`, () => {
        const created = createSignature(viewOf(c.message, [], c.related_request), signingKeyOf(c), {
          label: c.label, components: componentsOf(c), params: c.signature_params,
        })
        expect(created.signatureBase).toBe(c.signature_base)
        expect(Buffer.from(created.signature).toString('base64')).toBe(c.signature_value_base64)
        expect(c.signature_input).toContain(`${c.label}=${created.paramsValue}`)
      })
    }
  }

  it('rejects an expired signature (4.3 proxy_sig one second after expires)', () => {
    const c = vectors.cases.find((x) => x.id === '4.3-proxy_sig')!
    const view = viewOf(c.message, [['Signature-Input', c.signature_input], ['Signature', c.signature]])
    expect(() => verifyMessageSignatures(view, { resolveKey: resolveFixtureKey, labels: [c.label], now: 1618884541 }))
      .toThrow(expect.objectContaining({ code: 'signature-expired' }))
  })

  for (const d of vectors.content_digest) {
    const supported = d.algorithm === 'sha-256' || d.algorithm === 'sha-512'
    const expectation = !supported ? 'is refused as unsupported' : d.expect_match ? 'matches' : 'is a mismatch'
    it(`digest ${d.id} (${d.algorithm}) ${expectation}`, () => {
      const body = d.body_hex !== undefined ? Buffer.from(d.body_hex, 'hex') : Buffer.from(d.body!, 'utf8')
      const check = () => checkContentDigest(d.field_value, body)
      if (!supported) expect(check).toThrow(expect.objectContaining({ code: 'unsupported-digest-alg' }))
      else if (d.expect_match) expect(check()).toEqual([d.algorithm])
      else expect(check).toThrow(expect.objectContaining({ code: 'content-digest-mismatch' }))
    })
  }
})

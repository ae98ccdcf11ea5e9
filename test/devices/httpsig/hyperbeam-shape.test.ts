/**
 * HyperBEAM's signature-base shape (devices/httpsig/signature-base.ts) without HTTP: the HMAC
 * vector HyperBEAM computed (`"path": credit-notice` for `"@path"`) verifies; a HyperBEAM field
 * must agree with the request it arrives on (else 400 `signature-target-mismatch`); what the base
 * binds feeds the privileged-request rule; our signer writes the shape; a stored commitment in
 * that shape re-verifies, and its derived lines cover no key.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  commitmentOf, createSignature, hyperbeamComponent, serializeSignatureFields, signatureBase, signBytes, unboundPartOf,
  verifyHttpsigCommitment, verifyMessageSignatures, verifyRequestSignatures, componentId,
  type HttpMessageView, type SigningKey,
} from '../../../devices/httpsig/index.js'
import { createWallet, privateKeyObject, walletAddress, type Wallet } from '../../../identity/keys.js'
import { HYPERBEAM_HMAC_VECTOR } from '../../helpers/hbsig.js'

const utf8 = (text: string) => new TextEncoder().encode(text)
const AO: SigningKey = { alg: 'hmac-sha256', secret: utf8('ao') }

const { fields: VECTOR_FIELDS, base: VECTOR_BASE, id: VECTOR_ID, components: VECTOR_COMPONENTS } = HYPERBEAM_HMAC_VECTOR

/** The vector's signature fields, as HyperBEAM would send them. */
function vectorSignature(): Array<[string, string]> {
  const created = createSignature({ fields: VECTOR_FIELDS }, AO, {
    label: 'comm', shape: 'hyperbeam', components: VECTOR_COMPONENTS, params: [['alg', 'hmac-sha256'], ['keyid', 'ao']],
  })
  return Object.entries(serializeSignatureFields([created]))
}

describe('the HyperBEAM base shape', () => {
  it('reproduces HyperBEAM\'s own base and HMAC for {path, quantity, recipient}', () => {
    const created = createSignature({ fields: VECTOR_FIELDS }, AO, {
      label: 'comm', shape: 'hyperbeam', components: VECTOR_COMPONENTS, params: [['alg', 'hmac-sha256'], ['keyid', 'ao']],
    })
    expect(created.signatureBase).toBe(VECTOR_BASE)
    expect(Buffer.from(created.signature).toString('base64url')).toBe(VECTOR_ID)
    expect(Buffer.from(signBytes(AO, utf8(VECTOR_BASE))).toString('base64url')).toBe(VECTOR_ID)
  })

  it('verifies that message: the RFC base fails (no target to derive @path from), HyperBEAM\'s holds', () => {
    const [verified] = verifyMessageSignatures({ fields: [...VECTOR_FIELDS, ...vectorSignature()] })
    expect(verified).toMatchObject({ shape: 'hyperbeam', signatureBase: VECTOR_BASE, committed: ['path', 'quantity', 'recipient'], binds: [] })
  })

  it('binds a path field to the request: equal to its path (a missing "/" is the same target), else refused', () => {
    const fields = [...VECTOR_FIELDS, ...vectorSignature()]
    const at = (target: string): HttpMessageView => ({ method: 'POST', target, fields })
    expect(verifyMessageSignatures(at('/credit-notice'))[0]).toMatchObject({ shape: 'hyperbeam', binds: ['path'] })
    expect(() => verifyMessageSignatures(at('/transfer'))).toThrow(expect.objectContaining({ code: 'signature-target-mismatch' }))
    expect(() => verifyMessageSignatures(at('/credit-notice/x'))).toThrow(expect.objectContaining({ code: 'signature-target-mismatch' }))
    // Percent-encoding is never undone: %2F is not "/".
    expect(() => verifyMessageSignatures(at('/credit%2Dnotice'))).toThrow(expect.objectContaining({ code: 'signature-target-mismatch' }))
  })

  it('takes the derived value when the message has no such field, and writes what fetch sends for a signed path', () => {
    const view: HttpMessageView = { method: 'POST', target: '/a%20b?x=1', fields: [['path', '/a b?x=1'], ['k', 'v']] }
    const components = [componentId('@path'), componentId('k')]
    const withField = signatureBase(view, components, '()', 'hyperbeam')
    expect(withField).toMatchObject({ text: '"path": /a b?x=1\n"k": v\n"@signature-params": ()', binds: ['path', 'query'] })
    expect(withField.conflict).toBeUndefined()
    const derived = signatureBase({ ...view, fields: [['k', 'v']] }, components, '()', 'hyperbeam')
    expect(derived).toMatchObject({ text: '"path": /a%20b\n"k": v\n"@signature-params": ()', binds: ['path'] })
    // A path value naming another target is recorded as a conflict, never silently bound.
    expect(signatureBase({ ...view, fields: [['path', '/other'], ['k', 'v']] }, components, '()', 'hyperbeam').conflict).toMatch(/not this message's/)
    // Other derived names, method included, are written the same way; the RFC shape is unchanged.
    expect(signatureBase({ ...view, fields: [['method', 'post']] }, [componentId('@method')], '()', 'hyperbeam').text).toBe('"method": post\n"@signature-params": ()')
    expect(signatureBase(view, [componentId('@path')], '()', 'rfc9421').text).toBe('"@path": /a%20b\n"@signature-params": ()')
    expect(hyperbeamComponent('path')).toBe('@path')
    expect(hyperbeamComponent('greeting')).toBe('greeting')
  })

  it('refuses a base that would cover the same line twice ("@path" and "path")', () => {
    const view: HttpMessageView = { method: 'GET', target: '/x', fields: [['path', '/x']] }
    expect(() => signatureBase(view, [componentId('@path'), componentId('path')], '()', 'hyperbeam')).toThrow(expect.objectContaining({ code: 'invalid-signature-component' }))
  })
})

describe('signed requests in the HyperBEAM shape', () => {
  let wallet: Wallet
  beforeAll(async () => {
    wallet = await createWallet('ed25519')
  })
  const sign = (url: string, headers: Record<string, string>, components: string[]) => {
    const view = { method: 'POST', target: url, fields: Object.entries(headers) }
    const created = createSignature(view, { alg: 'ed25519', key: privateKeyObject(wallet) }, {
      label: 'comm', shape: 'hyperbeam', components, params: [['alg', 'ed25519'], ['keyid', wallet.jwk.x!]],
    })
    return { method: 'POST', url, headers: { ...headers, ...serializeSignatureFields([created]) } }
  }

  it('bind the target as RFC 9421 does, for the privileged-request rule', () => {
    const url = 'http://node.test/~meta@1.0/info'
    const bound = verifyRequestSignatures(sign(url, { path: '/~meta@1.0/info', name: 'n' }, ['@path', 'name'])).signatures[0]!
    expect(bound).toMatchObject({ shape: 'hyperbeam', committer: walletAddress(wallet) })
    expect(unboundPartOf(bound, { hasQuery: false, hasBody: false })).toBeUndefined()
    expect(unboundPartOf(bound, { hasQuery: true, hasBody: false })).toMatch(/@query/)
    expect(unboundPartOf(bound, { hasQuery: false, hasBody: true })).toMatch(/content-digest/)
    const withQuery = verifyRequestSignatures(sign(`${url}?a=1`, { path: '/~meta@1.0/info?a=1', name: 'n' }, ['@path', 'name'])).signatures[0]!
    expect(unboundPartOf(withQuery, { hasQuery: true, hasBody: false })).toBeUndefined()
    const queryLine = verifyRequestSignatures(sign(`${url}?a=1`, { name: 'n' }, ['@path', '@query', 'name'])).signatures[0]!
    expect(queryLine.signatureBase).toContain('"query": ?a=1')
    expect(unboundPartOf(queryLine, { hasQuery: true, hasBody: false })).toBeUndefined()
    const headersOnly = verifyRequestSignatures(sign(url, { name: 'n' }, ['name'])).signatures[0]!
    expect(unboundPartOf(headersOnly, { hasQuery: false, hasBody: false })).toMatch(/@path/)
  })

  it('leave an RFC-shaped signature over the same components RFC-shaped', () => {
    const url = 'http://node.test/x'
    const view = { method: 'POST', target: url, fields: Object.entries({ k: 'v' }) }
    const created = createSignature(view, { alg: 'ed25519', key: privateKeyObject(wallet) }, {
      label: 's', components: ['@path', 'k'], params: [['alg', 'ed25519'], ['keyid', wallet.jwk.x!]],
    })
    const [verified] = verifyRequestSignatures({ method: 'POST', url, headers: { k: 'v', ...serializeSignatureFields([created]) } }).signatures
    expect(verified).toMatchObject({ shape: 'rfc9421', binds: ['path'] })
  })

  it('become commitments that re-verify later: the derived line covers no key, the signed headers do', () => {
    const req = sign('http://node.test/~message@1.0', { path: '/~message@1.0', greeting: 'hi', 'ao-types': 'n="integer"', n: '5' }, ['@path', 'ao-types', 'greeting', 'n'])
    const [verified] = verifyRequestSignatures(req).signatures
    const commitment = commitmentOf(verified!)
    expect(verifyHttpsigCommitment({ greeting: 'hi', n: 5, commitments: {} }, commitment)).toEqual({ valid: true, covered: ['greeting', 'n'] })
    expect(verifyHttpsigCommitment({ greeting: 'evil', n: 5 }, commitment)).toMatchObject({ valid: false })
    // A base (validly signed) whose line is not the component it stands for is refused: the
    // line "greeting" may not pass for the covered "@pathx".
    const keyid = wallet.jwk.x!
    const base = `"greeting": hi\n"@signature-params": ("@pathx");alg="ed25519";keyid="${keyid}"`
    const signature = signBytes({ alg: 'ed25519', key: privateKeyObject(wallet) }, utf8(base))
    const forged = { ...commitment, 'signature-base': base, signature: Buffer.from(signature).toString('base64url') }
    expect(verifyHttpsigCommitment({ greeting: 'hi' }, forged)).toEqual({ valid: false, reason: 'a line of the signature base is not the component it stands for' })
  })
})

/**
 * Commitments built from verified signatures: HyperBEAM's ID rules (sha256 of a public-key
 * signature; the HMAC itself for an HMAC commitment, checked against the hbsig vector computed
 * by HyperBEAM), and the signed parameters carried along.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createWallet, walletAddress } from '../../../node/wallet.js'
import {
  commitmentId, commitmentsFromSignatures, signBytes, signRequest, verifyRequestSignatures,
} from '../../../devices/httpsig/index.js'

describe('commitments', () => {
  it('keys an HMAC commitment by the HMAC itself: the hbsig/HyperBEAM unsigned-ID vector', () => {
    // From weavedb/wao hbsig/test/id.test.js (data from the Erlang implementation), research §1.3.
    const base = [
      '"path": credit-notice',
      '"ao-types": quantity="integer"',
      '"quantity": 100',
      '"recipient": Rix7e0HB-8OAaimcoYkxTZB-dStgTOHWUik1DvKD5vM',
      '"@signature-params": ("@path" "ao-types" "quantity" "recipient");alg="hmac-sha256";keyid="ao"',
    ].join('\n')
    const hmac = signBytes({ alg: 'hmac-sha256', secret: new TextEncoder().encode('ao') }, new TextEncoder().encode(base))
    expect(commitmentId({ alg: 'hmac-sha256', signature: hmac })).toBe('iK__u54zqDWrJpVVbf3uYvgvG1hxWZM6Tq1zusfGYIw')
  })

  it('records alg, keyid, committer, committed keys and the signed parameters', async () => {
    const wallet = await createWallet('ed25519')
    const req = { method: 'GET', url: '/~meta@1.0/info', headers: { 'x-a': '1' } }
    const signed = signRequest(wallet, req, { params: { created: 1700000000, tag: 'hashpath-x', nonce: 'n-1' } })
    expect(signed.headers['signature-input']).toMatch(/;alg="ed25519";created=1700000000;keyid="[^"]+";nonce="n-1";tag="hashpath-x"$/)
    const result = verifyRequestSignatures({ ...req, headers: signed.headers })
    const id = createHash('sha256').update(signed.signature).digest('base64url')
    expect(commitmentsFromSignatures(result)).toEqual({
      [id]: {
        'commitment-device': 'httpsig@1.0', type: 'ed25519', keyid: wallet.jwk.x, committer: walletAddress(wallet),
        committed: ['x-a'], signature: Buffer.from(signed.signature).toString('base64url'),
        created: 1700000000, nonce: 'n-1', tag: 'hashpath-x', 'signature-base': signed.signatureBase,
      },
    })
  })

  it('is empty for an unsigned request', () => {
    expect(commitmentsFromSignatures(verifyRequestSignatures({ method: 'GET', url: '/', headers: {} }))).toEqual({})
  })
})

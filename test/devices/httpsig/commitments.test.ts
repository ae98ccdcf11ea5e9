/**
 * Commitments built from verified signatures: HyperBEAM's ID rules (sha256 of a public-key
 * signature; the HMAC itself for an HMAC commitment, checked against the hbsig vector computed
 * by HyperBEAM), and the signed parameters carried along.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createWallet, walletAddress } from '../../../identity/keys.js'
import {
  commitmentId, commitmentsFromSignatures, signBytes, signRequest, verifyRequestSignatures,
} from '../../../devices/httpsig/index.js'
import { HYPERBEAM_HMAC_VECTOR } from '../../helpers/hbsig.js'

describe('commitments', () => {
  it('keys an HMAC commitment by the HMAC itself: the hbsig/HyperBEAM unsigned-ID vector', () => {
    const { base, id } = HYPERBEAM_HMAC_VECTOR
    const hmac = signBytes({ alg: 'hmac-sha256', secret: new TextEncoder().encode('ao') }, new TextEncoder().encode(base))
    expect(commitmentId({ alg: 'hmac-sha256', signature: hmac })).toBe(id)
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

/**
 * A second real AO client for tests, beside aoconnect: `hbsig` 0.1.5, weavedb's emulation of
 * HyperBEAM's `httpsig@1.0` codec. It signs in HyperBEAM's base shape (`"path": <path>` for
 * `"@path"`, devices/httpsig/signature-base.ts) with RSA-PSS/SHA-512, and only RSA keys, so
 * each client gets an RSA-2048 wallet (the smallest AO's signer takes; made once per file).
 */
import { constants, createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto'
import { createSigner, type HbsigRequest, type HbsigSigner } from 'hbsig'
import { verifyMessage } from 'hbsig/esm/http-message-signatures/index.js'
import { parseDictionary } from 'structured-headers'
import { afterAll, beforeAll } from 'vitest'
import type { NodeConfig } from '../../node/config.js'
import { listen, type RunningServer } from '../../node/server.js'
import { walletFromJwk, type Wallet } from '../../identity/keys.js'
import { testNode } from './node.js'

export interface HbsigClient {
  readonly jwk: JsonWebKey
  readonly wallet: Wallet
  readonly sign: HbsigSigner
}

/** hbsig's signer for the node at `url`, with `jwk` or a fresh RSA-2048 wallet. */
export function hbsigClient(url: string, jwk?: JsonWebKey): HbsigClient {
  const key = jwk ?? generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }).privateKey.export({ format: 'jwk' })
  return { jwk: key, wallet: walletFromJwk(key), sign: createSigner(key, url) }
}

/**
 * For a whole test file: a node on a real TCP port (127.0.0.1, a free port) and an hbsig client
 * for it, started before the tests and stopped after them. `config` may name the client's own
 * wallet (`operator: walletAddress(client.wallet)`): the wallet is made first.
 */
export function useHbsigNode(config: (client: HbsigClient) => Partial<NodeConfig> = () => ({})): { server: RunningServer; client: HbsigClient } {
  const env = {} as { server: RunningServer; client: HbsigClient }
  beforeAll(async () => {
    const own = hbsigClient('http://127.0.0.1')
    env.server = await listen(await testNode({ config: config(own) }), 0, '127.0.0.1')
    env.client = hbsigClient(env.server.url, own.jwk)
  })
  afterAll(() => env.server.close())
  return env
}

/**
 * HyperBEAM's unsigned (HMAC, key `ao`) commitment over {path: credit-notice, quantity: 100,
 * recipient}: weavedb/wao hbsig/test/id.test.js, data from the Erlang implementation (research
 * hyperbeam.md §1.3). Its base writes `"path": credit-notice` for the listed `"@path"`.
 */
export const HYPERBEAM_HMAC_VECTOR = {
  fields: [
    ['path', 'credit-notice'], ['ao-types', 'quantity="integer"'], ['quantity', '100'], ['recipient', 'Rix7e0HB-8OAaimcoYkxTZB-dStgTOHWUik1DvKD5vM'],
  ] as Array<[string, string]>,
  components: ['@path', 'ao-types', 'quantity', 'recipient'],
  base: [
    '"path": credit-notice',
    '"ao-types": quantity="integer"',
    '"quantity": 100',
    '"recipient": Rix7e0HB-8OAaimcoYkxTZB-dStgTOHWUik1DvKD5vM',
    '"@signature-params": ("@path" "ao-types" "quantity" "recipient");alg="hmac-sha256";keyid="ao"',
  ].join('\n'),
  /** base64url of the HMAC, which is also the commitment's ID. */
  id: 'iK__u54zqDWrJpVVbf3uYvgvG1hxWZM6Tq1zusfGYIw',
} as const

/** Sends what hbsig signed, as hbsig's own `send` does (with extra, unsigned headers). */
export function sendSigned(req: HbsigRequest, extraHeaders: Record<string, string> = {}): Promise<Response> {
  const hasBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD'
  return fetch(req.url, { method: req.method, headers: { ...req.headers, ...extraHeaders }, ...(hasBody ? { body: req.body as BodyInit } : {}) })
}

/**
 * hbsig's own check of a signed message: the routine its `verify` wraps (`verifyMessage` of its
 * bundled http-message-signatures, which writes `"@path"` as `"path"` as HyperBEAM does), with
 * the key and parameters its `verify` uses: the RSA modulus named by `keyid`, RSA-PSS/SHA-512
 * with a digest-length salt. Its `verify` itself cannot be the check: it answers
 * `verified: true` whenever nothing throws (a wrong signature included), and its
 * Signature-Input reader misses labels holding `_` (half of HyperBEAM's `sig-<id>` labels).
 */
export async function hbsigVerifies(message: { url: string; method: string; headers: Record<string, string> }): Promise<boolean> {
  const [first] = parseDictionary(message.headers['signature-input'] ?? '').values()
  const keyid = first?.[1].get('keyid')
  if (typeof keyid !== 'string') return false
  const key = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(keyid, 'base64').toString('base64url'), e: 'AQAB' }, format: 'jwk' })
  const result = await verifyMessage({
    keyLookup: async () => ({
      algs: ['rsa-pss-sha512'],
      verify: (data, signature) => cryptoVerify('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature),
    }),
  }, message)
  return result === true
}

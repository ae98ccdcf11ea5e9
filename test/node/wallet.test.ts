/**
 * Wallet: key generation, the Arweave address rule (checked against AO's own JS signer), RSA-PSS
 * with the maximum salt, Ed25519, JWK validation, and the atomic 0600 keyfile.
 */
import { constants, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createSigner } from '@permaweb/aoconnect'
import {
  addressOf, createWallet, publicKeyBytes, sign, verifyWithPublicKey, walletAddress, walletFromJwk, type Wallet,
} from '../../identity/keys.js'
import { loadOrCreateWallet, loadWallet } from '../../node/wallet-file.js'

const bytes = (text: string) => new TextEncoder().encode(text)
const b64urlSha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('base64url')

describe('RSA wallet (Arweave keyfile)', () => {
  let wallet: Wallet
  beforeAll(async () => {
    wallet = await createWallet('rsa')
  })

  it('is an RSA-4096 JWK with e = AQAB and every private field', () => {
    expect(wallet.kind).toBe('rsa')
    expect(wallet.jwk).toMatchObject({ kty: 'RSA', e: 'AQAB' })
    for (const field of ['n', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const) expect(typeof wallet.jwk[field]).toBe('string')
    expect(publicKeyBytes(wallet)).toHaveLength(512)
  })

  it('has the Arweave address base64url(sha256(n)), the one AO\'s JS signer reports', async () => {
    const address = walletAddress(wallet)
    expect(address).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(address).toBe(b64urlSha256(Buffer.from(wallet.jwk.n!, 'base64url')))
    const aoSigner = createSigner(wallet.jwk as never) as (create: unknown, kind: string) => Promise<{ address: string }>
    const reported = await aoSigner(async () => bytes('base'), 'httpsig')
    expect(reported.address).toBe(address)
  })

  it('signs RSA-PSS/SHA-512 with the maximum salt (446 bytes), as AO\'s client does', () => {
    const data = bytes('"signing-format": httpsig')
    const signature = sign(wallet, data)
    const key = createPublicKey({ key: wallet.jwk as never, format: 'jwk' })
    const withSalt = (saltLength: number) =>
      cryptoVerify('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature)
    expect(withSalt(512 - 64 - 2)).toBe(true)
    expect(withSalt(64)).toBe(false)
    expect(verifyWithPublicKey('rsa', publicKeyBytes(wallet), data, signature)).toBe(true)
  })

  it('signs SHA-256 when asked (ANS-104) and rejects a flipped byte', () => {
    const data = bytes('deep hash stand-in')
    const signature = sign(wallet, data, { hash: 'sha256' })
    expect(verifyWithPublicKey('rsa', publicKeyBytes(wallet), data, signature, { hash: 'sha256' })).toBe(true)
    expect(verifyWithPublicKey('rsa', publicKeyBytes(wallet), data, signature, { hash: 'sha512' })).toBe(false)
    signature[10]! ^= 1
    expect(verifyWithPublicKey('rsa', publicKeyBytes(wallet), data, signature, { hash: 'sha256' })).toBe(false)
  })

  it('round-trips through walletFromJwk, which rejects broken keys', () => {
    expect(walletAddress(walletFromJwk(JSON.parse(JSON.stringify(wallet.jwk))))).toBe(walletAddress(wallet))
    const broken = (patch: Record<string, unknown>) => () => walletFromJwk({ ...wallet.jwk, ...patch })
    expect(broken({ e: 'AQAA' })).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
    expect(broken({ d: undefined })).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
    expect(broken({ n: 'not base64url!' })).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
    expect(broken({ kty: 'EC' })).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
    expect(() => walletFromJwk('a string')).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
  })
})

describe('Ed25519 wallet', () => {
  let wallet: Wallet
  beforeAll(async () => {
    wallet = await createWallet('ed25519')
  })

  it('is an OKP JWK whose address is base64url(sha256(x)) (HyperBEAM to_eddsa_address)', () => {
    expect(wallet.jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' })
    expect(publicKeyBytes(wallet)).toHaveLength(32)
    expect(walletAddress(wallet)).toBe(b64urlSha256(publicKeyBytes(wallet)))
    expect(addressOf(publicKeyBytes(wallet))).toBe(walletAddress(wallet))
  })

  it('signs deterministically, verifiably by an independent Ed25519 implementation', () => {
    const data = bytes('hello')
    const signature = sign(wallet, data)
    expect(signature).toEqual(sign(wallet, data))
    expect(ed25519.verify(signature, data, publicKeyBytes(wallet))).toBe(true)
    expect(verifyWithPublicKey('ed25519', publicKeyBytes(wallet), data, signature)).toBe(true)
    expect(verifyWithPublicKey('ed25519', publicKeyBytes(wallet), bytes('hellO'), signature)).toBe(false)
  })

  it('rejects a JWK whose x is not the public key of d', async () => {
    const other = await createWallet('ed25519')
    expect(() => walletFromJwk({ ...wallet.jwk, x: other.jwk.x })).toThrow(expect.objectContaining({ code: 'invalid-wallet' }))
  })
})

describe('wallet file', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hashbeam-wallet-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('creates an RSA keyfile with mode 0600 on first use and loads the same key afterwards', async () => {
    const file = path.join(dir, 'nested', 'wallet.json')
    const created = await loadOrCreateWallet(file, 'rsa')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(created.jwk)
    const loaded = await loadOrCreateWallet(file, 'rsa')
    expect(walletAddress(loaded)).toBe(walletAddress(created))
  })

  it('gives concurrent starters one key and leaves no temporary file behind', async () => {
    const file = path.join(dir, 'race.json')
    const wallets = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateWallet(file, 'ed25519')))
    expect(new Set(wallets.map(walletAddress)).size).toBe(1)
    expect((await readdir(dir)).filter((f) => f.includes('race'))).toEqual(['race.json'])
  })

  it('refuses a keyfile of another kind, a corrupt one, and reports a missing one as undefined', async () => {
    const file = path.join(dir, 'ed.json')
    await loadOrCreateWallet(file, 'ed25519')
    await expect(loadOrCreateWallet(file, 'rsa')).rejects.toMatchObject({ code: 'wallet-kind-mismatch' })
    // Without an explicit kind (no --wallet-kind), an existing key of either kind is the identity.
    expect((await loadOrCreateWallet(file)).kind).toBe('ed25519')
    const corrupt = path.join(dir, 'corrupt.json')
    await writeFile(corrupt, '{"kty": "RSA", ')
    await expect(loadOrCreateWallet(corrupt, 'rsa')).rejects.toMatchObject({ code: 'invalid-wallet' })
    expect(await loadWallet(path.join(dir, 'absent.json'))).toBeUndefined()
  })
})

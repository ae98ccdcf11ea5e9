/**
 * ANS-104 items built and signed by @dha-team/arbundles (RSA/Arweave, Ed25519, Ethereum) are
 * parsed and verified by our code, and a flipped byte anywhere fails; items we build verify in
 * arbundles. Malformed binaries are 400s with stable codes.
 */
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { AlgorandSigner, ArweaveSigner, DataItem, EthereumSigner, createData } from '@dha-team/arbundles'
import { createWallet, publicKeyBytes, walletAddress, type Wallet } from '../../../identity/keys.js'
import { buildDataItem, parseDataItem, verifyDataItem } from '../../../devices/ans104/index.js'

const ETH_KEY = '37929fc21ab44ace162318acbbf4d24a41270b2aee18fd1cfb22e3fc3f4b4024'
const TAGS = [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Action', value: 'Eval' }, { name: 'Émoji', value: '✓ ünïcode' }]

type Signer = Parameters<typeof createData>[1]

async function arbundlesItem(signer: Signer, opts: { target?: string, anchor?: string } = {}): Promise<Uint8Array> {
  const item = createData('print("hello")', signer, { tags: TAGS, ...opts })
  await item.sign(signer)
  return new Uint8Array(item.getRaw())
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn()
    return 'parsed'
  } catch (err) {
    return `${(err as { status: number }).status} ${(err as { code: string }).code}`
  }
}

describe('data items from arbundles', () => {
  let rsa: Wallet
  let ed: Wallet
  let signers: Array<[string, Signer, number]>
  beforeAll(async () => {
    ;[rsa, ed] = await Promise.all([createWallet('rsa'), createWallet('ed25519')])
    const edSecret = Buffer.concat([Buffer.from(ed.jwk.d!, 'base64url'), publicKeyBytes(ed)])
    signers = [
      ['RSA (ArweaveSigner)', new ArweaveSigner(rsa.jwk as never) as Signer, 1],
      ['Ed25519 (AlgorandSigner)', new AlgorandSigner(edSecret, Buffer.from(publicKeyBytes(ed))) as Signer, 2],
      ['Ethereum (EthereumSigner)', new EthereumSigner(ETH_KEY) as Signer, 3],
    ]
  })

  it('parses and verifies items of all three signature types, with the fields arbundles reads', async () => {
    const target = randomBytes(32).toString('base64url')
    const anchor = 'abcdefghijklmnopqrstuvwxyz012345'
    for (const [name, signer, type] of signers) {
      const bytes = await arbundlesItem(signer, { target, anchor })
      const reference = new DataItem(Buffer.from(bytes))
      const item = parseDataItem(bytes)
      expect(item.signatureType, name).toBe(type)
      expect(item.id, name).toBe(reference.id)
      expect(Buffer.from(item.owner).toString('base64url'), name).toBe(reference.owner)
      expect(Buffer.from(item.target!).toString('base64url'), name).toBe(target)
      expect(Buffer.from(item.anchor!).toString(), name).toBe(anchor)
      expect(item.tags, name).toEqual(TAGS)
      expect(Buffer.from(item.data).toString(), name).toBe('print("hello")')
      expect(verifyDataItem(item), name).toBe(true)
      expect(await DataItem.verify(Buffer.from(bytes)), name).toBe(true)
    }
  })

  it('names the RSA committer by the Arweave address of the owner', async () => {
    const item = parseDataItem(await arbundlesItem(signers[0]![1]))
    expect(item.committer).toBe(walletAddress(rsa))
  })

  it('fails verification after a one-byte flip in the signature, owner, anchor, tags or data', async () => {
    for (const [name, signer] of signers) {
      const bytes = await arbundlesItem(signer, { anchor: 'abcdefghijklmnopqrstuvwxyz012345' })
      const item = parseDataItem(bytes)
      const sigEnd = 2 + item.signature.length
      const ownerEnd = sigEnd + item.owner.length
      const tagsStart = bytes.length - item.data.length - item.rawTags.length
      const offsets = { signature: 10, owner: sigEnd + 3, anchor: ownerEnd + 2, tags: tagsStart + 3, data: bytes.length - 1 }
      for (const [where, offset] of Object.entries(offsets)) {
        const tampered = Uint8Array.from(bytes)
        tampered[offset]! ^= 0x01
        expect(verifyDataItem(parseDataItem(tampered)), `${name}: ${where}`).toBe(false)
      }
    }
  })

  it('rejects malformed binaries with 400 and a stable code', async () => {
    const bytes = await arbundlesItem(signers[1]![1])
    const item = parseDataItem(bytes)
    const targetFlagAt = 2 + 64 + 32
    const tagCountAt = targetFlagAt + 2
    const patched = (at: number, value: number) => {
      const copy = Uint8Array.from(bytes)
      copy[at] = value
      return copy
    }
    expect(codeOf(() => parseDataItem(bytes.subarray(0, 50)))).toBe('400 ans104-malformed')
    expect(codeOf(() => parseDataItem(patched(0, 9)))).toBe('400 ans104-unsupported-signature-type')
    expect(codeOf(() => parseDataItem(patched(targetFlagAt, 2)))).toBe('400 ans104-malformed')
    expect(codeOf(() => parseDataItem(patched(tagCountAt, item.tags.length + 1)))).toBe('400 ans104-malformed')
    expect(codeOf(() => parseDataItem(patched(tagCountAt + 9, 0x20)))).toBe('400 ans104-malformed')
  })
})

describe('data items we build', () => {
  for (const kind of ['rsa', 'ed25519'] as const) {
    it(`are ${kind} items that arbundles parses and verifies`, async () => {
      const wallet = await createWallet(kind)
      const target = randomBytes(32)
      const { bytes, item } = buildDataItem(wallet, { tags: TAGS, data: 'hi', target })
      expect(await DataItem.verify(Buffer.from(bytes))).toBe(true)
      const reference = new DataItem(Buffer.from(bytes))
      expect(reference.id).toBe(item.id)
      expect(reference.tags).toEqual(TAGS)
      expect(reference.target).toBe(target.toString('base64url'))
      expect(item.committer).toBe(walletAddress(wallet))
      expect(verifyDataItem(item)).toBe(true)
    })
  }
})

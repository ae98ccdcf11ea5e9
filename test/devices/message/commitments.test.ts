/**
 * message@1.0 `commit`, `verify` and `committed`: native commitments over the unsigned ID (RSA
 * and Ed25519 node wallets), and re-verification of httpsig and ANS-104 commitments from the
 * message alone; any change to a signed key invalidates, adding keys or commitments does not.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromBase64Url, unsignedIdOf } from '../../../core/id.js'
import type { Message } from '../../../core/types.js'
import { buildDataItem, dataItemToMessage } from '../../../devices/ans104/index.js'
import { commitmentsFromSignatures, decodeTypedFields, signRequest, verifyRequestSignatures } from '../../../devices/httpsig/index.js'
import { commitMessage, verifyNativeCommitment } from '../../../devices/message/commit.js'
import { committedKeys, verifyReport } from '../../../devices/message/verify.js'
import type { HashbeamNode } from '../../../node/index.js'
import { createWallet, publicKeyBytes, sign, verifyWithPublicKey, walletAddress, type Wallet } from '../../../identity/keys.js'
import { testNode } from '../../helpers/node.js'

const commitmentList = (m: Message) => Object.entries(m.commitments as Record<string, Message>)

describe('native commitments', () => {
  let ed: Wallet
  beforeAll(async () => {
    ed = await createWallet('ed25519')
  })

  it('sign the tag domain prefix and the unsigned ID; the ID is sha256(signature); every key is committed', () => {
    const message: Message = { a: '1', n: 2, nested: { x: [true, null] } }
    const signed = commitMessage(message, ed)
    const [[id, commitment]] = commitmentList(signed) as [[string, Message]]
    expect(commitment).toMatchObject({
      'commitment-device': 'message@1.0', type: 'ed25519', committer: walletAddress(ed), tag: 'commit',
      keyid: `publickey:${Buffer.from(publicKeyBytes(ed)).toString('base64url')}`, committed: ['a', 'n', 'nested'],
    })
    const signature = fromBase64Url(commitment.signature as string)
    expect(id).toBe(createHash('sha256').update(signature).digest('base64url'))
    const prefixed = new Uint8Array([...Buffer.from('hashbeam:commit\n'), ...fromBase64Url(unsignedIdOf(message))])
    expect(verifyWithPublicKey('ed25519', publicKeyBytes(ed), prefixed, signature)).toBe(true)
    expect(verifyWithPublicKey('ed25519', publicKeyBytes(ed), fromBase64Url(unsignedIdOf(message)), signature)).toBe(false)
    expect(verifyReport(signed)).toEqual({ valid: true, commitments: [{ id, 'commitment-device': 'message@1.0', type: 'ed25519', committer: walletAddress(ed), valid: true, committed: ['a', 'n', 'nested'] }] })
    expect(committedKeys(signed)).toEqual(['a', 'n', 'nested'])
  })

  it('break on any change at any depth, survive a second commitment', async () => {
    const signed = commitMessage({ a: '1', nested: { x: 1 } }, ed)
    expect(verifyReport({ ...signed, nested: { x: 2 } })).toMatchObject({ valid: false, commitments: [{ valid: false, reason: expect.stringContaining('unsigned ID') }] })
    expect(verifyReport({ ...signed, extra: 'added' }).valid).toBe(false)
    const twice = commitMessage(signed, await createWallet('ed25519'))
    expect(verifyReport(twice)).toMatchObject({ valid: true, commitments: [{ valid: true }, { valid: true }] })
    const [[id, commitment]] = commitmentList(signed) as [[string, Message]]
    const moved = { ...signed, commitments: { [`${id.slice(1)}A`]: commitment } }
    expect(verifyReport(moved)).toMatchObject({ valid: false, commitments: [{ reason: expect.stringContaining('hash of its signature') }] })
  })

  it('are domain-separated: a signature made for one tag never verifies for another', () => {
    const message: Message = { type: 'hashbeam-receipt', a: '1' }
    const asCaller = commitMessage(message, ed)
    const [[id, commitment]] = commitmentList(asCaller) as [[string, Message]]
    expect(verifyNativeCommitment(message, id, commitment).valid).toBe(true)
    expect(verifyNativeCommitment(message, id, commitment, 'commit').valid).toBe(true)
    expect(verifyNativeCommitment(message, id, commitment, 'receipt')).toMatchObject({ valid: false, reason: expect.stringContaining('"commit", not "receipt"') })
    // Relabelling the commitment breaks the signature: the tag is part of what was signed.
    expect(verifyNativeCommitment(message, id, { ...commitment, tag: 'receipt' }, 'receipt')).toMatchObject({ valid: false, reason: expect.stringContaining('unsigned ID') })
    const receipt = commitMessage(message, ed, 'receipt')
    const [[rid, rc]] = commitmentList(receipt) as [[string, Message]]
    expect(verifyNativeCommitment(message, rid, rc, 'receipt').valid).toBe(true)
    expect(verifyNativeCommitment(message, rid, rc, 'commit').valid).toBe(false)
    expect(verifyNativeCommitment(message, rid, { ...rc, tag: 'Bad Tag' }).reason).toContain('malformed')
  })

  it('made before tags existed (over the raw 32-byte ID) still verify, as tag "commit" only', () => {
    const message: Message = { a: '1' }
    const signature = sign(ed, fromBase64Url(unsignedIdOf(message)))
    const id = createHash('sha256').update(signature).digest('base64url')
    const { tag: _t, ...untagged } = commitmentList(commitMessage(message, ed))[0]![1]
    const legacy = { ...untagged, signature: Buffer.from(signature).toString('base64url') }
    expect(verifyNativeCommitment(message, id, legacy).valid).toBe(true)
    expect(verifyNativeCommitment(message, id, legacy, 'receipt').valid).toBe(false)
  })

  it('a message without commitments is not valid and commits nothing; a malformed commitments key is a 422', () => {
    expect(verifyReport({ a: '1' })).toEqual({ valid: false, commitments: [] })
    expect(committedKeys({ a: '1' })).toEqual([])
    expect(() => verifyReport({ commitments: 'nope' })).toThrow(expect.objectContaining({ status: 422, code: 'invalid-commitments' }))
  })
})

describe('re-verifying request commitments from the message alone', () => {
  let wallet: Wallet
  beforeAll(async () => {
    wallet = await createWallet('rsa')
  })

  it('an httpsig signature over aoconnect-dialect typed fields verifies against the decoded keys', () => {
    // aoconnect's encoding of typed fields (bare-token ao-types, its non-sf list form).
    const headers = { 'ao-types': 'num=integer,list=list,empty=empty-list', num: '42', list: '(ao-type-integer) 1,(ao-type-binary) a', 'x-test': 'hi' }
    const signed = signRequest(wallet, { method: 'GET', url: '/x', headers })
    const result = verifyRequestSignatures({ method: 'GET', url: '/x', headers: signed.headers })
    const message: Message = { ...decodeTypedFields(headers), path: 'x', commitments: commitmentsFromSignatures(result) }
    expect(message).toMatchObject({ num: 42, list: [1, 'a'], empty: [] })
    expect(verifyReport(message)).toMatchObject({ valid: true, commitments: [{ 'commitment-device': 'httpsig@1.0', committer: walletAddress(wallet) }] })
    const changes: Message[] = [{ num: 43 }, { list: [1, 'b'] }, { empty: ['x'] }, { 'x-test': 'ho' }]
    for (const change of changes) {
      expect(verifyReport({ ...message, ...change }).valid).toBe(false)
    }
    expect(committedKeys(message)).toEqual(['empty', 'list', 'num', 'x-test'])
  })

  it('an ANS-104 commitment verifies by rebuilding the item, and breaks when a tag value or the data changes', () => {
    const target = new Uint8Array(32).fill(7)
    const { item } = buildDataItem(wallet, { tags: [{ name: 'Action', value: 'Eval' }, { name: 'n', value: '5' }, { name: 'ao-types', value: 'n="integer"' }], data: 'print(1)', target })
    const message = { ...dataItemToMessage(item), path: 'eval' }
    expect(verifyReport(message)).toMatchObject({ valid: true, commitments: [{ 'commitment-device': 'ans104@1.0', committer: walletAddress(wallet), valid: true }] })
    expect(verifyReport({ ...message, action: 'Other' }).valid).toBe(false)
    expect(verifyReport({ ...message, n: 6 }).valid).toBe(false)
    expect(verifyReport({ ...message, body: new TextEncoder().encode('print(2)') }).valid).toBe(false)
  })
})

describe('commit, verify and committed over HTTP', () => {
  let node: HashbeamNode
  beforeAll(async () => {
    node = await testNode()
  })
  afterAll(() => node.stop())
  const json = { headers: { accept: 'application/json' } }

  it('/commit signs the base with the node key; /commit/verify and /commit/committed read it back', async () => {
    const verify = await node.app.request('/~message@1.0&a=1/commit/verify', json)
    expect(await verify.json()).toMatchObject({ valid: true, commitments: [{ 'commitment-device': 'message@1.0', type: 'rsa-pss-sha512', committer: node.address, valid: true }] })
    expect(await (await node.app.request('/~message@1.0&a=1/commit/committed')).json()).toEqual(['a', 'device'])
  })

  it('commit is never cached (a new signature each time); set drops the commitments', async () => {
    const one = await node.app.request('/~message@1.0&b=1/commit/id')
    const two = await node.app.request('/~message@1.0&b=1/commit/id')
    expect(await one.text()).not.toBe(await two.text())
    expect(await (await node.app.request('/~message@1.0&c=1/commit/set&c=2/verify', json)).json()).toEqual({ valid: false, commitments: [] })
  })
})

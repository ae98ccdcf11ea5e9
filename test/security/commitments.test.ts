/**
 * Issue 11, item 2: a commitment's `committed` list was taken from the commitment itself, so a
 * key the signature never covered could be declared signed by editing the list, and an extra
 * key beside the covered ones rode along. Now the covered set is derived from what the
 * signature covers — the lines of an httpsig base, the tags/target/anchor/data of a rebuilt
 * ANS-104 item, every key for a native commitment — and nothing else counts as signed:
 * `message@1.0/committed`, `verify`, and attest's `verify` (which reads the list only to pick
 * keys; the signature decides).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../core/types.js'
import { buildDataItem, dataItemToMessage, parseDataItem } from '../../devices/ans104/index.js'
import { documentFromRequest, verifyDocument } from '../../devices/attest/verify.js'
import { createReport } from '../../devices/attest/report.js'
import { commitmentsFromSignatures, decodeTypedFields, signRequest, verifyRequestSignatures } from '../../devices/httpsig/index.js'
import { commitMessage } from '../../devices/message/commit.js'
import { checkCommitments, committedKeys, verifyReport } from '../../devices/message/verify.js'
import type { HashbeamNode } from '../../node/index.js'
import { fromJson, toJson } from '../../core/json.js'
import { createWallet, type Wallet } from '../../identity/keys.js'
import { fixedHardware, fixedMeasurement } from '../devices/attest/helpers/attest.js'
import { testNode } from '../helpers/node.js'

let wallet: Wallet
beforeAll(async () => {
  wallet = await createWallet('ed25519')
})

/** A message signed over httpsig headers {a} only, as the HTTP layer would keep it. */
function httpsigSigned(fields: Record<string, string>): Message {
  const req = { method: 'POST', url: 'http://x.test/~message@1.0/verify', headers: fields }
  const signed = signRequest(wallet, req)
  const verified = verifyRequestSignatures({ ...req, headers: signed.headers })
  return { ...decodeTypedFields(fields), commitments: commitmentsFromSignatures(verified) }
}

/** `message` with every commitment's `committed` list replaced (the signature is untouched). */
function relabel(message: Message, committed: string[]): Message {
  const commitments = Object.fromEntries(Object.entries(message.commitments as Record<string, Message>)
    .map(([id, c]) => [id, { ...c, committed }]))
  return { ...message, commitments }
}

describe('the covered keys come from the signature, never from the commitment\'s list', () => {
  it('httpsig: a key added to `committed` and to the message is not signed; verify and committed say so', () => {
    const signed = httpsigSigned({ a: 'signed' })
    const forged = relabel({ ...signed, b: 'smuggled' }, ['a', 'b'])
    expect(verifyReport(forged)).toMatchObject({ valid: true, commitments: [{ valid: true, committed: ['a'] }] })
    expect(committedKeys(forged)).toEqual(['a'])
    expect(checkCommitments(forged)[0]!.committed).toEqual(['a'])
  })

  it('httpsig: removing a covered key from `committed` cannot hide that it is signed, nor make a change to it pass', () => {
    const signed = httpsigSigned({ a: 'signed', c: 'also' })
    expect(committedKeys(relabel(signed, []))).toEqual(['a', 'c'])
    expect(verifyReport(relabel({ ...signed, c: 'changed' }, ['a'])).valid).toBe(false)
  })

  it('ANS-104: the covered keys are the rebuilt item\'s tags; an edited list neither adds a key nor skips a changed one', () => {
    const item = parseDataItem(buildDataItem(wallet, { tags: [{ name: 'a', value: 'signed' }, { name: 't', value: 'tag' }] }).bytes)
    const signed = dataItemToMessage(item)
    expect(committedKeys(relabel({ ...signed, b: 'smuggled' }, ['a', 'b', 't']))).toEqual(['a', 't'])
    // Before: only listed keys were compared, so a list without `t` let a changed `t` through.
    expect(verifyReport(relabel({ ...signed, t: 'changed' }, ['a'])).valid).toBe(false)
  })

  it('native: every key of the message is covered; a listed key that is not there is no key at all', () => {
    const signed = commitMessage({ a: 'signed' }, wallet)
    expect(committedKeys(relabel(signed, ['a', 'b']))).toEqual(['a'])
    const extra = relabel({ ...signed, b: 'smuggled' }, ['a', 'b'])
    expect(verifyReport(extra).valid).toBe(false) // the unsigned ID covers all keys: b breaks it
    expect(committedKeys(extra)).toEqual([])
  })

  it('attest verify: a `committed` list that picks an unsigned key, or leaves a signed one out, picks a document that fails', async () => {
    const report = await createReport('5a'.repeat(32), { wallet, measurement: fixedMeasurement(), hardware: fixedHardware, providers: [] })
    const honest = documentFromRequest({ path: 'verify', ...report })
    expect((await verifyDocument(honest)).valid).toBe(true)
    const [id, commitment] = Object.entries(report.commitments as Record<string, Message>)[0]!
    const keys = Object.keys(report).filter((k) => k !== 'commitments')
    const listing = (committed: string[]): Message => ({ ...report, commitments: { [id]: { ...commitment, committed } } })
    const withExtra = documentFromRequest({ path: 'verify', ...listing([...keys, 'trust-override']), 'trust-override': 'hardware' })
    expect(withExtra['trust-override']).toBe('hardware')
    expect((await verifyDocument(withExtra)).valid).toBe(false)
    const withoutMeasurement = documentFromRequest({ path: 'verify', ...listing(keys.filter((k) => k !== 'measurement')) })
    expect((await verifyDocument(withoutMeasurement)).valid).toBe(false)
  })
})

describe('over HTTP', () => {
  let node: HashbeamNode
  beforeAll(async () => {
    node = await testNode()
  })
  afterAll(() => node.stop())

  it('message@1.0 committed and verify on a stored message with a re-labelled list: only the signed key counts', async () => {
    const forged = relabel({ ...httpsigSigned({ a: 'signed' }), b: 'smuggled' }, ['a', 'b'])
    // Stored as a message, then read back by ID, the way a reader of the public ledger would.
    const put = (await (await node.app.request('/~store@1.0/put', {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(toJson({ message: forged })),
    })).json()) as { id: string }
    const committed = await node.app.request(`/${put.id}/committed`, { headers: { accept: 'application/json' } })
    expect(await committed.json()).toEqual(['a'])
    const verify = fromJson(await (await node.app.request(`/${put.id}/verify`, { headers: { accept: 'application/json' } })).json()) as Message
    expect(verify).toMatchObject({ valid: true, commitments: [{ committed: ['a'] }] })
  })
})

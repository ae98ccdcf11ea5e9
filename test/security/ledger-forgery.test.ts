/**
 * Issue 11, item 3: the ledger could be forged. `/~replay@1.0/import` was open to anyone, stored
 * records before checking them and overwrote honest ones; the record seal is a plain SHA-256
 * anyone can compute; the resolver then served an imported record as a cache hit and verify
 * called it valid. After such an import, `/~message@1.0&balance=100/balance` answered a forged
 * value.
 *
 * Now (docs/security.md, "Ledger provenance"): import is the operator's (a signed request)
 * unless `--open-import`; every imported record keeps the signer of its export as its writer;
 * the resolver answers only from this node's records or trusted writers'; verify names each
 * step's writer and counts the untrusted ones; an import never replaces a record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { decodeCanonical, encodeCanonical } from '../../core/codec.js'
import { encodeStep } from '../../core/ledger.js'
import type { Message } from '../../core/types.js'
import { commitMessage } from '../../devices/message/commit.js'
import { cidOf } from '../../devices/replay/car.js'
import { carOf, chainParts, forgedBalanceCar, manifestOf } from './helpers/forged-car.js'
import { ledgerNode, q, type LedgerNode } from './helpers/ledger-nodes.js'

let attacker: Wallet
let forgery: Awaited<ReturnType<typeof forgedBalanceCar>>
const started: LedgerNode[] = []
beforeAll(async () => {
  attacker = await createWallet('ed25519')
  forgery = await forgedBalanceCar(attacker)
})
afterAll(async () => { for (const n of started) await n.stop() })

async function node(config: Parameters<typeof ledgerNode>[0] = {}): Promise<LedgerNode> {
  const n = await ledgerNode(config)
  started.push(n)
  return n
}

describe('forged ledger records (issue 11 item 3)', () => {
  it('an anonymous import is refused (403) and writes nothing: the balance stays 100', async () => {
    const n = await node()
    expect(await n.importCar(forgery.car, { unsigned: true })).toMatchObject({ status: 403, body: { code: 'signature-required' } })
    const answer = await n.get(forgery.path)
    expect([answer.status, answer.body, answer.headers.get('ao-cache')]).toEqual([200, '100', 'miss'])
  })

  it('imported anyway (--open-import): the forged record is never an answer, never a hit, and verify flags it', async () => {
    const n = await node({ openImport: true })
    const imported = await n.importCar(forgery.car, { unsigned: true })
    expect(imported).toMatchObject({ status: 200, body: { signer: walletAddress(attacker), trusted: false, imported: 1 } })
    for (let i = 0; i < 2; i++) {
      const answer = await n.get(forgery.path)
      expect([answer.status, answer.body, answer.headers.get('ao-cache'), answer.headers.get('hashbeam-untrusted-record')])
        .toEqual([200, '100', 'miss', walletAddress(attacker)])
    }
    const verify = await n.json(`/~replay@1.0/verify&hashpath=${q(forgery.hashpath)}`)
    expect(verify.body).toMatchObject({ untrusted: 1, writers: [{ writer: walletAddress(attacker), from: 1, to: 1, trusted: false }] })
    expect(verify.headers.get('hashbeam-untrusted-record')).toBe('1')
    // replay re-executes, disagrees, and promotes nothing: the record stays untrusted.
    expect((await n.json(`/~replay@1.0/replay&hashpath=${q(forgery.hashpath)}`)).body).toMatchObject({ divergent: 1, promoted: 0, 'first-divergence': { reason: 'output-mismatch' } })
    expect((await n.json(`/~replay@1.0/verify&hashpath=${q(forgery.hashpath)}`)).body).toMatchObject({ untrusted: 1 })
    // …and this node will not re-sign it: an export of a chain it does not stand behind is refused.
    expect((await n.json(`/~replay@1.0/export&hashpath=${q(forgery.hashpath)}`))).toMatchObject({ status: 422, body: { code: 'untrusted-record' } })
  })

  it('an import never replaces an honest record, even one signed by the operator', async () => {
    const n = await node()
    expect((await n.get(forgery.path)).body).toBe('100')
    expect(await n.importCar(forgery.car)).toMatchObject({ status: 200, body: { imported: 0, kept: 1 } })
    const answer = await n.get(forgery.path, { 'cache-control': 'only-if-cached' })
    expect([answer.body, answer.headers.get('ao-cache')]).toEqual(['100', 'hit'])
  })

  it('a record relabelled with the node\'s own address as writer, under the attacker\'s signature, is refused (writer-mismatch)', async () => {
    const n = await node({ openImport: true })
    const parts = await chainParts(forgery.path)
    // A record block that claims the node itself wrote it (sealed: anyone can seal), named by a
    // manifest the attacker signs.
    const claimed = { ...parts.records[0]!, writer: n.node.address }
    const { manifest } = manifestOf(attacker, parts.hashpath, [claimed])
    const m = decodeCanonical(manifest) as Message
    const record = cidOf(encodeStep(claimed)).toString()
    const { commitments: _c, ...unsigned } = m
    const relabelled = commitMessage({ ...unsigned, steps: [{ hashpath: parts.hashpath, record }] }, attacker, 'export')
    const car = await carOf(encodeCanonical(relabelled), [encodeStep(claimed), ...parts.blocks])
    expect(await n.importCar(car, { unsigned: true })).toMatchObject({ status: 422, body: { code: 'writer-mismatch' } })
  })

  it('with --trust <address>, that writer\'s records answer: trust is the operator\'s choice', async () => {
    const n = await node({ openImport: true, trust: [walletAddress(attacker)] })
    await n.importCar(forgery.car, { unsigned: true })
    const answer = await n.get(forgery.path)
    expect([answer.body, answer.headers.get('ao-cache')]).toEqual(['1000000', 'hit'])
  })
})

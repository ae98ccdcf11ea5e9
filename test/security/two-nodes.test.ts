/**
 * Issue 11 acceptance, ledger provenance across nodes: node B imports node A's signed export.
 * With `--trust <A's address>`, B answers A's steps from its ledger; without it, B reports them
 * as untrusted (verify, and a header on answers), re-executes them on request (never
 * `ao-cache: hit`), and only `replay` makes them B's own. Two in-process nodes, each with its own
 * data dir, LMDB store and key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWallet, walletAddress } from '../../identity/keys.js'
import { signPrivileged, URL_BASE } from '../helpers/operator.js'
import { ledgerNode, q, type LedgerNode } from './helpers/ledger-nodes.js'

const PATH = '/~message@1.0&x=1/set&y+integer=2/set&z=3/keys'
let a: LedgerNode
let car: Uint8Array
let hashpath: string
const started: LedgerNode[] = []

beforeAll(async () => {
  a = await ledgerNode()
  started.push(a)
  const answer = await a.get(PATH)
  expect(answer.status).toBe(200)
  hashpath = answer.headers.get('hashpath')!
  const exported = await a.node.app.request(`/~replay@1.0/export&hashpath=${q(hashpath)}`)
  expect(exported.status).toBe(200)
  car = new Uint8Array(await exported.arrayBuffer())
}, 60_000)
afterAll(async () => { for (const n of started) await n.stop() })

async function nodeB(trust: string[] = []): Promise<LedgerNode> {
  const b = await ledgerNode({ trust })
  started.push(b)
  return b
}

describe('two nodes: B imports A\'s export', () => {
  it('import is for B\'s operator only: unsigned or signed by someone else is a 403, and nothing is written', async () => {
    const b = await nodeB()
    expect(await b.importCar(car, { unsigned: true })).toMatchObject({ status: 403, body: { code: 'signature-required' } })
    const stranger = await createWallet('ed25519')
    expect(await b.importCar(car, { signer: stranger })).toMatchObject({ status: 403, body: { code: 'not-operator' } })
    expect((await b.json(`/~replay@1.0/verify&hashpath=${q(hashpath)}`)).body).toMatchObject({ valid: false, failure: { reason: 'missing-record' } })
  })

  it('with --trust <A>: B answers A\'s steps from its ledger', async () => {
    const b = await nodeB([a.node.address])
    expect(await b.importCar(car)).toMatchObject({ status: 200, body: { hashpath, signer: a.node.address, trusted: true, steps: 3, imported: 3, verify: { valid: true, untrusted: 0 } } })
    const answer = await b.get(PATH, { 'cache-control': 'only-if-cached' })
    expect([answer.status, answer.headers.get('ao-cache'), answer.headers.get('hashpath')]).toEqual([200, 'hit', hashpath])
    expect(answer.body).toBe((await a.get(PATH)).body)
    expect(answer.headers.get('hashbeam-untrusted-record')).toBeNull()
  })

  it('without it: B reports the records as untrusted and re-executes on request; replay promotes them', async () => {
    const b = await nodeB()
    expect(await b.importCar(car)).toMatchObject({ status: 200, body: { signer: a.node.address, trusted: false, verify: { valid: true, untrusted: 3 } } })
    const verify = await b.json(`/~replay@1.0/verify&hashpath=${q(hashpath)}`)
    expect(verify.body).toMatchObject({ valid: true, untrusted: 3, writers: [{ writer: a.node.address, from: 1, to: 3, trusted: false }] })
    expect(verify.headers.get('hashbeam-untrusted-record')).toBe('3')
    // Never an answer from the ledger…
    expect((await b.get(PATH, { 'cache-control': 'only-if-cached' })).status).toBe(504)
    // …but re-executed on request, flagged, and still not a hit the second time.
    for (let i = 0; i < 2; i++) {
      const answer = await b.get(PATH)
      expect([answer.status, answer.headers.get('ao-cache'), answer.headers.get('hashbeam-untrusted-record')]).toEqual([200, 'miss', a.node.address])
    }
    // replay re-executes every step, agrees, and B now stands behind them.
    expect((await b.json(`/~replay@1.0/replay&hashpath=${q(hashpath)}`)).body).toMatchObject({ steps: 3, verified: 3, promoted: 3, 'first-divergence': null })
    expect((await b.json(`/~replay@1.0/verify&hashpath=${q(hashpath)}`)).body).toMatchObject({ valid: true, untrusted: 0, writers: [{ writer: b.node.address, trusted: true }] })
    expect((await b.get(PATH, { 'cache-control': 'only-if-cached' })).headers.get('ao-cache')).toBe('hit')
  })

  it('the operator can trust A later (config set trust): A\'s records then answer at once', async () => {
    const b = await nodeB()
    await b.importCar(car)
    expect((await b.get(PATH, { 'cache-control': 'only-if-cached' })).status).toBe(504)
    const set = await b.node.app.request(`${URL_BASE}/~meta@1.0/info`, signPrivileged(b.operator, { url: `${URL_BASE}/~meta@1.0/info`, headers: { trust: a.node.address } }))
    expect(set.status).toBe(200)
    expect((await b.json('/~meta@1.0/info')).body.trust).toEqual([a.node.address])
    expect((await b.get(PATH, { 'cache-control': 'only-if-cached' })).headers.get('ao-cache')).toBe('hit')
    expect(walletAddress(b.operator)).not.toBe(b.node.address)
  })
})

/**
 * The router's verification surface, in one process, from an attacker's side: polls and reports
 * must be signed by an admitted checker, fresh and well formed; a fault report whose proof does
 * not verify benches nobody; only the operator clears a bench; `verify` takes 2 or 3. Checker
 * building blocks: the HMAC selection is a fair share and keyed, the gap names the differing
 * leaves, the TEST-ONLY injector changes exactly one character of every N-th result.
 * (The whole flow, with real workers and a real fault, is test/node/peer-check-process.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { createSigner } from '../../../identity/signer.js'
import { differingFields, selected } from '../../../devices/checker/index.js'
import { injectFault } from '../../../devices/gpu-infer/test-fault.js'
import { quorumOf } from '../../../devices/relay/quorum.js'
import { DEFAULT_CLUSTER_CONFIG, signCheck, type CheckMessage, type CheckOutcome } from '../../../devices/router/index.js'
import type { HashbeamNode } from '../../../node/index.js'
import { nodeWithOwnOperator, signPrivileged, URL_BASE } from '../../helpers/operator.js'

let node: HashbeamNode
let operator: Wallet
let checker: Wallet
let stranger: Wallet
let worker: Wallet
let time = Date.now()

const post = async (path: string, body: unknown): Promise<Response> =>
  node.app.request(`${URL_BASE}/~router@1.0/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const signed = async (wallet: Wallet, msg: CheckMessage, at = ++time) => signCheck(createSigner(wallet), msg, at)
const refusal = async (res: Response): Promise<[number, string]> => [res.status, ((await res.json()) as { code: string }).code]
const outcome = (extra: Record<string, unknown>): CheckOutcome =>
  ({ node: walletAddress(worker), result: 'R'.repeat(43), hashpath: 'H', 'model-sha256': 'a'.repeat(64), ...extra }) as unknown as CheckOutcome

beforeAll(async () => {
  checker = await createWallet('ed25519')
  stranger = await createWallet('ed25519')
  worker = await createWallet('ed25519')
  ;({ node, operator } = await nodeWithOwnOperator({ cluster: { ...DEFAULT_CLUSTER_CONFIG, router: true, admit: [walletAddress(checker), walletAddress(worker)], ttlMs: 60_000 } }))
})
afterAll(() => node.stop())

describe('checkers talking to the router', () => {
  it('an admitted checker polls the feed; strangers, forgeries, replays and malformed messages are refused', async () => {
    const ok = await post('results', await signed(checker, { kind: 'poll', after: 0 }))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ entries: [], next: 0 })
    expect(await refusal(await post('results', await signed(stranger, { kind: 'poll', after: 0 })))).toEqual([403, 'node-not-admitted'])
    const real = await signed(checker, { kind: 'poll', after: 0 })
    expect(await refusal(await post('results', { ...real, message: real.message.replace('"after":0', '"after":1') }))).toEqual([403, 'check-signature'])
    expect((await post('results', real)).status).toBe(200)
    expect(await refusal(await post('results', real))).toEqual([403, 'offer-replayed'])
    expect(await refusal(await post('results', await signed(checker, { kind: 'poll', after: 0 }, Date.now() - 120_000)))).toEqual([403, 'offer-stale'])
    expect(await refusal(await post('results', await signed(checker, { kind: 'poll', after: -1 })))).toEqual([400, 'invalid-check'])
    expect(await refusal(await post('results', { message: 'not json', signature: 'x' }))).toEqual([400, 'invalid-check'])
    expect(await refusal(await post('results', [1, 2]))).toEqual([400, 'invalid-check'])
    expect(await refusal(await post('checks', await signed(checker, { kind: 'poll', after: 0 })))).toEqual([400, 'invalid-check'])
  })

  it('a fault report whose proof does not verify benches nobody; agreement is counted', async () => {
    const forged = { type: 'hashbeam-fault-proof', receipt: {}, 'verifier-receipt': {}, inputs: {}, recomputed: {} }
    const bad = await post('checks', await signed(checker, { kind: 'report', outcomes: [outcome({ outcome: 'fault', proof: forged })] }))
    expect(await refusal(bad)).toEqual([403, 'fault-not-proven'])
    expect(await (await node.app.request(`${URL_BASE}/~router@1.0/faults`)).json()).toEqual({ faults: {} })
    const tooMany = Array.from({ length: 65 }, () => outcome({ outcome: 'agree' }))
    expect(await refusal(await post('checks', await signed(checker, { kind: 'report', outcomes: tooMany })))).toEqual([400, 'invalid-check'])
    expect(await refusal(await post('checks', await signed(checker, { kind: 'report', outcomes: [outcome({ outcome: 'lie' })] })))).toEqual([400, 'invalid-check'])
    const agreed = await post('checks', await signed(checker, { kind: 'report', outcomes: [outcome({ outcome: 'agree' }), outcome({ outcome: 'agree', node: walletAddress(checker) }), outcome({ outcome: 'agree', node: walletAddress(stranger) })] }))
    // A checker's word about its own results counts for nothing; about a node nobody admitted, neither.
    expect(await agreed.json()).toEqual({ accepted: 1, faults: 0 })
  })

  it('only the operator clears a bench', async () => {
    const url = `${URL_BASE}/~router@1.0/clear-fault?node=${'N'.repeat(43)}`
    expect(await refusal(await node.app.request(url, { method: 'POST' }))).toEqual([403, 'signature-required'])
    const byStranger = signPrivileged(stranger, { url, method: 'POST' }, { params: { created: Math.floor(Date.now() / 1000) } })
    expect((await node.app.request(url, byStranger)).status).toBe(403)
    const byOperator = signPrivileged(operator, { url, method: 'POST' }, { params: { created: Math.floor(Date.now() / 1000) } })
    const res = await node.app.request(url, { ...byOperator, headers: { ...byOperator.headers, accept: 'application/json' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ cleared: 0 })
  })

  it('verify is 2 or 3, taken off the query, with a receipt asked for', () => {
    expect(quorumOf('/~gpu-infer@1.0/run&prompt=a', null)).toBeUndefined()
    expect(quorumOf('/~gpu-infer@1.0/run&prompt=a?verify=2&x=1', null)).toEqual({ count: 2, target: '/~gpu-infer@1.0/run&prompt=a?x=1&attest=true' })
    expect(quorumOf('/~gpu-infer@1.0/run&prompt=a', '3')).toEqual({ count: 3, target: '/~gpu-infer@1.0/run&prompt=a?attest=true' })
    for (const n of ['1', '4', 'two', '']) expect(() => quorumOf(`/x?verify=${n}`, null)).toThrow(/verify is 2 or 3/)
  })
})

describe('checker building blocks', () => {
  it('the HMAC selects about the rate, and another key selects other results', () => {
    const key = new Uint8Array(32).fill(1)
    const other = new Uint8Array(32).fill(2)
    const ids = Array.from({ length: 4000 }, (_, i) => `result-${i}`)
    const picked = ids.filter((id) => selected(key, id, 0.25))
    expect(picked.length).toBeGreaterThan(850)
    expect(picked.length).toBeLessThan(1150)
    const both = picked.filter((id) => selected(other, id, 0.25)).length
    expect(both).toBeLessThan(350)
    expect(ids.every((id) => selected(key, id, 1))).toBe(true)
  })

  it('a gap names the leaves that differ; the injector changes one character of every N-th result', () => {
    const a = { threads: 1, 'context-size': 256, sampler: { 'top-k': 40, seed: 1 } }
    expect(differingFields(a, { ...a, 'context-size': 512, sampler: { 'top-k': 41, seed: 1 } })).toEqual(['context-size', 'sampler.top-k'])
    expect(differingFields(a, a)).toEqual([])
    const result = { output: 'hello', 'profile-id': 'P' }
    expect([1, 2, 3].map((n) => injectFault(result, n, 3).output)).toEqual(['hello', 'hello', 'hellx'])
  })
})

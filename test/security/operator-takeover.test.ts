/**
 * Issue 11, item 1: anyone could become the operator. Each test below is an attack that
 * worked on the node before the authority model (core/authority.ts): it got a signature of the
 * node's own key — the default operator — onto a configuration change without holding that key,
 * or re-used an operator signature for something the operator never asked for. Each must now be
 * refused with a 403 and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMessage, loadStep } from '../../core/ledger.js'
import type { Message } from '../../core/types.js'
import { signRequest } from '../../devices/httpsig/index.js'
import type { HashbeamNode } from '../../node/index.js'
import { fromJson, toJson } from '../../core/json.js'
import { loadWallet } from '../../node/wallet-file.js'
import type { Wallet } from '../../identity/keys.js'
import { sharedWalletPath, testNode } from '../helpers/node.js'

const URL_BASE = 'http://hashbeam.test'
const JSON_ACCEPT = { accept: 'application/json' }

let node: HashbeamNode
let nodeWallet: Wallet
beforeAll(async () => {
  node = await testNode()
  nodeWallet = (await loadWallet(sharedWalletPath()))!
})
afterAll(() => node.stop())

const request = (path: string, init: RequestInit = {}) => node.app.request(`${URL_BASE}${path}`, init)
async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
async function settings(): Promise<Record<string, unknown>> {
  return (await (await request('/~meta@1.0/info', { headers: JSON_ACCEPT })).json()) as Record<string, unknown>
}
const postJson = (path: string, body: Message) =>
  request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...JSON_ACCEPT }, body: JSON.stringify(toJson(body)) })

describe('operator takeover', () => {
  it('via message@1.0/commit and a body: the node signs {path: info, name: evil}; pasted into a POST body it authorises nothing', async () => {
    // Store the exact step request the attacker wants ({path: info, name}), have the node commit
    // it (anyone may call commit), then send the signed copy as the body of the config POST.
    const stored = (await (await postJson('/~store@1.0/put', { message: { path: 'info', name: 'taken-by-commit' } })).json()) as { id: string }
    const committed = fromJson(await (await request(`/${stored.id}/commit`, { headers: JSON_ACCEPT })).json()) as Message
    expect(Object.keys(committed.commitments as Message)).toHaveLength(1)
    const { path: _path, ...body } = committed
    expect(await refusal(await postJson('/~meta@1.0/info', body))).toEqual([403, 'signature-required'])
    expect((await settings()).name).toBeUndefined()
  })

  it('via a signed reply: the node signs a reply {name: evil} on accept-signature; as request headers it authorises nothing', async () => {
    const reply = await request('/~message@1.0&name=taken-by-reply/remove&item=device', { headers: { 'accept-signature': 'sig=()' } })
    expect(reply.status).toBe(200)
    // Every signed field of the reply, sent back as the request's headers: the signature verifies.
    const headers: Record<string, string> = {}
    for (const name of ['name', 'hashpath', 'signature', 'signature-input']) headers[name] = reply.headers.get(name)!
    const res = await request('/~meta@1.0/info', { method: 'POST', headers: { ...headers, ...JSON_ACCEPT } })
    expect(await refusal(res)).toEqual([403, 'wrong-signature-tag'])
    expect((await settings()).name).toBeUndefined()
  })

  it('via an old operator-signed request from the public ledger, pasted into a body', async () => {
    // The operator once signed a harmless request carrying `description` (aoconnect style:
    // its headers only). Its step request is stored, signature included, for anyone to read.
    const signed = signRequest(nodeWallet, { method: 'POST', url: `${URL_BASE}/~message@1.0/keys`, headers: { description: 'from-the-ledger' } })
    const harmless = await request('/~message@1.0/keys', { method: 'POST', headers: { ...signed.headers, ...JSON_ACCEPT } })
    expect(harmless.status).toBe(200)
    const step = await loadStep(node.store, harmless.headers.get('hashpath')!)
    const old = await loadMessage(node.store, step!.request)
    expect(old.description).toBe('from-the-ledger')
    const { path: _path, ...body } = old
    expect(await refusal(await postJson('/~meta@1.0/info', body))).toEqual([403, 'signature-required'])
    expect((await settings()).description).toBeUndefined()
  })

  it('via an operator request re-targeted: a headers-only signature for store has becomes a store delete', async () => {
    const put = (await (await request('/~store@1.0/put', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([9, 9, 9]) })).json()) as { sha256: string }
    // What the operator signed (aoconnect signs the headers, never the path): "has sha256=…".
    const signed = signRequest(nodeWallet, { method: 'POST', url: `${URL_BASE}/~store@1.0/has`, headers: { sha256: put.sha256 } })
    const moved = await request('/~store@1.0/delete', { method: 'POST', headers: { ...signed.headers, ...JSON_ACCEPT } })
    expect(moved.status).toBe(403)
    expect(await (await request(`/~store@1.0/has&sha256=${put.sha256}`)).text()).toBe('true')
  })
})

/**
 * `POST /~meta@1.0/info` with the real AO client: accepted when signed by the operator (httpsig
 * or ANS-104), 403 unsigned or by anyone else, only signed keys count, a captured request
 * cannot be replayed, changes persist with a history, and `initialized=permanent` freezes all.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, createSigner } from '@permaweb/aoconnect'
import { decodeMessage } from '../../devices/httpsig/message-codec.js'
import type { HashbeamNode } from '../../node/index.js'
import { createWallet, walletAddress, type Wallet } from '../../node/wallet.js'
import { loadWallet } from '../../node/wallet-file.js'
import { headerFields } from '../helpers/http.js'
import { sharedWalletPath, testNode } from '../helpers/node.js'

type AoRequest = (args: Record<string, unknown>) => Promise<Response>
const mainnet = (options: object) => connect(options as never) as unknown as { request: AoRequest }

let node: HashbeamNode
let operator: AoRequest
let stranger: AoRequest
let anonymous: AoRequest
/** Every request aoconnect sent, so one can be sent again verbatim. */
const sent: Array<{ url: string; init: RequestInit }> = []

beforeAll(async () => {
  node = await testNode()
  const nodeWallet = (await loadWallet(sharedWalletPath())) as Wallet
  const other = await createWallet('rsa')
  vi.stubGlobal('fetch', async (input: string | URL, init: RequestInit = {}) => {
    sent.push({ url: String(input), init })
    return node.app.request(String(input), init)
  })
  operator = mainnet({ MODE: 'mainnet', URL: 'http://hashbeam.test', signer: createSigner(nodeWallet.jwk as never) }).request
  stranger = mainnet({ MODE: 'mainnet', URL: 'http://hashbeam.test', signer: createSigner(other.jwk as never) }).request
  anonymous = mainnet({ MODE: 'mainnet', URL: 'http://hashbeam.test' }).request
})
afterAll(async () => {
  vi.unstubAllGlobals()
  await node.stop()
})

const post = (request: AoRequest, fields: Record<string, unknown>) => request({ path: '/~meta@1.0/info', method: 'POST', ...fields })
async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
async function info(): Promise<Record<string, unknown>> {
  const res = await anonymous({ path: '/~meta@1.0/info', method: 'GET' })
  return decodeMessage(headerFields(res.headers), new Uint8Array(await res.arrayBuffer()))
}

describe('operator-signed configuration', () => {
  it('refuses an unsigned change (403 signature-required) and a stranger\'s (403 not-operator)', async () => {
    expect(await refusal(await post(anonymous, { name: 'mine' }))).toEqual([403, 'signature-required'])
    expect(await refusal(await post(stranger, { name: 'mine' }))).toEqual([403, 'not-operator'])
    expect((await info()).name).toBeUndefined()
  })

  it('applies a change signed by the operator, persists it and records who made it', async () => {
    const res = await post(operator, { name: 'hashbeam-test', description: 'a node under test' })
    expect(res.status).toBe(200)
    expect(await info()).toMatchObject({ name: 'hashbeam-test', description: 'a node under test', operator: node.address, initialized: false })
    const saved = JSON.parse(await readFile(join(node.config.dataDir, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(saved).toEqual({ name: 'hashbeam-test', description: 'a node under test' })
    expect((await stat(join(node.config.dataDir, 'config.json'))).mode & 0o777).toBe(0o600)
    const history = (await readFile(join(node.config.dataDir, 'config-history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(history).toEqual([expect.objectContaining({ by: node.address, changes: { name: 'hashbeam-test', description: 'a node under test' }, commitment: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })])
  })

  it('takes only keys the operator signed: an unsigned query key is a 403, a fixed key a 422', async () => {
    // aoconnect cannot send a query string (it percent-encodes the "?"), so add one as a proxy would.
    expect((await post(operator, { name: 'x' })).status).toBe(200)
    const signedName = sent.at(-1)!
    const sneaky = await node.app.request(`${signedName.url}?description=evil`, { ...signedName.init })
    expect(await refusal(sneaky)).toEqual([403, 'uncommitted-config-key'])
    expect(await refusal(await post(operator, { port: 1 }))).toEqual([422, 'immutable-config-key'])
    expect(await refusal(await post(operator, { colour: 'blue' }))).toEqual([422, 'unknown-config-key'])
    expect((await info()).description).toBe('a node under test')
  })

  it('refuses a captured operator request sent again (403 commitment-replayed)', async () => {
    const name = async () => (await anonymous({ path: '/~meta@1.0/info/name', method: 'GET' })).text()
    expect((await post(operator, { name: 'second' })).status).toBe(200)
    expect(await name()).toBe('second')
    expect((await post(operator, { name: 'third' })).status).toBe(200)
    expect(await name()).toBe('third') // never a stale answer from the ledger
    const captured = sent.findLast((s) => new Headers(s.init.headers).get('name') === 'second')!
    expect(await refusal(await node.app.request(captured.url, captured.init))).toEqual([403, 'commitment-replayed'])
    expect((await info()).name).toBe('third')
  })

  it('accepts an operator-signed ANS-104 item: its tags are the change', async () => {
    const res = await operator({ path: '/~meta@1.0/info', 'signing-format': 'ans104', name: 'via-ans104' })
    expect(res.status).toBe(200)
    expect((await info()).name).toBe('via-ans104')
  })

  it('hands over to a new operator: the old one is refused from then on', async () => {
    const next = await createWallet('ed25519')
    expect((await post(operator, { operator: walletAddress(next) })).status).toBe(200)
    expect((await info()).operator).toBe(walletAddress(next))
    expect(await refusal(await post(operator, { name: 'old operator' }))).toEqual([403, 'not-operator'])
    // Back to the node's own key (signed by the new operator, an Ed25519 wallet, over httpsig).
    const { signRequest } = await import('../../devices/httpsig/index.js')
    const req = { method: 'POST', url: 'http://hashbeam.test/~meta@1.0/info', headers: { operator: node.address } }
    const res = await node.app.request(req.url, { method: 'POST', headers: signRequest(next, req).headers })
    expect(res.status).toBe(200)
    expect((await info()).operator).toBe(node.address)
  })

  it('after initialized=permanent nothing changes any more (403 config-frozen), even after a restart', async () => {
    expect((await post(operator, { initialized: 'permanent' })).status).toBe(200)
    expect(await refusal(await post(operator, { name: 'too late' }))).toEqual([403, 'config-frozen'])
    const again = await testNode({ config: { dataDir: node.config.dataDir } })
    try {
      const res = await again.app.request('/~meta@1.0/info', { headers: { accept: 'application/json' } })
      expect(await res.json()).toMatchObject({ name: 'via-ans104', initialized: 'permanent' })
      expect(again.settings.frozen()).toBe(true)
    } finally {
      await again.stop()
    }
  })
})

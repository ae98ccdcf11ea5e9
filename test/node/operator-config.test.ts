/**
 * `POST /~meta@1.0/info` with real AO clients. An operator holding a wallet of their own signs it
 * with aoconnect's signer over `@path`, the keys and the body digest (as ao-core-libs signs with
 * `includePath`), or as an ANS-104 item (arbundles) whose `path` tag is the target: applied,
 * persisted, recorded. Refused with a 403, changing nothing: unsigned, a stranger, aoconnect's
 * `request()` (it signs the headers only, so the target is not bound), the same request
 * replayed, re-labelled or moved (a query added → 403; another path → its signature no longer
 * verifies, 400). The node's own key counts only with the CLI's tag. `initialized=permanent`
 * freezes everything, across a restart.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ArweaveSigner, createData } from '@dha-team/arbundles'
import { connect, createSigner } from '@permaweb/aoconnect'
import { decodeMessage } from '../../devices/httpsig/message-codec.js'
import { operatorRequest } from '../../node/cli-config.js'
import type { HashbeamNode } from '../../node/index.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { loadWallet } from '../../node/wallet-file.js'
import { aoconnectSignedRequest } from '../helpers/aoconnect-signer.js'
import { headerFields } from '../helpers/http.js'
import { sharedWalletPath, testNode } from '../helpers/node.js'
import { signPrivileged } from '../helpers/operator.js'

type AoRequest = (args: Record<string, unknown>) => Promise<Response>
const mainnet = (options: object) => connect(options as never) as unknown as { request: AoRequest }
const URL_BASE = 'http://hashbeam.test'
const INFO = `${URL_BASE}/~meta@1.0/info`

/** A node whose operator is `ownWallet`, not the node's key. */
let node: HashbeamNode
let ownWallet: Wallet
let nodeWallet: Wallet
let ownSigner: ReturnType<typeof createSigner>
let viaRequest: AoRequest
let stranger: AoRequest
let anonymous: AoRequest

beforeAll(async () => {
  ownWallet = await createWallet('rsa')
  nodeWallet = (await loadWallet(sharedWalletPath()))!
  node = await testNode({ config: { operator: walletAddress(ownWallet) } })
  vi.stubGlobal('fetch', async (input: string | URL, init: RequestInit = {}) => node.app.request(String(input), init))
  ownSigner = createSigner(ownWallet.jwk as never)
  viaRequest = mainnet({ MODE: 'mainnet', URL: URL_BASE, signer: ownSigner }).request
  stranger = mainnet({ MODE: 'mainnet', URL: URL_BASE, signer: createSigner((await createWallet('rsa')).jwk as never) }).request
  anonymous = mainnet({ MODE: 'mainnet', URL: URL_BASE }).request
})
afterAll(async () => {
  vi.unstubAllGlobals()
  await node.stop()
})

const send = (init: RequestInit, url = INFO) => node.app.request(url, init)
const signedChange = (fields: Record<string, string>, body?: Uint8Array) =>
  aoconnectSignedRequest(ownSigner, { method: 'POST', url: INFO, fields, ...(body === undefined ? {} : { body }) })
async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
async function info(): Promise<Record<string, unknown>> {
  const res = await anonymous({ path: '/~meta@1.0/info', method: 'GET' })
  return decodeMessage(headerFields(res.headers), new Uint8Array(await res.arrayBuffer()))
}

describe('operator-signed configuration', () => {
  it('refuses an unsigned change, a stranger\'s, and aoconnect request()\'s (headers only: its target is not bound)', async () => {
    expect(await refusal(await anonymous({ path: '/~meta@1.0/info', method: 'POST', name: 'mine' }))).toEqual([403, 'signature-required'])
    expect(await refusal(await send(signPrivileged(await createWallet('ed25519'), { url: INFO, headers: { name: 'mine' } })))).toEqual([403, 'not-operator'])
    expect(await refusal(await stranger({ path: '/~meta@1.0/info', method: 'POST', name: 'mine' }))).toEqual([403, 'signature-unbound'])
    expect(await refusal(await viaRequest({ path: '/~meta@1.0/info', method: 'POST', name: 'mine' }))).toEqual([403, 'signature-unbound'])
    expect((await info()).name).toBeUndefined()
  })

  it('applies a change the operator signed with aoconnect\'s signer over the path, keys and body; persists it and records who', async () => {
    const body = new TextEncoder().encode('a node under test — with a long, non-ASCII description')
    const res = await send(await signedChange({ name: 'hashbeam-test', 'inline-body-key': 'description', 'content-type': 'text/plain' }, body))
    expect(res.status).toBe(200)
    expect(await info()).toMatchObject({ name: 'hashbeam-test', description: 'a node under test — with a long, non-ASCII description', operator: walletAddress(ownWallet) })
    const saved = JSON.parse(await readFile(join(node.config.dataDir, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(saved).toMatchObject({ name: 'hashbeam-test' })
    expect((await stat(join(node.config.dataDir, 'config.json'))).mode & 0o777).toBe(0o600)
    const history = (await readFile(join(node.config.dataDir, 'config-history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(history).toEqual([expect.objectContaining({ by: walletAddress(ownWallet), changes: expect.objectContaining({ name: 'hashbeam-test' }), commitment: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })])
  })

  it('refuses the same request replayed, re-labelled, given a query, or sent to another path; nothing changes', async () => {
    const signed = await signedChange({ name: 'second' })
    expect((await send(signed)).status).toBe(200)
    expect((await signedChange({ name: 'third' }).then(send)).status).toBe(200)
    expect(await refusal(await send(signed))).toEqual([403, 'signature-replayed'])
    const relabel = (v: string) => v.replace(/^http-sig-[0-9a-f]+=/, 'other=')
    const relabelled = { ...signed, headers: { ...signed.headers, signature: relabel(signed.headers.signature!), 'signature-input': relabel(signed.headers['signature-input']!) } }
    expect(await refusal(await send(relabelled))).toEqual([403, 'signature-replayed'])
    const fresh = await signedChange({ name: 'fourth' })
    expect(await refusal(await send(fresh, `${INFO}?description=evil`))).toEqual([403, 'signature-unbound'])
    expect(await refusal(await send(fresh, `${URL_BASE}/~meta@1.0/info&description=evil`))).toEqual([400, 'invalid-signature'])
    expect(await info()).toMatchObject({ name: 'third', description: 'a node under test — with a long, non-ASCII description' })
    expect(await refusal(await send(await signedChange({ port: '1' })))).toEqual([422, 'immutable-config-key'])
    expect(await refusal(await send(await signedChange({ colour: 'blue' })))).toEqual([422, 'unknown-config-key'])
  })

  it('accepts an ANS-104 item signed by the operator whose path tag is the target; refuses aoconnect\'s (no path tag)', async () => {
    const item = (tags: Array<{ name: string; value: string }>) => {
      const signer = new ArweaveSigner(ownWallet.jwk as never)
      const data = createData('', signer, { tags })
      return data.sign(signer).then(() => ({ method: 'POST', headers: { 'content-type': 'application/ans104' }, body: new Uint8Array(data.getRaw()) }))
    }
    expect((await send(await item([{ name: 'path', value: '/~meta@1.0/info' }, { name: 'name', value: 'via-ans104' }]))).status).toBe(200)
    expect((await info()).name).toBe('via-ans104')
    const elsewhere = await item([{ name: 'path', value: '/~meta@1.0/build' }, { name: 'name', value: 'moved' }])
    expect(await refusal(await send(elsewhere))).toEqual([400, 'committed-key-conflict'])
    expect(await refusal(await viaRequest({ path: '/~meta@1.0/info', 'signing-format': 'ans104', name: 'unbound' }))).toEqual([403, 'signature-unbound'])
    expect((await info()).name).toBe('via-ans104')
  })

  it('the node\'s own key counts only with the CLI\'s tag, and only while it is the operator', async () => {
    expect(await refusal(await send(signPrivileged(nodeWallet, { url: INFO, headers: { name: 'node-key' } })))).toEqual([403, 'wrong-signature-tag'])
    const cli = operatorRequest(nodeWallet, URL_BASE, 'name', 'node-key')
    expect(await refusal(await send(cli.init))).toEqual([403, 'not-operator'])
    // Hand the node back to its own key, signed by the operator's wallet; the CLI then works.
    expect((await send(await signedChange({ operator: walletAddress(nodeWallet) }))).status).toBe(200)
    const again = operatorRequest(nodeWallet, URL_BASE, 'name', 'node-key')
    expect((await send(again.init)).status).toBe(200)
    expect((await info()).name).toBe('node-key')
    expect(await refusal(await send(await signedChange({ name: 'old operator' })))).toEqual([403, 'not-operator'])
    expect((await send(operatorRequest(nodeWallet, URL_BASE, 'operator', walletAddress(ownWallet)).init)).status).toBe(200)
  })

  it('after initialized=permanent nothing changes any more (403 config-frozen), even after a restart', async () => {
    expect((await send(await signedChange({ initialized: 'permanent' }))).status).toBe(200)
    expect(await refusal(await send(await signedChange({ name: 'too late' })))).toEqual([403, 'config-frozen'])
    const again = await testNode({ config: { dataDir: node.config.dataDir, operator: walletAddress(ownWallet) } })
    try {
      const res = await again.app.request('/~meta@1.0/info', { headers: { accept: 'application/json' } })
      expect(await res.json()).toMatchObject({ name: 'node-key', initialized: 'permanent' })
      expect(again.settings.frozen()).toBe(true)
    } finally {
      await again.stop()
    }
  })
})

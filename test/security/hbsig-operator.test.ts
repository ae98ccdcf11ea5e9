/**
 * Issue 12 through issue 11's authority machinery: `POST /~meta@1.0/info` signed by hbsig, the
 * way a HyperBEAM user signs. hbsig's base writes `"path": <path>` for `"@path"`; once that
 * value is checked against the request's own path it binds the target as RFC 9421's `@path`
 * does (devices/httpsig/request-target.ts), so an operator holding a wallet of their own can
 * change the config — once. Everything else is refused and changes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { walletAddress } from '../../identity/keys.js'
import { hbsigClient, sendSigned, useHbsigNode, type HbsigClient } from '../helpers/hbsig.js'

const INFO = '/~meta@1.0/info'
// The operator is a wallet of their own (hbsig's RSA key), not the node's.
const env = useHbsigNode((own) => ({ operator: walletAddress(own.wallet) }))
let stranger: HbsigClient
beforeAll(() => {
  stranger = hbsigClient(env.server.url)
})

async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
async function settings(): Promise<Record<string, unknown>> {
  return (await (await fetch(`${env.server.url}${INFO}`, { headers: { accept: 'application/json' } })).json()) as Record<string, unknown>
}

describe('config changes signed by hbsig', () => {
  it('an operator with a wallet of their own changes config (accepted); the same request replayed is refused', async () => {
    const req = await env.client.sign({ path: INFO, method: 'POST', name: 'set-by-hbsig' })
    expect(req.headers['signature-input']).toMatch(/^[^=]+=\("@path" "name"\)/)
    const res = await sendSigned(req, { accept: 'application/json' })
    expect(res.status).toBe(200)
    expect((await settings()).name).toBe('set-by-hbsig')
    expect(await refusal(await sendSigned(req))).toEqual([403, 'signature-replayed'])
  })

  it('a non-operator changing config is refused (403 not-operator)', async () => {
    const req = await stranger.sign({ path: INFO, method: 'POST', name: 'stranger' })
    expect(await refusal(await sendSigned(req))).toEqual([403, 'not-operator'])
    expect((await settings()).name).not.toBe('stranger')
  })

  it('the operator\'s signature does not authorise without the path, with an unsigned query, or elsewhere', async () => {
    const before = await settings()
    // No @path ({path: false}): the signature names the operator but binds no target.
    const headersOnly = await env.client.sign({ path: INFO, method: 'POST', name: 'unbound' }, { path: false })
    expect(await refusal(await sendSigned(headersOnly))).toEqual([403, 'signature-unbound'])
    // The signed path is the path alone; a query added to the URL is not signed.
    const fresh = await env.client.sign({ path: INFO, method: 'POST', name: 'queried' })
    expect(await refusal(await sendSigned({ ...fresh, url: `${fresh.url}?description=evil` }))).toEqual([403, 'signature-unbound'])
    // Moved to another privileged target: its signed path names the config, not the store.
    const moved = await env.client.sign({ path: INFO, method: 'POST', name: 'moved' })
    const deleteUrl = `${env.server.url}/~store@1.0/delete&sha256=${'0'.repeat(64)}`
    expect(await refusal(await sendSigned({ ...moved, url: deleteUrl }))).toEqual([400, 'signature-target-mismatch'])
    expect(await refusal(await sendSigned({ ...moved, url: deleteUrl, headers: { ...moved.headers, path: new URL(deleteUrl).pathname } }))).toEqual([400, 'invalid-signature'])
    const after = await settings()
    expect([after.name, after.description]).toEqual([before.name, before.description])
  })

  it('a query the operator signed as part of the path binds too', async () => {
    const req = await env.client.sign({ path: `${INFO}?accept-codec=json@1.0`, method: 'POST', description: 'with-query' })
    expect(req.headers.path).toBe(`${INFO}?accept-codec=json@1.0`)
    expect((await sendSigned(req)).status).toBe(200)
    expect((await settings()).description).toBe('with-query')
  })
})

/**
 * Issue 11, item 2 (time): `created` was never checked, so a signature without `expires` stayed
 * valid forever, and an old operator-signed request kept in the public ledger could be sent
 * again. Now a privileged request's `created`, when present, must be within the node's skew
 * (`--signature-skew`, default 300 s), `expires` is honoured for every request, and a request
 * rebuilt from the ledger is a replay (403 `signature-replayed`). Ordinary requests may carry old
 * signatures: AO messages are signed once and relayed later.
 */
import { describe, expect, it } from 'vitest'
import { loadMessage, loadStep } from '../../core/ledger.js'
import type { Message } from '../../core/types.js'
import { walletAddress } from '../../identity/keys.js'
import { testNode } from '../helpers/node.js'
import { INFO_URL, useNodeWithOwnOperator, nowSeconds, signPrivileged, URL_BASE } from '../helpers/operator.js'

const INFO = INFO_URL
const env = useNodeWithOwnOperator()

const change = (name: string, params: Record<string, number | string> = {}, target = env.node) =>
  target.app.request(INFO, signPrivileged(env.operator, { url: INFO, headers: { name } }, { params }))
async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
const name = async (target = env.node) => (await target.app.request('/~meta@1.0/info/name')).text()

describe('created and expires on privileged requests', () => {
  it('refuses a signature created an hour ago without expires (valid forever before), and one from the future', async () => {
    expect(await refusal(await change('stale', { created: nowSeconds() - 3600 }))).toEqual([403, 'signature-stale'])
    expect(await refusal(await change('future', { created: nowSeconds() + 3600 }))).toEqual([403, 'signature-stale'])
    expect((await env.node.app.request('/~meta@1.0/info/name')).status).toBe(404)
  })

  it('accepts one created within the skew, or with no created at all (HyperBEAM clients send none)', async () => {
    expect((await change('recent', { created: nowSeconds() - 10 })).status).toBe(200)
    expect(await name()).toBe('recent')
    expect((await change('timeless')).status).toBe(200)
    expect(await name()).toBe('timeless')
  })

  it('refuses an expired signature on any request (400 signature-expired)', async () => {
    expect(await refusal(await change('expired', { created: nowSeconds() - 20, expires: nowSeconds() - 10 }))).toEqual([400, 'signature-expired'])
    expect(await name()).toBe('timeless')
  })

  it('the skew is the node\'s option: 5 s refuses what 300 s accepts', async () => {
    const strict = await testNode({ config: { operator: walletAddress(env.operator), signatureSkewSeconds: 5 } })
    try {
      expect(await refusal(await change('ten-seconds-old', { created: nowSeconds() - 10 }, strict))).toEqual([403, 'signature-stale'])
      expect((await change('now', { created: nowSeconds() }, strict)).status).toBe(200)
      expect(await name(strict)).toBe('now')
      const info = (await (await strict.app.request('/~meta@1.0/info', { headers: { accept: 'application/json' } })).json()) as Message
      expect(info['signature-skew']).toBe(5)
    } finally {
      await strict.stop()
    }
  })

  it('an ordinary request may carry an old signature: it still verifies and is kept as a commitment', async () => {
    const url = `${URL_BASE}/~message@1.0/verify`
    const signed = signPrivileged(env.operator, { url, headers: { note: 'relayed' } }, { params: { created: nowSeconds() - 86_400 } })
    const res = await env.node.app.request(url, { ...signed, headers: { ...signed.headers, accept: 'application/json' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ valid: true })
  })
})

describe('an old operator-signed request kept in the public ledger', () => {
  it('rebuilt from its stored commitment and sent again, it is a replay; pasted into another action, it is nothing', async () => {
    const res = await change('from-the-ledger', { created: nowSeconds() })
    expect(res.status).toBe(200)
    const step = await loadStep(env.node.store, res.headers.get('hashpath')!)
    const request = await loadMessage(env.node.store, step!.request)
    const [commitment] = Object.values(request.commitments as Record<string, Message>)
    // The stored commitment holds everything that was signed: the base lines and the signature.
    const lines = (commitment!['signature-base'] as string).split('\n')
    const params = lines.pop()!.replace('"@signature-params": ', '')
    const headers: Record<string, string> = { 'signature-input': `sig=${params}`, signature: `sig=:${Buffer.from(commitment!.signature as string, 'base64url').toString('base64')}:` }
    for (const line of lines) {
      const [, field, value] = /^"([^"@][^"]*)": (.*)$/.exec(line) ?? []
      if (field !== undefined) headers[field] = value!
    }
    expect(await change('newer')).toHaveProperty('status', 200)
    expect(await refusal(await env.node.app.request(INFO, { method: 'POST', headers }))).toEqual([403, 'signature-replayed'])
    expect(await name()).toBe('newer')
    const { path: _path, ...pasted } = request
    const inBody = await env.node.app.request(`${URL_BASE}/~store@1.0/delete&id=${step!.request}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pasted),
    })
    expect(await refusal(inBody)).toEqual([403, 'signature-required'])
    expect(await (await env.node.app.request(`/~store@1.0/has&id=${step!.request}`)).text()).toBe('true')
  })
})

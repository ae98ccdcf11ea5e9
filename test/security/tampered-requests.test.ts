/**
 * A property over an attacker's edits to an operator's config request (fast-check): whatever is
 * changed — a signed value, the path, the query, the method, the body, the label, the
 * signature, the timestamps — the node answers below 500, and a change it applies is exactly
 * the one the operator signed, once. Nothing the attacker adds ever becomes a setting.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { INFO_URL, useNodeWithOwnOperator, nowSeconds, signPrivileged, URL_BASE } from '../helpers/operator.js'

const EVIL = 'evil'
const INFO = INFO_URL
const env = useNodeWithOwnOperator()

type Sent = { url: string; method: string; headers: Record<string, string>; body?: Uint8Array }
type Edit = (req: Sent) => Sent

const withHeader = (name: string, value: string): Edit => (r) => ({ ...r, headers: { ...r.headers, [name]: value } })
const EDITS: Record<string, Edit> = {
  'nothing': (r) => r,
  'a signed value': withHeader('name', EVIL),
  'an unsigned header': withHeader('description', EVIL),
  'a query key': (r) => ({ ...r, url: `${r.url}?description=${EVIL}` }),
  'a path key': (r) => ({ ...r, url: r.url.replace('/info', `/info&description=${EVIL}`) }),
  'another path': (r) => ({ ...r, url: `${URL_BASE}/~store@1.0/delete&sha256=${'0'.repeat(64)}` }),
  'the method': (r) => ({ ...r, method: 'PUT' }),
  'a body': (r) => ({ ...r, headers: { ...r.headers, 'content-type': 'application/json' }, body: new TextEncoder().encode(JSON.stringify({ description: EVIL })) }),
  'the label': (r) => ({ ...r, headers: { ...r.headers, signature: r.headers.signature!.replace(/^[^=]+=/, 'x='), 'signature-input': r.headers['signature-input']!.replace(/^[^=]+=/, 'x=') } }),
  'the signature input': (r) => ({ ...r, headers: { ...r.headers, 'signature-input': r.headers['signature-input']!.replace(/;keyid=/, ';tag="hashbeam-operator";keyid=') } }),
  'a signature byte': (r) => {
    const [label, value] = r.headers.signature!.split('=:')
    const bytes = Buffer.from(value!.slice(0, -1), 'base64')
    bytes[3]! ^= 1
    return { ...r, headers: { ...r.headers, signature: `${label}=:${bytes.toString('base64')}:` } }
  },
}

async function settings(): Promise<Record<string, unknown>> {
  return (await (await env.node.app.request('/~meta@1.0/info', { headers: { accept: 'application/json' } })).json()) as Record<string, unknown>
}

describe('an operator request, edited by an attacker', () => {
  it('is applied only as signed, once; never a 5xx; never an attacker\'s value', async () => {
    let counter = 0
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...Object.keys(EDITS)), fc.constantFrom(...Object.keys(EDITS)),
      // `created` well inside the 300 s skew, well outside it, or absent (never near the edge).
      fc.option(fc.oneof(fc.integer({ min: -200, max: 200 }), fc.integer({ min: 400, max: 900 }), fc.integer({ min: -900, max: -400 })), { nil: undefined }),
      async (first, second, drift) => {
        const name = `signed-${counter++}`
        const params: Record<string, number> = drift === undefined ? {} : { created: nowSeconds() + drift }
        const signed = signPrivileged(env.operator, { url: INFO, headers: { name } }, { params })
        const original: Sent = { url: INFO, method: 'POST', headers: signed.headers }
        const before = await settings()
        const sent = EDITS[second]!(EDITS[first]!(original))
        const res = await env.node.app.request(sent.url, { method: sent.method, headers: sent.headers, ...(sent.body === undefined ? {} : { body: sent.body as BodyInit }) })
        expect(res.status).toBeLessThan(500)
        const after = await settings()
        expect(after.description).not.toBe(EVIL)
        expect(after.name === before.name || after.name === name).toBe(true)
        const fresh = Math.abs(drift ?? 0) <= 300
        if (res.status === 200) expect([after.name, fresh]).toEqual([name, true])
        // The untouched request goes through at most once in all, and only when fresh.
        const again = await env.node.app.request(INFO, { method: 'POST', headers: original.headers })
        expect(again.status).toBe(res.status !== 200 && fresh ? 200 : 403)
        expect((await env.node.app.request(INFO, { method: 'POST', headers: original.headers })).status).toBe(403)
      },
    ), { numRuns: 60 })
  })
})

/**
 * Interop with a second real AO client, `hbsig` 0.1.5 (weavedb's emulation of HyperBEAM's
 * `httpsig@1.0` codec), over real TCP. hbsig signs in HyperBEAM's base shape: it lists `"@path"`
 * and writes the line `"path": <path>` (and sends the path as a `path` header). Each request
 * below was refused with 400 `invalid-signature` before issue 12; now it verifies, is bound to
 * its target, and its typed values read back. The node's signed replies verify with hbsig's
 * own `verify`.
 */
import { describe, expect, it } from 'vitest'
import { verify as hbsigVerify } from 'hbsig'
import { verifyMessageSignatures } from '../../../devices/httpsig/index.js'
import { fromJson, toJson } from '../../../core/json.js'
import { walletAddress } from '../../../identity/keys.js'
import { hbsigVerifies, sendSigned, useHbsigNode } from '../../helpers/hbsig.js'
import { headerFields } from '../../helpers/http.js'

const JSON_ACCEPT = { accept: 'application/json' }
const env = useHbsigNode()

async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}
const json = async (res: Response) => fromJson(await res.json()) as Record<string, unknown>

describe('hbsig requests', () => {
  it('a signed POST that sets a key (the issue\'s example): verified, bound to its path, answered', async () => {
    const req = await env.client.sign({ path: '/~message@1.0/set/greeting', method: 'POST', greeting: 'hi' })
    expect(req.headers['signature-input']).toMatch(/^http-sig-[0-9a-f]{16}=\("@path" "greeting"\);alg="rsa-pss-sha512";keyid="/)
    expect(req.headers.path).toBe('/~message@1.0/set/greeting')
    const res = await sendSigned(req)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('hi')
  })

  it('records the signature as a commitment that re-verifies, by the hbsig wallet, in HyperBEAM\'s shape', async () => {
    const req = await env.client.sign({ path: '/~message@1.0/verify', method: 'POST', greeting: 'hi', count: 3 })
    const result = await json(await sendSigned(req, JSON_ACCEPT))
    expect(result).toMatchObject({ valid: true })
    const [commitment] = result.commitments as Array<Record<string, unknown>>
    expect(commitment).toMatchObject({ valid: true, committer: walletAddress(env.client.wallet), type: 'rsa-pss-sha512' })
    expect(commitment!.committed).toEqual(['count', 'greeting'])
  })

  it('a signed integer (and float, atom, list, empty values) reads back with its type', async () => {
    const req = await env.client.sign({ path: '/~message@1.0', count: 42, ratio: 1.5, ok: true, none: null, tags: [1, 'two'], empty: '', nothing: [] })
    expect(req.headers['ao-types']).toContain('count="integer"')
    const message = await json(await sendSigned(req, JSON_ACCEPT))
    expect(message).toMatchObject({ count: 42, ratio: 1.5, ok: true, none: null, tags: [1, 'two'], empty: '', nothing: [] })
    expect(await (await sendSigned(await env.client.sign({ path: '/~message@1.0/count', count: 42 }))).json()).toBe(42)
  })

  it('a nested message, a list of maps and a binary travel as multipart parts and read back', async () => {
    const req = await env.client.sign({ path: '/~message@1.0', config: { depth: 2, inner: { on: true } }, items: [{ a: 1 }, { b: 'x' }], blob: Buffer.from([0, 255, 7]) })
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    const message = await json(await sendSigned(req, JSON_ACCEPT))
    expect(message).toMatchObject({ config: { depth: 2, inner: { on: true } }, items: [{ a: 1 }, { b: 'x' }], blob: new Uint8Array([0, 255, 7]) })
    expect(Object.keys(message).sort()).toEqual(['blob', 'commitments', 'config', 'device', 'items'])
  })

  it('a tampered signed field is refused (400 invalid-signature)', async () => {
    const req = await env.client.sign({ path: '/~message@1.0/set/greeting', greeting: 'hi' })
    expect(await refusal(await sendSigned({ ...req, headers: { ...req.headers, greeting: 'evil' } }))).toEqual([400, 'invalid-signature'])
  })

  it('a signature moved to another target is refused: its signed path names the original (400 signature-target-mismatch)', async () => {
    const req = await env.client.sign({ path: '/~message@1.0/set/greeting', greeting: 'hi' })
    const moved = { ...req, url: `${env.server.url}/~message@1.0/keys` }
    expect(await refusal(await sendSigned(moved))).toEqual([400, 'signature-target-mismatch'])
    // Rewriting the path header to the new target breaks the signature instead.
    expect(await refusal(await sendSigned({ ...moved, headers: { ...req.headers, path: '/~message@1.0/keys' } }))).toEqual([400, 'invalid-signature'])
    // As with RFC 9421's @path, a query is not part of the signed path: an ordinary request may
    // carry an unsigned one (a privileged one may not: test/security/hbsig-operator.test.ts).
    const queried = await sendSigned({ ...req, url: `${req.url}?extra=1` })
    expect([queried.status, await queried.text()]).toEqual([200, 'hi'])
  })

  it('a signature without @path ({path: false}) is an ordinary headers-only signature, as aoconnect\'s', async () => {
    const req = await env.client.sign({ path: '/~message@1.0/greeting', greeting: 'hello' }, { path: false })
    expect(req.headers['signature-input']).toMatch(/=\("greeting"\)/)
    expect(await (await sendSigned(req)).text()).toBe('hello')
  })
})

describe('replies the node signs, checked with hbsig\'s verify', () => {
  it('an httpsig reply whose message has a path key is signed in HyperBEAM\'s shape; hbsig and our verifier accept it', async () => {
    const put = await fetch(`${env.server.url}/~store@1.0/put`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...JSON_ACCEPT },
      body: JSON.stringify(toJson({ message: { path: 'info', greeting: 'hi', n: 7 } })),
    })
    const { id } = (await put.json()) as { id: string }
    const url = `${env.server.url}/${id}`
    const reply = await fetch(url, { headers: { 'accept-signature': 'sig=()' } })
    expect(reply.status).toBe(200)
    const headers = Object.fromEntries(headerFields(reply.headers))
    expect(headers.path).toBe('info')
    expect(headers['signature-input']).toMatch(/\("@path"|"@path"/)
    expect(await hbsigVerifies({ url, method: 'GET', headers })).toBe(true)
    const [ours] = verifyMessageSignatures({ status: reply.status, fields: headerFields(reply.headers) })
    expect(ours).toMatchObject({ shape: 'hyperbeam', params: { tag: 'hashbeam-reply' } })
    expect(ours!.signatureBase).toContain('\n"path": info\n')
    // A changed field, or another path, no longer verifies, for hbsig either.
    expect(await hbsigVerifies({ url, method: 'GET', headers: { ...headers, greeting: 'evil' } })).toBe(false)
    expect(await hbsigVerifies({ url, method: 'GET', headers: { ...headers, path: 'other' } })).toBe(false)
  })

  it('an ordinary reply (no derived-named key) verifies with hbsig too: RSA-PSS with a 64-byte salt', async () => {
    const url = `${env.server.url}/~message@1.0&greeting=hi`
    const reply = await fetch(url, { headers: { 'accept-signature': 'sig=()' } })
    const headers = Object.fromEntries(headerFields(reply.headers))
    expect(await hbsigVerifies({ url, method: 'GET', headers })).toBe(true)
    // hbsig's public verify reads the signature fields too, when its label parser can (no `_`).
    if (!/^[^=]*_/.test(headers['signature-input']!)) expect(await hbsigVerify({ url, method: 'GET', headers })).toMatchObject({ valid: true, verified: true })
  })
})

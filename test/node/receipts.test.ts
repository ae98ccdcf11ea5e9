// attest@1.0 in the running node: reports, and inference receipts that bind one computation
// (attest=true is not hashed: the attested answer has the plain answer's hashpath and ID).
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../core/types.js'
import { listen, type RunningServer } from '../../node/server.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { testNode } from '../helpers/node.js'
import { runCli } from '../helpers/process.js'

let models: ModelDir
let node: Awaited<ReturnType<typeof testNode>>
let server: RunningServer
const json = { accept: 'application/json' }

beforeAll(async () => {
  models = await modelDir()
  const tiny = await models.make('tiny', { size: 'tiny', seed: 21, chatTemplate: true })
  node = await testNode({ config: { models: { tiny }, threads: 1, contextSize: 512, batchSize: 256 } })
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(async () => {
  await server.close()
  await models.cleanup()
})

async function verify(doc: Message): Promise<Record<string, any>> {
  const res = await node.app.request('/~attest@1.0/verify', { method: 'POST', headers: { ...json, 'content-type': 'application/json' }, body: JSON.stringify(doc) })
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, any>
}

describe('attest@1.0 in the node', () => {
  it('a report binds the nonce and verifies offline', async () => {
    const nonce = 'ab'.repeat(32)
    const res = await node.app.request(`/~attest@1.0/report&nonce=${nonce}`, { headers: json })
    expect(res.status).toBe(200)
    const report = (await res.json()) as Message
    expect(report).toMatchObject({ nonce, address: node.address, trust: 'self-signed' })
    expect(await verify(report)).toMatchObject({ valid: true })
    expect((await node.app.request('/~attest@1.0/report&nonce=zz', { headers: json })).status).toBe(400)
  })

  it('attest=true gives a receipt for the same hashpath and result ID as the plain answer', async () => {
    const plain = await node.app.request('/~gpu-infer/run&model=tiny&prompt=receipt&max-tokens+integer=6', { headers: json })
    const attested = await node.app.request('/~gpu-infer/run&model=tiny&prompt=receipt&max-tokens+integer=6&attest=true', { headers: json })
    expect(plain.headers.get('ao-receipt')).toBeNull()
    expect([attested.headers.get('hashpath'), attested.headers.get('ao-id')]).toEqual([plain.headers.get('hashpath'), plain.headers.get('ao-id')])
    const receiptId = attested.headers.get('ao-receipt') ?? ''
    expect(receiptId).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const receipt = (await (await node.app.request(`/${receiptId}`, { headers: json })).json()) as Message
    expect(receipt).toMatchObject({ result: plain.headers.get('ao-id'), hashpath: plain.headers.get('hashpath') })
    const checked = await verify(receipt)
    expect(checked.valid).toBe(true)
    expect(checked.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['signature']))
  })

  it('a tampered receipt does not verify', async () => {
    const attested = await node.app.request('/~gpu-infer/run&model=tiny&prompt=tamper&max-tokens+integer=4&attest=true', { headers: json })
    const receipt = (await (await node.app.request(`/${attested.headers.get('ao-receipt')}`, { headers: json })).json()) as Message
    expect((await verify({ ...receipt, result: 'A'.repeat(43) })).valid).toBe(false)
  })

  it('streams carry the receipt in the final event; the OpenAI surface in a header', async () => {
    const res = await fetch(`${server.url}/~gpu-infer/run&model=tiny&prompt=s&max-tokens+integer=4&stream=true&attest=true`)
    const final = (await res.text()).split('\n\n').find((f) => f.startsWith('event: result')) ?? ''
    expect(JSON.parse(final.slice(final.indexOf('data: ') + 6))).toMatchObject({ receipt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
    const client = new OpenAI({ baseURL: `${server.url}/~gpu-infer@1.0/v1`, apiKey: 'unused', maxRetries: 0 })
    const { response } = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: 4, attest: true } as never).withResponse()
    expect(response.headers.get('ao-receipt')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('hashbeam measure prints the measurement and its parts', async () => {
    const res = await runCli(['measure', '--json', '--threads', '1'])
    expect(res.code).toBe(0)
    const out = JSON.parse(res.stdout) as { measurement: string; parts: Array<{ name: string }> }
    expect(out.measurement).toMatch(/^[0-9a-f]{64}$/)
    expect(out.parts.length).toBeGreaterThan(2)
  })
})

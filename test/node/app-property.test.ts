// Property: whatever path, query or body a client sends, the node answers with a success or a
// 4xx JSON error with a stable code — never a 5xx, never a crash — and keeps serving.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HashbeamNode } from '../../node/index.js'
import { testNode } from '../helpers/node.js'

let node: HashbeamNode
beforeAll(async () => { node = await testNode() })
afterAll(() => node.stop())

const pathChars = fc.constantFrom(...'/~@&=+().%_-abcxyz0123456789 '.split(''), '%2F', '%28', 'message@1.0', 'meta@1.0', 'set', 'keys', '+integer', '+list')
const pathText = fc.array(pathChars, { maxLength: 40 }).map((parts) => `/${parts.join('')}`)

async function checkAnswer(res: Response, path = ''): Promise<void> {
  expect(res.status).toBeLessThan(500)
  if (res.status >= 400) {
    const body = (await res.json()) as { code?: unknown; message?: unknown }
    expect(typeof body.code).toBe('string')
    expect(typeof body.message).toBe('string')
  } else if (path !== '/') {
    expect(res.headers.get('hashpath')).toBeTruthy()
  }
}

describe('HTTP properties', () => {
  it('random paths get a success or a typed 4xx', async () => {
    await fc.assert(fc.asyncProperty(pathText, async (path) => {
      let url: string
      try {
        url = new URL(path, 'http://x').pathname
      } catch {
        return
      }
      await checkAnswer(await node.app.request(url), url)
    }), { numRuns: 400 })
  })
  it('random JSON bodies get a success or a typed 4xx', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue(), async (json) => {
      await checkAnswer(await node.app.request('/~message@1.0/set/keys', {
        method: 'POST', body: JSON.stringify(json), headers: { 'content-type': 'application/json' },
      }))
    }), { numRuns: 200 })
  })
  it('random bytes as a CBOR body get a success or a typed 4xx', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
      await checkAnswer(await node.app.request('/~message@1.0/set/keys', {
        method: 'POST', body: bytes as BodyInit, headers: { 'content-type': 'application/cbor' },
      }))
    }), { numRuns: 200 })
  })
  it('still serves afterwards', async () => {
    expect(await (await node.app.request('/~message@1.0&ok=yes/ok')).text()).toBe('yes')
  })
})

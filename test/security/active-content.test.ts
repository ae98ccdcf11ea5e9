/**
 * Issue 11, item 8 (stored content served back): blobs were served with the uploader's
 * `content-type` on the node's own origin, so a stored `text/html` or `image/svg+xml` page ran
 * scripts as the node's origin.
 *
 * Now (node/store-http.ts): every blob answer says `x-content-type-options: nosniff` and
 * `content-security-policy: sandbox`; active types — HTML, SVG, XML, JavaScript, and anything
 * not known to be passive — are attachments. Passive types (images, plain text, JSON) stay inline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testNode } from '../helpers/node.js'

let node: Awaited<ReturnType<typeof testNode>>
beforeAll(async () => {
  node = await testNode({ config: { store: 'memory' } })
})
afterAll(() => node?.stop())

const SCRIPT = '<script>fetch("/~meta@1.0/info").then(r => r.text()).then(t => parent.postMessage(t, "*"))</script>'

const ACTIVE = [
  ['text/html', `<!doctype html><html><body>${SCRIPT}</body></html>`],
  ['text/html; charset=utf-8', `<html>${SCRIPT}</html>`],
  ['application/xhtml+xml', `<html xmlns="http://www.w3.org/1999/xhtml">${SCRIPT}</html>`],
  ['image/svg+xml', `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>`],
  ['text/xml', '<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>'],
  ['application/xml', '<?xml version="1.0"?><a/>'],
  ['application/javascript', 'alert(document.domain)'],
  ['text/javascript', 'alert(document.domain)'],
  ['application/pdf', '%PDF-1.4 /JS (app.alert(1))'],
  ['application/x-made-up', SCRIPT],
  ['TEXT/HTML', SCRIPT],
] as const
const PASSIVE = [
  ['image/png', '\x89PNG\r\n\x1a\n'],
  ['text/plain', `${SCRIPT} is only text here`],
  ['application/json', '{"a":1}'],
  ['application/octet-stream', SCRIPT],
  ['video/mp4', '....ftypmp42'],
] as const

async function upload(type: string, text: string): Promise<string> {
  const res = await node.app.request('/~store@1.0/put&kind=blob', { method: 'PUT', body: `${text}<!-- ${type} -->`, headers: { 'content-type': type, accept: 'application/json' } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { sha256: string }).sha256
}

/** The three ways a blob is downloaded, GET and HEAD. */
const downloads = (sha256: string) => [
  [`/~store@1.0/blob/${sha256}`, 'GET'], [`/~store@1.0/get&sha256=${sha256}`, 'GET'], [`/~store@1.0/blob/${sha256}`, 'HEAD'],
] as const

describe('blobs served on the node origin are made harmless', () => {
  it.each(ACTIVE)('%s is served with its type, but as a sandboxed attachment that is never sniffed', async (type, text) => {
    const sha256 = await upload(type, text)
    for (const [path, method] of downloads(sha256)) {
      const res = await node.app.request(path, { method })
      expect(res.status, `${method} ${path}`).toBe(200)
      expect(res.headers.get('content-type')).toBe(type)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-security-policy')).toBe('sandbox')
      expect(res.headers.get('content-disposition')).toBe('attachment')
    }
  })

  it.each(PASSIVE)('%s stays inline, sandboxed and never sniffed', async (type, text) => {
    const sha256 = await upload(type, text)
    for (const [path, method] of downloads(sha256)) {
      const res = await node.app.request(path, { method })
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-security-policy')).toBe('sandbox')
      expect(res.headers.get('content-disposition')).toBeNull()
    }
  })

  it('a range answer and a 304 carry the same protection', async () => {
    const sha256 = await upload('text/html', SCRIPT)
    const partial = await node.app.request(`/~store@1.0/blob/${sha256}`, { headers: { range: 'bytes=0-9' } })
    expect(partial.status).toBe(206)
    const unchanged = await node.app.request(`/~store@1.0/blob/${sha256}`, { headers: { 'if-none-match': `"${sha256}"` } })
    expect(unchanged.status).toBe(304)
    for (const res of [partial, unchanged]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-disposition')).toBe('attachment')
    }
  })
})

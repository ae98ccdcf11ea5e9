// The dashboard's routes without a browser: the built page for browsers (with its CSP), JSON for
// API clients at `/`, the device's `chain` key, and other names under the prefix left to the
// resolver.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HashbeamNode } from '../../node/index.js'
import { testNode } from '../helpers/node.js'
import { REPO_ROOT } from '../helpers/process.js'

let node: HashbeamNode
beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist/dashboard/index.html'))) throw new Error('dist/dashboard is missing: run `npm run build` (npm test does it first)')
  node = await testNode()
})
afterAll(() => node.stop())

const JSON_ACCEPT = { accept: 'application/json' }

describe('dashboard routes', () => {
  it('a browser at / gets the page under a strict CSP; an API client keeps the JSON', async () => {
    const page = await node.app.request('/', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe')
    const html = await page.text()
    expect(html).toMatch(/<script type="module" crossorigin src="\/~dashboard@1\.0\/assets\/[\w-]+\.js">/)
    expect(html).not.toMatch(/<script>|https?:\/\//) // no inline script, nothing from elsewhere
    const asset = /src="(\/~dashboard@1\.0\/assets\/[\w-]+\.js)"/.exec(html)![1]!
    const js = await node.app.request(asset)
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8'])
    expect(js.headers.get('cache-control')).toContain('immutable')
    for (const accept of ['application/json', '*/*', 'application/json, text/html']) {
      const api = await node.app.request('/', { headers: { accept } })
      expect(((await api.json()) as { devices: string[] }).devices).toContain('dashboard@1.0')
    }
  })

  it('chain lists the step records root first; other names under the prefix are the resolver\'s', async () => {
    const res = await node.app.request('/~message@1.0&a=1/set&b=2/set&c=3/c')
    const hashpath = res.headers.get('hashpath')!
    const chain = await node.app.request(`/~dashboard@1.0/chain&hashpath=${encodeURIComponent(hashpath)}`, { headers: JSON_ACCEPT })
    const body = (await chain.json()) as { truncated: boolean; steps: Array<{ key: string; hashpath: string }> }
    expect(body.steps.map((s) => s.key)).toEqual(['set', 'set', 'c'])
    expect([body.steps.at(-1)!.hashpath, body.truncated]).toEqual([hashpath, false])
    const limited = await node.app.request(`/~dashboard@1.0/chain&hashpath=${encodeURIComponent(hashpath)}&limit=2`, { headers: JSON_ACCEPT })
    expect(((await limited.json()) as { truncated: boolean; steps: unknown[] })).toMatchObject({ truncated: true, steps: [{}, {}] })
    const bad = await node.app.request('/~dashboard@1.0/chain&hashpath=nope', { headers: JSON_ACCEPT })
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'invalid-hashpath'])
    const info = await node.app.request('/~dashboard@1.0/info', { headers: JSON_ACCEPT })
    expect(((await info.json()) as { keys: string[] }).keys).toContain('chain')
  })
})

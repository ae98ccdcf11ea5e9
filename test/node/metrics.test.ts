// GET /metrics over real HTTP, parsed with a Prometheus text-format parser: counters move by
// exactly the requests made, label values stay bounded whatever clients send, and who may read
// the metrics follows --metrics (loopback, operator-signed, public, off).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type RunningServer } from '../../node/server.js'
import type { HashbeamNode } from '../../node/index.js'
import type { Wallet } from '../../identity/keys.js'
import { histogramCount, parseMetrics, sampleSum, seriesCount, type Scrape } from '../helpers/metrics.js'
import { testNode } from '../helpers/node.js'
import { nodeWithOwnOperator, signPrivileged, URL_BASE } from '../helpers/operator.js'

let node: HashbeamNode
let operator: Wallet
let server: RunningServer

beforeAll(async () => {
  ;({ node, operator } = await nodeWithOwnOperator())
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(() => server.close())

async function scrape(): Promise<Scrape & { text: string }> {
  const res = await fetch(`${server.url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  return Object.assign(parseMetrics(text), { text })
}

const HELLO = '/~message@1.0&hello=world/hello'

describe('/metrics', () => {
  it('counters move by exactly the requests made', async () => {
    const before = await scrape()
    for (let i = 0; i < 7; i++) expect((await fetch(server.url + HELLO)).status).toBe(200)
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/~no-such-device@1.0/x`)).status).toBe(404)
    const first = (await fetch(server.url + HELLO)).headers.get('hashpath')!
    const verify = await fetch(`${server.url}/~replay@1.0/verify&hashpath=${encodeURIComponent(first)}`, { headers: { accept: 'application/json' } })
    expect(((await verify.json()) as { valid: boolean }).valid).toBe(true)
    const after = await scrape()
    const moved = (name: string, labels: Record<string, string>) => sampleSum(after, name, labels) - sampleSum(before, name, labels)

    expect(moved('hashbeam_http_requests_total', { device: 'message@1.0', key: 'other', status: '200' })).toBe(8)
    const durations = { device: 'message@1.0', key: 'other' }
    expect(histogramCount(after.text, 'hashbeam_http_request_duration_seconds', durations) - histogramCount(before.text, 'hashbeam_http_request_duration_seconds', durations)).toBe(8)
    expect(after.get('hashbeam_http_request_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(moved('hashbeam_http_requests_total', { device: 'other', key: 'other', status: '404' })).toBe(3)
    expect(moved('hashbeam_http_requests_total', { device: 'replay@1.0', key: 'verify', status: '200' })).toBe(1)
    // The scrape before this one, counted under its own label.
    expect(moved('hashbeam_http_requests_total', { device: 'metrics', key: 'metrics', status: '200' })).toBe(1)
    // One resolver step per hello request, wherever its answer came from.
    expect(moved('hashbeam_resolver_steps_total', { device: 'message@1.0' })).toBe(8)
    expect(moved('hashbeam_verify_runs_total', { kind: 'verify', outcome: 'valid' })).toBe(1)
    expect(sampleSum(after, 'hashbeam_ledger_writes_total', { kind: 'step' })).toBeGreaterThan(0)
    expect(histogramCount(after.text, 'hashbeam_store_operation_duration_seconds', { backend: 'memory', op: 'batch' })).toBeGreaterThan(0)
    expect(after.get('hashbeam_process_cpu_seconds_total')?.type).toBe('COUNTER')
  })

  it('label values stay bounded: unknown devices and keys collapse into "other"', async () => {
    const before = await scrape()
    for (let i = 0; i < 40; i++) {
      await fetch(`${server.url}/~dev${i}@1.0/k${i}`)
      await fetch(`${server.url}/~message@1.0&k${i}=v/k${i}`)
      await fetch(`${server.url}/~meta@1.0/key${i}`)
    }
    const after = await scrape()
    const growth = seriesCount(after, 'hashbeam_http_requests_total') - seriesCount(before, 'hashbeam_http_requests_total')
    // At most a handful of new (device, key, status) triples, never one per request.
    expect(growth).toBeLessThanOrEqual(4)
    const text = [...after.values()].flatMap((f) => f.metrics.map((m) => JSON.stringify(m.labels ?? {}))).join('\n')
    expect(text).not.toMatch(/dev\d|k\d+|key\d/)
  })

  it('off a loopback address, only a signed operator request reads them (each signature once)', async () => {
    // app.request has no socket: it stands for a remote client.
    const anonymous = await node.app.request('/metrics')
    expect([anonymous.status, ((await anonymous.json()) as { code: string }).code]).toEqual([403, 'signature-required'])
    const signed = signPrivileged(operator, { method: 'GET', url: `${URL_BASE}/metrics` })
    const ok = await node.app.request(`${URL_BASE}/metrics`, signed)
    expect(ok.status).toBe(200)
    expect(parseMetrics(await ok.text()).has('hashbeam_http_requests_total')).toBe(true)
    const again = await node.app.request(`${URL_BASE}/metrics`, signed)
    expect([again.status, ((await again.json()) as { code: string }).code]).toEqual([403, 'signature-replayed'])
  })
})

describe('--metrics', () => {
  it('operator refuses even loopback clients; public serves anyone; off has no route', async () => {
    const strict = await testNode({ config: { metrics: 'operator' } })
    const served = await listen(strict, 0, '127.0.0.1')
    try {
      expect((await fetch(`${served.url}/metrics`)).status).toBe(403)
    } finally {
      await served.close()
    }
    const open = await testNode({ config: { metrics: 'public' } })
    expect((await open.app.request('/metrics')).status).toBe(200)
    await open.stop()
    const off = await testNode({ config: { metrics: 'off' } })
    const res = await off.app.request('/metrics')
    expect(res.headers.get('content-type') ?? '').not.toMatch(/version=0\.0\.4/)
    expect(off.metrics).toBeUndefined()
    await off.stop()
  })
})

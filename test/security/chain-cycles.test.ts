/**
 * Issue 11, item 4: hostile chains stalled the node. Two records whose bases point at each other
 * made `verify` walk a million steps without yielding; three such requests took the node offline
 * for over a minute. Now every walk over a chain (core/walk.ts) detects cycles (Brent), stops at
 * its limit, and gives the event loop a turn every few milliseconds: verify and replay report
 * `chain-cycle`, export refuses with 422 `chain-cycle`, and a health probe keeps answering.
 *
 * The records are written straight into the node's store: that is what an import did on main
 * (import now checks chains before writing, test/security/car-import.test.ts), and what a store
 * shared with another process may hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeStep, type StepRecord } from '../../core/ledger.js'
import { idOf } from '../../core/id.js'
import { stepKey } from '../../core/store.js'
import { testNode } from '../helpers/node.js'
import { LOOP_DELAY_LIMIT_MS, STALL_LIMIT_MS, startProbe, underProbe, type ProbeReport } from './helpers/loop-probe.js'

let node: Awaited<ReturnType<typeof testNode>>
beforeAll(async () => { node = await testNode() })
afterAll(async () => { await node?.stop() })

const probe = () => startProbe(async (signal) => node.app.request('/~meta@1.0/info/address', { signal }), { inProcess: true })
const hashpathNo = (i: number): string => `${idOf({ forged: i })}/k`

/** A sealed record at `hashpath` whose base is `base` (nothing else it names exists). */
const forged = (hashpath: string, base: string): StepRecord => ({
  hashpath, base, request: idOf({ request: hashpath }), device: 'message@1.0', key: 'k', result: idOf({ result: hashpath }),
  deterministic: true, alg: 'sha-256-chain', writer: node.address,
})

async function write(records: StepRecord[]): Promise<void> {
  await node.store.batch(records.map((r) => ({ type: 'put' as const, key: stepKey(r.hashpath), value: encodeStep(r) })))
}

const get = async (path: string) => {
  const res = await node.app.request(path, { headers: { accept: 'application/json' } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

function expectResponsive(report: ProbeReport): void {
  expect(report.failures).toEqual([])
  expect(report.worstMs, JSON.stringify(report)).toBeLessThan(STALL_LIMIT_MS)
  expect(report.loopDelayMaxMs ?? 0, JSON.stringify(report)).toBeLessThan(LOOP_DELAY_LIMIT_MS)
}

describe('hostile chains (issue 11 item 4)', () => {
  it('two records whose bases point at each other: verify, replay and export stop at once with chain-cycle, the node keeps answering', async () => {
    const [a, b] = [hashpathNo(1), hashpathNo(2)]
    await write([forged(a, b), forged(b, a)])
    const q = encodeURIComponent(a)
    const { result, report } = await underProbe(probe(), () => Promise.all([
      get(`/~replay@1.0/verify&hashpath=${q}`), get(`/~replay@1.0/verify&hashpath=${q}`), get(`/~replay@1.0/verify&hashpath=${q}`),
      get(`/~replay@1.0/replay&hashpath=${q}`), get(`/~replay@1.0/export&hashpath=${q}`),
    ]))
    const [v1, v2, v3, replay, exported] = result
    for (const v of [v1, v2, v3]) expect(v).toMatchObject({ status: 200, body: { valid: false, failure: { reason: 'chain-cycle' } } })
    expect(replay).toMatchObject({ status: 200, body: { steps: 0, ledger: { valid: false, reason: 'chain-cycle' } } })
    expect(exported).toMatchObject({ status: 422, body: { code: 'chain-cycle' } })
    expectResponsive(report)
  })

  it('a cycle behind a long tail (a record pointing back into its own chain) is found too', async () => {
    const n = 2_000
    const records = Array.from({ length: n }, (_, i) => forged(hashpathNo(1_000 + i), hashpathNo(1_000 + ((i + 1) % n === 0 ? 500 : i + 1))))
    await write(records)
    const { body } = await get(`/~replay@1.0/verify&hashpath=${encodeURIComponent(records[0]!.hashpath)}`)
    expect(body).toMatchObject({ valid: false, failure: { reason: 'chain-cycle' } })
  })

  it('a forged 30,000-record chain, verified three times at once, is walked to its end while the node keeps answering (the walk yields)', async () => {
    const n = 30_000
    const records: StepRecord[] = []
    for (let i = 0; i < n; i++) records.push(forged(hashpathNo(10_000 + i), i + 1 < n ? hashpathNo(10_001 + i) : idOf({ root: true })))
    for (let i = 0; i < n; i += 10_000) await write(records.slice(i, i + 10_000))
    const q = encodeURIComponent(records[0]!.hashpath)
    const { result, report } = await underProbe(probe(), () => Promise.all([1, 2, 3].map(() => get(`/~replay@1.0/verify&hashpath=${q}`))))
    // Every record is read; the messages they name do not exist, so the chain is not valid.
    for (const { status, body } of result) expect([status, body.valid, body.steps]).toEqual([200, false, n])
    expectResponsive(report)
  }, 60_000)
})

// core/walk.ts: the bounded chain walker (Brent's cycle detection, a step limit, turns of the loop).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chainWalker } from '../../core/walk.js'

/** Walks the functional graph `next` from `start` until it ends (undefined) or the walker stops it. */
function walkGraph(next: (n: number) => number | undefined, start: number, maxSteps = 1_000_000): { steps: number; code?: string } {
  const walk = chainWalker(`n${start}`, { maxSteps })
  let at: number | undefined = start
  try {
    for (;;) {
      at = next(at)
      if (at === undefined) return { steps: walk.steps }
      walk.next(`n${at}`)
    }
  } catch (err) {
    return { steps: walk.steps, code: (err as { code: string }).code }
  }
}

describe('chainWalker', () => {
  it('walks a chain without a cycle to its end, counting every hashpath', () => {
    expect(walkGraph((n) => (n < 9 ? n + 1 : undefined), 0)).toEqual({ steps: 10 })
  })

  it('a self-loop and a two-record cycle are caught at once (422 chain-cycle)', () => {
    expect(walkGraph((n) => n, 0).code).toBe('chain-cycle')
    const two = walkGraph((n) => (n === 0 ? 1 : 0), 0)
    expect(two).toMatchObject({ code: 'chain-cycle' })
    expect(two.steps).toBeLessThan(5)
  })

  it('any tail and cycle length: the cycle is found within 3·(tail + cycle) + 2 steps (Brent bound), never past it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 1, max: 3_000 }), (tail, cycle) => {
      // 0 … tail-1 lead into the cycle tail … tail+cycle-1, which loops back to `tail`.
      const next = (n: number) => (n + 1 < tail + cycle ? n + 1 : tail)
      const { steps, code } = walkGraph(next, 0)
      expect(code).toBe('chain-cycle')
      expect(steps).toBeLessThanOrEqual(3 * (tail + cycle) + 2)
    }), { numRuns: 200 })
  })

  it('stops a long chain at the limit (422 chain-too-long), and a chain of exactly the limit passes', () => {
    expect(walkGraph((n) => n + 1, 0, 1_000)).toEqual({ steps: 1_000, code: 'chain-too-long' })
    expect(walkGraph((n) => (n < 999 ? n + 1 : undefined), 0, 1_000)).toEqual({ steps: 1_000 })
    let refusal: unknown
    try { walkGraph((n) => n + 1, 0, 10); chainWalker('a', { maxSteps: 1 }).next('b') } catch (err) { refusal = err }
    expect(refusal).toMatchObject({ status: 422, code: 'chain-too-long' })
  })

  it('asks for a turn of the event loop once yieldEveryMs has passed, and pause gives one', async () => {
    const walk = chainWalker('a', { yieldEveryMs: 0 })
    let due = 0
    for (let i = 0; i < 64; i++) if (walk.due()) due++
    expect(due).toBe(2) // the clock is read every 32 steps
    let timerRan = false
    setTimeout(() => { timerRan = true }, 0)
    await new Promise((done) => setTimeout(done, 2))
    timerRan = false
    setImmediate(() => { timerRan = true })
    await walk.pause()
    expect(timerRan).toBe(true)
  })
})

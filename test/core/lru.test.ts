import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLru } from '../../core/lru.js'

describe('lru: recently used entries', () => {
  it('always keeps the `limit` most recently used keys, and at most twice that many', () => {
    const ops = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { maxLength: 300 })
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), ops, (limit, steps) => {
      const lru = createLru<number, number>(limit)
      const recent: number[] = [] // most recent last, as a model
      const touch = (k: number) => {
        const at = recent.indexOf(k)
        if (at !== -1) recent.splice(at, 1)
        recent.push(k)
      }
      const values = new Map<number, number>()
      for (const [isSet, key] of steps) {
        if (isSet) {
          lru.set(key, key * 10)
          values.set(key, key * 10)
          touch(key)
        } else {
          const got = lru.get(key)
          if (got !== undefined) {
            expect(got).toBe(values.get(key))
            touch(key)
          }
        }
        for (const k of recent.slice(-limit)) expect(lru.get(k)).toBe(values.get(k))
        // the reads above count as uses in the same order: the model is unchanged by them
        expect(lru.size).toBeLessThanOrEqual(2 * limit)
      }
    }), { numRuns: 200 })
  })

  it('holds nothing with a limit of 0', () => {
    const lru = createLru<string, number>(0)
    lru.set('a', 1)
    expect(lru.get('a')).toBeUndefined()
    expect(lru.size).toBe(0)
  })
})

/**
 * The pure parts of routing: the circuit breaker's states over a pinned clock, and the
 * strategies' orders (every node returned, best first).
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createBreakers, orderNodes, summarize, type Candidate } from '../../../devices/router/index.js'

describe('circuit breaker', () => {
  it('opens after 3 failures, half-opens for one probe after the cooldown, closes on its success', () => {
    let t = 0
    const b = createBreakers({ threshold: 3, cooldownMs: 1000, now: () => t })
    b.failure('n')
    b.failure('n')
    expect(b.allow('n')).toBe(true)
    b.failure('n')
    expect([b.state('n'), b.allow('n')]).toEqual(['open', false])
    t = 1000
    expect(b.state('n')).toBe('half-open')
    expect(b.allow('n')).toBe(true)     // the probe
    expect(b.allow('n')).toBe(false)    // one at a time
    b.failure('n')                      // the probe failed: open for twice as long
    t = 2500
    expect(b.state('n')).toBe('open')
    t = 3000
    expect(b.allow('n')).toBe(true)
    b.success('n')
    expect([b.state('n'), b.allow('n'), b.allow('n')]).toEqual(['closed', true, true])
  })
})

const nodes: Candidate[] = ['a', 'b', 'c', 'd'].map((address, i) => ({ address, url: `http://${address}`, weight: i + 1, inFlight: 0 }))

describe('strategies', () => {
  it('return every node; By-Base and Nearest are stable for a key, Least-Loaded prefers the idle', () => {
    for (const s of ['All', 'Random', 'By-Base', 'By-Weight', 'Nearest', 'Least-Loaded'] as const) {
      expect(orderNodes(s, nodes, { key: '/x' }).map((n) => n.address).sort()).toEqual(['a', 'b', 'c', 'd'])
    }
    for (const s of ['By-Base', 'Nearest'] as const) {
      const first = orderNodes(s, nodes, { key: '/k' })
      expect(orderNodes(s, [...nodes].reverse(), { key: '/k' })).toEqual(first)
    }
    const busy = nodes.map((n) => (n.address === 'c' ? n : { ...n, inFlight: 2 }))
    expect(orderNodes('Least-Loaded', busy, { key: '/x' })[0]?.address).toBe('c')
    const full = nodes.map((n) => ({ ...n, load: { queued: n.address === 'c' ? 8 : 1, running: 0, maxQueue: 8 } }))
    expect(orderNodes('Least-Loaded', full, { key: '/x' }).map((n) => n.address)).not.toContain('c')
  })

  it('By-Base is HyperBEAM\'s pick: sha256(key) as a big-endian integer mod N, then around the ring', () => {
    for (let n = 1; n <= 7; n++) {
      const list: Candidate[] = Array.from({ length: n }, (_, i) => ({ address: `n${i}`, url: `http://n${i}`, weight: 1, inFlight: 0 }))
      for (let k = 0; k < 50; k++) {
        const key = `/~message@1.0&k=${k}/k`
        const first = Number(BigInt(`0x${createHash('sha256').update(key).digest('hex')}`) % BigInt(n))
        const order = orderNodes('By-Base', list, { key }).map((c) => c.address)
        expect(order).toEqual([...list.slice(first), ...list.slice(0, first)].map((c) => c.address))
      }
    }
  })

  it('By-Weight picks in proportion to weight', () => {
    let seed = 1
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 }
    for (let i = 0; i < 4000; i++) counts[orderNodes('By-Weight', nodes, { key: '', random })[0]!.address]! += 1
    expect(counts.d! / counts.a!).toBeGreaterThan(2.5)
    expect(counts.d! / counts.a!).toBeLessThan(6)
  })

  it('summarize reads the device, segment keys and query keys of a target', () => {
    expect(summarize('get', '/~gpu-infer@1.0/run&model=tiny&max-tokens+integer=4?stream=true').keys).toEqual({
      method: 'GET', path: '/~gpu-infer@1.0/run&model=tiny&max-tokens+integer=4', device: 'gpu-infer@1.0', model: 'tiny', 'max-tokens': '4', stream: 'true',
    })
  })
})

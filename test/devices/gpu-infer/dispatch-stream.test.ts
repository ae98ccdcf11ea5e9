// The pool's continuity rules (devices/gpu-infer/dispatch-stream.ts): a worker taking over a job
// must reproduce what was already streamed before publishing more, and the dispatcher forwards
// each character once; plus the pool numbers a worker's router heartbeat carries.
import fc from 'fast-check'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { continuation, forwarder } from '../../../devices/gpu-infer/dispatch-stream.js'
import { createHashCache } from '../../../devices/gpu-infer/index.js'
import { offerSource } from '../../../devices/router/offer-source.js'
import { tempDir } from '../../helpers/node.js'

/** Splits a text into pieces at the given cut points. */
const cut = (text: string, at: number[]): string[] => {
  const points = [...new Set(at.map((a) => a % (text.length + 1)))].sort((a, b) => a - b)
  const out: string[] = []
  let from = 0
  for (const p of points) { out.push(text.slice(from, p)); from = p }
  out.push(text.slice(from))
  return out.filter((p) => p !== '')
}

describe('continuation of a streamed job', () => {
  it('publishes exactly the part past the prefix, however both runs split their text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), fc.nat({ max: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (text, k, cuts) => {
      const published = text.slice(0, k)
      const c = continuation(published)
      let fresh = ''
      let at = published.length
      for (const piece of cut(text, cuts)) {
        const step = c.push(piece)
        expect(step.kind).not.toBe('fault')
        if (step.kind === 'fresh') { expect(step.at).toBe(at); fresh += step.text; at += step.text.length }
      }
      expect(c.finish()).toBeUndefined()
      expect(published + fresh).toBe(text)
    }))
  })

  it('names a determinism fault at the first differing character, or when the rerun ends short', () => {
    const c = continuation('hello world')
    expect(c.push('hello')).toEqual({ kind: 'replayed' })
    expect(c.push(' wo')).toEqual({ kind: 'replayed' })
    expect(c.push('nder')).toMatchObject({ kind: 'fault', at: 8, published: 'rld', reproduced: 'nder' })
    expect(c.push('more')).toEqual({ kind: 'replayed' }) // nothing is published after a fault
    const short = continuation('abc')
    short.push('ab')
    expect(short.finish()).toMatchObject({ kind: 'fault', at: 2 })
  })

  it('forwards each character once, in order, whichever run sent it', () => {
    const f = forwarder()
    expect(f.accept(0, 'hel')).toBe('hel')
    expect(f.accept(0, 'hello')).toBe('lo') // a rerun's overlapping event
    expect(f.accept(3, 'lo')).toBe('')
    expect(f.accept(5, ' you')).toBe(' you')
    expect(f.accept(20, 'gap')).toBeUndefined()
    expect(f.sentCount()).toBe(9)
  })
})

describe('router heartbeat', () => {
  it('carries the pool numbers of each model beside the engine queue', async () => {
    const dir = tempDir()
    try {
      const file = join(dir.dir, 'tiny.gguf')
      writeFileSync(file, 'weights') // the offer names the file by its sha256; its content is not read as a model
      const offer = offerSource({
        models: { tiny: file }, hashCache: createHashCache(), devices: () => ['gpu-infer@1.0'], parallel: 1, maxQueue: 8,
        engineStats: () => [{ name: 'tiny', running: 1, waiting: 0 }],
        poolLoad: () => ({ tiny: { 'pool-waiting': 3, 'pool-in-flight': 2, 'pool-workers': 2, 'pool-oldest-wait-ms': 40 } }),
      })
      expect((await offer()).load.models.tiny).toEqual({
        queued: 0, running: 1, 'max-queue': 8, 'pool-waiting': 3, 'pool-in-flight': 2, 'pool-workers': 2, 'pool-oldest-wait-ms': 40,
      })
    } finally {
      dir.cleanup()
    }
  })
})

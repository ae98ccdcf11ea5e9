/**
 * The per-model work queue and the registry's pure parts (hash cache, LRU choice, lookup).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createQueue } from '../../../devices/gpu-infer/queue.js'
import { generateGguf } from '../../../devices/gpu-infer/gguf.js'
import { createHashCache, createModelRegistry, pickEvictions, sha256File } from '../../../devices/gpu-infer/models.js'
import { modelDir, rejection, type ModelDir } from './fixtures.js'

/** A promise with its resolve exposed, to hold a task open. */
function gate() {
  let open!: () => void
  const p = new Promise<void>((r) => { open = r })
  return { p, open }
}

describe('createQueue', () => {
  it('runs tasks one at a time, in order', async () => {
    const q = createQueue({ maxQueue: 5, name: 'm', initialEstimateSeconds: 1 })
    const order: string[] = []
    let inside = 0
    const task = (id: string) => async () => {
      inside++
      expect(inside).toBe(1)
      order.push(id)
      await new Promise((r) => setTimeout(r, 5))
      inside--
      return id
    }
    expect(await Promise.all(['a', 'b', 'c'].map((id) => q.run(task(id))))).toEqual(['a', 'b', 'c'])
    expect(order).toEqual(['a', 'b', 'c'])
    expect(q.busy).toBe(false)
  })

  it('rejects with 503 queue-full and a retry hint past maxQueue', async () => {
    const q = createQueue({ maxQueue: 1, name: 'm', initialEstimateSeconds: 3 })
    const g = gate()
    const running = q.run(() => g.p)
    const waiting = q.run(async () => 'second')
    const err = await rejection(q.run(async () => 'third'))
    expect(err).toMatchObject({ status: 503, code: 'queue-full' })
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(q.waiting).toBe(1)
    g.open()
    await running
    expect(await waiting).toBe('second')
  })

  it('maxQueue 0 allows only the running task', async () => {
    const q = createQueue({ maxQueue: 0, name: 'm', initialEstimateSeconds: 1 })
    const g = gate()
    const running = q.run(() => g.p)
    expect((await rejection(q.run(async () => 1))).code).toBe('queue-full')
    g.open()
    await running
    expect(await q.run(async () => 2)).toBe(2)
  })

  it('an aborted waiter leaves the queue; drain fails the rest', async () => {
    const q = createQueue({ maxQueue: 3, name: 'm', initialEstimateSeconds: 1 })
    const g = gate()
    const running = q.run(() => g.p)
    const ac = new AbortController()
    const aborted = q.run(async () => 'never', { signal: ac.signal })
    const drained = q.run(async () => 'never')
    ac.abort(new Error('client left'))
    await expect(aborted).rejects.toThrow('client left')
    expect(q.waiting).toBe(1)
    q.drain(new Error('closing'))
    await expect(drained).rejects.toThrow('closing')
    g.open()
    await running
  })
})

describe('model registry', () => {
  let dir: ModelDir
  let file: string
  beforeAll(async () => {
    dir = await modelDir()
    file = join(dir.dir, 'm.bin')
    await writeFile(file, generateGguf({ size: 'tiny', seed: 3 }))
  })
  afterAll(async () => { await dir.cleanup() })

  it('hashes by streaming and caches by (path, size, mtime)', async () => {
    const cache = createHashCache()
    const reg = createModelRegistry({ hashCache: cache })
    const rec = await reg.add('m', file)
    expect(rec.sha256).toBe(createHash('sha256').update(await readFile(file)).digest('hex'))
    expect(await sha256File(file)).toBe(rec.sha256)
    expect(cache.stats()).toEqual({ hits: 0, misses: 1 })
    await createModelRegistry({ hashCache: cache }).add('again', file)
    expect(cache.stats()).toEqual({ hits: 1, misses: 1 })
    await utimes(file, new Date(), new Date(Date.now() + 5000))
    await reg.refresh('m')
    expect(cache.stats()).toEqual({ hits: 1, misses: 2 })
  })

  it('resolves by name or sha256 only; anything else is 404 unknown-model', async () => {
    const reg = createModelRegistry({ hashCache: createHashCache() })
    const rec = await reg.add('m', file)
    expect(reg.resolve('m').name).toBe('m')
    expect(reg.resolve(rec.sha256).name).toBe('m')
    expect(reg.resolve(rec.sha256.toUpperCase()).name).toBe('m')
    for (const ref of [file, '../m', 'nope', rec.sha256.slice(1)]) {
      expect(() => reg.resolve(ref)).toThrow(expect.objectContaining({ status: 404, code: 'unknown-model' }))
    }
    await expect(reg.add('bad name', file)).rejects.toMatchObject({ code: 'invalid-model-name' })
    await expect(reg.add('x', join(dir.dir, 'missing.gguf'))).rejects.toMatchObject({ status: 404, code: 'model-file-missing' })
    await expect(reg.add('m', join(dir.dir, 'other'))).rejects.toMatchObject({ code: 'duplicate-model' })
    for (const [name, bytes] of [['short', 'GGUF'], ['magic', 'NOPE'.repeat(10)], ['version', 'GGUF' + 'x'.repeat(40)]] as const) {
      await writeFile(join(dir.dir, name), bytes)
      await expect(reg.add(name, join(dir.dir, name))).rejects.toMatchObject({ status: 422, code: 'invalid-gguf' })
    }
  })

  it('picks least recently used idle models to unload', () => {
    const loaded = [
      { name: 'a', bytes: 40, lastUsed: 3, busy: false },
      { name: 'b', bytes: 40, lastUsed: 1, busy: true },
      { name: 'c', bytes: 40, lastUsed: 2, busy: false },
    ]
    expect(pickEvictions(loaded, 40, 1000)).toEqual([])
    expect(pickEvictions(loaded, 40, 120)).toEqual(['c'])
    expect(pickEvictions(loaded, 40, 80)).toEqual(['c', 'a'])
    expect(pickEvictions(loaded, 40, 10)).toEqual(['c', 'a']) // b is busy: over budget, not refused
  })
})

/**
 * The engine's model management with real llama.cpp: profile, identity (sha256, cached and
 * re-checked at load), lazy loading with progress, LRU unloading past the memory budget, the
 * bounded queue (503) and close().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHashCache } from '../../../devices/gpu-infer/models.js'
import { writeGguf } from '../../../devices/gpu-infer/gguf.js'
import { ggufChunks } from '../../../devices/gpu-infer/gguf-writer.js'
import { modelDir, rejection, testEngine, type ModelDir } from './fixtures.js'

let dir: ModelDir
let paths: { a: string; b: string; c: string }
const closers: Array<{ close(): Promise<void> }> = []
const engine = (over: Parameters<typeof testEngine>[0] = {}) => {
  const e = testEngine(over)
  closers.push(e)
  return e
}
const fileSha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex')

beforeAll(async () => {
  dir = await modelDir()
  paths = {
    a: await dir.make('a', { size: 'tiny', seed: 11 }),
    b: await dir.make('b', { size: 'tiny', seed: 12 }),
    c: await dir.make('c', { size: 'tiny', seed: 13 }),
  }
})

afterAll(async () => {
  for (const c of closers) await c.close()
  await dir?.cleanup()
})

describe('profile', () => {
  it('is unavailable before init and describes the runtime after', async () => {
    const e = engine({ contextSize: 300, batchSize: 128 })
    expect(() => e.profile()).toThrow(expect.objectContaining({ status: 503, code: 'engine-not-ready' }))
    const p = await e.init()
    expect(e.profile()).toEqual(p)
    expect(p).toMatchObject({
      backend: 'cpu', gpu: null, gpuLayers: 0, threads: 1, batchSize: 128, flashAttention: false,
      contextSize: 512, sequencesPerContext: 1, binary: 'prebuilt', nodeLlamaCpp: '3.21.1',
    })
    expect(p.llamaCppBuild).toMatch(/llama\.cpp@/)
    expect(typeof p.cpuVariant === 'string' || p.cpuVariant === null).toBe(true)
  })

  it('rejects options that would hang or crawl', () => {
    expect(() => testEngine({ threads: 0 })).toThrow(/threads/)
    expect(() => testEngine({ maxQueue: -1 })).toThrow(/maxQueue/)
    expect(() => testEngine({ gpu: 'tpu' as never })).toThrow(/gpu/)
  })
})

describe('identity', () => {
  it('names models by the sha256 of their bytes, hashing each file once', async () => {
    const cache = createHashCache()
    const e1 = engine({ hashCache: cache })
    const e2 = engine({ hashCache: cache })
    const info = await e1.addModel('a', paths.a)
    expect(info).toEqual({ name: 'a', sha256: await fileSha(paths.a), bytes: (await stat(paths.a)).size, loaded: false })
    await e2.addModel('a', paths.a)
    expect(cache.stats()).toEqual({ hits: 1, misses: 1 })
    // By sha256 as well as by name; the result names the weights that ran.
    const r = await e1.complete({ model: info.sha256, prompt: 'hi', maxTokens: 3 })
    expect(r.model).toEqual({ name: 'a', sha256: info.sha256, bytes: info.bytes })
    expect(e1.resolveModel(info.sha256)).toEqual(r.model)
    expect(() => e1.resolveModel(paths.b)).toThrow(expect.objectContaining({ code: 'unknown-model' }))
  })

  it('re-hashes a model file that changed before it is loaded', async () => {
    const e = engine({ hashCache: createHashCache() })
    const path = await dir.make('mutable', { size: 'tiny', seed: 21 })
    const before = await e.addModel('m', path)
    await writeGguf(path, { size: 'tiny', seed: 22 })
    await utimes(path, new Date(), new Date(Date.now() + 10_000)) // same size: only the mtime tells
    const r = await e.complete({ model: 'm', prompt: 'hi', maxTokens: 3 })
    expect(r.model.sha256).not.toBe(before.sha256)
    expect(r.model.sha256).toBe(await fileSha(path))
    expect(e.listModels()[0]).toMatchObject({ sha256: r.model.sha256, loaded: true })
  })

  it('uses the only model when a request names none', async () => {
    const e = engine()
    await e.addModel('a', paths.a)
    expect((await e.complete({ prompt: 'hi', maxTokens: 2 })).model.name).toBe('a')
    await e.addModel('b', paths.b)
    expect(await rejection(e.complete({ prompt: 'hi' }))).toMatchObject({ status: 400, code: 'model-required' })
  })
})

describe('loading', () => {
  it('loads lazily, preloads with progress, and unloads least recently used past the budget', async () => {
    const size = (await stat(paths.a)).size
    const e = engine({ memoryBudgetBytes: Math.floor(size * 2.5) }) // room for two tiny models
    for (const [n, p] of Object.entries(paths)) await e.addModel(n, p)
    expect(e.listModels().map((m) => m.loaded)).toEqual([false, false, false])
    const progress: number[] = []
    await e.preload('a', { onProgress: (f) => progress.push(f) })
    expect(progress.at(-1)).toBe(1)
    expect(e.log.entries.some((x) => x.msg === 'gpu-infer: load progress')).toBe(true)
    const first = await e.complete({ model: 'b', prompt: 'hi', maxTokens: 2 })
    expect(first.timings.loadMs).toBeGreaterThan(0)
    expect((await e.complete({ model: 'b', prompt: 'hi', maxTokens: 2 })).timings.loadMs).toBe(0)
    await e.complete({ model: 'a', prompt: 'hi', maxTokens: 2 }) // a is now the most recent
    await e.complete({ model: 'c', prompt: 'hi', maxTokens: 2 }) // evicts b, the least recent
    expect(Object.fromEntries(e.listModels().map((m) => [m.name, m.loaded]))).toEqual({ a: true, b: false, c: true })
    expect(e.log.entries.some((x) => x.msg === 'gpu-infer: model unloaded' && (x.obj as { model?: string }).model === 'b')).toBe(true)
    expect(await e.unload('c')).toBe(true)
    expect(await e.unload('c')).toBe(false)
  })

  it('refuses malformed GGUF files up front (422), reports one llama.cpp cannot load as 500, then keeps serving', async () => {
    const e = engine()
    const junk = join(dir.dir, 'junk.gguf')
    // "GGUF" then garbage: node-llama-cpp's own reader would spin forever on this one.
    await writeFile(junk, 'GGUF but not really a model')
    expect(await rejection(e.addModel('junk', junk))).toMatchObject({ status: 422, code: 'invalid-gguf' })
    const truncated = join(dir.dir, 'truncated.gguf')
    await writeFile(truncated, (await readFile(paths.a)).subarray(0, 100_000))
    const refused = await rejection(e.addModel('truncated', truncated))
    expect(refused).toMatchObject({ status: 422, code: 'invalid-gguf' })
    expect(JSON.stringify(refused) + String(refused)).not.toContain(dir.dir) // names the model, never the path
    // Well-formed, but of an architecture llama.cpp does not know: only loading can tell.
    const alien = join(dir.dir, 'alien.gguf')
    await writeFile(alien, Buffer.concat([...ggufChunks([['general.architecture', { type: 'string', value: 'no-such-arch' }]], [])]))
    await e.addModel('alien', alien)
    await e.addModel('a', paths.a)
    expect(await rejection(e.complete({ model: 'alien', prompt: 'hi' }))).toMatchObject({ status: 500, code: 'model-load-failed' })
    expect((await e.complete({ model: 'a', prompt: 'hi', maxTokens: 2 })).usage.completionTokens).toBe(2)
    // node-llama-cpp leaks a dispose guard on a failed load; close() must finish anyway.
    await e.close()
    expect(e.log.entries.some((x) => JSON.stringify(x).includes('engine closed'))).toBe(true)
  })
})

describe('queue', () => {
  it('answers 503 queue-full with retryAfterSeconds beyond maxQueue, then serves again', async () => {
    const e = engine({ maxQueue: 1 })
    await e.addModel('a', paths.a)
    await e.preload('a')
    const ac = new AbortController()
    let started!: () => void
    const isRunning = new Promise<void>((r) => { started = r })
    const long = e.complete({ model: 'a', prompt: 'Once', maxTokens: 400, signal: ac.signal, onToken: () => started() })
    await isRunning
    const waiting = e.complete({ model: 'a', prompt: 'Once', maxTokens: 4 })
    const err = await rejection(e.complete({ model: 'a', prompt: 'Once', maxTokens: 4 }))
    expect(err).toMatchObject({ status: 503, code: 'queue-full' })
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(e.stats()).toEqual([{ name: 'a', loaded: true, running: 1, waiting: 1 }])
    ac.abort()
    expect((await long).finishReason).toBe('abort')
    expect((await waiting).finishReason).toBe('length')
    expect((await e.complete({ model: 'a', prompt: 'Once', maxTokens: 4 })).usage.completionTokens).toBe(4)
  })
})

describe('close', () => {
  it('stops running work, is idempotent, and refuses new work with 503', async () => {
    const e = engine({ maxQueue: 2 })
    await e.addModel('a', paths.a)
    let started!: () => void
    const isRunning = new Promise<void>((r) => { started = r })
    const running = e.complete({ model: 'a', prompt: 'Once', maxTokens: 400, onToken: () => started() })
    await isRunning
    const queued = rejection(e.complete({ model: 'a', prompt: 'Once', maxTokens: 4 }))
    await Promise.all([e.close(), e.close()])
    expect((await running).finishReason).toBe('abort')
    expect(await queued).toMatchObject({ status: 503, code: 'engine-closed' })
    expect(await rejection(e.complete({ model: 'a', prompt: 'hi' }))).toMatchObject({ status: 503, code: 'engine-closed' })
    await e.close()
  })
})

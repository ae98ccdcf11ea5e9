/**
 * Issue 11, item 8 (stored models): `run&model=<sha256>` copied any blob (GGUF or not) into the
 * data dir before checking its header and never removed it; concurrent first uses of one
 * stored model raced on a temporary file (500); a malformed GGUF was a 500 whose message showed
 * the absolute data-dir path.
 *
 * Now (devices/gpu-infer/stored-models.ts, gguf-check.ts): checked in the store before any copy,
 * copied once (concurrent first uses share it), removed when llama.cpp cannot load it, and
 * refused with 422 `invalid-gguf` naming the sha256 — never a path.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAoError } from '../../core/errors.js'
import { generateGguf } from '../../devices/gpu-infer/gguf.js'
import { checkGguf } from '../../devices/gpu-infer/gguf-check.js'
import { ggufChunks } from '../../devices/gpu-infer/gguf-writer.js'
import { testNode } from '../helpers/node.js'

let node: Awaited<ReturnType<typeof testNode>>
let cacheDir: string
beforeAll(async () => {
  node = await testNode({ config: { gpu: false, threads: 1, batchSize: 256, contextSize: 512, store: 'lmdb' } })
  cacheDir = join(node.config.dataDir, 'models', 'from-store')
})
afterAll(() => node?.stop())

const JSON_ACCEPT = { accept: 'application/json' }

async function put(bytes: Uint8Array): Promise<string> {
  const res = await node.app.request('/~store@1.0/put', { method: 'PUT', body: bytes as BodyInit, headers: { 'content-type': 'application/octet-stream', ...JSON_ACCEPT } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { sha256: string }).sha256
}

const run = (sha256: string, prompt = 'hi') =>
  node.app.request(`/~gpu-infer@1.0/run&model=${sha256}&prompt=${prompt}&max-tokens+integer=2`, { headers: JSON_ACCEPT })

/** Every file in the model cache (absent directory = none). */
const cached = async () => (await readdir(cacheDir).catch(() => [] as string[])).sort()

async function expectRefused(res: Response, sha256: string): Promise<void> {
  const body = (await res.json()) as { status: number; code: string; message: string }
  expect([res.status, body.code]).toEqual([422, 'invalid-gguf'])
  expect(body.message).toContain(sha256)
  expect(JSON.stringify(body)).not.toContain(node.config.dataDir)
}

describe('stored models are checked before they are copied', () => {
  it('a blob that is not a GGUF is refused and nothing is copied', async () => {
    const sha256 = await put(new TextEncoder().encode('<html>not a model at all</html>'.repeat(1000)))
    await expectRefused(await run(sha256), sha256)
    expect(await cached()).toEqual([])
  })

  it('a truncated GGUF (right magic, data missing) is refused with the reason, no path, nothing copied', async () => {
    const model = generateGguf({ size: 'tiny', seed: 21 })
    const sha256 = await put(model.subarray(0, model.length - 4096))
    await expectRefused(await run(sha256), sha256)
    expect(await cached()).toEqual([])
  })

  it('a GGUF with impossible counts or a bad version is refused before llama.cpp sees it', async () => {
    const model = generateGguf({ size: 'tiny', seed: 22 })
    const badVersion = model.slice()
    badVersion[4] = 77
    const hugeCount = model.slice()
    hugeCount.fill(0xff, 8, 16) // tensor count
    for (const bytes of [badVersion, hugeCount]) {
      const sha256 = await put(bytes)
      await expectRefused(await run(sha256), sha256)
    }
    expect(await cached()).toEqual([])
  })

  it('a well-formed GGUF llama.cpp cannot load is refused, its copy removed, and refused again at once', async () => {
    const alien = Buffer.concat([...ggufChunks([['general.architecture', { type: 'string', value: 'no-such-arch' }]], [])])
    const sha256 = await put(alien)
    await expectRefused(await run(sha256), sha256)
    expect(await cached()).toEqual([])
    const began = performance.now()
    await expectRefused(await run(sha256, 'again'), sha256)
    expect(await cached()).toEqual([])
    expect(performance.now() - began).toBeLessThan(2_000) // remembered: no second copy or load
  })

  it('concurrent first uses of one stored model share one copy: every request answers, one file, no temporaries', async () => {
    const sha256 = await put(generateGguf({ size: 'tiny', seed: 23 }))
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((prompt) => run(sha256, prompt)))
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200])
    for (const res of answers) expect(((await res.json()) as { model: { sha256: string } }).model.sha256).toBe(sha256)
    expect(await cached()).toEqual([`${sha256}.gguf`])
  })
})

describe('the GGUF check on hostile bytes (properties)', () => {
  const model = generateGguf({ size: 'tiny', seed: 24, chatTemplate: true })
  let headerBytes = 0 // where the model's tensor data starts
  beforeAll(async () => {
    headerBytes = (await checkGguf([model], model.length, 'm')).dataOffset
  })

  it('accepts a generated model, whole or in any chunking', async () => {
    const layout = await checkGguf([model], model.length, 'm')
    expect(layout).toMatchObject({ version: 3, tensors: 21, dataOffset: headerBytes })
    await fc.assert(fc.asyncProperty(fc.integer({ min: 7, max: 70_000 }), async (piece) => {
      const chunks = Array.from({ length: Math.ceil(model.length / piece) }, (_, i) => model.subarray(i * piece, (i + 1) * piece))
      expect(await checkGguf(chunks, model.length, 'm')).toEqual(layout)
    }), { numRuns: 30 })
  })

  it('any corrupted or truncated header is either still well-formed or a 422 invalid-gguf, never a hang or a crash', async () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.integer({ min: 0, max: 13_000 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.integer({ min: 0, max: model.length }), { nil: undefined }),
    })
    await fc.assert(fc.asyncProperty(mutation, async ({ edits, cut }) => {
      const bytes = model.slice(0, cut ?? model.length)
      for (const [at, value] of edits) if (at < Math.min(bytes.length, headerBytes)) bytes[at] = value
      try {
        await checkGguf([bytes], bytes.length, 'm')
      } catch (err) {
        expect(isAoError(err) && [err.status, err.code]).toEqual([422, 'invalid-gguf'])
      }
    }), { numRuns: 400 })
  })
})

/**
 * The node's model files (node/models.ts), written with write-file-atomic: the demo model once,
 * byte for byte what the generator makes, and the digest cache, which a later start reads back.
 * Neither leaves a temporary file behind.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateGguf } from '../../devices/gpu-infer/gguf.js'
import { ensureDemoModel, fileHashCache } from '../../devices/gpu-infer/model-files.js'
import { tempDir } from '../helpers/node.js'

const data = tempDir('hashbeam-model-files-')
afterAll(() => data.cleanup())

describe('model files', () => {
  it('writes the demo model once, as the generator makes it', async () => {
    const path = await ensureDemoModel(data.dir)
    const expected = generateGguf({ size: 'tiny', seed: 1, chatTemplate: true, name: 'hashbeam-demo-tiny', quant: 'q8_0' })
    expect(new Uint8Array(readFileSync(path))).toEqual(expected)
    const written = statSync(path).mtimeMs
    expect(await ensureDemoModel(data.dir)).toBe(path)
    expect(statSync(path).mtimeMs).toBe(written)
    expect(readdirSync(join(data.dir, 'models'))).toEqual(['demo-tiny-q8_0.gguf'])
  })

  it('persists digests, the last one written winning, for the next start to read', async () => {
    const file = join(data.dir, 'model-hashes.json')
    const cache = fileHashCache(file)
    for (let i = 0; i < 5; i++) cache.set(`/models/m${i}.gguf`, 100 + i, 1000 + i, `${i}`.repeat(64))
    // Writes happen in the background, in order; wait (bounded) for the last.
    for (let tries = 0; tries < 100; tries++) {
      const text = (() => { try { return readFileSync(file, 'utf8') } catch { return '' } })()
      if (text.includes('/models/m4.gguf')) break
      await new Promise((done) => setTimeout(done, 20))
    }
    const again = fileHashCache(file)
    for (let i = 0; i < 5; i++) expect(again.get(`/models/m${i}.gguf`, 100 + i, 1000 + i)).toBe(`${i}`.repeat(64))
    expect(again.get('/models/m0.gguf', 999, 1000)).toBeUndefined()
    expect(readdirSync(data.dir).filter((name) => name.startsWith('model-hashes'))).toEqual(['model-hashes.json'])
  })
})

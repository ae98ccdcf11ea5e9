/**
 * Quantized generated models: ggml's block formats written by our own code, checked by
 * round-tripping the values and by loading every output in node-llama-cpp (llama.cpp is the
 * judge of the format: a wrong block size or layout is a load error or garbage logits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { getLlama, readGgufFileInfo, type Llama } from 'node-llama-cpp'
import { generateGguf, GGUF_QUANTS, type GgufQuant } from '../../../devices/gpu-infer/gguf.js'
import { dequantize, quantizeQ4_0, quantizeQ4_K, quantizeQ8_0 } from '../../../devices/gpu-infer/gguf-quant.js'
import { createPrng } from '../../../devices/gpu-infer/gguf-random.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from '../../helpers/process.js'
import { modelDir, type ModelDir } from './fixtures.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

let dir: ModelDir
let llama: Llama
beforeAll(async () => {
  dir = await modelDir()
  llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, progressLogs: false })
})
afterAll(async () => {
  await llama?.dispose()
  await dir.cleanup()
})

describe('block formats', () => {
  const values = createPrng(9).fillNormal(new Float32Array(1024), 0.5)
  const maxError = (kind: 'q8_0' | 'q4_0' | 'q4_k', bytes: Uint8Array) => {
    const back = dequantize(bytes, kind, values.length)
    let worst = 0
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i]! - values[i]!))
    return worst
  }

  it('have ggml block sizes and round-trip within the format precision', () => {
    const q8 = quantizeQ8_0(values)
    const q4 = quantizeQ4_0(values)
    const k4 = quantizeQ4_K(values)
    expect([q8.length, q4.length, k4.length]).toEqual([32 * 34, 32 * 18, 4 * 144])
    const span = 2 * Math.sqrt(3) * 0.5 // the generator's values are bounded by ±2√3σ
    expect(maxError('q8_0', q8)).toBeLessThan(span / 127)
    expect(maxError('q4_0', q4)).toBeLessThan(span / 8)
    expect(maxError('q4_k', k4)).toBeLessThan(span / 10)
  })

  it('quantizes like ggml: roundf halves away from zero, Q4_0 keeps the signed maximum at -8', () => {
    const x = new Float32Array(32)
    x[0] = -2; x[1] = 1; x[2] = -1 / 127 * 2 * 0.5 // -0.5 of a step rounds to -1, not 0
    const q8 = quantizeQ8_0(x)
    expect(new Int8Array(q8.buffer, 2, 3)).toEqual(new Int8Array([-127, 64, -1]))
    const q4 = quantizeQ4_0(x)
    expect(q4[2]! & 0xf).toBe(0) // -2 = d·(0 − 8) with d = 0.25
    expect(dequantize(q4, 'q4_0', 32)[0]).toBe(-2)
  })
})

describe('quantized models', () => {
  it('are byte-identical per arguments, named after the quant, and differ by quant', () => {
    const a = generateGguf({ size: 'tiny', quant: 'q8_0' })
    expect(sha256(a)).toBe(sha256(generateGguf({ size: 'tiny', quant: 'q8_0' })))
    const hashes = new Set(GGUF_QUANTS.map((quant) => sha256(generateGguf({ size: 'tiny', quant }))))
    expect(hashes.size).toBe(GGUF_QUANTS.length)
    expect(() => generateGguf({ size: 'tiny', quant: 'q2' as GgufQuant })).toThrow(/unknown quant/)
  })

  it.each(GGUF_QUANTS)('%s: llama.cpp loads it, reads the types written, and generates', async (quant) => {
    const path = await dir.make(`tiny-${quant}`, { size: 'tiny', quant })
    const info = await readGgufFileInfo(path, { readTensorInfo: true })
    const types = new Map(info.fullTensorInfo!.map((t) => [t.name, t.ggmlType as number]))
    const want = { f16: 1, q8_0: 8, q4_0: 2, q4_k: 12 }[quant]
    // tiny's rows are 64 values: not whole Q4_K blocks, so only ffn_down (rows of 256) is Q4_K.
    expect(types.get(quant === 'q4_k' ? 'blk.0.ffn_down.weight' : 'blk.0.attn_q.weight')).toBe(want)
    expect(types.get('blk.0.attn_norm.weight')).toBe(0)
    expect((info.metadata as { general: { name: string } }).general.name).toBe(`hashbeam-tiny-s1-${quant}`)
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 })
    try {
      const context = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false })
      const seq = context.getSequence()
      const probs: number[] = []
      let n = 0
      for await (const out of seq.evaluateWithMetadata(model.tokenize('hello world'), { probabilities: true })) {
        const p = [...out.probabilities!.values()]
        // Valid weights give a real distribution; a wrong layout gives NaN or a constant.
        expect(p.every(Number.isFinite)).toBe(true)
        expect(Math.abs(p.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-3)
        probs.push(Math.max(...p))
        if (++n === 4) break
      }
      expect(probs.some((p) => p < 0.999)).toBe(true)
      await context.dispose()
    } finally {
      await model.dispose()
    }
  })
})

describe('hashbeam model gen --quant', () => {
  it('writes the same bytes as the generator, and refuses an unknown quant with exit 2', async () => {
    const out = join(dir.dir, 'cli-q4_0.gguf')
    const made = await runCli(['model', 'gen', '--size', 'tiny', '--quant', 'q4_0', '--out', out])
    expect(made.code).toBe(0)
    expect(made.stdout).toContain('tiny q4_0')
    expect(sha256(await readFile(out))).toBe(sha256(generateGguf({ size: 'tiny', quant: 'q4_0', chatTemplate: true })))
    const bad = await runCli(['model', 'gen', '--size', 'tiny', '--quant', 'q2', '--out', out])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--quant is one of f16, q8_0, q4_0, q4_k')
  })
})
